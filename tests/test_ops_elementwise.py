"""Elementwise and reduction operators (MAXIMUM / MINIMUM, SQUARED_DIFFERENCE, ABS, NEG, RSQRT,
SQRT, EXP, LOG, DIV, the comparisons and logical operators, SUM, REDUCE_MAX, REDUCE_MIN, ARG_MAX,
ARG_MIN, ...) as single-operator models over randomized shapes, broadcasting and quantization
parameters: edgeneuro's numpy reference == TFLM's reference kernels, bit for bit, and the
generated C on the host == the reference (tests/opcheck.py). Binary operators take their second
operand as a constant (the models have one input). Transcendental float32 functions (EXP, LOG)
agree with TFLM within an ulp or two, not bit for bit: the C library's ``expf`` / ``logf`` differ
between implementations (see ``test_exp_log_f32``)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opcheck import check, log_uniform, refused
from tflite_builder import ModelBuilder, options

pytestmark = pytest.mark.tflm
QRANGE = {"int8": (-128, 127), "int16": (-32768, 32767), "int32": (-1000, 1000)}


def values(rng: np.random.Generator, dtype: str, shape) -> np.ndarray:
    """Random values of ``dtype``: the whole integer range (int32: small), float32 normal * 3,
    bool fair coins."""
    shape = tuple(shape)
    if dtype == "float32":
        return (rng.normal(size=shape) * 3).astype(np.float32)
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    lo, hi = QRANGE[dtype]
    return rng.integers(lo, hi + 1, shape).astype(dtype)


def samples_of(rng: np.random.Generator, dtype: str, shape, n: int = 3) -> np.ndarray:
    sample_shape = list(shape[1:]) if shape and shape[0] == 1 else list(shape)
    return values(rng, dtype, [n, *sample_shape])


@st.composite
def broadcast_shapes(draw, max_rank: int = 5):
    """Two shapes that broadcast, the first the model input (batch 1 or more), of rank 1..max_rank;
    the second drops leading axes and keeps 1 on some."""
    rank = draw(st.integers(1, max_rank))
    a = [draw(st.integers(1, 4)) for _ in range(rank)]
    keep = draw(st.integers(0, rank))
    b = [d if draw(st.booleans()) else 1 for d in a[rank - keep :]]
    if draw(st.booleans()):  # the constant is the bigger one on some axes
        a = [1 if (i >= rank - keep and draw(st.integers(0, 3)) == 0) else d for i, d in enumerate(a)]
        b = [draw(st.integers(2, 3)) if a[rank - keep + j] == 1 and draw(st.booleans()) else d
             for j, d in enumerate(b)]  # fmt: skip
    return a, b


def quant(rng: np.random.Generator, dtype: str, lo: float = 1e-3, hi: float = 0.5):
    """(scale, zero point) for a quantized tensor of ``dtype`` (int16: zero point 0), or (None, None)."""
    if dtype not in ("int8", "int16"):
        return None, None
    zp = 0 if dtype == "int16" else int(rng.integers(-128, 128))
    return log_uniform(rng, lo, hi), zp


def binary_model(kind, dtype, a_shape, b_shape, b_data, qa=(None, None), qb=(None, None), qy=(None, None),
                 out_dtype=None, opts=None, version=1):  # fmt: skip
    b = ModelBuilder()
    x = b.tensor(a_shape, dtype, *qa)
    c = b.tensor(b_shape, dtype, *qb, data=b_data)
    y_shape = list(np.broadcast_shapes(tuple(a_shape), tuple(b_shape)))
    y = b.tensor(y_shape, out_dtype or dtype, *qy)
    b.op(kind, [x, c], [y], *(opts or ()), version=version)
    return b.build([x], [y])


# MAXIMUM / MINIMUM ---------------------------------------------------------------------------


@st.composite
def minmax_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["MAXIMUM", "MINIMUM"]))
    dtype = draw(st.sampled_from(["int8", "int8", "int16", "int32", "float32"]))
    a_shape, b_shape = draw(broadcast_shapes())
    q = quant(rng, dtype)
    version = {"int8": 2, "int16": 4}.get(dtype, 1)
    model = binary_model(kind, dtype, a_shape, b_shape, values(rng, dtype, b_shape), q, q, q, version=version)
    return model, samples_of(rng, dtype, a_shape)


@given(minmax_case())
@settings(max_examples=20)
def test_maximum_minimum(case):
    check(*case)


# comparisons and LOGICAL_AND / LOGICAL_OR (bool output) --------------------------------------

COMPARISONS = ["EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL"]


@st.composite
def comparison_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from([*COMPARISONS, "LOGICAL_AND", "LOGICAL_OR"]))
    if kind.startswith("LOGICAL"):
        dtype = "bool"
    elif kind in ("EQUAL", "NOT_EQUAL"):
        dtype = draw(st.sampled_from(["int8", "int8", "int32", "float32", "bool"]))
    else:
        dtype = draw(st.sampled_from(["int8", "int8", "int32", "float32"]))
    a_shape, b_shape = draw(broadcast_shapes(4 if kind.startswith("LOGICAL") else 5))
    qa = quant(rng, dtype, 1e-3, 0.99)
    # int8: the same quantization on both sides (what the converter gives), or each its own
    qb = qa if draw(st.booleans()) else quant(rng, dtype, 1e-3, 0.99)
    b_data = values(rng, dtype, b_shape)
    if dtype == "float32" and draw(st.booleans()):  # equal values occur
        b_data = np.round(b_data).astype(np.float32)
    version = 2 if dtype == "int8" else 1
    model = binary_model(kind, dtype, a_shape, b_shape, b_data, qa, qb, out_dtype="bool", version=version)
    x = samples_of(rng, dtype, a_shape)
    if dtype == "float32":
        x = np.round(x) if draw(st.booleans()) else x
    return model, x.astype(np.float32) if dtype == "float32" else x


@given(comparison_case())
@settings(max_examples=30)
def test_comparisons(case):
    check(*case)


# unary: ABS, NEG, RSQRT, SQRT, EXP, LOG, LOGICAL_NOT -----------------------------------------


def unary_model(kind, dtype, shape, qx=(None, None), qy=(None, None), version=1):
    b = ModelBuilder()
    x = b.tensor(shape, dtype, *qx)
    y = b.tensor(shape, dtype, *qy)
    b.op(kind, [x], [y], version=version)
    return b.build([x], [y])


@st.composite
def small_shapes(draw, max_rank: int = 4):
    return [draw(st.integers(1, 5)) for _ in range(draw(st.integers(1, max_rank)))]


@st.composite
def unary_exact_case(draw):
    """The unary operators edgeneuro computes bit for bit with TFLM on every library."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind, dtype = draw(st.sampled_from([("ABS", "int8"), ("ABS", "int8"), ("ABS", "int16"), ("ABS", "int16raw"),
                                        ("ABS", "float32"), ("NEG", "float32"), ("SQRT", "float32"),
                                        ("RSQRT", "float32"), ("RSQRT", "int8"), ("RSQRT", "int8"),
                                        ("LOGICAL_NOT", "bool")]))  # fmt: skip
    shape = draw(small_shapes())
    qx = qy = (None, None)
    if dtype in ("int8", "int16"):
        qx = quant(rng, dtype, 1e-3, 1.0)
        qy = qx if draw(st.integers(0, 3)) == 0 else quant(rng, dtype, 1e-3, 1.0)
    dtype = "int16" if dtype == "int16raw" else dtype
    version = {("ABS", "int8"): 2, ("ABS", "int16"): 3, ("RSQRT", "int8"): 2}.get((kind, dtype), 1)
    x = samples_of(rng, dtype, shape)
    if kind == "RSQRT" and dtype == "int8":  # TFLM fails the inference below the zero point
        x = np.maximum(x, np.int8(qx[1]))
    if kind in ("SQRT", "RSQRT") and dtype == "float32":
        x = (np.abs(x) * (rng.integers(0, 2, x.shape) if draw(st.booleans()) else 1)).astype(np.float32)  # zeros
    return unary_model(kind, dtype, shape, qx, qy, version), x


