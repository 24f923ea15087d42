"""ONNX LSTM and GRU in int8 (issue 14 item 3): a float model quantized with ``--calibrate``
(edgeneuro/frontends/onnx_recurrent.py) runs its LSTMs on the fused int8 kernel (en_lstm_s8, TFLite's
integer LSTM) with scales calibrated on the samples, its GRUs (and the LSTMs that kernel cannot take:
initial states, Y_c, peepholes) unrolled into elementary operators before onnxruntime's quantizer;
a QDQ model with a float LSTM / GRU between DequantizeLinear and QuantizeLinear runs it in float32
as the model says. Each is compared with onnxruntime running the float model (within a few steps of
the output quantization, for the reasons stated at the bounds) and the host C build with the numpy
reference bit for bit."""

from __future__ import annotations

import zlib

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper
from onnx_models import float_model_io
from test_onnx_frontend import edgeneuro

from edgeneuro import boards, reference
from edgeneuro.compiler import compile_model, load
from edgeneuro.compress.quantize import quantize_onnx
from edgeneuro.errors import ModelError
from edgeneuro.frontends.onnx import prepare_float
from edgeneuro.frontends.onnx_recurrent import CELL_KEY
from edgeneuro.options import CompileOptions
from edgeneuro.runner import check_inputs, run_on_host

RNG = np.random.default_rng(1414)  # re-seeded for each test by _seeded


@pytest.fixture(autouse=True)
def _seeded(request):
    """Each test draws its weights and samples from a seed of its own (from its node id), not from
    wherever the tests xdist ran before it in the same worker left the generator: the error bounds
    below are then the same on every run."""
    global RNG
    RNG = np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


N = helper.make_node
T, I, H = 6, 3, 5  # steps, input features, hidden units

# Bounds, in steps of the output's quantization, against onnxruntime running the float model on
# samples inside the calibrated ranges; in brackets the largest error and the largest mean error
# measured over 3 seeds of weights and samples (and these models):
# * fused LSTM: the input is quantized once, the gates are Q3.12 sums through TFLite's
#   table-interpolated int16 sigmoid / tanh, the cell int16 at a power-of-two scale, and the int8
#   hidden state (half a step of rounding) is fed back into the next step, so rounding errors add
#   up over the T steps [5.5, 0.44; 0.69 on average for a Gemm head reading Y_h, whose outputs sum
#   the errors of several hidden values];
LSTM_STEPS, LSTM_MEAN = 7, 0.8
# * unrolled GRU / LSTM: every step is ~10 int8 operators (Gemm, Add, Sigmoid, Split, Tanh, Mul,
#   Sub, ...), each rounding to its own calibrated scale in TFLite's fixed point (onnxruntime's QDQ
#   graph, run in float, differs from edgeneuro by 3-5 steps itself), and the state carries each
#   step's error into the next: within one step per operator on the path, a few in practice
#   [9.0, 1.31].
UNROLLED_STEPS, UNROLLED_MEAN = 12, 1.6


def W(*shape, s=0.5):  # noqa: N802
    return RNG.normal(size=shape) * s


