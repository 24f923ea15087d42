/* Spec: edgeneuro/ops/snn_pool.py. */
#include "snn_pool.h"

#include "en_fixedpoint.h"

/* The part [*lo, *hi) of a window of k values starting at position start that lies inside [0, n). */
static inline void en_pool_span(int32_t start, int32_t k, int32_t n, int32_t *lo, int32_t *hi)
{
    *lo = start < 0 ? -start : 0;
    *hi = n - start < k ? n - start : k;
}

/* The window sums of one channel plane, output row by output row: ACC is the accumulator type,
 * STORE(acc) writes one output and advances the output pointer. */
#define EN_POOL_PLANE(TYPE, ACC, plane, STORE)                                      \
    for (int32_t oy = 0; oy < p->h_out; ++oy) {                                     \
        const int32_t y0 = oy * p->stride_h - p->pad_h;                             \
        int32_t i0, i1;                                                             \
        en_pool_span(y0, p->k_h, p->h_in, &i0, &i1);                                \
        const TYPE *rows = &(plane)[(y0 + i0) * p->w_in];                           \
        for (int32_t ox = 0; ox < p->w_out; ++ox) {                                 \
            const int32_t x0 = ox * p->stride_w - p->pad_w;                         \
            int32_t j0, j1;                                                         \
            en_pool_span(x0, p->k_w, p->w_in, &j0, &j1);                            \
            ACC acc = 0;                                                            \
            const TYPE *row = rows;                                                 \
            for (int32_t i = i0; i < i1; ++i, row += p->w_in) {                     \
                for (int32_t j = x0 + j0; j < x0 + j1; ++j) {                       \
                    acc += row[j];                                                  \
                }                                                                   \
            }                                                                       \
            STORE(acc);                                                             \
        }                                                                           \
    }

void en_snn_pool2d_s8(const en_snn_pool2d_s8_params *p, const int8_t *input, int8_t *output)
{
#define EN_STORE_S8(acc) *output++ = (int8_t)((acc) < -128 ? -128 : ((acc) > 127 ? 127 : (acc)))
    for (int32_t c = 0; c < p->c; ++c) {
        const int8_t *plane = &input[c * p->h_in * p->w_in];
        EN_POOL_PLANE(int8_t, int32_t, plane, EN_STORE_S8) /* at most 2^16 values of at most 128 */
    }
#undef EN_STORE_S8
}

void en_snn_pool2d_s8_s32(const en_snn_pool2d_s8_s32_params *p, const int8_t *input, int32_t *output)
{
#define EN_STORE_S32(acc) *output++ = (acc)
    for (int32_t c = 0; c < p->c; ++c) {
        const int8_t *plane = &input[c * p->h_in * p->w_in];
        EN_POOL_PLANE(int8_t, int32_t, plane, EN_STORE_S32)
    }
#undef EN_STORE_S32
}

void en_snn_pool2d_s32(const en_snn_pool2d_s32_params *p, const int32_t *input, int32_t *output)
{
    /* |acc| <= 2^16 * 2^31 and |mult| < 2^(31 - ceil(log2(k_h * k_w))): the product is exact */
#define EN_STORE_MUL(acc) *output++ = en_sat32(en_mul_round((acc), p->mult, p->shift))
    for (int32_t c = 0; c < p->c; ++c) {
        const int32_t *plane = &input[c * p->h_in * p->w_in];
        EN_POOL_PLANE(int32_t, int64_t, plane, EN_STORE_MUL)
    }
#undef EN_STORE_MUL
}
