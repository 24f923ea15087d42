"""The ONNX operators of issue 14 item 3: ConvTranspose and Resize (QDQ int8, against onnxruntime
within one quantization step, as tests/test_onnx_frontend.py compares), float models computed in
float32 with ``--precision float`` (against onnxruntime within a few ulp of the largest output:
float sums may run in another order; also every float model the int8 tests quantize), ONNX LSTM
(forward, reverse, bidirectional) in float32 as UNIDIRECTIONAL_SEQUENCE_LSTM (+ REVERSE_V2,
CONCATENATION), ONNX GRU in float32 unrolled over its steps (also on QEMU, and streamed with
--feedback), and the command line's --precision."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper
from onnx_models import float_model_io, ort_run_all, quantize
from test_onnx_frontend import check_against_onnxruntime, edgeneuro, one_line_error

from edgeneuro import boards, reference
from edgeneuro.compiler import compile_model, load
from edgeneuro.errors import UnsupportedOperator
from edgeneuro.options import CompileOptions
from edgeneuro.runner import check_inputs, run_on_host

RNG = np.random.default_rng(14)
N = helper.make_node


def W(*shape, s=0.3):  # noqa: N802
    return RNG.normal(size=shape) * s


def dims(shape) -> list:
    return ["N", *shape[1:]]


def conv1x1(c: int) -> tuple:
    """A 1x1 Conv before a Resize: onnxruntime quantizes a Resize only after a quantized operator."""
    return N("Conv", ["x", "cw"], ["c"], kernel_shape=[1, 1]), {"cw": W(c, c, 1, 1, s=0.6)}


CONV1, CONV1_W = conv1x1(3)


def resize(mode: str, ctm: str, nearest: str | None = None, scales=None, sizes=None) -> tuple:
    attrs = {"mode": mode, "coordinate_transformation_mode": ctm, **({"nearest_mode": nearest} if nearest else {})}
    if scales is not None:
        return N("Resize", ["c", "", "sc"], ["y"], **attrs), {"sc": np.float32(scales)}
    return N("Resize", ["c", "", "", "sz"], ["y"], **attrs), {"sz": np.int64(sizes)}


def resize_case(mode, ctm, nearest=None, scales=None, sizes=None, flags=(False, False), min_equal=0.95):
    node, init = resize(mode, ctm, nearest, scales, sizes)
    out = sizes if sizes is not None else [int(d * s) for d, s in zip((1, 3, 4, 5), scales, strict=True)]
    kind = "RESIZE_NEAREST_NEIGHBOR" if mode == "nearest" else "RESIZE_BILINEAR"
    return [CONV1, node], {**CONV1_W, **init}, (1, 3, 4, 5), tuple(out), min_equal, 1, (kind, flags)


# name: (nodes, initializers, input shape, output shape, min. fraction equal to onnxruntime, max. steps off it,
#        (IR kind, (align_corners, half_pixel_centers)) or None)
QDQ = {
    "conv_transpose": ([N("ConvTranspose", ["x", "w", "b"], ["y"], strides=[2, 2], pads=[1, 0, 0, 1],
                          output_padding=[1, 0])],
                       {"w": W(3, 5, 3, 3), "b": W(5, s=0.1)}, (1, 3, 4, 5), (1, 5, 9, 10), 0.95, 1, None),
    "conv_transpose_relu": ([N("ConvTranspose", ["x", "w"], ["c"], strides=[1, 2], pads=[1, 1, 1, 1]),
                             N("Relu", ["c"], ["y"])],
                            {"w": W(4, 6, 3, 4)}, (1, 4, 5, 5), (1, 6, 5, 10), 0.95, 1, None),
    "conv_transpose_1d": ([N("ConvTranspose", ["x", "w"], ["y"], strides=[3], pads=[1, 2])],
                          {"w": W(3, 4, 4)}, (1, 3, 6), (1, 4, 16), 0.95, 1, None),
    "resize_nearest_asymmetric_floor": resize_case("nearest", "asymmetric", "floor", scales=[1, 1, 2, 3]),
    "resize_nearest_half_pixel_ceil": resize_case("nearest", "half_pixel", "round_prefer_ceil", sizes=[1, 3, 7, 9],
                                                  flags=(False, True)),
    "resize_nearest_align_ceil": resize_case("nearest", "align_corners", "round_prefer_ceil", sizes=[1, 3, 7, 9],
                                             flags=(True, False)),
    "resize_linear_half_pixel": resize_case("linear", "half_pixel", sizes=[1, 3, 7, 9], flags=(False, True),
                                            min_equal=0.8),
    "resize_linear_align": resize_case("linear", "align_corners", sizes=[1, 3, 7, 9], flags=(True, False),
                                       min_equal=0.8),
    "resize_linear_asymmetric": resize_case("linear", "asymmetric", scales=[1, 1, 2, 2], min_equal=0.8),
}  # fmt: skip


def qdq_model(tmp, name):
    nodes, inits, ish, osh, *_ = QDQ[name]
    f = float_model_io(tmp / f"{name}_float.onnx", nodes, inits, {"x": dims(ish)}, {"y": dims(osh)})
    return quantize(f, tmp / f"{name}.onnx", (RNG.normal(size=(40, *ish[1:])) * 1.5).astype(np.float32))


@pytest.mark.parametrize("name", sorted(QDQ))
def test_qdq_against_onnxruntime(name, tmp_path):
    q = qdq_model(tmp_path, name)
    ish, _, min_equal, max_steps, expect = QDQ[name][2:]
    x = (RNG.normal(size=(6, *ish[1:])) * 1.5).astype(np.float32)
    prepared = check_against_onnxruntime(q, x, min_equal, max_steps, tmp_path)
    kinds = [op.kind for op in prepared.graph.ops]
    if expect is None:
        assert "TRANSPOSE_CONV" in kinds, kinds
    else:
        (op,) = [op for op in prepared.graph.ops if op.kind == expect[0]]
        assert (op.attrs["align_corners"], op.attrs["half_pixel_centers"]) == expect[1]


def test_onnx_default_nearest_at_2x(tmp_path):
    """ONNX's default nearest (half_pixel + round_prefer_floor) has no ties at an exact 2x upscale:
    it reads what TFLite reads (at integer factors every flag pair but align_corners reads the same
    pixels, so the first, no flag, is taken), and the float copy equals onnxruntime's bit for bit."""
    node, init = resize("nearest", "half_pixel", "round_prefer_floor", scales=[1, 1, 2, 2])
    f = float_model_io(tmp_path / "r.onnx", [N("Identity", ["x"], ["c"]), node], init, {"x": ["N", 3, 4, 5]},
                       {"y": ["N", 3, 8, 10]})  # fmt: skip
    x = RNG.normal(size=(3, 3, 4, 5)).astype(np.float32)
    prepared, (y,) = run_float(f, {"x": x}, tmp_path)
    (op,) = [op for op in prepared.graph.ops if op.kind == "RESIZE_NEAREST_NEIGHBOR"]
    assert not op.attrs["align_corners"]
    np.testing.assert_array_equal(y, ort_run_all(f, {"x": x})[0])