@given(unary_exact_case())
@settings(max_examples=30)
def test_unary(case):
    check(*case)


def ulps(a: np.ndarray, b: np.ndarray) -> int:
    ia, ib = (np.asarray(v, np.float32).view(np.int32).astype(np.int64) for v in (a, b))
    return int(np.abs(ia - ib).max())


@pytest.mark.parametrize("kind", ["EXP", "LOG"])
def test_exp_log_f32(kind, tmp_path):
    """float32 EXP and LOG: the C library's ``expf`` / ``logf`` on both sides; the reference is
    the correctly rounded value. All three agree within one ulp (measured: TFLM == host C bit for
    bit on glibc)."""
    from conftest import host_c_run, reference_run, tflm_run

    rng = np.random.default_rng(7)
    shape = [1, 4, 64]
    x = (rng.normal(size=(4, 4, 64)) * 20).astype(np.float32)
    if kind == "LOG":
        x = np.abs(x) * np.float32(10.0) ** rng.integers(-30, 30, x.shape).astype(np.float32)
        x[0, 0, :4] = [0.0, 1.0, np.inf, -1.0]
    model = unary_model(kind, "float32", shape)
    path = tmp_path / "op.tflite"
    path.write_bytes(model)
    expected = tflm_run(model, x)
    ref, host = reference_run(path, x), host_c_run(path, x, tmp_path / "gen")
    nan = np.isnan(expected)
    assert np.array_equal(nan, np.isnan(ref)) and np.array_equal(nan, np.isnan(host))
    assert ulps(ref[~nan], expected[~nan]) <= 1
    assert ulps(host[~nan], expected[~nan]) <= 1


