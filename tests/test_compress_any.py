"""`edgeneuro compress` for models edgeneuro did not train: Keras 3 and tf_keras files (.keras,
.h5), SavedModel folders (with and without Keras metadata) and float ONNX models, pruned one-shot
or fine-tuned on labels, quantized to full int8, and compiled bit-exact with the reference."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import tensorflow as tf  # the Lambda layer of bad_h5 names it as a global: the .h5 keeps its code
from conftest import host_c_run, reference_run
from onnx import helper, numpy_helper
from onnx_models import conv_gemm_classifier, float_model

from edgeneuro import frontends
from edgeneuro.cli import main
from edgeneuro.ir.quant import quantize_input

pytestmark = pytest.mark.slow  # trains small models with TensorFlow

SHAPE = (32, 3)  # a window of 32 samples of 3 channels; the class is the channel with an offset


def windows(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, n)
    x = rng.normal(size=(n, *SHAPE)).astype(np.float32)
    x[np.arange(n), :, y] += 1.0
    return x, y


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """The same Conv1D classifier written by Keras 3 (.keras, an exported SavedModel without Keras
    metadata) and by tf_keras (.h5, .keras, a SavedModel folder), trained briefly; and its data."""
    import keras
    import tf_keras

    import edgeneuro.models  # noqa: F401  (tf_keras for tf.keras, before TensorFlow loads)

    d = tmp_path_factory.mktemp("models")
    x, y = windows(240)
    np.save(d / "x.npy", x)
    np.save(d / "y.npy", y)
    np.save(d / "cal.npy", x[:64])

    def build(k):
        k.utils.set_random_seed(0)
        m = k.Sequential([k.Input(SHAPE), k.layers.Conv1D(8, 3, activation="relu"), k.layers.GlobalAveragePooling1D(),
                          k.layers.Dense(16, activation="relu"), k.layers.Dense(3, activation="softmax")])  # fmt: skip
        m.compile(optimizer=k.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
        m.fit(x, y, epochs=8, batch_size=32, verbose=0)
        return m

    k3 = build(keras)
    k3.save(d / "k3.keras")
    k3.export(str(d / "k3_export"), verbose=False)
    tk = build(tf_keras)
    tk.save(d / "tk.h5")
    tk.save(d / "tk.keras")
    tk.save(d / "tk_saved_model", save_format="tf")
    return {p.name: p for p in d.iterdir()}


def compress(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["compress", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def report_of(capsys, *args: str) -> dict:
    code, out, err = compress(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def int8_weights(model: Path) -> list[np.ndarray]:
    g = frontends.load(model)
    return [t.data for t in g.tensors.values() if t.is_const and t.dtype == "int8" and t.data.ndim >= 2]


def assert_sparse(model: Path, target: float) -> None:
    ws = int8_weights(model)
    assert ws
    for w in ws:  # every weight tensor, within one weight of rounding
        assert (w == 0).mean() >= target - 1 / w.size, (w.shape, (w == 0).mean())


def io_dtypes(model: Path) -> tuple:
    interp = tf.lite.Interpreter(model_path=str(model))
    return interp.get_input_details()[0]["dtype"], interp.get_output_details()[0]["dtype"]


def assert_bit_exact(model: Path, x: np.ndarray, tmp: Path) -> None:
    """The generated C on the host equals the numpy reference of the kernels, bit for bit."""
    g = frontends.load(model)
    t = g.t(g.inputs[0])
    xin = quantize_input(x, t.scale, t.zero_point) if t.dtype == "int8" else x.astype(np.float32)
    np.testing.assert_array_equal(host_c_run(model, xin, tmp / "gen"), reference_run(model, xin))


@pytest.mark.parametrize("name", ["k3.keras", "tk.h5", "tk_saved_model", "k3_export"])
def test_any_model_prunes_one_shot_to_int8(name, models, capsys, tmp_path):
    out = tmp_path / "out" / "model.tflite"
    r = report_of(capsys, str(models[name]), "--prune", "0.5", "--calibrate", str(models["cal.npy"]), "-o", str(out))
    assert r["format"] == {"k3.keras": "Keras 3 model", "tk.h5": "tf_keras model", "tk_saved_model": "tf_keras model",
                           "k3_export": "SavedModel (no Keras metadata)"}[name]  # fmt: skip
    assert r["pruning"]["method"].startswith("one-shot: no labels to fine-tune") and not r["pruning"]["fine_tuned"]
    assert [s["step"] for s in r["steps"]] == ["float", "pruned 50%", "int8"]
    assert all(s["accuracy"] is None for s in r["steps"]) and "no labels" in r["accuracy_note"]
    assert r["steps"][1]["sparsity"] == pytest.approx(0.5, abs=0.01)
    assert r["steps"][2]["weights_bytes"] < 0.6 * r["steps"][0]["weights_bytes"]  # int8 weights, int32 biases
    assert r["edgeneuro"]["compiles"] and r["io"] == "int8"
    assert json.loads((out.parent / "compress_report.json").read_text()) == r
    assert io_dtypes(out) == (np.int8, np.int8)
    assert_sparse(out, 0.5)
    assert_bit_exact(out, np.load(models["x.npy"])[:8], tmp_path)


@pytest.mark.parametrize("name", ["tk.keras", "k3.keras"])
def test_labels_fine_tune_while_pruning_and_score_each_step(name, models, capsys, tmp_path):
    out = tmp_path / "model.tflite"
    r = report_of(capsys, str(models[name]), "--prune", "0.6", "--fit", str(models["x.npy"]), str(models["y.npy"]),
                  "--epochs", "2", "-o", str(out))  # fmt: skip
    assert r["pruning"]["fine_tuned"]
    lib = "tensorflow-model-optimization" if name.startswith("tk") else "weight masks"
    assert lib in r["pruning"]["method"]
    assert r["accuracy_on"].startswith("48 held-out samples of --fit") and r["accuracy_note"] is None
    acc = {s["step"]: s["accuracy"] for s in r["steps"]}
    assert acc["float"] > 0.8 and acc["pruned 60%"] > 0.8
    assert abs(acc["int8"] - acc["pruned 60%"]) <= 0.05  # the int8 model scores as the pruned float one
    assert r["steps"][2]["runtime"] == "edgeneuro reference kernels"
    assert r["accuracy_change_pp"] == pytest.approx(100 * (acc["int8"] - acc["float"]))
    assert io_dtypes(out) == (np.int8, np.int8)
    assert_sparse(out, 0.6)
    assert_bit_exact(out, np.load(models["x.npy"])[:8], tmp_path)


def test_meta_from_train_is_used_when_present(models, capsys, tmp_path):
    """A model with a meta.json beside it, given labels: the generic path, meta.json kept beside
    the output (so `eval` and the board pipeline still know the window)."""
    import shutil

    from edgeneuro.data.meta import Meta

    src = tmp_path / "det"
    src.mkdir()
    shutil.copy(models["tk.h5"], src / "model.h5")
    Meta("cnn", 0.125, 0.125, 256.0, ("a", "b", "c"), "binary", 1.0, ("s1",), ("s2",)).save(src)
    out = tmp_path / "int8" / "model.tflite"
    r = report_of(capsys, str(src / "model.h5"), "--fit", str(models["x.npy"]), str(models["y.npy"]), "-o", str(out))
    assert r["pruning"] is None and r["accuracy_on"].startswith("all 240 samples")
    assert Meta.load(out) == Meta.load(src / "model.h5")


def test_float_io_and_the_printed_report(models, capsys, tmp_path):
    out = tmp_path / "model.tflite"
    code, text, err = compress(capsys, str(models["tk.h5"]), "--calibrate", str(models["cal.npy"]), "--float-io",
                               "-o", str(out))  # fmt: skip
    assert code == 0, err
    assert "tf_keras model, input 32x3) -> " in text and "float32 input and output" in text
    assert "accuracy: not measured: no labels" in text and "edgeneuro compiles it:" in text
    assert io_dtypes(out) == (np.float32, np.float32)
    assert_bit_exact(out, np.load(models["x.npy"])[:4], tmp_path)


def test_float_onnx_model_compresses_to_qdq_that_compiles(capsys, tmp_path):
    rng = np.random.default_rng(1)
    nodes, inits = conv_gemm_classifier(rng, 3)
    f = float_model(tmp_path / "net.onnx", nodes, inits, (1, 3, 8, 8), (1, 4))
    x = rng.normal(size=(40, 3, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", rng.integers(0, 4, 40))
    out = tmp_path / "q" / "net.int8.onnx"
    r = report_of(capsys, str(f), "--prune", "0.5", "--fit", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"),
                  "-o", str(out))  # fmt: skip
    assert r["pruning"]["method"].startswith("one-shot") and all(s["accuracy"] is not None for s in r["steps"])
    assert r["edgeneuro"]["compiles"] and r["edgeneuro"]["shape"] == "--shape x=1x3x8x8"
    q = onnx.load(out)
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in q.graph.node}
    ws = [numpy_helper.to_array(t) for t in q.graph.initializer]
    ws = [w for w in ws if w.dtype == np.int8 and w.ndim >= 2]
    assert len(ws) == 2 and all((w == 0).mean() >= 0.5 - 1 / w.size for w in ws)
    code = main(["compile", str(out), "--shape", "x=1x3x8x8", "-o", str(tmp_path / "gen")])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "gen" / "model.c").is_file()


def bad_h5(folder: Path) -> Path:
    """A tf_keras model whose Lambda layer computes a cumulative product (no TFLite builtin)."""
    import tf_keras as k

    i = k.Input(SHAPE)
    h = k.layers.Lambda(lambda t: tf.math.cumprod(t, axis=1), name="my_cumprod")(k.layers.Conv1D(4, 3)(i))
    path = folder / "bad.h5"
    k.Model(i, k.layers.Dense(2)(k.layers.Flatten()(h))).save(path)
    return path


ERRORS = {  # name: (arguments after the model, model, what the line must say)
    "converter": (["--calibrate", "cal.npy"], "bad.h5", ["cannot take layer 'my_cumprod' (Lambda)", "tf.Cumprod"]),
    "calibration shape": (["--calibrate", "cal_wrong.npy"], "k3.keras",
                          ["samples shaped [10, 32, 4]", "so give [N, 32, 3]"]),
    "label count": (["--fit", "x.npy", "y_short.npy"], "tk.h5", ["150 labels for the 240 samples"]),
    "label shape": (["--fit", "x.npy", "y_wide.npy"], "tk.h5", ["labels shaped [240, 5]", "one-hot [N, 3]"]),
    "label values": (["--fit", "x.npy", "y_range.npy"], "k3.keras", ["class indices 0..2", "found 0..7"]),
    "file type": (["--calibrate", "cal.npy"], "model.pt", ["unknown model type '.pt'", ".keras, .h5"]),
    "no calibration": ([], "k3.keras", ["give --calibrate X.npy, samples [N, 32, 3]"]),
    "output type": (["--calibrate", "cal.npy", "-o", "{out}/m.onnx"], "tk.h5", ["compresses to .tflite"]),
    "quantized already": (["--calibrate", "cal.npy", "-o", "{out}/m.onnx"], "q.onnx", ["already quantized"]),
    "data without meta": (["--data", "."], "tk.h5", ["needs the meta.json", "--fit X.npy Y.npy"]),
}  # fmt: skip


@pytest.fixture(scope="module")
def bad_inputs(models, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(2)
    for name in ("k3.keras", "tk.h5", "x.npy", "cal.npy"):
        (d / name).symlink_to(models[name])
    bad_h5(d)
    np.save(d / "cal_wrong.npy", np.zeros((10, 32, 4), np.float32))
    np.save(d / "y_short.npy", np.zeros(150, np.int64))
    np.save(d / "y_wide.npy", np.zeros((240, 5), np.float32))
    np.save(d / "y_range.npy", np.arange(240) % 8)
    (d / "model.pt").write_bytes(b"\x80\x02")
    gemm = [helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)]
    f = float_model(d / "f.onnx", gemm, {"w": rng.normal(size=(4, 6)), "b": np.zeros(4)}, (1, 6), (1, 4))
    from onnx_models import quantize

    quantize(f, d / "q.onnx", rng.normal(size=(8, 6)).astype(np.float32))
    return d


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_bad_input_is_one_clear_line_and_writes_nothing(case, bad_inputs, capsys, tmp_path, monkeypatch):
    args, model, needles = ERRORS[case]
    monkeypatch.chdir(bad_inputs)
    args = [a.format(out=tmp_path / "out") for a in args]
    if "-o" not in args:
        args += ["-o", str(tmp_path / "out" / "m.tflite")]
    code, out, err = compress(capsys, model, *args)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgeneuro: error: "), err
    for n in needles:
        assert n in lines[0]
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_a_real_process_prints_only_the_error_line(bad_inputs, tmp_path):
    """TensorFlow's C++ log lines (absl, the converter's MLIR diagnostics) stay out of the way."""
    proc = subprocess.run([sys.executable, "-m", "edgeneuro.cli", "compress", "bad.h5", "--calibrate", "cal.npy",
                           "-o", str(tmp_path / "out" / "m.tflite")], capture_output=True, text=True,
                          cwd=bad_inputs)  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and "my_cumprod" in proc.stderr, proc.stderr
    assert proc.stdout == "" and not (tmp_path / "out").exists()


@pytest.mark.sim
def test_compressed_model_runs_on_the_board(models, capsys, tmp_path):
    """`edgeneuro run` on QEMU gives what the reference computes, bit for bit."""
    out = tmp_path / "m.tflite"
    report_of(capsys, str(models["k3.keras"]), "--prune", "0.5", "--calibrate", str(models["cal.npy"]), "-o", str(out))
    g = frontends.load(out)
    t = g.t(g.inputs[0])
    x = quantize_input(np.load(models["x.npy"])[:4], t.scale, t.zero_point)
    np.save(tmp_path / "in.npy", x)
    code = main(["run", str(out), "--input", str(tmp_path / "in.npy"), "--output", str(tmp_path / "y.npy"),
                 "--no-cycles"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), reference_run(out, x))
