"""`edgeneuro compress` for models with several inputs: calibration and labelled samples as an .npz
(one array per input, keyed by input name or index, as `run --input` takes them) for tf_keras and
Keras 3 models, SavedModels and float ONNX models; the int8 model's host C against TFLM."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from conftest import tflm_run
from onnx import TensorProto, helper, numpy_helper

from edgeneuro import boards
from edgeneuro.cli import main
from edgeneuro.compiler import compile_model, load
from edgeneuro.ir.quant import quantize_input
from edgeneuro.options import CompileOptions
from edgeneuro.runner import load_inputs, run_on_host

pytestmark = pytest.mark.slow  # builds small models with TensorFlow

# Keras order zeta, alpha: not the sorted order of the names. Both [6]: swapped calibration arrays
# would convert without complaint, so the int8 input scales (zeta's range 100x alpha's) check it.
ZETA, ALPHA = 10.0, 0.1


def data(n: int, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    z = rng.normal(size=(n, 6)).astype(np.float32)
    a = rng.normal(size=(n, 6)).astype(np.float32)
    z[np.arange(n), y] += 2.0
    return {"zeta": z * ZETA, "alpha": a * ALPHA}, y


def build(k, train: bool):
    k.utils.set_random_seed(0)
    z, a = k.Input((6,), name="zeta"), k.Input((6,), name="alpha")
    h = k.layers.Concatenate()([k.layers.Dense(8, activation="relu")(k.layers.Rescaling(1 / ZETA)(z)),
                                k.layers.Dense(8, activation="relu")(k.layers.Rescaling(1 / ALPHA)(a))])  # fmt: skip
    m = k.Model([z, a], k.layers.Dense(3, activation="softmax")(k.layers.Dense(12, activation="relu")(h)))
    if train:
        x, y = data(240)
        m.compile(optimizer=k.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
        m.fit([x["zeta"], x["alpha"]], y, epochs=5, batch_size=32, verbose=0)
    return m


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict:
    import keras
    import tf_keras

    import edgeneuro.models  # noqa: F401  (tf_keras for tf.keras, before TensorFlow loads)

    d = tmp_path_factory.mktemp("multi")
    x, y = data(240)
    np.savez(d / "x.npz", **x)
    np.save(d / "y.npy", y)
    np.savez(d / "cal.npz", zeta=x["zeta"][:64], **{"1": x["alpha"][:64]})  # by name and by index
    np.savez(d / "cal_by_name.npz", alpha=x["alpha"][:64], zeta=x["zeta"][:64])
    tk = build(tf_keras, train=True)
    tk.save(d / "tk.h5")
    tk.save(d / "tk_saved_model", save_format="tf")
    k3 = build(keras, train=False)
    k3.save(d / "k3.keras")
    k3.export(str(d / "k3_export"), verbose=False)  # a SavedModel without Keras metadata
    return {p.name: p for p in d.iterdir()}


def report_of(capsys, *args: str) -> dict:
    code = main(["compress", *args, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def tflm_outputs(model: bytes, xs: list[np.ndarray]) -> np.ndarray:
    """TFLM's reference kernels, the first output for each sample of the inputs ``xs`` (in the
    model's input order)."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model, arena_size=1 << 20)
    out = []
    for k in range(len(xs[0])):
        interp.reset()
        for i, x in enumerate(xs):
            interp.set_input(x[k].reshape(interp.get_input_details(i)["shape"]), i)
        interp.invoke()
        out.append(interp.get_output(0)[0].copy())
    return np.stack(out)


def host_equals_tflm(model, x: dict[str, np.ndarray], tmp) -> dict:
    """The int8 inputs of the Keras names' samples, given to `run`'s loader as an .npz keyed by
    the compressed model's input names; the host C's output equals TFLM's. Returns the inputs."""
    p = load(model, CompileOptions())
    g = p.graph
    names = [n.removeprefix("serving_default_").removesuffix(":0") for n in g.inputs]
    q = {gn: quantize_input(x[n], g.t(gn).scale, g.t(gn).zero_point) for gn, n in zip(g.inputs, names, strict=True)}
    np.savez(tmp / "in.npz", **q)
    host = run_on_host(compile_model(p, boards.load("mps2-an386"), tmp / "gen"), load_inputs(tmp / "in.npz", g))
    (y,) = host.values()
    np.testing.assert_array_equal(y, tflm_outputs(model.read_bytes(), [q[gn] for gn in g.inputs]))
    return q


