/* LOGISTIC and TANH on int8 in gemmlowp fixed point, as TFLM's reference_integer_ops.
 * Spec: edgeneuro/ops/sigmoid.py. */
#include "en_fixedpoint.h"
#include "sigmoid.h"

/* gemmlowp SaturatingRoundingMultiplyByPOT<n>, n > 0. */
static int32_t sat_shl(int32_t x, int n)
{
    const int32_t limit = (int32_t)((INT64_C(1) << (31 - n)) - 1);
    if (x > limit) {
        return INT32_MAX;
    }
    if (x < -limit) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << n);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out. */
static int32_t exp_on_interval(int32_t a)
{
    const int32_t constant_term = 1895147668;
    const int32_t one_third = 715827883;
    const int32_t x = a + (1 << 28);
    const int32_t x2 = en_srdhm(x, x);
    const int32_t x3 = en_srdhm(x2, x);
    const int32_t x4 = en_srdhm(x2, x2);
    const int32_t inner = en_rdbpot(en_srdhm(en_rdbpot(x4, 2) + x3, one_third) + x2, 1);
    return constant_term + en_srdhm(constant_term, x + inner);
}

/* exp(a) for a <= 0 with integer_bits (4 or 5) integer bits, Q0.31 result. */
static int32_t exp_on_negative_values(int32_t a, int integer_bits)
{
    static const int32_t multipliers[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int frac_bits = 31 - integer_bits;
    const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t a_mod_quarter_minus_quarter = (a & (one_quarter - 1)) - one_quarter;
    int32_t result = exp_on_interval(sat_shl(a_mod_quarter_minus_quarter, integer_bits));
    const int32_t remainder = a_mod_quarter_minus_quarter - a;
    for (int e = -2; e <= 4; ++e) {
        if (integer_bits > e && (remainder & ((int32_t)1 << (frac_bits + e)))) {
            result = en_srdhm(result, multipliers[e + 2]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* 2 / (1 + a) in Q2.29 for a Q0.31 value a in [0, 1), three Newton-Raphson steps. */
static int32_t reciprocal_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = 1515870810 + en_srdhm(half_denominator, -1010580540);
    for (int i = 0; i < 3; ++i) {
        const int32_t one_minus = (1 << 29) - en_srdhm(half_denominator, x);
        x = x + sat_shl(en_srdhm(x, one_minus), 2);
    }
    return x;
}

/* gemmlowp logistic of a Q4.27 value, Q0.31 result. */
static int32_t logistic_q4(int32_t a)
{
    if (a == 0) {
        return 1 << 30;
    }
    const int32_t abs_a = a > 0 ? a : -a;
    const int32_t if_positive = sat_shl(reciprocal_one_plus_x(exp_on_negative_values(-abs_a, 4)), 1);
    return a > 0 ? if_positive : INT32_MAX - if_positive;
}

/* gemmlowp tanh of a Q4.27 value, Q0.31 result: exp(-2|a|) is the raw value read as Q5.26. */
static int32_t tanh_q4(int32_t a)
{
    if (a == 0) {
        return 0;
    }
    const int32_t n = a < 0 ? a : -a;
    const int32_t t = sat_shl(reciprocal_one_plus_x(exp_on_negative_values(n, 5)) - (1 << 29), 2);
    return a < 0 ? -t : t;
}

void en_logistic_s8(const en_logistic_s8_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t v = (int32_t)input[i] - p->in_zp;
        if (v <= -p->radius) {
            output[i] = -128;
        } else if (v >= p->radius) {
            output[i] = 127;
        } else {
            const int32_t a = en_requant(v, p->mult, p->shift);
            output[i] = en_clamp_s8(en_rdbpot(logistic_q4(a), 23) - 128, -128, 127);
        }
    }
}

void en_tanh_s8(const en_tanh_s8_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t v = (int32_t)input[i] - p->in_zp;
        if (v <= -p->radius) {
            output[i] = -128;
        } else if (v >= p->radius) {
            output[i] = 127;
        } else {
            const int32_t a = en_requant(v, p->mult, p->shift);
            output[i] = en_clamp_s8(en_rdbpot(tanh_q4(a), 24), -128, 127);
        }
    }
}
