"""No undefined behaviour in the generated C (issue 15, item 4): accumulator bounds and
requantization shifts are checked at compile time from the weights, bias, scales and zero points,
and a model whose int32 arithmetic could overflow is refused with the numbers."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import host_c_run, reference_run
from hypothesis import given, settings
from hypothesis import strategies as st
from opcheck import check, refused
from tflite_builder import PAD, ModelBuilder, conv2d_options, fc_options, options

from edgeneuro.compiler import load
from edgeneuro.errors import ModelError, UnsupportedOperator
from edgeneuro.ir.quant import INT32_MAX, QuantRangeError, quantize_multiplier


def fc_model(depth: int, weight: int, bias: int, in_zp: int = 0, s_out: float = 2.0**24, s_in: float = 1.0) -> bytes:
    """FULLY_CONNECTED [1, depth] -> [1, 2], every weight ``weight``, biases ``bias`` and 0."""
    b = ModelBuilder()
    x = b.tensor([1, depth], scale=s_in, zero_point=in_zp)
    w = b.tensor([2, depth], scale=1.0, zero_point=0, data=np.full((2, depth), weight))
    bt = b.tensor([2], "int32", scale=s_in, zero_point=0, data=np.array([bias, 0]))
    y = b.tensor([1, 2], scale=s_out, zero_point=0)
    b.op("FULLY_CONNECTED", [x, w, bt], [y], fc_options("NONE"), "FullyConnectedOptions")
    return b.build([x], [y])


def compiles(model: bytes) -> bool:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "op.tflite"
        path.write_bytes(model)
        try:
            load(path)
        except UnsupportedOperator:
            return False
        return True


def test_quantize_multiplier_refuses_shifts_the_kernels_cannot_apply():
    assert quantize_multiplier(2.0**29) == (1 << 30, 30)
    assert quantize_multiplier(1e-45) == (0, 0)  # flushed to zero, as TFLite does
    for real in (2.0**30, 1e40, 3e38 / 0.01, float("inf"), float("nan")):
        with pytest.raises(QuantRangeError):
            quantize_multiplier(real)


def test_bias_near_int32_min_with_large_weights_is_refused():
    # the case: a bias flipped to near -2^31, and weights of 127: TFLM's int32 sum overflows
    refused(
        fc_model(depth=64, weight=127, bias=-(2**31) + 1000),
        r"FULLY_CONNECTED.*int32 accumulator of output channel 0 \(\|bias\| 2,147,482,648 \+ 128 x sum\|w\| 8,128\) "
        r"can reach 2,148,523,032, above 2,147,483,647",
    )


def test_depthwise_bias_near_int32_min_is_refused():
    b = ModelBuilder()
    x = b.tensor([1, 4, 4, 2], scale=0.5, zero_point=-3)
    w = b.tensor([1, 3, 3, 2], scale=[0.1, 0.1], zero_point=[0, 0], data=np.full((1, 3, 3, 2), -127), axis=3)
    bt = b.tensor([2], "int32", scale=[0.05, 0.05], zero_point=[0, 0], data=np.array([5, -(2**31) + 5]))
    y = b.tensor([1, 4, 4, 2], scale=4.0, zero_point=0)
    opts = options("DepthwiseConv2DOptions", padding=PAD["SAME"], strideH=1, strideW=1, depthMultiplier=1)
    b.op("DEPTHWISE_CONV_2D", [x, w, bt], [y], opts, "DepthwiseConv2DOptions")
    refused(b.build([x], [y]), r"DEPTHWISE_CONV_2D.*output channel 1 .*131 x sum\|w\| 1,143\)")


def test_conv_zero_point_outside_int8_is_refused():
    # zero point 2^31 - 1: ``x - zp`` overflows int32 in the kernel
    b = ModelBuilder()
    x = b.tensor([1, 3, 3, 1], scale=0.5, zero_point=2**31 - 1)
    w = b.tensor([1, 1, 1, 1], scale=0.1, zero_point=0, data=np.ones((1, 1, 1, 1)))
    y = b.tensor([1, 3, 3, 1], scale=1.0, zero_point=0)
    b.op("CONV_2D", [x, w, -1], [y], conv2d_options("SAME", 1, 1, 1, 1, "NONE"), "Conv2DOptions")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "op.tflite"
        path.write_bytes(b.build([x], [y]))
        with pytest.raises(ModelError, match=r"zero point \[?2147483647"):
            load(path)


@pytest.mark.parametrize("s_in, s_out", [(1.0, 1e-45), (3e38, 1.0)])
def test_scales_out_of_range_are_refused(s_in, s_out):
    model = fc_model(depth=4, weight=3, bias=0, s_in=s_in, s_out=s_out)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "op.tflite"
        path.write_bytes(model)
        # the verifier may refuse the scale first; either way one clean error, no 1u << 133
        with pytest.raises(ModelError, match=r"left shift of 1[0-9]{2} bits|scale"):
            load(path)


def test_mul_shifted_product_overflow_is_refused():
    b = ModelBuilder()
    a = b.tensor([1, 8], scale=1.0, zero_point=0)
    c = b.tensor([1, 8], scale=1.0, zero_point=0)
    y = b.tensor([1, 8], scale=2.0**-20, zero_point=0)
    b.op("MUL", [a, c], [y], options("MulOptions"), "MulOptions")
    refused(b.build([a, c], [y]), r"MUL.*product \(\|a - zp\| <= 128, \|b - zp\| <= 128\) can reach 16,384")


def test_just_inside_the_bound_compiles_bit_exact():
    depth = 64
    bias = -(INT32_MAX - 128 * 127 * depth)  # |bias| + 128 * sum|w| == 2^31 - 1 exactly
    model = fc_model(depth, weight=127, bias=bias)
    assert compiles(model)
    assert not compiles(fc_model(depth, weight=127, bias=bias - 1))
    rng = np.random.default_rng(5)
    xs = np.concatenate([np.full((1, depth), -128), np.full((1, depth), 127), rng.integers(-128, 128, (2, depth))])
    check(model, xs.astype(np.int8))


@given(depth=st.integers(1, 300), weight=st.integers(-127, 127), in_zp=st.integers(-128, 127), slack=st.integers(-3, 3))
@settings(max_examples=15, deadline=None)
def test_refused_exactly_above_the_bound(depth, weight, in_zp, slack):
    """The bound is ``|bias| + (128 + |zp|) * sum|w|`` against 2^31 - 1 (the DSP form's too)."""
    bound_w = (128 + abs(in_zp)) * abs(weight) * depth
    bias = -(INT32_MAX - bound_w) + slack  # slack > 0: inside by slack; < 0: above
    if not -(2**31) <= bias <= INT32_MAX:
        return
    assert compiles(fc_model(depth, weight, bias, in_zp)) == (abs(bias) + bound_w <= INT32_MAX)


# ---- the elementwise and row kernels (issue 15, item 4, second part) --------------------------


def softmax_model(kind: str, depth: int) -> bytes:
    """int8 SOFTMAX / LOG_SOFTMAX over rows of ``depth``, with the output quantization TFLM takes."""
    b = ModelBuilder()
    x = b.tensor([1, depth], scale=0.1, zero_point=0)
    if kind == "SOFTMAX":
        y = b.tensor([1, depth], scale=1 / 256, zero_point=-128)
        b.op("SOFTMAX", [x], [y], options("SoftmaxOptions", beta=1.0), "SoftmaxOptions", version=2)
    else:
        y = b.tensor([1, depth], scale=16 / 256, zero_point=127)
        b.op("LOG_SOFTMAX", [x], [y], version=2)
    return b.build([x], [y])


@pytest.mark.parametrize("kind", ["SOFTMAX", "LOG_SOFTMAX"])
def test_softmax_row_sum_bound(kind):
    # every element equal to the row's maximum adds exp(0) = 2^19 in Q12.19: 4,096 of them reach 2^31
    refused(
        softmax_model(kind, 4096),
        rf"{kind}.*int32 accumulator sum of a row's exponentials \(4,096 elements x 524,288.*\) "
        r"can reach 2,147,483,648, above 2,147,483,647",
    )
    assert compiles(softmax_model(kind, 4095))
    uniform = np.stack([np.full(511, -128), np.full(511, 127), np.arange(511) % 256 - 128]).astype(np.int8)
    check(softmax_model(kind, 511), uniform)  # a sum of 511 x 2^19: TFLM's last shift is 31 bits


def test_softmax_rows_summing_past_512_are_defined():
    # 600 equal elements sum to 600 x 2^19 >= 2^28: TFLM's gemmlowp asserts on the 32-bit shift
    # (undefined in a release build); edgeneuro's C gives the exact quotient, 0, as its reference
    model = softmax_model("SOFTMAX", 600)
    xs = np.stack([np.full(600, 5), np.where(np.arange(600) < 550, 3, -100)]).astype(np.int8)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "op.tflite"
        path.write_bytes(model)
        ref = reference_run(path, xs)
        assert np.all(ref[0] == -128)
        np.testing.assert_array_equal(host_c_run(path, xs, Path(d) / "gen"), ref)


def l2norm_model(depth: int, zp: int) -> bytes:
    b = ModelBuilder()
    x = b.tensor([1, depth], scale=0.02, zero_point=zp)
    y = b.tensor([1, depth], scale=1 / 128, zero_point=0)
    b.op("L2_NORMALIZATION", [x], [y], options("L2NormOptions", fusedActivationFunction=0), "L2NormOptions",
         version=2)  # fmt: skip
    return b.build([x], [y])


def test_l2_normalization_sum_of_squares_bound():
    # |x - zp| <= 255 (zp 127): 33,025 squares of 65,025 fit in int32, 33,026 do not
    refused(
        l2norm_model(33026, 127),
        r"L2_NORMALIZATION.*sum of a row's squares \(33,026 x 255\^2\) can reach 2,147,515,650, above 2,147,483,647",
    )
    assert compiles(l2norm_model(33025, 127))
    assert compiles(l2norm_model(131071, 0)) == (128 * 128 * 131071 <= INT32_MAX)  # zp 0: |v| <= 128


def abs_model(s_out: float) -> bytes:
    b = ModelBuilder()
    x = b.tensor([1, 8], scale=1.0, zero_point=0)
    y = b.tensor([1, 8], scale=s_out, zero_point=0)
    b.op("ABS", [x], [y], version=2)
    return b.build([x], [y])


def test_abs_shifted_deviation_bound():
    # multiplier 2^23: en_requant shifts |x - zp| <= 128 left 24 bits, 2^31
    refused(abs_model(2.0**-23), r"ABS.*\|x - zp\| \(<= 128\) can reach 128, shifted left 24 bits .*2,147,483,648")
    model = abs_model(2.0**-22)
    assert compiles(model)
    check(model, np.array([[-128, -1, 0, 1, 5, 100, 127, -77]], np.int8))


def prelu_model(alpha_max: int) -> bytes:
    """PRELU with multipliers 2^17 (shift 18): the negative side's ``(x - zp) * (alpha - zp)``,
    |x - zp| <= 128, shifted left 18 bits, fits int32 while ``|alpha| * 128 <= 2^13 - 1``."""
    b = ModelBuilder()
    x = b.tensor([1, 2, 4], scale=1.0, zero_point=0)
    alpha = b.tensor([4], scale=1.0, zero_point=0, data=np.array([alpha_max, -alpha_max, 3, 0]))
    y = b.tensor([1, 2, 4], scale=2.0**-17, zero_point=0)
    b.op("PRELU", [x, alpha], [y])
    return b.build([x], [y])


def test_prelu_product_bound():
    refused(
        prelu_model(64),
        r"PRELU.*product \(\|x - zp\| <= 128, \|alpha - zp\| <= 64\) can reach 8,192, shifted left 18 bits",
    )
    model = prelu_model(63)  # 128 * 63 << 18 = 2,113,929,216
    assert compiles(model)
    check(model, np.array([[[-128, -128, -128, -128], [-1, 0, 1, 127]]], np.int8))


def test_squared_difference_worst_case_fits():
    # int16, zero points 0: |d| <= 2^15, d * d = 2^30: the bound never refuses a legal model
    b = ModelBuilder()
    a = b.tensor([1, 4], "int16", scale=1.0, zero_point=0)
    c = b.tensor([1, 4], "int16", scale=1.0, zero_point=0, data=np.array([32767, -32768, 0, 1]))
    y = b.tensor([1, 4], "int16", scale=2.0**14, zero_point=0)
    b.op("SQUARED_DIFFERENCE", [a, c], [y])
    model = b.build([a], [y])
    assert compiles(model)
    check(model, np.array([[-32768, 32767, -32768, 32767]], np.int16))


def test_add_n_wraps_as_tflm_without_refusing():
    # 20 inputs of 255 << 19 each (zero point -128, x = 127) pass int32: TFLM's int32 sum wraps, and
    # edgeneuro's unsigned one gives the same bits (no signed overflow in the C); not refused
    b = ModelBuilder()
    x = b.tensor([1, 6], scale=0.05, zero_point=-128)
    y = b.tensor([1, 6], scale=0.5, zero_point=3)
    b.op("ADD_N", [x] * 20, [y], version=2)
    model = b.build([x], [y])
    assert compiles(model)
    check(model, np.array([[127, 127, -128, 0, 100, -100], [127, 126, 120, 127, 127, 64]], np.int8))
