"""Models with several inputs and outputs: IN.npz keyed by input name or index, every output
compared, and recurrent state the application carries between calls (`run --feedback OUT=IN`),
against TensorFlow Lite Micro driven the same way."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import host_c_run, tflm_run
from tflite_builder import ACT, ModelBuilder, fc_options, options

from edgeneuro import boards, reference
from edgeneuro.compiler import compile_model, load
from edgeneuro.errors import InputError
from edgeneuro.options import CompileOptions
from edgeneuro.runner import load_inputs, parse_feedback, run_on_host

pytestmark = pytest.mark.tflm


def two_input_model(rng: np.random.Generator, state_scale: float | None = None) -> bytes:
    """x [1, 6] and h [1, 6] in; s = x + h (quantized like h unless ``state_scale``) and
    y = FULLY_CONNECTED(s) [1, 3] out: the shape of a recurrent cell whose state the application
    carries (s fed back into h)."""
    s_x, s_h = 0.05, 0.08
    b = ModelBuilder()
    x = b.tensor([1, 6], scale=s_x, zero_point=3, name="x")
    h = b.tensor([1, 6], scale=s_h, zero_point=-5, name="h")
    s = b.tensor([1, 6], scale=state_scale or s_h, zero_point=-5, name="state")
    b.op("ADD", [x, h], [s], options("AddOptions", fusedActivationFunction=ACT["NONE"]), "AddOptions")
    w = b.tensor([3, 6], scale=0.02, zero_point=0, data=rng.integers(-127, 128, (3, 6)))
    bias = b.tensor([3], "int32", scale=s_h * 0.02, zero_point=0, data=rng.integers(-500, 500, 3))
    y = b.tensor([1, 3], scale=0.1, zero_point=7, name="y")
    b.op("FULLY_CONNECTED", [s, w, bias], [y], fc_options("NONE"), "FullyConnectedOptions")
    return b.build([x, h], [y, s])


def tflm_sequence(model: bytes, xs: dict[str, np.ndarray], feedback: dict[int, int] | None = None):
    """TFLM's reference kernels over the samples in order; ``feedback`` {output: input} feeds the
    previous call's outputs into the next call's inputs. Returns every output, [N, ...] each."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model, arena_size=1 << 20)
    names = list(xs)
    n = len(xs[names[0]])
    outs: list[list[np.ndarray]] = []
    for k in range(n):
        for i, name in enumerate(names):
            v = xs[name][k]
            if k and feedback:
                for o, j in feedback.items():
                    if j == i:
                        v = outs[-1][o]
            interp.set_input(np.asarray(v).reshape(interp.get_input_details(i)["shape"]), i)
        interp.invoke()
        outs.append([interp.get_output(o)[0].copy() for o in range(2)])  # the model's two outputs
    return [np.stack([o[j] for o in outs]) for j in range(2)]


def samples(rng: np.random.Generator, n: int = 5) -> dict[str, np.ndarray]:
    return {"x": rng.integers(-128, 128, (n, 6), dtype=np.int8), "h": rng.integers(-128, 128, (n, 6), dtype=np.int8)}


def test_two_inputs_reference_host_and_tflm(tmp_path):
    rng = np.random.default_rng(1)
    model = two_input_model(rng)
    path = tmp_path / "m.tflite"
    path.write_bytes(model)
    xs = samples(rng)
    np.savez(tmp_path / "in.npz", x=xs["x"], **{"1": xs["h"]})  # by name and by index
    p = load(path, CompileOptions())
    recs = load_inputs(tmp_path / "in.npz", p.graph)
    assert recs.dtype.names == ("x", "h") and len(recs) == 5
    # every output, each call independent (TFLM's inputs are overwritten every call)
    want_y, want_s = tflm_sequence(model, xs)
    got = reference.run_sequence(p.graph, p.kernels, recs)
    np.testing.assert_array_equal(got["y"], want_y)
    np.testing.assert_array_equal(got["state"], want_s)
    host = run_on_host(compile_model(p, boards.load("mps2-an386"), tmp_path / "gen"), recs)
    np.testing.assert_array_equal(host["y"], want_y)
    np.testing.assert_array_equal(host["state"], want_s)
    # with the state fed back: the host harness, the reference and TFLM driven the same way
    fb = parse_feedback(["state=h"], p.graph)
    assert fb == ((1, 1, 6),)
    want_y, want_s = tflm_sequence(model, xs, {1: 1})
    got = reference.run_sequence(p.graph, p.kernels, recs, fb)
    np.testing.assert_array_equal(got["state"], want_s)
    np.testing.assert_array_equal(got["y"], want_y)
    host = run_on_host(compile_model(p, boards.load("mps2-an386"), tmp_path / "gen2"), recs, fb)
    np.testing.assert_array_equal(host["state"], want_s)
    np.testing.assert_array_equal(host["y"], want_y)
    # feeding back changes the outputs (the check above is not vacuous)
    assert not np.array_equal(want_s, tflm_sequence(model, xs)[1])


