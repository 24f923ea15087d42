/* FULLY_CONNECTED, weights [units][depth]: int8 (per-channel or per-tensor requantization), 16x8
 * and float32. Spec: edgeneuro/ops/fully_connected.py. */
#include "fully_connected.h"

#include "en_fixedpoint.h"

/* The loop of all three variants: acc = sum over d of TERM(in[d], w[d]), then FINISH(acc, u). */
#define EN_FC_LOOPS(IN_T, W_T, ACC_T, TERM, FINISH)        \
    for (int32_t b = 0; b < p->batches; ++b) {             \
        const IN_T *in = input + b * p->depth;             \
        for (int32_t u = 0; u < p->units; ++u) {           \
            const W_T *w = weights + u * p->depth;         \
            ACC_T acc = 0;                                 \
            for (int32_t d = 0; d < p->depth; ++d) {       \
                acc += TERM(in[d], w[d]);                  \
            }                                              \
            *output++ = FINISH(acc, u);                    \
        }                                                  \
    }

void en_fully_connected_s8(const en_fully_connected_s8_params *p, const int8_t *input, const int8_t *weights,
                           const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output)
{
    EN_FC_LOOPS(int8_t, int8_t, int32_t, EN_TERM_S8, EN_FINISH_S8)
}

void en_fully_connected_s16(const en_fully_connected_s16_params *p, const int16_t *input, const int8_t *weights,
                            const int64_t *bias, const int32_t *mult, const int32_t *shift, int16_t *output)
{
    EN_FC_LOOPS(int16_t, int8_t, int64_t, EN_TERM_S16, EN_FINISH_S16)
}

void en_fully_connected_f32(const en_fully_connected_f32_params *p, const float *input, const float *weights,
                            const float *bias, float *output)
{
    EN_FC_LOOPS(float, float, float, EN_TERM_F32, EN_FINISH_F32)
}
