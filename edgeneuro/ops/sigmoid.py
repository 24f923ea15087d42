"""LOGISTIC and TANH, int8 in, int8 out, elementwise, in gemmlowp fixed point (no lookup table).

Spec (TFLM ``logistic_common.cc``, ``tanh.cc`` and ``reference_integer_ops::Logistic`` / ``Tanh``):

* Prepare: ``real = double(s_in) * double(1 << 27)`` (4 integer bits);
  ``q, shift = frexp(real)``; ``mult = (int32)TfLiteRound(q * 2^31)`` (round half away from zero;
  no QuantizeMultiplier, no renormalisation); ``radius = floor(15 * 2^27 / 2^shift)``
  (``CalculateInputRadius(4, shift, 31)`` in double).
* Eval, per element, ``v = x - in_zp``: ``v <= -radius`` gives -128, else ``v >= radius`` gives 127
  (so a radius of 0, i.e. a huge input scale, sends even ``x == in_zp`` to -128), else
  ``a = MultiplyByQuantizedMultiplier(v, mult, shift)`` is a Q4.27 value and
  LOGISTIC: ``clamp(RoundingDivideByPOT(gemmlowp::logistic(a), 23) - 128, -128, 127)``;
  TANH: ``clamp(RoundingDivideByPOT(gemmlowp::tanh(a), 24), -128, 127)``.
* ``gemmlowp::logistic`` = ``1 / (1 + exp(-|a|))`` via ``exp_on_negative_values`` (Q4.27 in) and the
  Newton-Raphson ``one_over_one_plus_x_for_x_in_0_1``; ``1 - that`` for a < 0; exactly 1/2 at 0.
  ``gemmlowp::tanh`` = ``(1 - e) / (1 + e)`` with ``e = exp(-2|a|)``, i.e. ``exp_on_negative_values``
  of the same raw value read as Q5.26 (``ExactMulByPot<1>``), negated for a < 0, 0 at 0.
* The output quantization is fixed by TFLite: LOGISTIC 1/256 and -128, TANH 1/128 and 0. TFLM only
  checks LOGISTIC's zero point and never reads the output scale; edgeneuro refuses other values.
"""

from __future__ import annotations

import math

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.quant import INT32_MAX, INT32_MIN, multiply_by_quantized_multiplier, round_half_away
from edgeneuro.ir.quant import rounding_divide_by_pot as rdbpot
from edgeneuro.ir.quant import saturating_rounding_doubling_high_mul as srdhm
from edgeneuro.ops.base import Kernel, require_int8, unsupported

KINDS = ("LOGISTIC", "TANH")
C_FILE = "sigmoid"
MAX_VERSION = {"LOGISTIC": 3, "TANH": 3}  # newest TFLite op versions handled (3: int16, rejected by type)
INPUT_INTEGER_BITS = 4
OUTPUT_QUANT = {"LOGISTIC": (1 / 256, -128), "TANH": (1 / 128, 0)}


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    require_int8(g, op, x, y)
    if x.size != y.size:
        raise unsupported(g, op, f"output '{y.name}' has {y.size} elements, input {x.size}")
    scale, zp = OUTPUT_QUANT[op.kind]
    if y.zero_point != zp or abs(y.scale - scale) > 1e-3 * scale:
        raise unsupported(
            g,
            op,
            f"int8 output must have scale 1/{round(1 / scale)} and zero point {zp} (has {y.scale}, {y.zero_point})",
        )
    real = float(x.scale) * float(1 << (31 - INPUT_INTEGER_BITS))
    q, shift = math.frexp(real)
    mult = round_half_away(q * (1 << 31))
    # shift < 0 makes TFLM's CalculateInputRadius shift by a negative count (undefined), and
    # shift > 62 overflows its 1ll << shift; mult == 2^31 cannot come from a float32 scale.
    if not 0 <= shift <= 62 or mult >= 1 << 31:
        raise unsupported(g, op, f"input scale {x.scale} is outside what TFLM's {op.kind} can prepare")
    radius = math.floor(((1 << INPUT_INTEGER_BITS) - 1) * (1 << (31 - INPUT_INTEGER_BITS)) / (1 << shift))
    return Kernel(
        op=op,
        fn="en_logistic_s8" if op.kind == "LOGISTIC" else "en_tanh_s8",
        params=dict(size=x.size, in_zp=x.zero_point, mult=mult, shift=shift, radius=radius),
        inputs=(x.name,),
        outputs=(y.name,),
        inplace=(0,),
        summary=f"radius {radius}",
    )


