"""float32 kernels (float models on FPU boards): edgeneuro's numpy reference == TFLM's float
reference kernels and host C == reference, bit for bit (same summation order, no fused
multiply-add); SOFTMAX within 4 ulp (3 measured), since expf and the order of its
operations differ between implementations."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from opcheck import check
from tflite_builder import ACT, PAD, ModelBuilder, conv2d_options, options

from edgeneuro.ops.base import out_size

ACTS = st.sampled_from(["NONE", "RELU", "RELU6", "RELU_N1_TO_1"])
PADS = st.sampled_from(["SAME", "VALID"])


def fsamples(rng: np.random.Generator, shape: list[int], n: int = 3) -> np.ndarray:
    sample_shape = shape[1:] if shape[0] == 1 else shape
    return rng.normal(size=(n, *sample_shape)).astype(np.float32)


@st.composite
def conv_f32(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    depthwise = draw(st.booleans())
    n, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw, dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    pad, act = draw(PADS), draw(ACTS)
    oh, ow = out_size(pad, h, kh, sh, dh), out_size(pad, w, kw, sw, dw)
    assume(oh > 0 and ow > 0)
    cin = draw(st.integers(1, 6))
    b = ModelBuilder()
    x = b.tensor([n, h, w, cin], "float32")
    if depthwise:
        mult = draw(st.integers(1, 3))
        cout = cin * mult
        wt = b.tensor([1, kh, kw, cout], "float32", data=rng.normal(size=(1, kh, kw, cout)))
        bias = b.tensor([cout], "float32", data=rng.normal(size=cout))
        y = b.tensor([n, oh, ow, cout], "float32")
        opts = options("DepthwiseConv2DOptions", padding=PAD[pad], strideH=sh, strideW=sw, depthMultiplier=mult,
                       dilationHFactor=dh, dilationWFactor=dw, fusedActivationFunction=ACT[act])  # fmt: skip
        b.op("DEPTHWISE_CONV_2D", [x, wt, bias], [y], opts, "DepthwiseConv2DOptions")
    else:
        cout = draw(st.integers(1, 6))
        wt = b.tensor([cout, kh, kw, cin], "float32", data=rng.normal(size=(cout, kh, kw, cin)))
        bias = b.tensor([cout], "float32", data=rng.normal(size=cout))
        y = b.tensor([n, oh, ow, cout], "float32")
        b.op("CONV_2D", [x, wt, bias], [y], conv2d_options(pad, sh, sw, dh, dw, act), "Conv2DOptions")
    return b.build([x], [y]), fsamples(rng, [n, h, w, cin])


@given(conv_f32())
@settings(max_examples=40)
def test_conv2d_and_depthwise_f32(case):
    check(*case)


@st.composite
def fc_f32(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    batches, depth, units, act = draw(st.integers(1, 3)), draw(st.integers(1, 48)), draw(st.integers(1, 16)), draw(ACTS)
    b = ModelBuilder()
    x = b.tensor([batches, depth], "float32")
    w = b.tensor([units, depth], "float32", data=rng.normal(size=(units, depth)))
    bias = b.tensor([units], "float32", data=rng.normal(size=units)) if draw(st.booleans()) else -1
    y = b.tensor([batches, units], "float32")
    b.op("FULLY_CONNECTED", [x, w, bias], [y], options("FullyConnectedOptions", fusedActivationFunction=ACT[act]),
         "FullyConnectedOptions")  # fmt: skip
    return b.build([x], [y]), fsamples(rng, [batches, depth])


@st.composite
def pool_f32(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["MAX_POOL_2D", "AVERAGE_POOL_2D"]))
    n, h, w, c = draw(st.integers(1, 2)), draw(st.integers(1, 10)), draw(st.integers(1, 10)), draw(st.integers(1, 4))
    fh, fw, sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pad, act = draw(PADS), draw(ACTS)
    oh, ow = out_size(pad, h, fh, sh, 1), out_size(pad, w, fw, sw, 1)
    assume(oh > 0 and ow > 0)
    b = ModelBuilder()
    x = b.tensor([n, h, w, c], "float32")
    y = b.tensor([n, oh, ow, c], "float32")
    opts = options("Pool2DOptions", padding=PAD[pad], filterHeight=fh, filterWidth=fw, strideH=sh, strideW=sw,
                   fusedActivationFunction=ACT[act])  # fmt: skip
    b.op(kind, [x], [y], opts, "Pool2DOptions")
    return b.build([x], [y]), fsamples(rng, [n, h, w, c])


@st.composite
def mean_f32(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rank = draw(st.integers(2, 4))
    shape = [1] + [draw(st.integers(1, 7)) for _ in range(rank - 1)]
    axes = draw(st.lists(st.integers(1, rank - 1), min_size=1, max_size=rank - 1, unique=True))
    b = ModelBuilder()
    x = b.tensor(shape, "float32")
    ax = b.tensor([len(axes)], "int32", data=np.array(axes))
    y = b.tensor([1 if i in axes else d for i, d in enumerate(shape)], "float32")
    b.op("MEAN", [x, ax], [y], options("ReducerOptions", keepDims=True), "ReducerOptions")
    return b.build([x], [y]), fsamples(rng, shape)


@st.composite
def binary_f32(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind, act = draw(st.sampled_from(["ADD", "SUB", "MUL"])), draw(ACTS)
    rank = draw(st.integers(1, 5))
    a_shape = [1] + [draw(st.integers(1, 5)) for _ in range(rank - 1)]
    b_shape = [d if draw(st.booleans()) else 1 for d in a_shape[1:]] or [1]
    b = ModelBuilder()
    xa = b.tensor(a_shape, "float32")
    xb = b.tensor(b_shape, "float32", data=rng.normal(size=b_shape))
    y = b.tensor(a_shape, "float32")
    opt = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions"}[kind]
    b.op(kind, [xa, xb], [y], options(opt, fusedActivationFunction=ACT[act]), opt)
    return b.build([xa], [y]), fsamples(rng, a_shape)


@given(st.one_of(fc_f32(), pool_f32(), mean_f32(), binary_f32()))
@settings(max_examples=80)
def test_fc_pool_mean_binary_f32(case):
    check(*case)


@st.composite
def logistic_tanh_f32(draw):
    """LOGISTIC and TANH over inputs that reach both of Logistic's cutoffs (-9, 16.6) and tanh's flat ends."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["LOGISTIC", "TANH"]))
    shape = [1, draw(st.integers(1, 40))]
    b = ModelBuilder()
    x, y = b.tensor(shape, "float32"), b.tensor(shape, "float32")
    b.op(kind, [x], [y])
    return b.build([x], [y]), (fsamples(rng, shape) * draw(st.sampled_from([1.0, 6.0, 20.0]))).astype(np.float32)


@given(logistic_tanh_f32())
@settings(max_examples=20)
def test_logistic_tanh_f32(case):
    """Bit for bit with TFLM on the host: the same C library's expf / tanhf on every side."""
    check(*case)


def test_softmax_f32_within_four_ulp(tmp_path):
    from conftest import host_c_run, reference_run, tflm_run

    rng = np.random.default_rng(3)
    b = ModelBuilder()
    x = b.tensor([1, 4, 12], "float32")
    y = b.tensor([1, 4, 12], "float32")
    b.op("SOFTMAX", [x], [y], options("SoftmaxOptions", beta=0.7), "SoftmaxOptions")
    model = b.build([x], [y])
    path = tmp_path / "softmax.tflite"
    path.write_bytes(model)
    xs = (rng.normal(size=(6, 4, 12)) * 4).astype(np.float32)
    expected = tflm_run(model, xs)
    for got in (reference_run(path, xs), host_c_run(path, xs, tmp_path / "gen")):
        ulp = np.abs(got.view(np.int32).astype(np.int64) - expected.view(np.int32).astype(np.int64))
        assert ulp.max() <= 4, ulp.max()  # measured: 3
