/* FULLY_CONNECTED int8, weights [units][depth], per-channel or per-tensor requantization.
 * Spec: edgeneuro/ops/fully_connected.py. */
#include "en_fixedpoint.h"
#include "fully_connected.h"

void en_fully_connected_s8(const en_fully_connected_s8_params *p, const int8_t *input, const int8_t *weights,
                           const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output)
{
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * p->depth;
        for (int32_t u = 0; u < p->units; ++u) {
            const int8_t *w = weights + u * p->depth;
            int32_t acc = 0;
            for (int32_t d = 0; d < p->depth; ++d) {
                acc += ((int32_t)in[d] - p->in_zp) * (int32_t)w[d];
            }
            acc = en_requant(acc + bias[u], mult[u], shift[u]) + p->out_zp;
            *output++ = en_clamp_s8(acc, p->act_min, p->act_max);
        }
    }
}

void en_fully_connected_f32(const en_fully_connected_f32_params *p, const float *input, const float *weights,
                            const float *bias, float *output)
{
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *in = input + b * p->depth;
        for (int32_t u = 0; u < p->units; ++u) {
            const float *w = weights + u * p->depth;
            float acc = 0.0f;
            for (int32_t d = 0; d < p->depth; ++d) {
                acc += in[d] * w[d];
            }
            acc += bias[u];
            *output++ = acc < p->act_min ? p->act_min : (acc > p->act_max ? p->act_max : acc);
        }
    }
}

void en_fully_connected_s16(const en_fully_connected_s16_params *p, const int16_t *input, const int8_t *weights,
                            const int64_t *bias, const int32_t *mult, const int32_t *shift, int16_t *output)
{
    for (int32_t b = 0; b < p->batches; ++b) {
        const int16_t *in = input + b * p->depth;
        for (int32_t u = 0; u < p->units; ++u) {
            const int8_t *w = weights + u * p->depth;
            int64_t acc = 0;
            for (int32_t d = 0; d < p->depth; ++d) {
                acc += (int32_t)in[d] * (int32_t)w[d];
            }
            *output++ = en_clamp_s16(en_requant64(acc + bias[u], mult[u], shift[u]), p->act_min, p->act_max);
        }
    }
}