def rnn_model(tmp, op: str, direction: str, layout: int = 0, outputs=("y", "yh"), lbr: int = 0,
              init: dict | None = None, peepholes: bool = False, head: bool = False, **attrs):  # fmt: skip
    """A float model of one LSTM / GRU (input x, outputs among y, yh, yc; ``init``: {"h0"/"c0":
    "const" or "input"}; ``head``: a Gemm on Squeeze(yh) as output 'out'), and the same model in
    layout 0 between Transposes for onnxruntime (which runs only layout 0)."""
    dirs = 2 if direction == "bidirectional" else 1
    gates = 4 if op == "LSTM" else 3
    inits = {"w": W(dirs, gates * H, I), "r": W(dirs, gates * H, H), "b": W(dirs, 2 * gates * H, s=0.3)}
    ins = ["x", "w", "r", "b", ""]
    model_in = {"x": [T, 1, I] if layout == 0 else [1, T, I]}
    for k, (name, i) in enumerate((("h0", 5), ("c0", 6))):
        how = (init or {}).get(name)
        while len(ins) <= i:
            ins.append("")
        if how == "const":
            inits[name] = W(dirs, 1, H)
        elif how == "input":
            model_in[name] = [dirs, 1, H]
        ins[i] = name if how else ""
        if op == "GRU" and k == 0:
            break
    if peepholes:
        ins += [""] * (8 - len(ins))
        ins[7] = "p"
        inits["p"] = W(dirs, 3 * H)
    while ins and not ins[-1]:
        ins.pop()
    if op == "GRU":
        attrs["linear_before_reset"] = lbr
    names = ["y", "yh", "yc"][: 3 if op == "LSTM" else 2]
    shapes = {"y": [T, dirs, 1, H], "yh": [dirs, 1, H], "yc": [dirs, 1, H]}
    if layout == 1:
        shapes = {"y": [1, T, dirs, H], "yh": [1, dirs, H], "yc": [1, dirs, H]}
    outs = {k: shapes[k] for k in outputs if k != "out"}
    nodes = [N(op, ins, [n if n in outputs or (n == "yh" and head) else "" for n in names], hidden_size=H,
               direction=direction, **attrs, **({"layout": 1} if layout else {}))]  # fmt: skip
    if head:
        inits.update(ax=np.int64([0]), w2=W(2, H * dirs), b2=W(2))
        nodes += [N("Reshape", ["yh", "flat"], ["s"]), N("Gemm", ["s", "w2", "b2"], ["out"], transB=1)]
        inits["flat"] = np.int64([1, -1])
        outs["out"] = [1, 2]
    tag = f"{op}_{direction}_{layout}_{lbr}_{'_'.join(outputs)}"
    model = float_model_io(tmp / f"{tag}.onnx", nodes, inits, model_in, outs)
    if layout == 0:
        return model, model
    same = [
        N("Transpose", ["x"], ["xt"], perm=[1, 0, 2]),
        N(op, ["xt", *ins[1:]], ["y0", "yh0"], hidden_size=H, direction=direction, **attrs),
        N("Transpose", ["y0"], ["y"], perm=[2, 0, 1, 3]),
        N("Transpose", ["yh0"], ["yh"], perm=[1, 0, 2]),
    ]
    return model, float_model_io(tmp / f"{tag}_same.onnx", same, inits, model_in, outs)


def samples(model, n: int, scale=1.5) -> dict[str, np.ndarray]:
    """n samples of each model input, [n, *shape] ([n, *shape without batch] when the leading axis is 1)."""
    out = {}
    for i in onnx.load(model).graph.input:
        shape = [d.dim_value for d in i.type.tensor_type.shape.dim]
        out[i.name] = (RNG.normal(size=(n, *(shape[1:] if shape[0] == 1 else shape))) * scale).astype(np.float32)
        if i.name in ("h0", "c0"):
            out[i.name] = np.tanh(out[i.name])
    return out


