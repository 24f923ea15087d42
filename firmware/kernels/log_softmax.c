/* LOG_SOFTMAX over the last axis. Spec: edgeneuro/ops/log_softmax.py. */
#include "log_softmax.h"

#include <float.h>
#include <math.h>

#include "en_fixedpoint.h"

void en_log_softmax_f32(const en_log_softmax_f32_params *p, const float *input, float *output)
{
    for (int32_t r = 0; r < p->rows; ++r) {
        const float *x = input + r * p->depth;
        float m = -FLT_MAX;
        for (int32_t c = 0; c < p->depth; ++c) {
            m = x[c] > m ? x[c] : m;
        }
        float sum = 0.0f;
        for (int32_t c = 0; c < p->depth; ++c) {
            sum += expf(x[c] - m);
        }
        const float log_sum = logf(sum);
        for (int32_t c = 0; c < p->depth; ++c) {
            *output++ = x[c] - m - log_sum;
        }
    }
}

static inline int clz32(uint32_t v)
{
    int n = 0;
    while (n < 32 && !(v & (UINT32_C(0x80000000) >> n))) {
        ++n;
    }
    return n;
}

/* SaturatingRoundingMultiplyByPOTParam for n >= 0 (n = 0: x itself). */
static inline int32_t sat_shl_param(int32_t x, int n)
{
    return n == 0 ? x : en_sat_shl(x, n);
}

static inline int32_t sat_add(int32_t a, int32_t b)
{
    const int64_t s = (int64_t)a + b;
    return (int32_t)(s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : s));
}

/* log_x_for_x_greater_than_or_equal_to_1<5> of a Q12.19 value, Q5.26 result (TFLite). */
static int32_t log_q5(int32_t a)
{
    const int32_t log_2 = 1488522236, sqrt_sqrt_half = 1805811301, sqrt_half = 1518500250;
    const int32_t alpha_n = 117049297, alpha_d = 127690142, alpha_i = 1057819769, alpha_f = 638450708;
    const int32_t quarter = en_rdbpot(536870912, 6);
    const int hp1 = clz32((uint32_t)a);
    const int32_t r_a = en_sat_shl(en_srdhm(sat_shl_param(a, hp1 - 1), sqrt_half), 1);
    const int32_t a_pow = sat_add(sat_shl_param(12 - hp1, 25), quarter);
    const int32_t z_b = en_srdhm(a, sqrt_half);
    const int hb = clz32((uint32_t)z_b) - 1;
    const int32_t r_b = sat_shl_param(a, hb);
    const int32_t b_pow = sat_add(sat_shl_param(12 - hb, 25), -quarter);
    const int32_t r = r_a < r_b ? r_a : r_b;
    const int32_t z_pow = a_pow > b_pow ? a_pow : b_pow;
    const int64_t s = (int64_t)r + sqrt_sqrt_half;
    const int32_t half = (int32_t)((s + (s >= 0 ? 1 : -1)) / 2);
    const int32_t q = 2 * (r - sqrt_sqrt_half);
    const int32_t sq = en_srdhm(q, q);
    const int32_t num = en_srdhm(q, r) + en_srdhm(en_srdhm(q, sq), alpha_n);
    const int32_t denom = en_srdhm(half, alpha_i + q + en_srdhm(alpha_d, sq)) + en_srdhm(alpha_f, q);
    const int32_t recip = en_sat_shl(en_reciprocal_one_plus_x(denom), 1);
    return en_sat_shl(en_srdhm(z_pow, log_2) + en_srdhm(en_rdbpot(num, 6), recip), 1);
}

void en_log_softmax_s8(const en_log_softmax_s8_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t r = 0; r < p->rows; ++r) {
        const int8_t *x = input + r * p->depth;
        int32_t m = -128;
        for (int32_t c = 0; c < p->depth; ++c) {
            m = x[c] > m ? x[c] : m;
        }
        int32_t sum = 0;
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t d = x[c] - m;
            if (d >= p->diff_min) {
                sum += en_rdbpot(en_exp_on_negative_values(en_requant(d, p->mult, p->left_shift), 5), 12);
            }
        }
        const int32_t log_sum = log_q5(sum);
        const int32_t rescaled = en_requant(log_sum + INT32_MIN, p->rev_mult, p->rev_shift);
        const int32_t adj = rescaled > p->diff_min - 1 ? rescaled : p->diff_min - 1;
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t d = x[c] - m;
            if (d > adj) {
                const int32_t y = en_rdbpot(en_requant(d, p->mult, p->left_shift) - log_sum, 22) + 127;
                *output++ = en_clamp_s8(y, -128, 127);
            } else {
                *output++ = -128;
            }
        }
    }
}