def input_scales(model) -> dict[str, float]:
    g = load(model, CompileOptions()).graph
    return {n.removeprefix("serving_default_").removesuffix(":0"): g.t(n).scale for n in g.inputs}


@pytest.mark.parametrize("name", ["tk.h5", "k3.keras", "tk_saved_model", "k3_export"])
def test_calibrate_npz_prunes_to_int8_that_equals_tflm(name, models, capsys, tmp_path):
    out = tmp_path / "m.tflite"
    # a SavedModel without Keras metadata has its inputs in the order of their names (TensorFlow's)
    cal = models["cal_by_name.npz" if name == "k3_export" else "cal.npz"]
    r = report_of(capsys, str(models[name]), "--prune", "0.5", "--calibrate", str(cal), "-o", str(out))
    assert r["edgeneuro"]["compiles"] and r["io"] == "int8"
    order = ["alpha", "zeta"] if name == "k3_export" else ["zeta", "alpha"]
    assert [(i["name"], i["shape"]) for i in r["inputs"]] == [(n, [6]) for n in order]
    assert {i["name"]: i["int8_input"]["index"] for i in r["inputs"]} == {"zeta": 0, "alpha": 1}  # the Keras order
    assert r["calibration"] == f"64 samples of {cal}"
    s = input_scales(out)
    assert list(s) == ["zeta", "alpha"] and 30 < s["zeta"] / s["alpha"] < 300  # each input calibrated on its own
    x, _ = data(8, seed=1)
    host_equals_tflm(out, x, tmp_path)


def test_fit_npz_fine_tunes_while_pruning(models, capsys, tmp_path):
    out = tmp_path / "m.tflite"
    r = report_of(capsys, str(models["tk.h5"]), "--prune", "0.5", "--fit", str(models["x.npz"]), str(models["y.npy"]),
                  "--epochs", "2", "-o", str(out))  # fmt: skip
    assert r["pruning"]["fine_tuned"] and "tensorflow-model-optimization" in r["pruning"]["method"]
    assert r["accuracy_on"].startswith("48 held-out samples")
    acc = {s["step"]: s["accuracy"] for s in r["steps"]}
    assert acc["float"] > 0.8 and acc["pruned 50%"] > 0.7 and abs(acc["int8"] - acc["pruned 50%"]) <= 0.05
    assert r["steps"][-1]["runtime"] == "edgeneuro reference kernels"
    x, _ = data(6, seed=2)
    host_equals_tflm(out, x, tmp_path)


def test_names_without_a_signature_calibrate_in_keras_order(capsys, tmp_path):
    """Input names a serving signature cannot take (a space): the converter writes no signature, the
    calibration goes in as a list in the Keras order, which the converted model keeps."""
    import tf_keras as k

    k.utils.set_random_seed(0)
    z, a = k.Input((6,), name="zeta in"), k.Input((6,), name="alpha in")
    h = k.layers.Concatenate()([k.layers.Dense(4)(z), k.layers.Dense(4)(a)])
    k.Model([z, a], k.layers.Dense(3)(h)).save(tmp_path / "m.h5")
    x, _ = data(64)
    np.savez(tmp_path / "cal.npz", **{"zeta in": x["zeta"], "alpha in": x["alpha"]})
    out = tmp_path / "m.tflite"
    r = report_of(capsys, str(tmp_path / "m.h5"), "--calibrate", str(tmp_path / "cal.npz"), "-o", str(out))
    assert [i["name"] for i in r["inputs"]] == ["zeta in", "alpha in"] and r["edgeneuro"]["compiles"]
    import tensorflow as tf

    assert tf.lite.Interpreter(model_path=str(out)).get_signature_list() == {}  # the list path was taken
    s = list(input_scales(out).values())
    assert 30 < s[0] / s[1] < 300  # zeta's samples calibrated the first input
    g = load(out, CompileOptions()).graph
    q = [
        quantize_input(x[n][:6], g.t(gn).scale, g.t(gn).zero_point)
        for gn, n in zip(g.inputs, ("zeta", "alpha"), strict=True)
    ]
    recs = load_inputs_from(tmp_path, g, q)
    (y,) = run_on_host(compile_model(load(out, CompileOptions()), boards.load("mps2-an386"), tmp_path / "g"),
                       recs).values()  # fmt: skip
    np.testing.assert_array_equal(y, tflm_outputs(out.read_bytes(), q))


