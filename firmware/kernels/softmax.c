/* SOFTMAX int8 -> int8 (scale 1/256, zero point -128) in gemmlowp fixed point, as TFLite's
 * quantized reference. Spec: edgeneuro/ops/softmax.py. */
#include <math.h>

#include "en_fixedpoint.h"
#include "softmax.h"

#define SCALED_DIFF_INTEGER_BITS 5
#define ACCUM_INTEGER_BITS 12

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

/* exp(a) for a in [-1/4, 0), Q0.31. */
static int32_t exp_on_interval(int32_t a)
{
    const int32_t constant_term = 1895147668;
    const int32_t one_third = 715827883;
    const int32_t x = a + (1 << 28);
    const int32_t x2 = en_srdhm(x, x);
    const int32_t x3 = en_srdhm(x2, x);
    const int32_t x4 = en_srdhm(x2, x2);
    const int32_t x4_over_4 = en_rdbpot(x4, 2);
    const int32_t inner = en_rdbpot(en_srdhm(x4_over_4 + x3, one_third) + x2, 1);
    return constant_term + en_srdhm(constant_term, x + inner);
}

/* exp(a) for a Q5.26 value a <= 0, Q0.31 result. */
static int32_t exp_on_negative_values(int32_t a)
{
    static const int32_t multipliers[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int frac_bits = 31 - SCALED_DIFF_INTEGER_BITS;
    const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t a_mod_quarter_minus_quarter = (a & (one_quarter - 1)) - one_quarter;
    int32_t result = exp_on_interval(sat_shl(a_mod_quarter_minus_quarter, SCALED_DIFF_INTEGER_BITS));
    const int32_t remainder = a_mod_quarter_minus_quarter - a;
    for (int e = -2; e <= 4; ++e) {
        if (SCALED_DIFF_INTEGER_BITS > e && (remainder & ((int32_t)1 << (frac_bits + e)))) {
            result = en_srdhm(result, multipliers[e + 2]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + a) for a Q0.31 value in [0, 1), Newton-Raphson, Q0.31 result. */
static int32_t one_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = 1515870810 + en_srdhm(half_denominator, -1010580540);
    for (int i = 0; i < 3; ++i) {
        const int32_t one_minus = (1 << 29) - en_srdhm(half_denominator, x);
        x = x + sat_shl(en_srdhm(x, one_minus), 2);
    }
    return sat_shl(x, 1);
}

static int count_leading_zeros(uint32_t x)
{
    int n = 0;
    if (x == 0) {
        return 32;
    }
    while (!(x & 0x80000000u)) {
        x <<= 1;
        ++n;
    }
    return n;
}

void en_softmax_s8(const en_softmax_s8_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t r = 0; r < p->rows; ++r) {
        const int8_t *in = input + r * p->depth;
        int8_t *out = output + r * p->depth;
        int32_t max_in_row = -128;
        for (int32_t c = 0; c < p->depth; ++c) {
            max_in_row = in[c] > max_in_row ? in[c] : max_in_row;
        }
        int32_t sum_of_exps = 0;
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t scaled = en_requant(diff, p->mult, p->left_shift);
                sum_of_exps += en_rdbpot(exp_on_negative_values(scaled), ACCUM_INTEGER_BITS);
            }
        }
        const int headroom_plus_one = count_leading_zeros((uint32_t)sum_of_exps);
        const int num_bits_over_unit = ACCUM_INTEGER_BITS - headroom_plus_one;
        const int32_t shifted_sum_minus_one =
            (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31));
        const int32_t shifted_scale = one_over_one_plus_x(shifted_sum_minus_one);
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t scaled = en_requant(diff, p->mult, p->left_shift);
                const int32_t e = exp_on_negative_values(scaled);
                const int32_t unsat = en_rdbpot(en_srdhm(shifted_scale, e), num_bits_over_unit + 31 - 8);
                out[c] = en_clamp_s8(unsat - 128, -128, 127);
            } else {
                out[c] = -128;
            }
        }
    }
}

void en_softmax_f32(const en_softmax_f32_params *p, const float *input, float *output)
{
    for (int32_t r = 0; r < p->rows; ++r) {
        const float *in = input + r * p->depth;
        float *out = output + r * p->depth;
        float max = in[0];
        for (int32_t c = 1; c < p->depth; ++c) {
            max = in[c] > max ? in[c] : max;
        }
        float sum = 0.0f;
        for (int32_t c = 0; c < p->depth; ++c) {
            out[c] = expf((in[c] - max) * p->beta);
            sum += out[c];
        }
        const float reciprocal = 1.0f / sum;
        for (int32_t c = 0; c < p->depth; ++c) {
            out[c] = out[c] * reciprocal;
        }
    }
}
