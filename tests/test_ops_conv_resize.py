"""TRANSPOSE_CONV, BATCH_MATMUL, RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR over randomized
shapes, options and quantization parameters: edgeneuro's numpy reference == TFLM's reference
kernels and the generated C on the host == the reference, bit for bit (int8, 16x8 where TFLM has
it, float32); TRANSPOSE_CONV also as firmware on QEMU."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opcheck import check, check_on_qemu, log_uniform, lowering_error, samples
from tflite_builder import ACT, PAD, ModelBuilder, options

pytestmark = pytest.mark.tflm
ACTS = st.sampled_from(["NONE", "RELU", "RELU6", "RELU_N1_TO_1"])


def fsamples(rng: np.random.Generator, shape: list[int], n: int = 3) -> np.ndarray:
    return rng.normal(size=(n, *(shape[1:] if shape[0] == 1 else shape))).astype(np.float32)


def samples16(rng: np.random.Generator, shape: list[int], n: int = 3) -> np.ndarray:
    return rng.integers(-32768, 32768, (n, *(shape[1:] if shape[0] == 1 else shape)), dtype=np.int16)


def transpose_conv_options(padding: str, stride_h: int, stride_w: int, act: str = "NONE"):
    return options("TransposeConvOptions", padding=PAD[padding], strideH=stride_h, strideW=stride_w,
                   fusedActivationFunction=ACT[act])  # fmt: skip


@st.composite
def transpose_conv_case(draw, dtype: str = "int8"):
    """A TRANSPOSE_CONV of ``dtype`` activations: any window, stride and padding, the output the
    size the converter gives (in * s for SAME, (in - 1) * s + k for VALID) or any other (TFLM
    takes the output tensor's), with or without bias, any fused activation."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    kh, kw, sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    cin, cout = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    pad, act, with_bias = draw(st.sampled_from(["SAME", "VALID"])), draw(ACTS), draw(st.booleans())
    if draw(st.booleans()):
        oh, ow = (h * sh, w * sw) if pad == "SAME" else ((h - 1) * sh + kh, (w - 1) * sw + kw)
    else:
        oh, ow = draw(st.integers(1, h * sh + kh)), draw(st.integers(1, w * sw + kw))
    b = ModelBuilder()
    shape = b.tensor([4], "int32", data=np.array([n, oh, ow, cout]))
    if dtype == "float32":
        x = b.tensor([n, h, w, cin], "float32")
        wt = b.tensor([cout, kh, kw, cin], "float32", data=rng.normal(size=(cout, kh, kw, cin)))
        bias = b.tensor([cout], "float32", data=rng.normal(size=cout)) if with_bias else None
        y = b.tensor([n, oh, ow, cout], "float32")
        xs = fsamples(rng, [n, h, w, cin])
    else:
        per_channel = draw(st.booleans())
        s_in = log_uniform(rng, 1e-4, 1e-2) if dtype == "int16" else log_uniform(rng, 1e-3, 1.0)
        s_w = np.array([log_uniform(rng, 1e-3, 0.1) for _ in range(cout if per_channel else 1)], np.float32)
        s_out = float(np.float32(s_in * float(s_w.mean()) * np.sqrt(kh * kw * cin) * rng.uniform(8, 80)))
        zp_in, zp_out = (0, 0) if dtype == "int16" else (int(rng.integers(-128, 128)), int(rng.integers(-128, 128)))
        x = b.tensor([n, h, w, cin], dtype, scale=s_in, zero_point=zp_in)
        wt = b.tensor([cout, kh, kw, cin], scale=s_w, zero_point=0, data=rng.integers(-127, 128, (cout, kh, kw, cin)))
        bias_scale = s_in * s_w.astype(np.float64)
        bias = None
        if with_bias:
            bias_type, span = ("int64", 2**20) if dtype == "int16" else ("int32", 3000)
            bias = b.tensor([cout], bias_type, scale=bias_scale, zero_point=0, data=rng.integers(-span, span, cout))
        y = b.tensor([n, oh, ow, cout], dtype, scale=s_out, zero_point=zp_out)
        xs = samples16(rng, [n, h, w, cin]) if dtype == "int16" else samples(rng, [n, h, w, cin])
    inputs = [shape, wt, x] + ([bias] if bias is not None else [])
    version = 4 if act != "NONE" else (3 if dtype == "int16" else 2 if dtype == "int8" else 1)
    b.op("TRANSPOSE_CONV", inputs, [y], transpose_conv_options(pad, sh, sw, act), "TransposeConvOptions", version)
    return b.build([x], [y]), xs


@given(transpose_conv_case())
@settings(max_examples=20)
def test_transpose_conv_int8(case):
    check(*case)


@given(st.one_of(transpose_conv_case("float32"), transpose_conv_case("int16")))
@settings(max_examples=20)
def test_transpose_conv_float32_and_16x8(case):
    check(*case)


@pytest.mark.sim
@given(transpose_conv_case())
@settings(max_examples=3)
def test_transpose_conv_on_qemu(case):
    check_on_qemu(*case)


def _quant(rng: np.random.Generator, dtype: str) -> dict:
    if dtype == "float32":
        return {}
    if dtype == "int16":
        return dict(scale=log_uniform(rng, 1e-4, 1e-2), zero_point=0)
    return dict(scale=log_uniform(rng, 1e-3, 0.1), zero_point=int(rng.integers(-128, 128)))


def _data(rng: np.random.Generator, dtype: str, shape) -> np.ndarray:
    if dtype == "float32":
        return rng.normal(size=shape).astype(np.float32)
    info = np.iinfo(np.dtype(dtype))
    return rng.integers(info.min, info.max + 1, shape).astype(dtype)


def _out_scale(rng: np.random.Generator, dtype: str, a: dict, b: dict, depth: int) -> dict:
    if dtype == "float32":
        return {}
    s = float(np.float32(a["scale"] * b["scale"] * np.sqrt(depth) * rng.uniform(20, 300)))
    return dict(scale=s, zero_point=0 if dtype == "int16" else int(rng.integers(-128, 128)))


@st.composite
def batch_matmul_case(draw, dtype: str = "int8"):
    """BATCH_MATMUL with one constant operand (either side), 2-D to 5-D, batch axes broadcast."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    m, k, n = draw(st.integers(1, 6)), draw(st.integers(1, 12)), draw(st.integers(1, 6))
    adj_x, adj_y, const_lhs = draw(st.booleans()), draw(st.booleans()), draw(st.booleans())
    full = [draw(st.integers(1, 3)) for _ in range(3)]
    lrank, rrank = draw(st.integers(2, 5)), draw(st.integers(2, 5))
    lb = [d if draw(st.booleans()) else 1 for d in full[5 - lrank :]] if lrank > 2 else []
    rb = [d if draw(st.booleans()) else 1 for d in full[5 - rrank :]] if rrank > 2 else []
    rank = max(lrank, rrank)
    ext = lambda dims: [1] * (rank - 2 - len(dims)) + dims  # noqa: E731
    out_batch = [max(a, c) for a, c in zip(ext(lb), ext(rb), strict=True)]
    lshape = lb + ([k, m] if adj_x else [m, k])
    rshape = rb + ([n, k] if adj_y else [k, n])
    b = ModelBuilder()
    lq, rq = _quant(rng, dtype), _quant(rng, dtype)
    lhs = b.tensor(lshape, dtype, data=_data(rng, dtype, lshape) if const_lhs else None, **lq)
    rhs = b.tensor(rshape, dtype, data=None if const_lhs else _data(rng, dtype, rshape), **rq)
    y = b.tensor(out_batch + [m, n], dtype, **_out_scale(rng, dtype, lq, rq, k))
    version = {"int8": 2, "int16": 3, "float32": 1}[dtype]
    b.op("BATCH_MATMUL", [lhs, rhs], [y], options("BatchMatMulOptions", adjX=adj_x, adjY=adj_y),
         "BatchMatMulOptions", version)  # fmt: skip
    x, shape = (rhs, rshape) if const_lhs else (lhs, lshape)
    xs = _data(rng, dtype, (3, *(shape[1:] if shape[0] == 1 else shape)))
    return b.build([x], [y]), xs


@st.composite
def batch_matmul_activations_case(draw, dtype: str = "int8"):
    """BATCH_MATMUL of two activations: the input [b, m, k] (or [b, k, m] with adj_x) times the
    same values requantized (int8: QUANTIZE to another scale and zero point) and reshaped to a 2-D
    [k, b * m] (or [b * m, k] with adj_y), broadcast over the input's batch."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    bt, m, k = draw(st.integers(1, 3)), draw(st.integers(1, 5)), draw(st.integers(1, 10))
    adj_x, adj_y = draw(st.booleans()), draw(st.booleans())
    n = bt * m
    b = ModelBuilder()
    xq = _quant(rng, dtype)
    xshape = [bt] + ([k, m] if adj_x else [m, k])
    x = b.tensor(xshape, dtype, **xq)
    src, rq = x, xq
    if dtype == "int8":
        rq = _quant(rng, dtype)
        src = b.tensor(xshape, dtype, **rq)
        b.op("QUANTIZE", [x], [src])
    rshape = [n, k] if adj_y else [k, n]
    rhs = b.tensor(rshape, dtype, **rq)
    b.op("RESHAPE", [src, b.tensor([2], "int32", data=np.array(rshape))], [rhs],
         options("ReshapeOptions", newShape=rshape), "ReshapeOptions")  # fmt: skip
    y = b.tensor([bt, m, n], dtype, **_out_scale(rng, dtype, xq, rq, k))
    b.op("BATCH_MATMUL", [x, rhs], [y], options("BatchMatMulOptions", adjX=adj_x, adjY=adj_y), "BatchMatMulOptions",
         {"int8": 2, "int16": 3, "float32": 1}[dtype])  # fmt: skip
    return b.build([x], [y]), _data(rng, dtype, (3, *(xshape[1:] if bt == 1 else xshape)))


@given(st.one_of(batch_matmul_case(), batch_matmul_activations_case()))
@settings(max_examples=20)
def test_batch_matmul_int8(case):
    check(*case)


@given(
    st.one_of(
        batch_matmul_case("float32"),
        batch_matmul_activations_case("float32"),
        batch_matmul_case("int16"),
        batch_matmul_activations_case("int16"),
    )
)
@settings(max_examples=20)
def test_batch_matmul_float32_and_16x8(case):
    check(*case)


@st.composite
def resize_case(draw, kind: str, dtype: str):
    """A resize of ``dtype`` to any size (up, down, mixed, 1), with any align_corners /
    half_pixel_centers TFLM takes (bilinear refuses both together)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, h, w, c = draw(st.integers(1, 2)), draw(st.integers(1, 7)), draw(st.integers(1, 7)), draw(st.integers(1, 3))
    oh, ow = draw(st.integers(1, 16)), draw(st.integers(1, 16))
    align, half = draw(st.booleans()), draw(st.booleans())
    if kind == "RESIZE_BILINEAR" and align and half:
        half = False
    b = ModelBuilder()
    q = _quant(rng, dtype)
    x = b.tensor([n, h, w, c], dtype, **q)
    size = b.tensor([2], "int32", data=np.array([oh, ow]))
    y = b.tensor([n, oh, ow, c], dtype, **q)
    opts = "ResizeBilinearOptions" if kind == "RESIZE_BILINEAR" else "ResizeNearestNeighborOptions"
    version = 4 if dtype == "int16" else 3 if half else 2 if dtype == "int8" else 1
    b.op(kind, [x, size], [y], options(opts, alignCorners=align, halfPixelCenters=half), opts, version)
    return b.build([x], [y]), _data(rng, dtype, (3, *([h, w, c] if n == 1 else [n, h, w, c])))


@given(
    st.one_of(
        resize_case("RESIZE_NEAREST_NEIGHBOR", "int8"),
        resize_case("RESIZE_NEAREST_NEIGHBOR", "int16"),
        resize_case("RESIZE_NEAREST_NEIGHBOR", "float32"),
    )
)
@settings(max_examples=20)
def test_resize_nearest_neighbor(case):
    check(*case)


@given(st.one_of(resize_case("RESIZE_BILINEAR", "int8"), resize_case("RESIZE_BILINEAR", "float32")))
@settings(max_examples=20)
def test_resize_bilinear(case):
    check(*case)


@st.composite
def svdf_case(draw, dtype: str = "int8"):
    """An SVDF: ``dtype`` "int8" (int8 state and time weights), "int16" (int8 input and output,
    int16 state and time weights) or "float32"; any rank, memory and batch."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    batches, depth, units = draw(st.integers(1, 3)), draw(st.integers(1, 12)), draw(st.integers(1, 5))
    rank, memory = draw(st.integers(1, 3)), draw(st.integers(1, 6))
    filters = units * rank
    act = draw(ACTS)  # TFLM's integer SVDF ignores it
    b = ModelBuilder()
    if dtype == "float32":
        x = b.tensor([batches, depth], "float32")
        wf = b.tensor([filters, depth], "float32", data=rng.normal(size=(filters, depth)))
        wt = b.tensor([filters, memory], "float32", data=rng.normal(size=(filters, memory)))
        bias = b.tensor([units], "float32", data=rng.normal(size=units))
        state = b.tensor([batches, memory * filters], "float32")
        y = b.tensor([batches, units], "float32")
        xs = fsamples(rng, [batches, depth])
    else:
        s_in, s_wf, s_wt = log_uniform(rng, 1e-3, 0.1), log_uniform(rng, 1e-3, 0.05), log_uniform(rng, 1e-4, 0.05)
        s_state = float(np.float32(s_in * s_wf * np.sqrt(depth) * rng.uniform(20, 200)))
        if dtype == "int16":
            s_state = float(np.float32(s_state / 256))
        state_zp = 0 if dtype == "int16" else int(rng.integers(-128, 128))
        s_out = float(
            np.float32(s_state * s_wt * np.sqrt(rank) * rng.uniform(20, 200) * (256 if dtype == "int16" else 1))
        )
        x = b.tensor([batches, depth], scale=s_in, zero_point=int(rng.integers(-128, 128)))
        wf = b.tensor([filters, depth], scale=s_wf, zero_point=0, data=rng.integers(-127, 128, (filters, depth)))
        wt = b.tensor([filters, memory], dtype, scale=s_wt, zero_point=0, data=_data(rng, dtype, (filters, memory)))
        bias = b.tensor([units], "int32", scale=float(np.float32(s_state) * np.float32(s_wt)), zero_point=0,
                        data=rng.integers(-5000, 5000, units))  # fmt: skip
        state = b.tensor([batches, memory * filters], dtype, scale=s_state, zero_point=state_zp)
        y = b.tensor([batches, units], scale=s_out, zero_point=int(rng.integers(-128, 128)))
        xs = samples(rng, [batches, depth])
    b.tensors[state].isVariable = True
    b.op("SVDF", [x, wf, wt, bias, state], [y], options("SVDFOptions", rank=rank, fusedActivationFunction=ACT[act]),
         "SVDFOptions", 1 if dtype == "float32" else 3)  # fmt: skip
    return b.build([x], [y]), xs


@given(st.one_of(svdf_case("int8"), svdf_case("int16"), svdf_case("float32")))
@settings(max_examples=20)
def test_svdf(case):
    check(*case)


def _tflm_refuses(model: bytes) -> bool:
    from tflite_micro.python.tflite_micro import runtime

    try:
        interp = runtime.Interpreter.from_bytes(model, arena_size=1 << 20)
        interp.invoke()
    except RuntimeError:
        return True
    return False


def _refused_models():
    """(model, what edgeneuro's error says, whether TFLM refuses it too)."""
    b = ModelBuilder()  # both sampling conventions at once
    x, size = b.tensor([1, 2, 2, 1], scale=0.1, zero_point=0), b.tensor([2], "int32", data=np.array([4, 4]))
    y = b.tensor([1, 4, 4, 1], scale=0.1, zero_point=0)
    b.op("RESIZE_BILINEAR", [x, size], [y], options("ResizeBilinearOptions", alignCorners=True, halfPixelCenters=True),
         "ResizeBilinearOptions", 3)  # fmt: skip
    yield b.build([x], [y]), "half_pixel_centers with align_corners", True
    b = ModelBuilder()  # batch axes 2 and 3
    lhs, rhs = b.tensor([2, 3, 4], "float32"), b.tensor([3, 4, 5], "float32", data=np.ones((3, 4, 5)))
    y = b.tensor([3, 3, 5], "float32")
    b.op("BATCH_MATMUL", [lhs, rhs], [y], options("BatchMatMulOptions"), "BatchMatMulOptions")
    yield b.build([lhs], [y]), "do not broadcast", True
    b = ModelBuilder()  # float LHS, int8 RHS (hybrid)
    lhs, rhs = b.tensor([2, 4], "float32"), b.tensor([4, 3], scale=0.1, zero_point=0, data=np.ones((4, 3)))
    y = b.tensor([2, 3], "float32")
    b.op("BATCH_MATMUL", [lhs, rhs], [y], options("BatchMatMulOptions"), "BatchMatMulOptions")
    yield b.build([lhs], [y]), "one type", True
    b = ModelBuilder()  # a size computed at run time
    x = b.tensor([1, 2, 2, 1], "float32")
    size = b.tensor([2], "int32")
    y = b.tensor([1, 4, 4, 1], "float32")
    b.op("RESIZE_NEAREST_NEIGHBOR", [x, size], [y], options("ResizeNearestNeighborOptions"),
         "ResizeNearestNeighborOptions")  # fmt: skip
    yield b.build([x, size], [y]), "constant int32 [2]", None  # TFLM's harness here feeds input 0 only
    b = ModelBuilder()  # output_shape and output tensor disagree (TFLM follows the tensor)
    shape = b.tensor([4], "int32", data=np.array([1, 5, 5, 1]))
    x = b.tensor([1, 2, 2, 1], "float32")
    w = b.tensor([1, 3, 3, 1], "float32", data=np.ones((1, 3, 3, 1)))
    y = b.tensor([1, 4, 4, 1], "float32")
    b.op("TRANSPOSE_CONV", [shape, w, x], [y], transpose_conv_options("SAME", 2, 2), "TransposeConvOptions")
    yield b.build([x], [y]), "output_shape", False
    b = ModelBuilder()  # SVDF without bias: TFLM's Prepare crashes (so it is not run here)
    x, wf = b.tensor([1, 4], "float32"), b.tensor([2, 4], "float32", data=np.ones((2, 4)))
    wt, state = b.tensor([2, 3], "float32", data=np.ones((2, 3))), b.tensor([1, 6], "float32")
    b.tensors[state].isVariable = True
    y = b.tensor([1, 1], "float32")
    b.op("SVDF", [x, wf, wt, -1, state], [y], options("SVDFOptions", rank=2), "SVDFOptions")
    yield b.build([x], [y]), "without bias", None


@pytest.mark.parametrize("model, says, tflm_too", list(_refused_models()))
def test_refused_with_a_clear_error(model, says, tflm_too):
    """What TFLM refuses, or edgeneuro does not compute, stops the compile with an error naming the
    operator and the reason (TFLM's own refusal checked where its interpreter can be asked)."""
    msg = lowering_error(model)
    assert says in msg, msg
    if tflm_too is not None:
        assert _tflm_refuses(model) == tflm_too


@pytest.mark.slow
@pytest.mark.parametrize("int8", [False, True])
def test_converter_model(int8):
    """What the TFLite converter emits for a Keras Conv2DTranspose, tf.image.resize (bilinear,
    half-pixel centers; nearest) and a matmul of two activations (BATCH_MATMUL with adj_x), float32
    and full int8: TFLM == reference == host C."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    inp = tf.keras.Input((3, 3, 2), batch_size=1)
    h = tf.keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same")(inp)
    h = tf.keras.layers.Lambda(lambda t: tf.image.resize(t, (9, 11), method="bilinear"))(h)
    h = tf.keras.layers.Lambda(lambda t: tf.image.resize(t, (17, 13), method="nearest"))(h)
    r = tf.keras.layers.Reshape((17 * 13, 4))(h)
    model = tf.keras.Model(inp, tf.keras.layers.Lambda(lambda t: tf.matmul(t, t, transpose_a=True))(r))
    x = np.random.default_rng(0).normal(size=(16, 3, 3, 2)).astype(np.float32)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([s[None]] for s in x)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.int8
    xs = np.random.default_rng(1).integers(-128, 128, (3, 3, 3, 2)).astype(np.int8) if int8 else x[:3]
    check(converter.convert(), xs)