def load_inputs_from(folder, g, arrays: list[np.ndarray]) -> np.ndarray:
    """``arrays`` (in the graph's input order) written as IN.npz keyed by index and read back as `run` reads it."""
    np.savez(folder / "in.npz", **{str(i): a for i, a in enumerate(arrays)})
    return load_inputs(folder / "in.npz", g)


def test_float_io_with_several_inputs(models, capsys, tmp_path):
    out = tmp_path / "m.tflite"
    code = main(["compress", str(models["k3.keras"]), "--calibrate", str(models["cal.npz"]), "--float-io", "-o",
                 str(out)])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0
    assert "(Keras 3 model, inputs zeta 6, alpha 6) -> " in text and "float32 input and output" in text
    assert "edgeneuro compiles it:" in text
    g = load(out, CompileOptions()).graph
    assert [g.t(n).dtype for n in g.inputs] == ["float32", "float32"]


def two_input_onnx(path, rng) -> None:
    nodes = [helper.make_node("Gemm", ["x", "wx", "bx"], ["hx"], transB=1),
             helper.make_node("Gemm", ["h", "wh", "bh"], ["hh"], transB=1),
             helper.make_node("Add", ["hx", "hh"], ["s"]), helper.make_node("Relu", ["s"], ["r"]),
             helper.make_node("Gemm", ["r", "wy", "by"], ["y"], transB=1)]  # fmt: skip
    shapes = {"wx": (8, 6), "bx": (8,), "wh": (8, 4), "bh": (8,), "wy": (3, 8), "by": (3,)}
    inits = [numpy_helper.from_array(rng.normal(size=sh).astype(np.float32), n) for n, sh in shapes.items()]
    vi = helper.make_tensor_value_info
    g = helper.make_graph(nodes, "two", [vi("x", TensorProto.FLOAT, [1, 6]), vi("h", TensorProto.FLOAT, [1, 4])],
                          [vi("y", TensorProto.FLOAT, [1, 3])], inits)  # fmt: skip
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 9
    onnx.save(m, path)


def test_float_onnx_with_two_inputs(capsys, tmp_path):
    rng = np.random.default_rng(4)
    two_input_onnx(tmp_path / "two.onnx", rng)
    x = {"x": rng.normal(size=(40, 6)).astype(np.float32), "h": rng.normal(size=(40, 4)).astype(np.float32)}
    np.savez(tmp_path / "cal.npz", **{"0": x["x"], "h": x["h"]})
    np.savez(tmp_path / "fit.npz", **x)
    np.save(tmp_path / "y.npy", rng.integers(0, 3, 40))
    out = tmp_path / "q" / "two.int8.onnx"
    r = report_of(capsys, str(tmp_path / "two.onnx"), "--prune", "0.5", "--calibrate", str(tmp_path / "cal.npz"),
                  "--fit", str(tmp_path / "fit.npz"), str(tmp_path / "y.npy"), "-o", str(out))  # fmt: skip
    assert r["edgeneuro"]["compiles"] and r["edgeneuro"]["shape"] == "--shape x=1x6 --shape h=1x4"
    assert [i["name"] for i in r["inputs"]] == ["x", "h"] and all(s["accuracy"] is not None for s in r["steps"])
    acc = {s["step"]: s["accuracy"] for s in r["steps"]}
    assert abs(acc["int8"] - acc["pruned 50%"]) <= 0.1
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in onnx.load(out).graph.node}
    code = main(["compile", str(out), "--shape", "x=1x6", "--shape", "h=1x4", "-o", str(tmp_path / "gen")])
    assert code == 0, capsys.readouterr().err


