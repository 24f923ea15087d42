"""No undefined behaviour in the generated C (issue 15, item 4): accumulator bounds and
requantization shifts are checked at compile time from the weights, bias, scales and zero points,
and a model whose int32 arithmetic could overflow is refused with the numbers."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
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
