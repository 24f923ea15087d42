/* The integer requantization arithmetic of TFLite / gemmlowp (double rounding), see
 * edgeneuro/ir/quant.py for the same rules in numpy. */
#ifndef EN_FIXEDPOINT_H
#define EN_FIXEDPOINT_H

#include <stdint.h>

/* SaturatingRoundingDoublingHighMul: round(a * b / 2^31), saturating the one overflow case. */
static inline int32_t en_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t s = ab + (ab >= 0 ? (INT64_C(1) << 30) : (1 - (INT64_C(1) << 30)));
    /* Division by 2^31 truncating toward zero, without a 64-bit divide. */
    return (int32_t)(s >= 0 ? (s >> 31) : -((-s) >> 31));
}

/* RoundingDivideByPOT: x / 2^exponent rounded half away from zero. */
static inline int32_t en_rdbpot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)((INT64_C(1) << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* MultiplyByQuantizedMultiplier: x * mult * 2^(shift - 31), double rounding. */
static inline int32_t en_requant(int32_t x, int32_t mult, int32_t shift)
{
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    return en_rdbpot(en_srdhm(x * (int32_t)(1u << left), mult), right);
}

/* MultiplyByQuantizedMultiplier for the int64 accumulators of the 16x8 kernels: the multiplier
 * reduced to 16 bits, then one rounding shift. */
static inline int32_t en_requant64(int64_t x, int32_t mult, int32_t shift)
{
    const int64_t reduced = mult < 0x7FFF0000 ? ((mult + (1 << 15)) >> 16) : 0x7FFF;
    const int total = 15 - shift;
    return (int32_t)((x * reduced + ((int64_t)1 << (total - 1))) >> total);
}

static inline int16_t en_clamp_s16(int32_t v, int32_t lo, int32_t hi)
{
    return (int16_t)(v < lo ? lo : (v > hi ? hi : v));
}

static inline float en_clampf(float v, float lo, float hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

static inline int8_t en_clamp_s8(int32_t v, int32_t lo, int32_t hi)
{
    return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}

/* The per-tap term and the final store of the weighted layers (CONV_2D, DEPTHWISE_CONV_2D,
 * FULLY_CONNECTED), shared by their loop nests. They name the kernel's own parameters: `p` (with
 * in_zp, out_zp, act_min, act_max), `bias`, and for the integer kernels `mult` and `shift`. */
#define EN_TERM_S8(x, w) (((int32_t)(x) - p->in_zp) * (int32_t)(w))
#define EN_FINISH_S8(acc, c) \
    en_clamp_s8(en_requant((acc) + bias[c], mult[c], shift[c]) + p->out_zp, p->act_min, p->act_max)
#define EN_TERM_S16(x, w) ((int32_t)(x) * (int32_t)(w)) /* 16x8: zero point 0 */
#define EN_FINISH_S16(acc, c) en_clamp_s16(en_requant64((acc) + bias[c], mult[c], shift[c]), p->act_min, p->act_max)
#define EN_TERM_F32(x, w) ((x) * (w))
#define EN_FINISH_F32(acc, c) en_clampf((acc) + bias[c], p->act_min, p->act_max)

/* gemmlowp's fixed-point transcendentals (SOFTMAX, LOGISTIC, TANH); numpy twins in
 * edgeneuro/ir/gemmlowp.py. */

/* SaturatingRoundingMultiplyByPOT<n>, n > 0. */
static inline int32_t en_sat_shl(int32_t x, int n)
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

/* exp(a) for a in [-1/4, 0), Q0.31 in and out (Taylor series around -1/8). */
static inline int32_t en_exp_on_interval(int32_t a)
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

/* exp(a) for a <= 0 with integer_bits (at most 5) integer bits, Q0.31 result. */
static inline int32_t en_exp_on_negative_values(int32_t a, int integer_bits)
{
    static const int32_t multipliers[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int frac_bits = 31 - integer_bits;
    const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t a_mod_quarter_minus_quarter = (a & (one_quarter - 1)) - one_quarter;
    int32_t result = en_exp_on_interval(en_sat_shl(a_mod_quarter_minus_quarter, integer_bits));
    const int32_t remainder = a_mod_quarter_minus_quarter - a;
    for (int e = -2; e <= 4; ++e) {
        if (integer_bits > e && (remainder & ((int32_t)1 << (frac_bits + e)))) {
            result = en_srdhm(result, multipliers[e + 2]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* 2 / (1 + a) in Q2.29 for a Q0.31 value a in [0, 1), three Newton-Raphson steps. */
static inline int32_t en_reciprocal_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = 1515870810 + en_srdhm(half_denominator, -1010580540);
    for (int i = 0; i < 3; ++i) {
        const int32_t one_minus = (1 << 29) - en_srdhm(half_denominator, x);
        x = x + en_sat_shl(en_srdhm(x, one_minus), 2);
    }
    return x;
}

/* The spiking kernels' fixed point (numpy twins in edgeneuro/ir/quant.py: mul_round, shift_round,
 * sat32): x * m / 2^n rounded half up (toward +infinity), the product exact in int64 (callers keep
 * |x * m| < 2^62), n >= 1; and saturation to int32 where a value is stored. */
static inline int64_t en_mul_round(int64_t x, int32_t m, int32_t n)
{
    return (x * (int64_t)m + ((int64_t)1 << (n - 1))) >> n;
}

static inline int64_t en_shift_round(int64_t x, int32_t n)
{
    return n == 0 ? x : (x + ((int64_t)1 << (n - 1))) >> n;
}

static inline int32_t en_sat32(int64_t v)
{
    return (int32_t)(v < INT32_MIN ? INT32_MIN : (v > INT32_MAX ? INT32_MAX : v));
}

#endif
