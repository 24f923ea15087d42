/* SOFTMAX int8 -> int8 (scale 1/256, zero point -128) in gemmlowp fixed point, as TFLite's
 * quantized reference. Spec: edgeneuro/ops/softmax.py. */
#include <math.h>

#include "en_fixedpoint.h"
#include "softmax.h"

#define SCALED_DIFF_INTEGER_BITS 5
#define ACCUM_INTEGER_BITS 12

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

/* RoundingDivideByPOT of a non-negative value, also by 2^32 or more: a row whose exponentials sum
 * to 512 or more (Q12.19 sum >= 2^28) gives an exponent of 32 or more, where TFLM's gemmlowp
 * asserts (undefined in a release build) and a 32-bit shift would be undefined here; the exact
 * quotient, below 1/2, rounds to 0, as the numpy reference's int64 arithmetic gives. */
static inline int32_t rdbpot_nonneg(int32_t x, int exponent)
{
    return exponent >= 32 ? 0 : en_rdbpot(x, exponent);
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
                sum_of_exps += en_rdbpot(en_exp_on_negative_values(scaled, SCALED_DIFF_INTEGER_BITS), ACCUM_INTEGER_BITS);
            }
        }
        const int headroom_plus_one = count_leading_zeros((uint32_t)sum_of_exps);
        const int num_bits_over_unit = ACCUM_INTEGER_BITS - headroom_plus_one;
        const int32_t shifted_sum_minus_one =
            (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31));
        const int32_t shifted_scale = en_sat_shl(en_reciprocal_one_plus_x(shifted_sum_minus_one), 1);
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t scaled = en_requant(diff, p->mult, p->left_shift);
                const int32_t e = en_exp_on_negative_values(scaled, SCALED_DIFF_INTEGER_BITS);
                const int32_t unsat = rdbpot_nonneg(en_srdhm(shifted_scale, e), num_bits_over_unit + 31 - 8);
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