def _sat_shl(x, n: int):
    """gemmlowp ``SaturatingRoundingMultiplyByPOT<n>`` for n > 0 (int32 saturation)."""
    x = np.asarray(x, np.int64)
    limit = (1 << (31 - n)) - 1
    return np.where(x > limit, INT32_MAX, np.where(x < -limit, INT32_MIN, x << n))


def _exp_on_interval(a):
    """exp(a) for a in [-1/4, 0), Q0.31 in and out (Taylor series around -1/8)."""
    const_term, one_third = 1895147668, 715827883
    x = a + (1 << 28)
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    inner = rdbpot(srdhm(rdbpot(x4, 2) + x3, one_third) + x2, 1)
    return const_term + srdhm(const_term, x + inner)


def exp_on_negative_values(a, integer_bits: int):
    """gemmlowp ``exp_on_negative_values`` of a Q<integer_bits> value a <= 0, Q0.31 result."""
    a = np.asarray(a, np.int64)
    frac_bits = 31 - integer_bits
    one_quarter = 1 << (frac_bits - 2)
    a_mod_quarter_minus_quarter = (a & (one_quarter - 1)) - one_quarter
    result = _exp_on_interval(_sat_shl(a_mod_quarter_minus_quarter, integer_bits))
    remainder = a_mod_quarter_minus_quarter - a
    multipliers = {-2: 1672461947, -1: 1302514674, 0: 790015084, 1: 290630308, 2: 39332535, 3: 720401, 4: 242}
    for exponent, m in multipliers.items():
        if integer_bits > exponent:
            result = np.where(remainder & (1 << (frac_bits + exponent)), srdhm(result, m), result)
    assert integer_bits <= 5  # gemmlowp clamps below -32 for more integer bits; not needed here
    return np.where(a == 0, INT32_MAX, result)


def _newton_raphson_reciprocal(a):
    """x ~= 2 / (1 + a) = 1 / half_denominator in Q2.29 for a Q0.31 value a in [0, 1), where
    ``half_denominator = RoundingHalfSum(a, 1)``: three Newton-Raphson steps (gemmlowp's
    ``one_over_one_plus_x_for_x_in_0_1`` halves it, ``one_minus_x_over_one_plus_x_for_x_in_0_1``
    subtracts one)."""
    s = np.asarray(a, np.int64) + INT32_MAX
    half_denominator = np.where(s >= 0, (s + 1) // 2, -((1 - s) // 2))  # (s +- 1) / 2, truncating
    x = 1515870810 + srdhm(half_denominator, -1010580540)
    for _ in range(3):
        one_minus = (1 << 29) - srdhm(half_denominator, x)
        x = x + _sat_shl(srdhm(x, one_minus), 2)
    return x


def logistic(a):
    """gemmlowp ``logistic`` of a Q4.27 value, Q0.31 result."""
    a = np.asarray(a, np.int64)
    abs_a = np.where(a > 0, a, -a)
    if_positive = _sat_shl(_newton_raphson_reciprocal(exp_on_negative_values(-abs_a, 4)), 1)
    return np.where(a == 0, 1 << 30, np.where(a > 0, if_positive, INT32_MAX - if_positive))


def tanh(a):
    """gemmlowp ``tanh`` of a Q4.27 value, Q0.31 result."""
    a = np.asarray(a, np.int64)
    n = np.where(a < 0, a, -a)
    t = _sat_shl(_newton_raphson_reciprocal(exp_on_negative_values(n, 5)) - (1 << 29), 2)
    return np.where(a == 0, 0, np.where(a < 0, -t, t))


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    p = k.params
    v = x.reshape(-1).astype(np.int64) - p["in_zp"]
    inside = (v > -p["radius"]) & (v < p["radius"])
    a = multiply_by_quantized_multiplier(np.where(inside, v, 0), p["mult"], p["shift"])
    if k.op.kind == "LOGISTIC":
        y = np.clip(rdbpot(logistic(a), 23) - 128, -128, 127)
    else:
        y = np.clip(rdbpot(tanh(a), 24), -128, 127)
    y = np.where(v <= -p["radius"], -128, np.where(v >= p["radius"], 127, y))
    return y.astype(np.int8)