# SQUARED_DIFFERENCE --------------------------------------------------------------------------


@st.composite
def squared_difference_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(["int8", "int8", "int16", "int32", "float32"]))
    a_shape, b_shape = draw(broadcast_shapes(4))
    qa = quant(rng, dtype, 1e-3, 0.5)
    qb = qa if draw(st.booleans()) else quant(rng, dtype, 1e-3, 0.5)
    qy = (None, None)
    if dtype in ("int8", "int16"):  # an output range around the square of the inputs' range
        top = max(qa[0], qb[0]) * {"int8": 256, "int16": 65536}[dtype]
        qy = (float(np.float32(top * top / 256 * log_uniform(rng, 1e-2, 2))), qa[1])
        if dtype == "int16":
            qy = (qy[0] / 256, 0)
    version = 2 if dtype == "int8" else 1
    model = binary_model("SQUARED_DIFFERENCE", dtype, a_shape, b_shape, values(rng, dtype, b_shape), qa, qb, qy,
                         version=version)  # fmt: skip
    return model, samples_of(rng, dtype, a_shape)


@given(squared_difference_case())
@settings(max_examples=30)
def test_squared_difference(case):
    check(*case)


# DIV -----------------------------------------------------------------------------------------

ACTS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


@st.composite
def div_case(draw):
    from tflite_builder import ACT

    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(["int8", "int8", "int8", "int32", "float32"]))
    act = draw(st.sampled_from(ACTS))
    a_shape, b_shape = draw(broadcast_shapes())
    qa, qb = quant(rng, dtype, 1e-3, 0.5), quant(rng, dtype, 1e-3, 0.5)
    qy = (None, None)
    b_data = values(rng, dtype, b_shape)
    if dtype == "int8":  # an output range around the quotients' (TFLM requires b != zp_b)
        qy = (log_uniform(rng, qa[0] / qb[0] / 4, qa[0] / qb[0] * 4), int(rng.integers(-128, 128)))
        b_data = np.where(b_data == qb[1], np.int8(qb[1] + (1 if qb[1] < 127 else -1)), b_data).astype(np.int8)
    elif dtype == "int32":
        b_data = np.where(b_data == 0, 7, b_data).astype(np.int32)
    opts = (options("DivOptions", fusedActivationFunction=ACT[act]), "DivOptions")
    version = 2 if dtype == "int8" else 1
    model = binary_model("DIV", dtype, a_shape, b_shape, b_data, qa, qb, qy, opts=opts, version=version)
    return model, samples_of(rng, dtype, a_shape)


@given(div_case())
@settings(max_examples=30)
def test_div(case):
    check(*case)


# SUM, REDUCE_MAX, REDUCE_MIN -----------------------------------------------------------------


