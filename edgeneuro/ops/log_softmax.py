"""LOG_SOFTMAX over the last axis: float32, or int8 in and int8 out (output scale 16/256, zero
point 127, which TFLM requires).

float32 (TFLM ``reference_ops::LogSoftmax``): ``m = max(x)``, ``s = sum expf(x - m)`` in order,
``y = (x - m) - logf(s)``; ``expf`` / ``logf`` are the C library's, so float32 agrees with TFLM
within rounding, not bit for bit (the numpy reference rounds double-precision values).

int8 (TFLM ``log_softmax.cc``, ``reference_ops::LogSoftmaxQuantized``, gemmlowp fixed point):

- Prepare (``PreprocessLogSoftmaxScalingExp(beta = 1, s_in, 5)``): ``(m, L) =
  QuantizeMultiplierGreaterThanOne(min(double(s_in) * 2^26, 2^31 - 1))`` (edgeneuro refuses input
  scales below 2^-26, where that multiplier is below one); ``(rm, rs) =
  QuantizeMultiplierSmallerThanOneExp(double(1 << (31 - L)) / m)``;
  ``diff_min = -floor(31 * 2^26 / 2^L)`` (``CalculateInputRadius(5, L)``).
- Per row, ``d = x - max(row)``: the rows's elements with ``d >= diff_min`` add
  ``RoundingDivideByPOT(exp_on_negative_values(MBQM(d, m, L)), 12)`` (Q5.26 in, Q0.31 out, summed
  in Q12.19); ``l = log_x_for_x_greater_than_or_equal_to_1<5>(sum)`` (TFLite's fixed-point log,
  ``log_q5`` here, Q5.26); ``adj = max(diff_min - 1, MBQM(l + INT32_MIN, rm, rs))``; elements with
  ``d > adj`` give ``clamp(RoundingDivideByPOT(MBQM(d, m, L) - l, 22) + 127, -128, 127)``, the
  others -128.
"""

from __future__ import annotations

import math

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.gemmlowp import exp_on_negative_values, one_over_one_plus_x, sat_shl
from edgeneuro.ir.quant import INT32_MAX, INT32_MIN, multiply_by_quantized_multiplier, quantize_multiplier
from edgeneuro.ir.quant import rounding_divide_by_pot as rdbpot
from edgeneuro.ir.quant import saturating_rounding_doubling_high_mul as srdhm
from edgeneuro.ops.base import Kernel, check_exp_sum, unsupported

