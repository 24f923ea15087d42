/* FULLY_CONNECTED, int4 weights, int8 activations. Spec: edgeneuro/ops/fully_connected.py. */
#include "fully_connected_s4.h"

#include "en_fixedpoint.h"
#include "en_int4.h"

void en_fully_connected_s4(const en_fully_connected_s4_params *p, const int8_t *input, const uint8_t *weights,
                           const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output)
{
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * p->depth;
        int32_t at = 0; /* the row's first value in the packed array */
        for (int32_t u = 0; u < p->units; ++u) {
            const int32_t acc = en_s4_dot(in, weights, at, p->depth, p->in_zp);
            at += p->depth;
            *output++ = EN_FINISH_S8(acc, u);
        }
    }
}

void en_fully_connected_s4_dsp(const en_fully_connected_s4_dsp_params *p, const int8_t *input, const int32_t *weights,
                               const int32_t *fields, int8_t *output)
{
    const int32_t u4 = p->units & ~3;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * p->depth;
        const uint32_t *w = (const uint32_t *)weights;
        int32_t u = 0, acc[4];
        for (; u < u4; u += 4) {
            w = en_s4_rows4(w, in, p->depth, acc);
            for (int32_t r = 0; r < 4; ++r) {
                *output++ = en_s4_out(acc[r], fields + 4 * (u + r), p->fast, p->out_zp, p->act_min, p->act_max);
            }
        }
        for (; u < p->units; u += 2) { /* a last pair; an odd last row's partner is zeros */
            w = en_s4_rows2(w, in, p->depth, acc);
            for (int32_t r = 0; r < 2 && u + r < p->units; ++r) {
                *output++ = en_s4_out(acc[r], fields + 4 * (u + r), p->fast, p->out_zp, p->act_min, p->act_max);
            }
        }
    }
}