# special float values (no NaN, which opcheck's != comparison cannot match; SUM without -inf, whose
# sum with +inf would be one)
SPECIAL = {"SUM": [np.inf, -0.0, 3e38], "REDUCE_MAX": [np.inf, -np.inf, -0.0], "REDUCE_MIN": [np.inf, -np.inf, -0.0]}


@st.composite
def reduce_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["SUM", "SUM", "REDUCE_MAX", "REDUCE_MIN"]))
    dtype = draw(st.sampled_from(["int8", "int8", "float32"] + (["int16"] if kind == "SUM" else [])))
    rank = draw(st.integers(1, 5))
    shape = [draw(st.integers(1, 5)) for _ in range(rank)]
    axes = draw(st.lists(st.integers(-rank, rank - 1), min_size=1, max_size=2 if kind == "SUM" else rank))
    resolved = {a % rank for a in axes}
    keep = draw(st.booleans()) or len(resolved) == rank  # (conftest's tflm_run takes no scalar output)
    out_shape = [1 if i in resolved else d for i, d in enumerate(shape)] if keep else \
        [d for i, d in enumerate(shape) if i not in resolved]  # fmt: skip
    qx = qy = quant(rng, dtype, 1e-3, 0.5)
    if kind == "SUM" and dtype != "float32":  # an output range around the sums'
        count = int(np.prod([shape[a] for a in resolved]))
        qy = (float(np.float32(qx[0] * np.sqrt(count) * log_uniform(rng, 0.3, 3))), qx[1] if dtype == "int8" else 0)
    b = ModelBuilder()
    x = b.tensor(shape, dtype, *qx)
    ax = b.tensor([len(axes)], "int32", data=np.array(axes))
    y = b.tensor(out_shape, dtype, *qy)
    version = 2 if dtype == "int8" else 1
    b.op(kind, [x, ax], [y], options("ReducerOptions", keepDims=keep), "ReducerOptions", version=version)
    xs = samples_of(rng, dtype, shape)
    if dtype == "float32" and draw(st.booleans()):
        xs.reshape(-1)[rng.integers(0, xs.size, 3)] = rng.choice(SPECIAL[kind], 3)
    return b.build([x], [y]), xs


@given(reduce_case())
@settings(max_examples=30)
def test_reductions(case):
    check(*case)


# ARG_MAX, ARG_MIN ----------------------------------------------------------------------------


@st.composite
def arg_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["ARG_MAX", "ARG_MIN"]))
    dtype = draw(st.sampled_from(["int8", "float32"]))
    rank = draw(st.integers(2, 5))
    shape = [draw(st.integers(1, 6)) for _ in range(rank)]
    axis = draw(st.integers(-rank, rank - 1))
    out_shape = [d for i, d in enumerate(shape) if i != axis % rank]
    q = quant(rng, dtype)
    b = ModelBuilder()
    x = b.tensor(shape, dtype, *q)
    ax = b.tensor([1], "int32", data=np.array([axis]))
    y = b.tensor(out_shape, "int32")
    opt = "ArgMaxOptions" if kind == "ARG_MAX" else "ArgMinOptions"
    b.op(kind, [x, ax], [y], options(opt, outputType=2), opt, version=2 if dtype == "int8" else 1)  # 2: INT32
    xs = samples_of(rng, dtype, shape)
    if draw(st.booleans()):  # ties
        xs = (xs // 16 if dtype == "int8" else np.round(xs)).astype(xs.dtype)
    return b.build([x], [y]), xs


@given(arg_case())
@settings(max_examples=30)
def test_arg_max_min(case):
    check(*case)


# PRELU ---------------------------------------------------------------------------------------


@st.composite
def prelu_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(["int8", "int8", "int16", "float32"]))
    rank = draw(st.integers(1, 4))
    shape = [draw(st.integers(1, 5)) for _ in range(rank)]
    keep = draw(st.integers(1, rank))
    a_shape = [d if draw(st.booleans()) else 1 for d in shape[rank - keep :]]
    a_dtype = "int8" if dtype == "int16" else dtype
    qx, qa = quant(rng, dtype, 1e-3, 0.5), quant(rng, a_dtype, 1e-3, 0.1)
    qy = (None, None)
    if dtype != "float32":
        qy = (
            float(np.float32(qx[0] * log_uniform(rng, 0.25, 4))),
            0 if dtype == "int16" else int(rng.integers(-128, 128)),
        )
    b = ModelBuilder()
    x = b.tensor(shape, dtype, *qx)
    alpha = b.tensor(a_shape, a_dtype, *qa, data=values(rng, a_dtype, a_shape))
    y = b.tensor(shape, dtype, *qy)
    b.op("PRELU", [x, alpha], [y])
    return b.build([x], [y]), samples_of(rng, dtype, shape)