def ort_outputs(model, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    m = onnx.load(model)
    rank = {i.name: len(i.type.tensor_type.shape.dim) for i in m.graph.input}
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    count = len(next(iter(feeds.values())))
    runs = [sess.run(None, {k: v[i] if v[i].ndim == rank[k] else v[i][None] for k, v in feeds.items()})
            for i in range(count)]  # fmt: skip
    return [np.stack([r[j] for r in runs]) for j in range(len(runs[0]))]


def ort_quantize(model, out, feeds: dict[str, np.ndarray]):
    """onnxruntime's quantize_static alone (what a user's QDQ model is): LSTM / GRU stay float."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    rank = {i.name: len(i.type.tensor_type.shape.dim) for i in onnx.load(model).graph.input}

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            count = len(next(iter(feeds.values())))
            self.it = iter([{k: v[i] if v[i].ndim == rank[k] else v[i][None] for k, v in feeds.items()}
                            for i in range(count)])  # fmt: skip

        def get_next(self):
            return next(self.it, None)

    quantize_static(str(model), str(out), Reader(), quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8,
                    weight_type=QuantType.QInt8)  # fmt: skip
    return out


def calibrated(model, feeds: dict[str, np.ndarray], tmp) -> object:
    """``compile --calibrate``'s quantization of ``model`` on ``feeds``."""
    return quantize_onnx(prepare_float(model, tmp / "prepared.onnx"), feeds, tmp / "int8.onnx")


def run_int8(qdq, feeds: dict[str, np.ndarray], tmp):
    """The QDQ model compiled, run as host C on ``feeds`` (bit for bit the numpy reference)."""
    prepared = load(qdq, CompileOptions())
    c = compile_model(prepared, boards.load("mps2-an386"), tmp / "gen")
    g, kernels = prepared.graph, prepared.kernels
    host = run_on_host(c, check_inputs(feeds, g))
    for i in range(len(next(iter(feeds.values())))):
        ref = reference.run(g, kernels, [feeds[n][i : i + 1] for n in g.inputs])
        for name, r in zip(g.outputs, ref, strict=True):
            np.testing.assert_array_equal(host[name][i : i + 1], r.reshape(host[name][i : i + 1].shape))
    return prepared, list(host.values())


def output_steps(qdq) -> list[float]:
    """The quantization step of each graph output (the scale of the DequantizeLinear making it)."""
    m = onnx.load(qdq)
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    make = {o: n for n in m.graph.node for o in n.output}
    return [float(inits[make[o.name].input[1]]) for o in m.graph.output]


def check(model, same, tmp, bound: float, mean: float, n: int = 8):
    """Calibrates on 24 samples (the n compared among them, so every value is inside the ranges),
    compiles, and compares with onnxruntime's float model; returns the compiled model."""
    cal = samples(model, 24)
    feeds = {k: v[:n] for k, v in cal.items()}
    qdq = calibrated(model, cal, tmp)
    prepared, got = run_int8(qdq, feeds, tmp)
    for y, want, step, o in zip(got, ort_outputs(same, feeds), output_steps(qdq), onnx.load(model).graph.output,
                                strict=True):  # fmt: skip
        off = np.abs(y.reshape(want.shape) - want) / step
        assert off.max() <= bound, f"{o.name}: {off.max():.2f} steps off onnxruntime's float model"
        assert off.mean() <= mean, f"{o.name}: {off.mean():.2f} steps off on average"
    return prepared, qdq


def assert_int8(prepared) -> None:
    """Every computing operator int8 (only the inputs' layout moves before their QUANTIZE, and the
    outputs' DEQUANTIZE, are float)."""
    g = prepared.graph
    floats = {op.kind for op in g.ops for o in op.outputs if g.t(o).dtype != "int8"}
    assert floats <= {"RESHAPE", "TRANSPOSE", "DEQUANTIZE"}, floats


def kinds(prepared) -> list[str]:
    return [op.kind for op in prepared.graph.ops]


@pytest.mark.parametrize("direction, layout", [("forward", 0), ("reverse", 0), ("bidirectional", 0),
                                               ("bidirectional", 1)])  # fmt: skip
def test_lstm_on_the_fused_int8_kernel(direction, layout, tmp_path):
    model, same = rnn_model(tmp_path, "LSTM", direction, layout)
    prepared, qdq = check(model, same, tmp_path, LSTM_STEPS, LSTM_MEAN)
    dirs = 2 if direction == "bidirectional" else 1
    assert kinds(prepared).count("UNIDIRECTIONAL_SEQUENCE_LSTM") == dirs, kinds(prepared)
    assert ("REVERSE_V2" in kinds(prepared)) == (direction != "forward")
    g = prepared.graph
    for op in g.ops:
        if op.kind == "UNIDIRECTIONAL_SEQUENCE_LSTM":
            x, cell = g.t(op.inputs[0]), g.t(op.inputs[19])
            assert x.dtype == "int8" and g.t(op.inputs[1]).dtype == "int8" and cell.dtype == "int16"
            assert np.log2(cell.scale) == round(np.log2(cell.scale))  # a power of two
    assert CELL_KEY in {p.key for p in onnx.load(qdq).metadata_props}
    # onnxruntime still runs the rewritten QDQ model (the LSTM in float between the pairs)
    ort_outputs(qdq, samples(model, 2))


def test_fused_lstm_dsp_variant_and_qemu_agree(tmp_path):
    """On a core with SIMD32 the calibrated LSTM takes the DSP kernel (en_lstm_s8_dsp): the same bits
    as the portable kernel as host C (each checked against its numpy reference)."""
    model, _ = rnn_model(tmp_path, "LSTM", "bidirectional")
    feeds = samples(model, 4)
    qdq = calibrated(model, feeds, tmp_path)
    _, portable = run_int8(qdq, feeds, tmp_path / "p")
    dsp = load(qdq, CompileOptions(features=("dsp",)))
    # (a direction may keep the portable kernel where the DSP one's scratch would grow the arena)
    assert "en_lstm_s8_dsp" in {k.fn for k in dsp.kernels if k is not None}
    host = run_on_host(compile_model(dsp, boards.load("mps2-an386"), tmp_path / "d"), check_inputs(feeds, dsp.graph))
    for a, b in zip(portable, host.values(), strict=True):
        np.testing.assert_array_equal(a, b)
    for i in range(len(feeds["x"])):
        for r, b in zip(reference.run(dsp.graph, dsp.kernels, [feeds["x"][i : i + 1]]), host.values(), strict=True):
            np.testing.assert_array_equal(b[i : i + 1], r.reshape(b[i : i + 1].shape))


@pytest.mark.sim
def test_fused_lstm_on_qemu(tmp_path):
    """The calibrated bidirectional LSTM as firmware on mps2-an386 (DSP kernel) == the host C."""
    from edgeneuro.runner import run_on_board

    model, _ = rnn_model(tmp_path, "LSTM", "bidirectional")
    feeds = samples(model, 3)
    qdq = calibrated(model, feeds, tmp_path)
    _, host = run_int8(qdq, feeds, tmp_path / "h")
    np.save(tmp_path / "in.npy", feeds["x"])
    board = run_on_board(load(qdq, CompileOptions(features=("dsp",))), boards.load("mps2-an386"),
                         tmp_path / "in.npy", tmp_path / "b")  # fmt: skip
    for got, want in zip(board.outputs.values(), host, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("outputs", [("y",), ("out",)])
def test_lstm_one_output_and_a_quantized_head(outputs, tmp_path):
    """Only Y; or only Y_h, read by a Reshape and a Gemm that the quantizer quantized (its pair on
    Y_h gives way to the hidden state's quantization)."""
    model, same = rnn_model(tmp_path, "LSTM", "forward", outputs=outputs, head="out" in outputs)
    prepared, _ = check(model, same, tmp_path, LSTM_STEPS, LSTM_MEAN)
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in kinds(prepared)


@pytest.mark.parametrize("case", ["h0_const", "h0_c0_input", "yc", "peepholes"])
def test_lstm_forms_the_fused_kernel_cannot_take_are_unrolled(case, tmp_path):
    init = {"h0_const": {"h0": "const"}, "h0_c0_input": {"h0": "input", "c0": "input"}}.get(case)
    outputs = ("y", "yh", "yc") if case == "yc" else ("y", "yh")
    model, same = rnn_model(tmp_path, "LSTM", "forward" if case != "yc" else "bidirectional", outputs=outputs,
                            init=init, peepholes=case == "peepholes")  # fmt: skip
    prepared, _ = check(model, same, tmp_path, UNROLLED_STEPS, UNROLLED_MEAN)
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" not in kinds(prepared) and "FULLY_CONNECTED" in kinds(prepared)
    assert_int8(prepared)


@pytest.mark.parametrize("direction, lbr, layout", [("forward", 0, 0), ("reverse", 1, 0), ("bidirectional", 0, 0),
                                                    ("bidirectional", 1, 1)])  # fmt: skip
def test_gru_unrolled_in_int8(direction, lbr, layout, tmp_path):
    model, same = rnn_model(tmp_path, "GRU", direction, layout, lbr=lbr)
    prepared, _ = check(model, same, tmp_path, UNROLLED_STEPS, UNROLLED_MEAN)
    dirs = 2 if direction == "bidirectional" else 1
    assert kinds(prepared).count("TANH") == T * dirs, kinds(prepared)
    assert_int8(prepared)


def test_gru_initial_h_as_an_input(tmp_path):
    model, same = rnn_model(tmp_path, "GRU", "bidirectional", lbr=1, outputs=("yh",), init={"h0": "input"})
    check(model, same, tmp_path, UNROLLED_STEPS, UNROLLED_MEAN)


@pytest.mark.parametrize("attrs, expect", [
    ({"clip": 2.0}, "clip is not supported in int8"),
    ({"activations": ["HardSigmoid", "Tanh", "Tanh"]}, "activations ['hardsigmoid', 'tanh', 'tanh']"),
])  # fmt: skip
def test_forms_int8_cannot_compute_are_refused_naming_the_node(attrs, expect, tmp_path):
    model, _ = rnn_model(tmp_path, "LSTM", "forward", **attrs)
    with pytest.raises(ModelError) as e:
        calibrated(model, samples(model, 4), tmp_path)
    assert "operator #0 LSTM" in str(e.value) and expect in str(e.value), str(e.value)


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_qdq_model_with_a_float_recurrent_layer(op, tmp_path, capsys):
    """onnxruntime's own quantization of a model with an LSTM / GRU leaves it float between its
    DequantizeLinear and QuantizeLinear: edgeneuro computes it so, in float32, and says so. The
    quantized head then sees the same values as onnxruntime's: within a step of its output."""
    model, _ = rnn_model(tmp_path, op, "bidirectional", outputs=("out",), head=True)
    cal = samples(model, 16)
    qdq = ort_quantize(model, tmp_path / "ort.onnx", cal)
    feeds = {k: v[:6] for k, v in cal.items()}
    prepared, (y,) = run_int8(qdq, feeds, tmp_path)
    (want,) = ort_outputs(qdq, feeds)
    assert np.abs(y.reshape(want.shape) - want).max() <= output_steps(qdq)[0] * 1.0001
    assert any(op.kind in ("UNIDIRECTIONAL_SEQUENCE_LSTM", "BATCH_MATMUL") and
               prepared.graph.t(op.outputs[0]).dtype == "float32" for op in prepared.graph.ops)  # fmt: skip
    err = capsys.readouterr().err
    assert f"{op} '" in err and "runs in float32 between its DequantizeLinear" in err and "--calibrate" in err, err


def test_compile_with_calibrate_on_the_command_line(tmp_path):
    """`edgeneuro compile M.onnx --calibrate X.npz` with an LSTM and a GRU's samples [N, T, 1, I]
    (the whole [T, 1, I] input: its leading axis is the time, not a batch)."""
    model, _ = rnn_model(tmp_path, "LSTM", "bidirectional")
    np.savez(tmp_path / "cal.npz", x=samples(model, 8)["x"])
    proc = edgeneuro("compile", str(model), "--calibrate", str(tmp_path / "cal.npz"), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    model, _ = rnn_model(tmp_path, "GRU", "forward", outputs=("out",), head=True)
    qdq = ort_quantize(model, tmp_path / "ort.onnx", samples(model, 8))
    proc = edgeneuro("compile", str(qdq), "-o", str(tmp_path / "out2"))
    assert proc.returncode == 0, proc.stderr
    assert "GRU" in proc.stderr and "runs in float32 between its DequantizeLinear" in proc.stderr, proc.stderr


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_recurrent_layer_after_a_quantized_layer(op, tmp_path):
    """A MatMul + Relu before a bidirectional LSTM / GRU: its input is the int8 output of a layer the
    quantizer quantized (the LSTM keeps that quantization), with --calibrate and in onnxruntime's own
    QDQ model (dequantized into the float layer; float-level agreement with onnxruntime there, up to
    the int8 MatMul's rounding: 1e-2)."""
    gates = 4 if op == "LSTM" else 3
    inits = {"m": W(4, I), "w": W(2, gates * H, I), "r": W(2, gates * H, H), "b": W(2, 2 * gates * H)}
    nodes = [N("MatMul", ["x", "m"], ["xm"]), N("Relu", ["xm"], ["xr"]),
             N(op, ["xr", "w", "r", "b"], ["y", "yh"], hidden_size=H, direction="bidirectional")]  # fmt: skip
    model = float_model_io(tmp_path / "m.onnx", nodes, inits, {"x": [T, 1, 4]}, {"y": [T, 2, 1, H], "yh": [2, 1, H]})
    cal = samples(model, 24)
    feeds = {k: v[:8] for k, v in cal.items()}
    (tmp_path / "c").mkdir()
    prepared, _ = check(model, model, tmp_path / "c", *((LSTM_STEPS, LSTM_MEAN) if op == "LSTM" else
                                                        (UNROLLED_STEPS, UNROLLED_MEAN)))  # fmt: skip
    assert ("UNIDIRECTIONAL_SEQUENCE_LSTM" in kinds(prepared)) == (op == "LSTM")
    assert_int8(prepared)
    qdq = ort_quantize(model, tmp_path / "ort.onnx", cal)
    _, got = run_int8(qdq, feeds, tmp_path / "q")
    for y, want in zip(got, ort_outputs(qdq, feeds), strict=True):
        assert np.abs(y.reshape(want.shape) - want).max() <= 1e-2