KINDS = ("LOG_SOFTMAX",)
C_FILE = "log_softmax"
MAX_VERSION = {"LOG_SOFTMAX": 2}  # newest TFLite op versions handled (2: int8)
INPUT_BITS = 5  # Q5.26 differences
OUTPUT_QUANT = (16 / 256, 127)


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    if x.dtype != y.dtype or x.dtype not in ("float32", "int8"):
        raise unsupported(g, op, f"{x.dtype} in, {y.dtype} out; TFLM's LOG_SOFTMAX takes float32 or int8")
    if tuple(x.shape) != tuple(y.shape) or not x.shape:
        raise unsupported(g, op, f"shapes {list(x.shape)} -> {list(y.shape)}; TFLM takes one shape")
    depth = x.shape[-1]
    params = dict(rows=x.size // depth, depth=depth)
    if x.dtype == "int8":
        if x.quant is None or y.quant is None or x.quant.per_channel:
            raise unsupported(g, op, "int8 input and output must be quantized per tensor")
        if y.zero_point != OUTPUT_QUANT[1] or np.float32(y.scale) != np.float32(OUTPUT_QUANT[0]):
            raise unsupported(
                g, op, f"int8 output must have scale 16/256 and zero point 127 (has {y.scale}, {y.zero_point})"
            )
        check_exp_sum(g, op, depth)
        real = min(1.0 * float(x.scale) * (1 << (31 - INPUT_BITS)), (1 << 31) - 1.0)
        mult, left = quantize_multiplier(real, max_shift=31)  # diff_min: only 0 is shifted 31 bits
        if left < 1:
            raise unsupported(g, op, f"input scale {x.scale} is below what TFLM's LOG_SOFTMAX takes (2^-26)")
        rmult, rshift = quantize_multiplier((1 << (31 - left)) / float(mult))
        radius = math.floor(((1 << INPUT_BITS) - 1) * (1 << (31 - INPUT_BITS)) / (1 << left))
        params.update(mult=mult, left_shift=left, rev_mult=rmult, rev_shift=rshift, diff_min=-radius)
    fn = f"en_log_softmax_{'f32' if x.dtype == 'float32' else 's8'}"
    return Kernel(op=op, fn=fn, params=params, inputs=(x.name,), outputs=(y.name,), summary=f"rows of {depth}")


def _clz32(v) -> np.ndarray:
    v = np.asarray(v, np.int64) & 0xFFFFFFFF
    out = np.full(v.shape, 32, np.int64)
    for bit in range(31, -1, -1):
        out = np.where((out == 32) & ((v >> bit) & 1).astype(bool), 31 - bit, out)
    return out


def _sat_add(a, b):
    return np.clip(np.asarray(a, np.int64) + b, INT32_MIN, INT32_MAX)


def _sat_shl(x, n):
    """SaturatingRoundingMultiplyByPOTParam for n >= 0 (per element)."""
    x, n = np.asarray(x, np.int64), np.asarray(n, np.int64)
    limit = (np.int64(1) << (31 - n)) - 1
    return np.where(x > limit, INT32_MAX, np.where(x < -limit, INT32_MIN, x << n))


def log_q5(a):
    """TFLite ``log_x_for_x_greater_than_or_equal_to_1<5>`` of Q12.19 values ``a`` (>= 1), Q5.26."""
    a = np.asarray(a, np.int64)
    log_2, sqrt_sqrt_half, sqrt_half = 1488522236, 1805811301, 1518500250
    alpha_n, alpha_d, alpha_i, alpha_f = 117049297, 127690142, 1057819769, 638450708
    in_bits, accum_bits = 12, 6  # the sum's integer bits; the accumulator's (5 + 1)
    quarter = int(rdbpot(536870912, accum_bits))
    hp1 = _clz32(a)
    r_a = sat_shl(srdhm(_sat_shl(a, hp1 - 1), sqrt_half), 1)
    a_pow = _sat_add(_sat_shl(in_bits - hp1, 31 - accum_bits), quarter)
    z_b = srdhm(a, sqrt_half)
    hb = _clz32(z_b) - 1
    r_b = _sat_shl(a, hb)
    b_pow = _sat_add(_sat_shl(in_bits - hb, 31 - accum_bits), -quarter)
    r = np.minimum(r_a, r_b)
    z_pow = np.maximum(a_pow, b_pow)
    s = r + sqrt_sqrt_half
    p = np.where(s >= 0, (s + 1) // 2, -((-s + 1) // 2))  # RoundingHalfSum: (s +- 1) / 2, truncating
    q = 2 * (r - sqrt_sqrt_half)
    sq = srdhm(q, q)
    num = srdhm(q, r) + srdhm(srdhm(q, sq), alpha_n)
    denom = srdhm(p, alpha_i + q + srdhm(alpha_d, sq)) + srdhm(alpha_f, q)
    recip = one_over_one_plus_x(denom)
    total = srdhm(z_pow, log_2) + srdhm(rdbpot(num, accum_bits), recip)
    return sat_shl(total, 1)


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    p = k.params
    rows = x.reshape(p["rows"], p["depth"])
    if k.fn == "en_log_softmax_f32":
        f = rows.astype(np.float32)
        m = f.max(axis=1, keepdims=True)
        d = (f - m).astype(np.float32)
        e = np.exp(d.astype(np.float64)).astype(np.float32)
        total = np.zeros(p["rows"], np.float32)
        for c in range(p["depth"]):
            total = (total + e[:, c]).astype(np.float32)
        log_sum = np.log(total.astype(np.float64)).astype(np.float32)
        return (d - log_sum[:, None]).astype(np.float32).reshape(-1)
    d = rows.astype(np.int64) - rows.max(axis=1, keepdims=True).astype(np.int64)
    q5 = multiply_by_quantized_multiplier(d, p["mult"], p["left_shift"])
    terms = np.where(d >= p["diff_min"], rdbpot(exp_on_negative_values(np.minimum(q5, 0), INPUT_BITS), 12), 0)
    total = terms.sum(axis=1)
    log_sum = log_q5(total)
    adj = np.maximum(
        p["diff_min"] - 1, multiply_by_quantized_multiplier(log_sum + INT32_MIN, p["rev_mult"], p["rev_shift"])
    )
    y = np.clip(rdbpot(q5 - log_sum[:, None], 31 - INPUT_BITS - 4) + 127, -128, 127)
    return np.where(d > adj[:, None], y, -128).astype(np.int8).reshape(-1)