@given(prelu_case())
@settings(max_examples=30)
def test_prelu(case):
    check(*case)


# L2_NORMALIZATION ----------------------------------------------------------------------------


@st.composite
def l2norm_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(["int8", "int8", "float32"]))
    shape = [draw(st.integers(1, 4)) for _ in range(draw(st.integers(0, 3)))] + [draw(st.integers(1, 40))]
    qx = quant(rng, dtype, 1e-3, 0.5)
    qy = (1 / 128, 0) if dtype == "int8" else (None, None)
    b = ModelBuilder()
    x = b.tensor(shape, dtype, *qx)
    y = b.tensor(shape, dtype, *qy)
    b.op("L2_NORMALIZATION", [x], [y], options("L2NormOptions", fusedActivationFunction=0), "L2NormOptions",
         version=2 if dtype == "int8" else 1)  # fmt: skip
    xs = samples_of(rng, dtype, shape)
    if draw(st.booleans()):  # rows near the zero point (small sums of squares, zero rows)
        xs = (xs // 64 + (qx[1] if dtype == "int8" else 0)).astype(xs.dtype)
    return b.build([x], [y]), xs


@given(l2norm_case())
@settings(max_examples=30)
def test_l2_normalization(case):
    check(*case)


# CUMSUM --------------------------------------------------------------------------------------


@st.composite
def cumsum_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(["int8", "int8", "float32"]))
    rank = draw(st.integers(1, 4))
    shape = [draw(st.integers(1, 6)) for _ in range(rank)]
    if draw(st.integers(0, 3)) == 0:  # long enough for the int8 accumulator to wrap
        shape[-1] = draw(st.integers(20, 40))
    axis = draw(st.integers(-rank, rank - 1))
    qx = quant(rng, dtype, 1e-3, 0.5)
    qy = (None, None)
    if dtype == "int8":
        qy = (float(np.float32(qx[0] * log_uniform(rng, 0.5, 8))), int(rng.integers(-128, 128)))
    b = ModelBuilder()
    x = b.tensor(shape, dtype, *qx)
    ax = b.tensor([1], "int32", data=np.array([axis]))
    y = b.tensor(shape, dtype, *qy)
    opts = options("CumsumOptions", exclusive=draw(st.booleans()), reverse=draw(st.booleans()))
    b.op("CUMSUM", [x, ax], [y], opts, "CumsumOptions")
    return b.build([x], [y]), samples_of(rng, dtype, shape)


@given(cumsum_case())
@settings(max_examples=30)
def test_cumsum(case):
    check(*case)


def test_cumsum_int8_wraps_as_tflm():
    """int8 CUMSUM far from the zero point: the int32 accumulator (each element scaled by 2^19)
    wraps after some 16 elements, in TFLM as in edgeneuro."""
    b = ModelBuilder()
    x = b.tensor([1, 40], "int8", 0.05, 127)
    ax = b.tensor([1], "int32", data=np.array([1]))
    y = b.tensor([1, 40], "int8", 0.5, 0)
    b.op("CUMSUM", [x, ax], [y], options("CumsumOptions", exclusive=False, reverse=False), "CumsumOptions")
    xs = np.full((2, 40), -128, np.int8)
    xs[1, ::3] = 100
    acc = (-255 * np.arange(1, 41, dtype=np.int64)) << 19  # the exact sums of the first sample, unwrapped
    assert acc.min() < -(2**31)  # so the accumulator must wrap
    check(b.build([x], [y]), xs)


# LOG_SOFTMAX ---------------------------------------------------------------------------------