@pytest.mark.sim
def test_run_cli_npz_and_feedback_on_qemu(tmp_path):
    rng = np.random.default_rng(2)
    model = two_input_model(rng)
    path = tmp_path / "m.tflite"
    path.write_bytes(model)
    xs = samples(rng, 7)
    np.savez(tmp_path / "in.npz", **xs)
    cmd = [sys.executable, "-m", "edgeneuro.cli", "run", str(path), "--board", "mps2-an386", "--input",
           str(tmp_path / "in.npz"), "--output", str(tmp_path / "out.npz"), "--report", str(tmp_path / "r.json"),
           "--feedback", "state=1"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    want_y, want_s = tflm_sequence(model, xs, {1: 1})
    with np.load(tmp_path / "out.npz") as out:
        np.testing.assert_array_equal(out["y"], want_y)
        np.testing.assert_array_equal(out["state"], want_s)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["feedback"] == ["state=h"] and report["inferences"] == 7


def test_input_errors(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "m.tflite"
    path.write_bytes(two_input_model(rng))
    g = load(path, CompileOptions()).graph
    xs = samples(rng)
    np.save(tmp_path / "one.npy", xs["x"])
    with pytest.raises(InputError, match="2 inputs.*'x', 'h'.*npz"):
        load_inputs(tmp_path / "one.npy", g)
    np.savez(tmp_path / "missing.npz", x=xs["x"])
    with pytest.raises(InputError, match="no array for input.*'h'"):
        load_inputs(tmp_path / "missing.npz", g)
    np.savez(tmp_path / "extra.npz", x=xs["x"], h=xs["h"], z=xs["h"])
    with pytest.raises(InputError, match="'z' is not a model input"):
        load_inputs(tmp_path / "extra.npz", g)
    np.savez(tmp_path / "count.npz", x=xs["x"], h=xs["h"][:3])
    with pytest.raises(InputError, match="different numbers of samples"):
        load_inputs(tmp_path / "count.npz", g)
    np.savez(tmp_path / "dtype.npz", x=xs["x"].astype(np.float32), h=xs["h"])
    with pytest.raises(InputError, match="dtype float32 but the model input 'x' is int8"):
        load_inputs(tmp_path / "dtype.npz", g)
    with pytest.raises(InputError, match="OUTPUT=INPUT"):
        parse_feedback(["state"], g)
    with pytest.raises(InputError, match="no model output 'nope'"):
        parse_feedback(["nope=h"], g)
    with pytest.raises(InputError, match="output 'y' is int8 \\[3\\] but input 'h' is int8 \\[6\\]"):
        parse_feedback(["y=h"], g)
    other = tmp_path / "q.tflite"
    other.write_bytes(two_input_model(rng, state_scale=0.1))
    with pytest.raises(InputError, match="quantized differently"):
        parse_feedback(["state=h"], load(other, CompileOptions()).graph)


def test_single_input_npz_and_host_c(tmp_path):
    """A one-input model takes IN.npz as well (by name or index 0), the same as IN.npy."""
    rng = np.random.default_rng(4)
    b = ModelBuilder()
    x = b.tensor([1, 8], scale=0.05, zero_point=1, name="in")
    w = b.tensor([2, 8], scale=0.02, zero_point=0, data=rng.integers(-127, 128, (2, 8)))
    y = b.tensor([1, 2], scale=0.1, zero_point=0)
    b.op("FULLY_CONNECTED", [x, w, -1], [y], fc_options("RELU"), "FullyConnectedOptions")
    path = tmp_path / "m.tflite"
    path.write_bytes(b.build([x], [y]))
    xs = rng.integers(-128, 128, (4, 8), dtype=np.int8)
    np.savez(tmp_path / "in.npz", **{"0": xs})
    g = load(path, CompileOptions()).graph
    np.testing.assert_array_equal(load_inputs(tmp_path / "in.npz", g), xs)
    np.testing.assert_array_equal(host_c_run(path, xs, tmp_path / "gen"), tflm_run(path.read_bytes(), xs))


def test_onnx_two_inputs_calibrate_npz(tmp_path):
    """A float ONNX model with two inputs is quantized on DATA.npz (one array per input, by name
    or index), compiled, and its host C agrees with onnxruntime on the QDQ model it made."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(5)
    nodes = [
        helper.make_node("Add", ["x", "h"], ["s"]),
        helper.make_node("Gemm", ["s", "w", "b"], ["y"], transB=1),
    ]
    inits = [numpy_helper.from_array(rng.normal(size=(3, 6)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.normal(size=3).astype(np.float32), "b")]  # fmt: skip
    vi = helper.make_tensor_value_info
    g = helper.make_graph(nodes, "two_inputs", [vi("x", TensorProto.FLOAT, [1, 6]), vi("h", TensorProto.FLOAT, [1, 6])],
                          [vi("y", TensorProto.FLOAT, [1, 3]), vi("s", TensorProto.FLOAT, [1, 6])], inits)  # fmt: skip
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 9
    onnx.save(m, tmp_path / "two.onnx")
    np.savez(tmp_path / "cal.npz", x=rng.normal(size=(40, 6)).astype(np.float32),
             **{"1": rng.normal(size=(40, 6)).astype(np.float32) * 2})  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "edgeneuro.cli", "compile", str(tmp_path / "two.onnx"),
                           "--calibrate", str(tmp_path / "cal.npz"), "-o", str(tmp_path / "out")],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    qdq = tmp_path / "out" / "two.int8.onnx"
    p = load(qdq, CompileOptions())
    assert [p.graph.t(n).dtype for n in p.graph.inputs] == ["float32", "float32"]  # QDQ: quantized on the chip
    xf = {"x": rng.normal(size=(6, 6)).astype(np.float32), "h": rng.normal(size=(6, 6)).astype(np.float32) * 2}
    np.savez(tmp_path / "in.npz", **xf)
    c = compile_model(p, boards.load("mps2-an386"), tmp_path / "gen")
    host = run_on_host(c, load_inputs(tmp_path / "in.npz", p.graph))
    want = ort.InferenceSession(str(qdq), providers=["CPUExecutionProvider"])
    for name in ("y", "s"):
        (deq,) = [op for op in p.graph.ops if name in op.outputs]  # the DEQUANTIZE of the output's int8 value
        step = p.graph.t(deq.inputs[0]).scale
        for k in range(6):
            (ref,) = want.run([name], {n: v[k][None] for n, v in xf.items()})
            assert np.abs(host[name][k] - ref[0]).max() <= 1.01 * step, name  # one quantization step per operator


@pytest.mark.sim
def test_stream_two_inputs_over_the_serial_line(tmp_path):
    """`stream --input IN.npz` sends each sample's inputs in one frame, the state fed back by the host;
    the board's outputs equal TFLM's driven the same way."""
    rng = np.random.default_rng(6)
    model = two_input_model(rng)
    path = tmp_path / "m.tflite"
    path.write_bytes(model)
    xs = samples(rng, 4)
    np.savez(tmp_path / "in.npz", **xs)
    proc = subprocess.run([sys.executable, "-m", "edgeneuro.cli", "stream", str(path), "--board", "mps2-an386",
                           "--input", str(tmp_path / "in.npz"), "--output", str(tmp_path / "out.npz"), "--json",
                           "--feedback", "1=h"], capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outputs_equal_reference"] == 4
    want_y, want_s = tflm_sequence(model, xs, {1: 1})
    with np.load(tmp_path / "out.npz") as out:
        np.testing.assert_array_equal(out["y"], want_y)
        np.testing.assert_array_equal(out["state"], want_s)