def test_resize_modes_tflite_cannot_compute_are_refused(tmp_path):
    """ONNX's default nearest resize (half_pixel + round_prefer_floor) reads other pixels than any of
    TFLite's flag pairs at 4x5 -> 7x9 (ties round down); cubic has no TFLite kernel."""
    for node, init, expect in (
        (*resize("nearest", "half_pixel", "round_prefer_floor", sizes=[1, 3, 7, 9]), "reads other positions"),
        (*resize("cubic", "half_pixel", sizes=[1, 3, 7, 9]), "mode 'cubic'"),
    ):
        f = float_model_io(tmp_path / "r.onnx", [CONV1, node], {**CONV1_W, **init}, {"x": ["N", 3, 4, 5]},
                           {"y": ["N", 3, 7, 9]})  # fmt: skip
        with pytest.raises(UnsupportedOperator) as e:
            load(f, CompileOptions(precision="float"))
        assert "Resize is not supported" in str(e.value) and expect in str(e.value), str(e.value)


# float32 (--precision float): the error of edgeneuro's output against onnxruntime's, in ulp of the
# largest output magnitude (the sums of Conv / Gemm / LSTM may run in another order, which moves
# the last bits of values smaller than the largest); measured 2-8 over 7 seeds of weights and inputs
FLOAT_ULPS = 16
HOST_ULPS = 4  # host C against the numpy reference: expf / tanhf of the C library (edgeneuro/ops/sigmoid.py)


