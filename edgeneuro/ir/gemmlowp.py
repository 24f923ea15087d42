"""gemmlowp's fixed-point transcendental functions, as TFLite's int8 SOFTMAX, LOGISTIC and TANH use
them, in numpy over int32 values held in int64 (vectorized). The C twins are in
firmware/kernels/en_fixedpoint.h."""

from __future__ import annotations

import numpy as np

from edgeneuro.ir.quant import INT32_MAX, INT32_MIN
from edgeneuro.ir.quant import rounding_divide_by_pot as rdbpot
from edgeneuro.ir.quant import saturating_rounding_doubling_high_mul as srdhm

EXP_BARREL = {-2: 1672461947, -1: 1302514674, 0: 790015084, 1: 290630308, 2: 39332535, 3: 720401, 4: 242}


def sat_shl(x, n: int):
    """``SaturatingRoundingMultiplyByPOT<n>`` for n > 0 (int32 saturation)."""
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
    """``exp_on_negative_values`` of a Q<integer_bits>.<31 - integer_bits> value a <= 0, Q0.31 result
    (integer_bits <= 5: gemmlowp's extra clamp for more integer bits is not needed here)."""
    assert integer_bits <= 5
    a = np.asarray(a, np.int64)
    frac_bits = 31 - integer_bits
    one_quarter = 1 << (frac_bits - 2)
    a_mod_quarter_minus_quarter = (a & (one_quarter - 1)) - one_quarter
    result = _exp_on_interval(sat_shl(a_mod_quarter_minus_quarter, integer_bits))
    remainder = a_mod_quarter_minus_quarter - a
    for exponent, m in EXP_BARREL.items():
        if integer_bits > exponent:
            result = np.where(remainder & (1 << (frac_bits + exponent)), srdhm(result, m), result)
    return np.where(a == 0, INT32_MAX, result)


def reciprocal_one_plus_x(a):
    """2 / (1 + a) in Q2.29 for a Q0.31 value a in [0, 1): three Newton-Raphson steps on
    ``half_denominator = RoundingHalfSum(a, 1)``. gemmlowp's ``one_over_one_plus_x_for_x_in_0_1``
    is this shifted left by one; its ``one_minus_x_over_one_plus_x_for_x_in_0_1`` subtracts one."""
    s = np.asarray(a, np.int64) + INT32_MAX
    half_denominator = np.where(s >= 0, (s + 1) // 2, -((1 - s) // 2))  # (s +- 1) / 2, truncating
    x = 1515870810 + srdhm(half_denominator, -1010580540)
    for _ in range(3):
        one_minus = (1 << 29) - srdhm(half_denominator, x)
        x = x + sat_shl(srdhm(x, one_minus), 2)
    return x


def one_over_one_plus_x(a):
    """1 / (1 + a), Q0.31 in and out, a in [0, 1)."""
    return sat_shl(reciprocal_one_plus_x(a), 1)