def test_one_input_model_takes_an_npz_too(models, capsys, tmp_path):
    import tf_keras as k

    k.utils.set_random_seed(0)
    m = k.Sequential([k.Input((5,), name="only"), k.layers.Dense(4, activation="relu"), k.layers.Dense(2)])
    m.save(tmp_path / "one.h5")
    xs = np.random.default_rng(0).normal(size=(20, 5)).astype(np.float32)
    np.savez(tmp_path / "cal.npz", **{"0": xs})
    out = tmp_path / "one.tflite"
    r = report_of(capsys, str(tmp_path / "one.h5"), "--calibrate", str(tmp_path / "cal.npz"), "-o", str(out))
    assert r["edgeneuro"]["compiles"] and "inputs" not in r
    g = load(out, CompileOptions()).graph
    t = g.t(g.inputs[0])
    q = quantize_input(xs[:4], t.scale, t.zero_point)
    (y,) = run_on_host(
        compile_model(load(out, CompileOptions()), boards.load("mps2-an386"), tmp_path / "g"), q
    ).values()
    np.testing.assert_array_equal(y, tflm_run(out, q))


ERRORS = {  # name: (arguments after the model, what the one line must say)
    "npy for two inputs": (["--calibrate", "zeta.npy"], ["--calibrate zeta.npy: one array for a model with 2 inputs",
                                                         "'zeta' (or '0') [N, 6], 'alpha' (or '1') [N, 6]"]),
    "missing key": (["--calibrate", "only_zeta.npz"], ["only_zeta.npz: no array for input(s) 'alpha'"]),
    "unknown key": (["--calibrate", "extra.npz"], ["extra.npz: 'beta' is not a model input", "'alpha' (or '1')"]),
    "twice": (["--calibrate", "twice.npz"], ["twice.npz: input 'zeta' is given twice"]),
    "shape": (["--calibrate", "shape.npz"], ["shape.npz: input 'alpha': samples shaped [64, 5]",
                                             "so give [N, 6]"]),
    "count": (["--calibrate", "count.npz"], ["count.npz: the inputs hold different numbers of samples",
                                             "'zeta': 64, 'alpha': 10"]),
    "fit npy": (["--fit", "zeta.npy", "y.npy"], ["--fit zeta.npy: one array for a model with 2 inputs"]),
    "fit labels": (["--fit", "x.npz", "y_short.npy"], ["--fit y_short.npy: 10 labels for the 240 samples of x.npz"]),
    "no calibration": ([], ["give --calibrate X.npz", "'zeta' (or '0') [N, 6]"]),
    "two outputs": (["--fit", "x.npz", "y.npy"], ["2 outputs", "several outputs are not supported"]),
}  # fmt: skip


@pytest.fixture(scope="module")
def bad(models, tmp_path_factory):
    import tf_keras as k

    d = tmp_path_factory.mktemp("bad")
    for name in ("tk.h5", "x.npz", "y.npy"):
        (d / name).symlink_to(models[name])
    np.save(d / "zeta.npy", data(240)[0]["zeta"])
    x, _ = data(64)
    np.save(d / "y_short.npy", np.zeros(10, np.int64))
    np.savez(d / "only_zeta.npz", zeta=x["zeta"])
    np.savez(d / "extra.npz", zeta=x["zeta"], alpha=x["alpha"], beta=x["alpha"])
    np.savez(d / "twice.npz", zeta=x["zeta"], alpha=x["alpha"], **{"0": x["zeta"]})
    np.savez(d / "shape.npz", zeta=x["zeta"], alpha=x["alpha"][:, :5])
    np.savez(d / "count.npz", zeta=x["zeta"], alpha=x["alpha"][:10])
    z, a = k.Input((6,), name="zeta"), k.Input((6,), name="alpha")
    h = k.layers.Concatenate()([z, a])
    k.Model([z, a], [k.layers.Dense(3)(h), k.layers.Dense(2)(h)]).save(d / "two_out.h5")
    return d


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_bad_npz_is_one_clear_line(case, bad, capsys, tmp_path, monkeypatch):
    args, needles = ERRORS[case]
    monkeypatch.chdir(bad)
    model = "two_out.h5" if case == "two outputs" else "tk.h5"
    code = main(["compress", model, *args, "-o", str(tmp_path / "out" / "m.tflite")])
    err = capsys.readouterr().err
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgeneuro: error: "), err
    for n in needles:
        assert n in lines[0], lines[0]
    assert not (tmp_path / "out").exists()
