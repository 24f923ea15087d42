"""Every operator, three ways, over randomized shapes and quantization parameters:
(a) edgeneuro's numpy reference == TensorFlow Lite Micro's reference kernels, bit for bit;
(b) the generated C, built for the host, == the numpy reference, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from opcheck import check, check_on_qemu, log_uniform, samples
from tflite_builder import (
    ACT,
    PAD,
    ModelBuilder,
    conv2d_options,
    fc_options,
    options,
    pool_options,
    reducer_options,
    reshape_options,
    softmax_options,
    squeeze_options,
)

from edgeneuro.ops.base import out_size

pytestmark = pytest.mark.tflm
ACTS = st.sampled_from(["NONE", "RELU", "RELU6"])
PADS = st.sampled_from(["SAME", "VALID"])


@st.composite
def conv_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(1, 2))
    h, w = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    pad, act = draw(PADS), draw(ACTS)
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cin, cout = groups * draw(st.integers(1, 4)), groups * draw(st.integers(1, 4))
    per_channel = draw(st.booleans())
    oh, ow = out_size(pad, h, kh, sh, dh), out_size(pad, w, kw, sw, dw)
    assume(oh > 0 and ow > 0)
    s_in = log_uniform(rng, 1e-3, 1.0)
    s_w = np.array([log_uniform(rng, 1e-3, 0.1) for _ in range(cout if per_channel else 1)], np.float32)
    fc = cin // groups
    s_out = float(np.float32(s_in * float(s_w.mean()) * np.sqrt(kh * kw * fc) * rng.uniform(8, 80)))
    b = ModelBuilder()
    x = b.tensor([n, h, w, cin], scale=s_in, zero_point=int(rng.integers(-128, 128)))
    wt = b.tensor([cout, kh, kw, fc], scale=s_w, zero_point=0, data=rng.integers(-127, 128, (cout, kh, kw, fc)))
    bias_scale = s_in * s_w.astype(np.float64)
    bias = b.tensor(
        [cout],
        "int32",
        scale=bias_scale if per_channel else bias_scale[:1],
        zero_point=0,
        data=rng.integers(-3000, 3000, cout),
    )
    y = b.tensor([n, oh, ow, cout], scale=s_out, zero_point=int(rng.integers(-128, 128)))
    b.op("CONV_2D", [x, wt, bias], [y], conv2d_options(pad, sh, sw, dh, dw, act), "Conv2DOptions")
    return b.build([x], [y]), samples(rng, [n, h, w, cin])


@given(conv_case())
@settings(max_examples=60)
def test_conv2d(case):
    check(*case)


@st.composite
def fc_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    batches, depth, units = draw(st.integers(1, 3)), draw(st.integers(1, 64)), draw(st.integers(1, 24))
    per_channel, act, with_bias = draw(st.booleans()), draw(ACTS), draw(st.booleans())
    s_in = log_uniform(rng, 1e-3, 1.0)
    s_w = np.array([log_uniform(rng, 1e-3, 0.1) for _ in range(units if per_channel else 1)], np.float32)
    s_out = float(np.float32(s_in * float(s_w.mean()) * np.sqrt(depth) * rng.uniform(8, 80)))
    b = ModelBuilder()
    x = b.tensor([batches, depth], scale=s_in, zero_point=int(rng.integers(-128, 128)))
    wt = b.tensor([units, depth], scale=s_w, zero_point=0, data=rng.integers(-127, 128, (units, depth)))
    inputs = [x, wt]
    if with_bias:
        inputs.append(
            b.tensor(
                [units],
                "int32",
                scale=s_in * s_w.astype(np.float64),
                zero_point=0,
                data=rng.integers(-3000, 3000, units),
            )
        )
    else:
        inputs.append(-1)
    y = b.tensor([batches, units], scale=s_out, zero_point=int(rng.integers(-128, 128)))
    b.op("FULLY_CONNECTED", inputs, [y], fc_options(act), "FullyConnectedOptions")
    return b.build([x], [y]), samples(rng, [batches, depth])


@given(fc_case())
@settings(max_examples=50)
def test_fully_connected(case):
    check(*case)


@st.composite
def pool_case(draw, whole_windows: bool = False):
    """A pooling layer; ``whole_windows``: an average of a time series (one column, windows that
    padding never reaches, whole words of channels: pool_dsp.c's column loop), now and then not."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = "AVERAGE_POOL_2D" if whole_windows else draw(st.sampled_from(["MAX_POOL_2D", "AVERAGE_POOL_2D"]))
    n, h, w, c = draw(st.integers(1, 2)), draw(st.integers(1, 12)), draw(st.integers(1, 12)), draw(st.integers(1, 6))
    fh, fw, sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pad, act = draw(PADS), draw(ACTS)
    if whole_windows:
        c, pad = 4 * draw(st.integers(1, 3)), "VALID"
        w, fw = draw(st.sampled_from([(1, 1), (1, 1), (1, 1), (w, fw)]))  # mostly one column
        act = draw(st.sampled_from(["NONE", "NONE", act]))  # without a fused activation: no clamp
        h = draw(st.integers(1, 40))
        assume(fh <= h and fw <= w)
    oh, ow = out_size(pad, h, fh, sh, 1), out_size(pad, w, fw, sw, 1)
    assume(oh > 0 and ow > 0)
    scale, zp = log_uniform(rng, 1e-3, 0.1), int(rng.integers(-128, 128))
    b = ModelBuilder()
    x = b.tensor([n, h, w, c], scale=scale, zero_point=zp)
    y = b.tensor([n, oh, ow, c], scale=scale, zero_point=zp)
    b.op(kind, [x], [y], pool_options(pad, fh, fw, sh, sw, act), "Pool2DOptions")
    return b.build([x], [y]), samples(rng, [n, h, w, c])


@given(pool_case())
@settings(max_examples=50)
def test_pool2d(case):
    check(*case)


@given(pool_case(whole_windows=True))
@settings(max_examples=25)
def test_average_pool_whole_windows(case):
    check(*case)


@st.composite
def mean_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rank = draw(st.integers(2, 4))
    shape = [1] + [draw(st.integers(1, 9)) for _ in range(rank - 1)]
    axes = draw(st.lists(st.integers(1, rank - 1), min_size=1, max_size=rank - 1, unique=True))
    keep_dims, same_quant = draw(st.booleans()), draw(st.booleans())
    s_in, zp_in = log_uniform(rng, 1e-3, 0.1), int(rng.integers(-128, 128))
    s_out, zp_out = (s_in, zp_in) if same_quant else (log_uniform(rng, 1e-3, 0.1), int(rng.integers(-128, 128)))
    out_shape = (
        [1 if i in axes else d for i, d in enumerate(shape)]
        if keep_dims
        else [d for i, d in enumerate(shape) if i not in axes]
    )
    b = ModelBuilder()
    x = b.tensor(shape, scale=s_in, zero_point=zp_in)
    ax = b.tensor([len(axes)], "int32", data=np.array(axes))
    y = b.tensor(out_shape, scale=s_out, zero_point=zp_out)
    b.op("MEAN", [x, ax], [y], reducer_options(keep_dims), "ReducerOptions")
    return b.build([x], [y]), samples(rng, shape)


@given(mean_case())
@settings(max_examples=50)
def test_mean(case):
    check(*case)


@st.composite
def softmax_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rows, depth = draw(st.integers(1, 4)), draw(st.integers(1, 40))
    beta = draw(st.sampled_from([1.0, 0.5, 2.0, 1.7]))
    b = ModelBuilder()
    x = b.tensor([1, rows, depth], scale=log_uniform(rng, 1e-3, 0.5), zero_point=int(rng.integers(-128, 128)))
    y = b.tensor([1, rows, depth], scale=1 / 256, zero_point=-128)
    b.op("SOFTMAX", [x], [y], softmax_options(beta), "SoftmaxOptions")
    return b.build([x], [y]), samples(rng, [1, rows, depth], n=4)


@given(softmax_case())
@settings(max_examples=50)
def test_softmax(case):
    check(*case)


def test_softmax_extremes():
    """Rows that are constant, have one dominant value, or span the whole int8 range."""
    b = ModelBuilder()
    x = b.tensor([1, 10], scale=0.1, zero_point=3)
    y = b.tensor([1, 10], scale=1 / 256, zero_point=-128)
    b.op("SOFTMAX", [x], [y], softmax_options(1.0), "SoftmaxOptions")
    rows = np.array([[0] * 10, [127] + [-128] * 9, list(range(-128, 128, 26)), [5, 5, 5, 5, 5, 6, 6, 6, 6, 6]], np.int8)
    check(b.build([x], [y]), rows)


@st.composite
def view_chain_case(draw):
    """EXPAND_DIMS + CONV_2D (the converter's Conv1D) + RESHAPE + SQUEEZE: views around a kernel."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    t, c, k, f = draw(st.integers(4, 40)), draw(st.integers(1, 6)), draw(st.integers(1, 5)), draw(st.integers(1, 6))
    assume(t >= k)
    s_in, zp = log_uniform(rng, 1e-2, 0.5), int(rng.integers(-128, 128))
    s_w = np.float32(0.02)
    b = ModelBuilder()
    x = b.tensor([1, t, c], scale=s_in, zero_point=zp)
    axis = b.tensor([], "int32", data=np.array(1))
    x4 = b.tensor([1, 1, t, c], scale=s_in, zero_point=zp)
    b.op("EXPAND_DIMS", [x, axis], [x4])
    wt = b.tensor([f, 1, k, c], scale=s_w, zero_point=0, data=rng.integers(-127, 128, (f, 1, k, c)))
    bias = b.tensor([f], "int32", scale=s_in * s_w, zero_point=0, data=rng.integers(-500, 500, f))
    ot = t - k + 1
    y4 = b.tensor([1, 1, ot, f], scale=float(s_in * s_w * np.sqrt(k * c) * 20), zero_point=-5)
    b.op("CONV_2D", [x4, wt, bias], [y4], conv2d_options("VALID", 1, 1, 1, 1, "RELU"), "Conv2DOptions")
    shape = b.tensor([3], "int32", data=np.array([1, ot * f, 1]))
    y3 = b.tensor([1, ot * f, 1], scale=float(s_in * s_w * np.sqrt(k * c) * 20), zero_point=-5)
    b.op("RESHAPE", [y4, shape], [y3], reshape_options([1, ot * f, 1]), "ReshapeOptions")
    y2 = b.tensor([1, ot * f], scale=float(s_in * s_w * np.sqrt(k * c) * 20), zero_point=-5)
    b.op("SQUEEZE", [y3], [y2], squeeze_options([2]), "SqueezeOptions")
    return b.build([x], [y2]), samples(rng, [1, t, c])


@given(view_chain_case())
@settings(max_examples=10)
def test_views_around_conv1d(case):
    check(*case)


@st.composite
def depthwise_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 10)), draw(st.integers(1, 10))
    cin, mult = draw(st.integers(1, 6)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw, dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    pad, act, per_channel = draw(PADS), draw(ACTS), draw(st.booleans())
    oh, ow = out_size(pad, h, kh, sh, dh), out_size(pad, w, kw, sw, dw)
    assume(oh > 0 and ow > 0)
    cout = cin * mult
    s_in = log_uniform(rng, 1e-3, 1.0)
    s_w = np.array([log_uniform(rng, 1e-3, 0.1) for _ in range(cout if per_channel else 1)], np.float32)
    s_out = float(np.float32(s_in * float(s_w.mean()) * np.sqrt(kh * kw) * rng.uniform(4, 40)))
    b = ModelBuilder()
    x = b.tensor([n, h, w, cin], scale=s_in, zero_point=int(rng.integers(-128, 128)))
    wt = b.tensor([1, kh, kw, cout], scale=s_w, zero_point=0, axis=3, data=rng.integers(-127, 128, (1, kh, kw, cout)))
    bias = b.tensor([cout], "int32", scale=s_in * s_w.astype(np.float64), zero_point=0,
                    data=rng.integers(-2000, 2000, cout))  # fmt: skip
    y = b.tensor([n, oh, ow, cout], scale=s_out, zero_point=int(rng.integers(-128, 128)))
    opts = options("DepthwiseConv2DOptions", padding=PAD[pad], strideH=sh, strideW=sw, depthMultiplier=mult,
                   dilationHFactor=dh, dilationWFactor=dw, fusedActivationFunction=ACT[act])  # fmt: skip
    b.op("DEPTHWISE_CONV_2D", [x, wt, bias], [y], opts, "DepthwiseConv2DOptions")
    return b.build([x], [y]), samples(rng, [n, h, w, cin])


@given(depthwise_case())
@settings(max_examples=50)
def test_depthwise_conv2d(case):
    check(*case)


def broadcastable(draw, rank: int) -> tuple[list[int], list[int]]:
    out = [draw(st.integers(1, 5)) for _ in range(rank)]
    b_rank = draw(st.integers(1, rank))
    b = [d if draw(st.booleans()) else 1 for d in out[rank - b_rank :]]
    return out, b


@st.composite
def binary_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["ADD", "SUB", "MUL"]))
    a_shape, b_shape = broadcastable(draw, draw(st.integers(1, 5)))
    a_shape[0] = 1  # a is the model input: batch 1
    if len(b_shape) == len(a_shape):
        b_shape[0] = 1
    act = draw(ACTS)
    s_a, s_b = log_uniform(rng, 1e-3, 0.5), log_uniform(rng, 1e-3, 0.5)
    s_out = float(np.float32((s_a * s_b * 128 if kind == "MUL" else max(s_a, s_b)) * rng.uniform(0.5, 3)))
    b = ModelBuilder()
    xa = b.tensor(a_shape, scale=s_a, zero_point=int(rng.integers(-128, 128)))
    xb = b.tensor(b_shape, scale=s_b, zero_point=int(rng.integers(-128, 128)), data=rng.integers(-128, 128, b_shape))
    y = b.tensor(a_shape, scale=s_out, zero_point=int(rng.integers(-128, 128)))
    opt = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions"}[kind]
    b.op(kind, [xa, xb] if draw(st.booleans()) or kind == "SUB" else [xb, xa], [y],
         options(opt, fusedActivationFunction=ACT[act]), opt)  # fmt: skip
    return b.build([xa], [y]), samples(rng, a_shape)


@given(binary_case())
@settings(max_examples=80)
def test_add_sub_mul(case):
    check(*case)


@pytest.mark.sim
@given(
    st.one_of(
        conv_case(),
        depthwise_case(),
        fc_case(),
        pool_case(),
        pool_case(whole_windows=True),
        mean_case(),
        softmax_case(),
        binary_case(),
        view_chain_case(),
    )
)
@settings(max_examples=30)
def test_every_op_on_qemu(case):
    check_on_qemu(*case)