@st.composite
def log_softmax_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2)))] + [draw(st.integers(1, 300))]
    b = ModelBuilder()
    x = b.tensor(shape, "int8", log_uniform(rng, 1e-3, 2.0), int(rng.integers(-128, 128)))
    y = b.tensor(shape, "int8", 16 / 256, 127)
    b.op("LOG_SOFTMAX", [x], [y], version=2)
    xs = samples_of(rng, "int8", shape)
    if draw(st.booleans()):  # narrow rows (the sum of exps stays small)
        xs = (xs // 16).astype(np.int8)
    return b.build([x], [y]), xs


@given(log_softmax_case())
@settings(max_examples=30)
def test_log_softmax_int8(case):
    check(*case)


def test_log_softmax_f32(tmp_path):
    """float32 LOG_SOFTMAX: ``expf`` / ``logf`` of the C library on both sides, so within rounding."""
    from conftest import host_c_run, reference_run, tflm_run

    rng = np.random.default_rng(5)
    b = ModelBuilder()
    x = b.tensor([1, 6, 33], "float32")
    y = b.tensor([1, 6, 33], "float32")
    b.op("LOG_SOFTMAX", [x], [y])
    model = b.build([x], [y])
    path = tmp_path / "op.tflite"
    path.write_bytes(model)
    xs = (rng.normal(size=(4, 6, 33)) * 5).astype(np.float32)
    expected = tflm_run(model, xs)
    for got in (reference_run(path, xs), host_c_run(path, xs, tmp_path / "gen")):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


# refusals ------------------------------------------------------------------------------------


def test_refusals():
    """What TFLM rejects (or edgeneuro does not compute) stops the compile with a message naming
    the operator, not a traceback."""
    one = np.ones([1, 4], np.int8)
    # integer NEG / EXP: TFLM has float32 only
    refused(unary_model("NEG", "int8", [1, 4], (0.1, 0), (0.1, 0)), "NEG.*float32")
    # RSQRT int16: TFLM has float32 and int8
    refused(unary_model("RSQRT", "int16", [1, 4], (0.1, 0), (0.1, 0)), "RSQRT")
    # int8 comparison of scales of 1 or more (TFLM's QuantizeMultiplierSmallerThanOneExp)
    less = binary_model("LESS", "int8", [1, 4], [1, 4], one, (2.0, 0), (0.5, 0), out_dtype="bool")
    refused(less, "scales below 1")
    # REDUCE_MAX int8 with requantization, SUM over three axes
    for kind, q_out, axes, match in (("REDUCE_MAX", (0.2, 0), [1], "quantization differ"),
                                     ("SUM", (0.1, 0), [0, 1, 2], "at most 2")):  # fmt: skip
        b = ModelBuilder()
        x = b.tensor([1, 2, 3], "int8", 0.1, 0)
        ax = b.tensor([len(axes)], "int32", data=np.array(axes))
        y = b.tensor([1, 1, 1] if len(axes) == 3 else [1, 3], "int8", *q_out)
        b.op(kind, [x, ax], [y], options("ReducerOptions", keepDims=len(axes) == 3), "ReducerOptions")
        refused(b.build([x], [y]), match)
    # LOG_SOFTMAX int8 with another output quantization than 16/256, 127
    b = ModelBuilder()
    x, y = b.tensor([1, 8], "int8", 0.1, 0), b.tensor([1, 8], "int8", 1 / 256, -128)
    b.op("LOG_SOFTMAX", [x], [y], version=2)
    refused(b.build([x], [y]), "16/256")


# on the simulated board ------------------------------------------------------------------------

QEMU_CASES = {
    "minmax": minmax_case(),
    "comparison": comparison_case(),
    "unary": unary_exact_case(),
    "squared_difference": squared_difference_case(),
    "div": div_case(),
    "reduce": reduce_case(),
    "arg": arg_case(),
    "prelu": prelu_case(),
    "l2norm": l2norm_case(),
    "cumsum": cumsum_case(),
    "log_softmax": log_softmax_case(),
}


@pytest.mark.sim
@pytest.mark.parametrize("family", sorted(QEMU_CASES))
@given(data=st.data())
@settings(max_examples=1)
def test_on_qemu(family, data):
    """Each family as firmware on QEMU (cross-compiled, 32-bit Arm, newlib) == TFLM, one case each
    (DIV's over-wide rounding shifts included: the kernel spells out what the x86 TFLM computes)."""
    from opcheck import check_on_qemu

    check_on_qemu(*data.draw(QEMU_CASES[family]))