def ulps_of_max(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.abs(got.astype(np.float64) - want).max() / np.spacing(np.float32(np.abs(want).max())))


def run_float(model, feeds: dict, tmp, outputs=None):
    """``model`` compiled with --precision float and run as host C on ``feeds`` (checked against the
    numpy reference); its outputs in graph order."""
    prepared = load(model, CompileOptions(precision="float"))
    c = compile_model(prepared, boards.load("mps2-an386"), tmp / "gen")
    g = prepared.graph
    host = run_on_host(c, check_inputs(feeds, g))
    count = len(next(iter(feeds.values())))
    for i in range(count):
        ref = reference.run(g, prepared.kernels, [feeds[n][i : i + 1] for n in g.inputs])
        for name, r in zip(g.outputs, ref, strict=True):
            assert ulps_of_max(host[name][i : i + 1], r.reshape(host[name][i : i + 1].shape)) <= HOST_ULPS
    assert all(g.t(n).dtype == "float32" for op in g.ops for n in op.outputs), "an int8 tensor in a float model"
    return prepared, list(host.values())


FLOAT = {
    "cnn": ([N("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]), N("Relu", ["c"], ["r"]),
             N("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             N("Conv", ["p", "w2", "b2"], ["c2"], kernel_shape=[3, 3], group=6, pads=[1, 1, 1, 1]),
             N("Sigmoid", ["c2"], ["s"]), N("Mul", ["c2", "s"], ["sw"]),
             N("AveragePool", ["sw"], ["a"], kernel_shape=[2, 2], strides=[1, 1]),
             N("GlobalAveragePool", ["a"], ["g"]), N("Flatten", ["g"], ["f"]),
             N("Gemm", ["f", "w3", "b3"], ["h"], transB=1), N("Tanh", ["h"], ["t"]),
             N("MatMul", ["t", "w4"], ["m"]), N("Add", ["m", "b4"], ["l"]), N("Softmax", ["l"], ["y"])],
            {"w": W(6, 3, 3, 3), "b": W(6), "w2": W(6, 1, 3, 3), "b2": W(6), "w3": W(10, 6), "b3": W(10),
             "w4": W(10, 4), "b4": W(4)},
            (1, 3, 8, 8), (1, 4),
            {"CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D", "LOGISTIC", "TANH", "SOFTMAX",
             "FULLY_CONNECTED", "MEAN"}),
    "bn_clip_concat_transpose": (
        [N("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
         N("BatchNormalization", ["c", "g", "be", "m", "v"], ["n"]),
         N("Clip", ["n", "lo", "hi"], ["r"]), N("Conv", ["x", "w2"], ["c2"], kernel_shape=[1, 1]),
         N("Concat", ["r", "c2"], ["cc"], axis=1), N("Transpose", ["cc"], ["t"], perm=[0, 2, 3, 1]),
         N("Reshape", ["t", "shp"], ["y"])],
        {"w": W(4, 3, 3, 3), "b": W(4), "g": W(4) + 1, "be": W(4), "m": W(4), "v": np.abs(W(4)) + 0.5,
         "lo": np.float32(0), "hi": np.float32(6), "w2": W(2, 3, 1, 1), "shp": np.int64([1, -1])},
        (1, 3, 5, 5), (1, 150), {"CONV_2D", "CONCATENATION"}),
    "conv_transpose_resize": ([N("ConvTranspose", ["x", "w", "b"], ["c"], strides=[2, 2], pads=[1, 1, 0, 0],
                                 output_padding=[1, 1]),
                               N("Resize", ["c", "", "", "sz"], ["y"], mode="linear")],
                              {"w": W(3, 4, 3, 3), "b": W(4), "sz": np.int64([1, 4, 13, 11])}, (1, 3, 4, 5),
                              (1, 4, 13, 11), {"TRANSPOSE_CONV", "RESIZE_BILINEAR"}),
    "elementwise": ([N("Conv", ["x", "w"], ["c"], kernel_shape=[3]),
                     N("Split", ["c", "parts"], ["s1", "s2"], axis=1), N("Sub", ["s1", "s2"], ["d"]),
                     N("Div", ["d", "k"], ["e"]), N("Neg", ["e"], ["ng"]), N("Abs", ["ng"], ["ab"]),
                     N("Max", ["ab", "lo"], ["mx"]), N("Pow", ["mx", "two"], ["sq"]),
                     N("Pad", ["sq", "pads", "pv"], ["pd"]), N("Slice", ["pd", "st", "en", "ax"], ["sl"]),
                     N("ReduceMean", ["sl"], ["y"], axes=[2], keepdims=0)],
                    {"w": W(4, 2, 3), "parts": np.int64([2, 2]), "k": np.float32([2.5]), "lo": np.float32([0.2]),
                     "two": np.float32([2.0]), "st": np.int64([1]), "en": np.int64([8]), "ax": np.int64([2]),
                     "pads": np.int64([0, 1, 1, 0, 0, 2]), "pv": np.float32(0.5)},
                    (1, 2, 8), (1, 3),
                    {"SUB", "DIV", "ABS", "MAXIMUM", "MUL", "CONCATENATION", "STRIDED_SLICE", "MEAN"}),
    "clip_gather_matmul": ([N("Clip", ["x", "lo", "hi"], ["c"]), N("Gather", ["c", "gi"], ["g"], axis=1),
                            N("MatMul", ["g", "w"], ["m"]), N("Relu", ["m"], ["y"])],
                           {"lo": np.float32(0), "hi": np.float32(6), "gi": np.int64([3, 0, 2]), "w": W(6, 5)},
                           (1, 4, 6), (1, 3, 5), {"RELU6", "GATHER", "FULLY_CONNECTED"}),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(FLOAT))
def test_float_against_onnxruntime(name, tmp_path):
    nodes, inits, ish, osh, kinds = FLOAT[name]
    f = float_model_io(tmp_path / f"{name}.onnx", nodes, inits, {"x": dims(ish)}, {"y": dims(osh)})
    x = (RNG.normal(size=(6, *ish[1:])) * 1.5).astype(np.float32)
    prepared, (y,) = run_float(f, {"x": x}, tmp_path)
    want = ort_run_all(f, {"x": x})[0]
    assert y.shape == want.shape
    assert ulps_of_max(y, want) <= FLOAT_ULPS, ulps_of_max(y, want)
    assert kinds <= {op.kind for op in prepared.graph.ops}, {op.kind for op in prepared.graph.ops}


LSTM_T, LSTM_I, LSTM_H = 6, 3, 5


def lstm_model(tmp, direction: str, layout: int = 0, outputs=("y", "yh")):
    dirs = 2 if direction == "bidirectional" else 1
    inits = {"w": W(dirs, 4 * LSTM_H, LSTM_I, s=0.5), "r": W(dirs, 4 * LSTM_H, LSTM_H, s=0.5),
             "b": W(dirs, 8 * LSTM_H)}  # fmt: skip
    shapes = {"y": [LSTM_T, dirs, 1, LSTM_H], "yh": [dirs, 1, LSTM_H]}
    nodes = [N("LSTM", ["x", "w", "r", "b"], ["y", "yh"], hidden_size=LSTM_H, direction=direction)]
    x_shape = [LSTM_T, 1, LSTM_I]
    if layout == 1:  # batch first: onnxruntime runs only layout 0, so it checks the same LSTM between Transposes
        nodes = [N("LSTM", ["x", "w", "r", "b"], ["y", "yh"], hidden_size=LSTM_H, direction=direction, layout=1)]
        shapes = {"y": [1, LSTM_T, dirs, LSTM_H], "yh": [1, dirs, LSTM_H]}
        x_shape = [1, LSTM_T, LSTM_I]
    outs = {k: shapes[k] for k in outputs}
    f = float_model_io(tmp / f"lstm_{direction}_{layout}.onnx", nodes, inits, {"x": x_shape}, outs)
    if layout == 0:
        return f, f
    same = [N("Transpose", ["x"], ["xt"], perm=[1, 0, 2]),
            N("LSTM", ["xt", "w", "r", "b"], ["y0", "yh0"], hidden_size=LSTM_H, direction=direction),
            N("Transpose", ["y0"], ["y"], perm=[2, 0, 1, 3]),
            N("Transpose", ["yh0"], ["yh"], perm=[1, 0, 2])]  # fmt: skip
    return f, float_model_io(tmp / f"lstm_{direction}_0.onnx", same, inits, {"x": x_shape}, outs)


def ort_samples(model, x: np.ndarray) -> list[np.ndarray]:
    """Every output of ``model`` for each whole input tensor in ``x`` (no batch axis added)."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    runs = [sess.run(None, {"x": s}) for s in x]
    return [np.stack([r[j] for r in runs]) for j in range(len(runs[0]))]


@pytest.mark.parametrize("direction, layout", [("forward", 0), ("reverse", 0), ("bidirectional", 0),
                                               ("bidirectional", 1)])  # fmt: skip
def test_lstm_float_against_onnxruntime(direction, layout, tmp_path):
    model, same = lstm_model(tmp_path, direction, layout)
    x = (RNG.normal(size=(4, *[d.dim_value for d in onnx.load(model).graph.input[0].type.tensor_type.shape.dim]))
         * 2).astype(np.float32)  # fmt: skip
    feeds = {"x": x if layout == 0 else x[:, 0]}  # layout 1: [1, T, I], the batch axis is the sample axis
    prepared, got = run_float(model, feeds, tmp_path)
    for y, want in zip(got, ort_samples(same, x), strict=True):
        assert ulps_of_max(y.reshape(want.shape), want) <= FLOAT_ULPS, ulps_of_max(y.reshape(want.shape), want)
    kinds = [op.kind for op in prepared.graph.ops]
    assert kinds.count("UNIDIRECTIONAL_SEQUENCE_LSTM") == (2 if direction == "bidirectional" else 1)
    assert ("REVERSE_V2" in kinds) == (direction != "forward")


def test_lstm_time_axis_is_not_a_batch(tmp_path):
    """An unbound leading dimension of an LSTM's [T, B, I] input is its time axis, not a batch to set
    to 1: it must be bound with --shape."""
    model, _ = lstm_model(tmp_path, "forward")
    m = onnx.load(model)
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "seq"
    onnx.save(m, tmp_path / "seq.onnx")
    err = one_line_error(edgeneuro("compile", str(tmp_path / "seq.onnx"), "-o", str(tmp_path / "o"),
                                   "--precision", "float"))  # fmt: skip
    assert "input 'x' has an unbound dimension 0 ('seq')" in err and "--shape x=seqx1x3" in err, err


def test_lstm_int8_and_cell_output_are_refused(tmp_path):
    model, _ = lstm_model(tmp_path, "forward")
    err = one_line_error(edgeneuro("compile", str(model), "-o", str(tmp_path / "out")))
    assert "LSTM is not supported: LSTM compiles in float32 (--precision float" in err, err
    m = onnx.load(model)
    m.graph.node[0].output.append("yc")
    m.graph.output.append(helper.make_tensor_value_info("yc", onnx.TensorProto.FLOAT, [1, 1, LSTM_H]))
    onnx.save(m, tmp_path / "yc.onnx")
    err = one_line_error(edgeneuro("compile", str(tmp_path / "yc.onnx"), "-o", str(tmp_path / "out"),
                                   "--precision", "float"))  # fmt: skip
    assert "cell state output Y_c" in err, err


GRU_T, GRU_I, GRU_H = 6, 3, 5


def gru_model(tmp, direction: str, lbr: int = 0, layout: int = 0, batch: int = 1, outputs=("y", "yh"), h0=None):
    """A GRU with Y and Y_h (``h0``: a constant initial_h, or "input" for a second model input 'h0');
    with layout 1 also the same GRU in layout 0 between Transposes (onnxruntime runs GRU only in
    layout 0), which is what onnxruntime checks."""
    dirs = 2 if direction == "bidirectional" else 1
    inits = {"w": W(dirs, 3 * GRU_H, GRU_I, s=0.5), "r": W(dirs, 3 * GRU_H, GRU_H, s=0.5), "b": W(dirs, 6 * GRU_H)}
    ins = ["x", "w", "r", "b"]
    if h0 is not None:
        if not isinstance(h0, str):
            inits["h0"] = h0
        ins += ["", "h0"]
    attrs = dict(hidden_size=GRU_H, direction=direction, linear_before_reset=lbr)
    if layout == 0:
        nodes = [N("GRU", ins, ["y", "yh"], **attrs)]
        shapes = {"y": [GRU_T, dirs, batch, GRU_H], "yh": [dirs, batch, GRU_H]}
        x_shape = [GRU_T, batch, GRU_I]
    else:
        nodes = [N("GRU", ins, ["y", "yh"], **attrs, layout=1)]
        shapes = {"y": [batch, GRU_T, dirs, GRU_H], "yh": [batch, dirs, GRU_H]}
        x_shape = [batch, GRU_T, GRU_I]
    outs = {k: shapes[k] for k in outputs}
    model_ins = {"x": x_shape}
    if isinstance(h0, str):
        model_ins["h0"] = [dirs, batch, GRU_H] if layout == 0 else [batch, dirs, GRU_H]
    f = float_model_io(tmp / f"gru_{direction}_{lbr}_{layout}.onnx", nodes, inits, model_ins, outs)
    if layout == 0:
        return f, f
    same = [
        N("Transpose", ["x"], ["xt"], perm=[1, 0, 2]),
        N("GRU", ["xt", *ins[1:4]], ["y0", "yh0"], **attrs),
        N("Transpose", ["y0"], ["y"], perm=[2, 0, 1, 3]),
        N("Transpose", ["yh0"], ["yh"], perm=[1, 0, 2]),
    ]
    if h0 is not None:  # initial_h is [B, D, H] in layout 1
        if isinstance(h0, str):
            same.insert(0, N("Transpose", ["h0"], ["h0t"], perm=[1, 0, 2]))
        else:
            inits["h0t"] = np.transpose(h0, (1, 0, 2))
        same[-3] = N("GRU", ["xt", "w", "r", "b", "", "h0t"], ["y0", "yh0"], **attrs)
    return f, float_model_io(tmp / f"gru_{direction}_{lbr}_0.onnx", same, inits, model_ins, outs)


def gru_check(model, same, tmp, samples=4):
    """``model`` as host C (== the numpy reference) against onnxruntime on ``same``; the prepared
    model and the worst error in ulp of the largest output."""
    import onnxruntime as ort

    feeds = {i.name: (RNG.normal(size=(samples, *[d.dim_value for d in i.type.tensor_type.shape.dim])) * 2)
             .astype(np.float32) for i in onnx.load(model).graph.input}  # fmt: skip
    # the runner reads a leading 1 as the batch axis: [N, *rest] there (each sample is a whole tensor)
    prepared, got = run_float(model, {k: v[:, 0] if v.shape[1] == 1 else v for k, v in feeds.items()}, tmp)
    sess = ort.InferenceSession(str(same), providers=["CPUExecutionProvider"])
    runs = [sess.run(None, {k: v[i] for k, v in feeds.items()}) for i in range(samples)]
    wants = [np.stack([r[j] for r in runs]) for j in range(len(runs[0]))]
    assert len(got) == len(wants)
    worst = 0.0
    for y, want in zip(got, wants, strict=True):
        worst = max(worst, ulps_of_max(y.reshape(want.shape), want))
    assert worst <= FLOAT_ULPS, worst
    return prepared, worst


@pytest.mark.parametrize("direction, lbr, layout, batch", [
    ("forward", 0, 0, 1), ("forward", 1, 0, 2), ("reverse", 0, 0, 1), ("reverse", 1, 0, 1),
    ("bidirectional", 0, 0, 2), ("bidirectional", 1, 0, 1), ("bidirectional", 1, 1, 2)])  # fmt: skip
def test_gru_float_against_onnxruntime(direction, lbr, layout, batch, tmp_path):
    model, same = gru_model(tmp_path, direction, lbr, layout, batch)
    prepared, _ = gru_check(model, same, tmp_path)
    assert prepared.graph.outputs == ("y", "yh")  # the ONNX names (model.h, --feedback)
    kinds = [op.kind for op in prepared.graph.ops]
    dirs = 2 if direction == "bidirectional" else 1
    assert kinds.count("TANH") == GRU_T * dirs and "REVERSE_V2" not in kinds, kinds
    want = {"FULLY_CONNECTED", "BATCH_MATMUL", "UNPACK", "LOGISTIC", "SPLIT_V", "MUL", "SUB", "ADD", "PACK"}
    assert want <= set(kinds), kinds
    # every step reads the same two recurrent matrices per direction (one copy each in flash)
    assert len({op.inputs[1] for op in prepared.graph.ops if op.kind == "BATCH_MATMUL"}) == 2 * dirs


@pytest.mark.parametrize("outputs", [("y",), ("yh",)])
def test_gru_one_output(outputs, tmp_path):
    """Y alone or Y_h alone: only what is read is assembled (no PACK of the states for Y_h alone)."""
    model, same = gru_model(tmp_path, "bidirectional", 1, outputs=outputs)
    prepared, _ = gru_check(model, same, tmp_path, samples=2)
    packs = [op for op in prepared.graph.ops if op.kind == "PACK"]
    assert len(packs) == (2 if outputs == ("y",) else 1)


@pytest.mark.parametrize("layout", [0, 1])
def test_gru_constant_initial_h(layout, tmp_path):
    h0 = W(2, 2, GRU_H)  # [D, B, H]
    model, same = gru_model(tmp_path, "bidirectional", 0, layout, 2,
                            h0=h0 if layout == 0 else np.transpose(h0, (1, 0, 2)))  # fmt: skip
    gru_check(model, same, tmp_path, samples=2)


@pytest.mark.parametrize("direction, layout", [("forward", 0), ("bidirectional", 0), ("bidirectional", 1)])
def test_gru_initial_h_as_an_input(direction, layout, tmp_path):
    """initial_h a model input (a streaming GRU whose state the application feeds back)."""
    model, same = gru_model(tmp_path, direction, 1, layout, 2, h0="input")
    prepared, _ = gru_check(model, same, tmp_path, samples=3)
    assert prepared.graph.inputs == ("x", "h0")


def test_gru_forms_it_cannot_compute_are_refused(tmp_path):
    model, _ = gru_model(tmp_path, "forward")
    err = one_line_error(edgeneuro("compile", str(model), "-o", str(tmp_path / "out")))
    assert "GRU is not supported: GRU compiles in float32 (--precision float" in err, err
    for change, expect in (
        (lambda n: n.attribute.append(helper.make_attribute("clip", 2.0)), "clip is not supported"),
        (lambda n: n.attribute.append(helper.make_attribute("activations", ["Relu", "Tanh"])), "activations"),
        (lambda n: n.input.extend(["seq"]), "sequence_lens"),
    ):
        m = onnx.load(model)
        change(m.graph.node[0])
        m.graph.initializer.append(onnx.numpy_helper.from_array(np.full(1, GRU_T, np.int32), "seq"))
        with pytest.raises(UnsupportedOperator) as e:
            load(_save(m, tmp_path / "m.onnx"), CompileOptions(precision="float"))
        assert "GRU is not supported" in str(e.value) and expect in str(e.value), str(e.value)


@pytest.mark.sim
def test_gru_on_qemu(tmp_path):
    """A small bidirectional GRU (linear_before_reset 1) as firmware on mps2-an386's FPU: the board's
    Y and Y_h agree with the host C and onnxruntime (the board's C library has its own expf / tanhf)."""
    from edgeneuro.runner import run_on_board

    model, same = gru_model(tmp_path, "bidirectional", 1)
    x = (RNG.normal(size=(3, GRU_T, 1, GRU_I)) * 2).astype(np.float32)
    np.save(tmp_path / "in.npy", x)
    prepared = load(model, CompileOptions(precision="float"))
    board = run_on_board(prepared, boards.load("mps2-an386"), tmp_path / "in.npy", tmp_path / "b")
    _, host = run_float(model, {"x": x}, tmp_path)
    for got, h, want in zip(board.outputs.values(), host, ort_samples(same, x), strict=True):
        assert ulps_of_max(got, h) <= HOST_ULPS, ulps_of_max(got, h)
        assert ulps_of_max(got.reshape(want.shape), want) <= FLOAT_ULPS


@pytest.mark.sim
def test_gru_streamed_with_feedback_on_qemu(tmp_path):
    """A streaming GRU: initial_h a model input fed Y_h of the call before (--feedback yh=h0), so
    four calls of 6 steps are one GRU over 24 steps (onnxruntime on the whole sequence)."""
    import onnxruntime as ort

    from edgeneuro.runner import run_on_board

    model, _ = gru_model(tmp_path, "forward", 1, outputs=("yh",), h0="input")
    chunks = (RNG.normal(size=(4, GRU_T, 1, GRU_I)) * 2).astype(np.float32)
    np.savez(tmp_path / "in.npz", x=chunks, h0=np.zeros((4, 1, GRU_H), np.float32))
    prepared = load(model, CompileOptions(precision="float"))
    yh = run_on_board(prepared, boards.load("mps2-an386"), tmp_path / "in.npz", tmp_path / "b",
                      feedback=("yh=h0",)).outputs["yh"]  # fmt: skip
    m = onnx.load(model)
    whole = float_model_io(tmp_path / "whole.onnx", [N("GRU", ["x", "w", "r", "b"], ["y", "yh"], hidden_size=GRU_H,
                                                        linear_before_reset=1)],
                           {i.name: onnx.numpy_helper.to_array(i) for i in m.graph.initializer},
                           {"x": ["T", 1, GRU_I]}, {"yh": [1, 1, GRU_H]})  # fmt: skip
    sess = ort.InferenceSession(str(whole), providers=["CPUExecutionProvider"])
    for k in range(1, 5):
        (want,) = sess.run(None, {"x": chunks[:k].reshape(k * GRU_T, 1, GRU_I)})
        assert ulps_of_max(yh[k - 1].reshape(want.shape), want) <= FLOAT_ULPS


def _save(m, path):
    onnx.save(m, path)
    return path


def test_precision_flag_on_the_command_line(tmp_path):
    """--precision float compiles a float model; without it a float model still asks for --calibrate
    (or --precision float); the flag refuses a QDQ model, --calibrate, and a .tflite model."""
    nodes, inits, ish, osh, _ = FLOAT["cnn"]
    f = float_model_io(tmp_path / "cnn.onnx", nodes, inits, {"x": dims(ish)}, {"y": dims(osh)})
    ok = edgeneuro("compile", str(f), "-o", str(tmp_path / "out"), "--precision", "float")
    assert ok.returncode == 0, ok.stderr
    err = one_line_error(edgeneuro("compile", str(f), "-o", str(tmp_path / "out2")))
    assert "--calibrate data.npy" in err and "--precision float" in err, err
    np.save(tmp_path / "cal.npy", RNG.normal(size=(4, *ish[1:])).astype(np.float32))
    err = one_line_error(edgeneuro("compile", str(f), "-o", str(tmp_path / "o3"), "--precision", "float",
                                   "--calibrate", str(tmp_path / "cal.npy")))  # fmt: skip
    assert "give one" in err, err
    q = qdq_model(tmp_path, "conv_transpose")
    err = one_line_error(edgeneuro("compile", str(q), "-o", str(tmp_path / "o4"), "--precision", "float"))
    assert "this one is quantized (QDQ)" in err, err
    (tmp_path / "m.tflite").write_bytes(b"")
    err = one_line_error(edgeneuro("inspect", str(tmp_path / "m.tflite"), "--precision", "float"))
    assert "--precision float is for ONNX models" in err, err


def _float_cases() -> dict:
    """The float models of tests/test_onnx.py and tests/test_onnx_frontend.py (before quantization)."""
    import test_onnx
    import test_onnx_frontend

    cases = {f"frontend_{k}": (v[0], v[1], v[2], v[3]) for k, v in test_onnx_frontend.CASES.items()}
    for k, (nodes, inits, ish, osh, _) in test_onnx.CASES.items():
        cases[f"onnx_{k}"] = (nodes, inits, ish, {"y": dims(osh)})
    return cases


FLOAT_CASES = _float_cases()


@pytest.mark.parametrize("name", sorted(FLOAT_CASES))
def test_quantized_cases_in_float32(name, tmp_path):
    """Every float model the int8 tests quantize also compiles with --precision float, within
    FLOAT_ULPS of onnxruntime's float outputs."""
    nodes, inits, ish, outs = FLOAT_CASES[name]
    f = float_model_io(tmp_path / "f.onnx", nodes, inits, {"x": dims(ish)}, outs)
    x = (RNG.normal(size=(4, *ish[1:])) * 2).astype(np.float32)
    _, got = run_float(f, {"x": x}, tmp_path)
    for y, want in zip(got, ort_run_all(f, {"x": x}), strict=True):
        assert ulps_of_max(y.reshape(want.shape), want) <= FLOAT_ULPS, ulps_of_max(y.reshape(want.shape), want)
