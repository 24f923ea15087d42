/* FULLY_CONNECTED int8 with SIMD32 (SXTB16 + SMLAD): four output units at a time share each word
 * of input, four input bytes per step. The raw input bytes are multiplied (the zero point is in
 * the bias), so a step is one load and two SXTB16 for the input and per unit one load, two SXTB16
 * and two SMLAD: 23 instructions for 16 MACs. Spec: edgeneuro/ops/fully_connected.py. */
#include "fully_connected_dsp.h"

#include "en_fixedpoint.h"
#include "en_simd.h"

static inline int8_t en_fc_store(const en_fully_connected_s8_params *p, int32_t acc, int32_t mult, int32_t shift)
{
    return en_clamp_s8(en_requant(acc, mult, shift) + p->out_zp, p->act_min, p->act_max);
}

void en_fully_connected_s8_dsp(const en_fully_connected_s8_dsp_params *p, const int8_t *input, const int8_t *weights,
                               const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output)
{
    const int32_t depth = p->depth;
    const int32_t d4 = depth & ~3;
    const int32_t units4 = p->units & ~3;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * depth;
        const int8_t *w = weights;
        int32_t u = 0;
        for (; u < units4; u += 4) {
            int32_t a0 = bias[u], a1 = bias[u + 1], a2 = bias[u + 2], a3 = bias[u + 3];
            for (int32_t d = 0; d < d4; d += 4) {
                const uint32_t x = en_read_s8x4(in + d);
                const uint32_t xe = en_sxtb16(x), xo = en_sxtb16_ror8(x);
                uint32_t v = en_read_s8x4(w);
                a0 = en_smlad(xe, en_sxtb16(v), en_smlad(xo, en_sxtb16_ror8(v), a0));
                v = en_read_s8x4(w + 4);
                a1 = en_smlad(xe, en_sxtb16(v), en_smlad(xo, en_sxtb16_ror8(v), a1));
                v = en_read_s8x4(w + 8);
                a2 = en_smlad(xe, en_sxtb16(v), en_smlad(xo, en_sxtb16_ror8(v), a2));
                v = en_read_s8x4(w + 12);
                a3 = en_smlad(xe, en_sxtb16(v), en_smlad(xo, en_sxtb16_ror8(v), a3));
                w += 16;
            }
            for (int32_t d = d4; d < depth; ++d) { /* each row's tail, row after row */
                const int32_t x = in[d];
                const int32_t tail = depth - d4, k = d - d4;
                a0 += x * w[k];
                a1 += x * w[tail + k];
                a2 += x * w[2 * tail + k];
                a3 += x * w[3 * tail + k];
            }
            w += 4 * (depth - d4);
            output[u] = en_fc_store(p, a0, mult[u], shift[u]);
            output[u + 1] = en_fc_store(p, a1, mult[u + 1], shift[u + 1]);
            output[u + 2] = en_fc_store(p, a2, mult[u + 2], shift[u + 2]);
            output[u + 3] = en_fc_store(p, a3, mult[u + 3], shift[u + 3]);
        }
        for (; u < p->units; ++u) { /* the last units % 4 rows, as they are */
            int32_t acc = bias[u];
            int32_t d = 0;
            for (; d < d4; d += 4) {
                const uint32_t x = en_read_s8x4(in + d), v = en_read_s8x4(w + d);
                acc = en_smlad(en_sxtb16(x), en_sxtb16(v), en_smlad(en_sxtb16_ror8(x), en_sxtb16_ror8(v), acc));
            }
            for (; d < depth; ++d) {
                acc += in[d] * w[d];
            }
            w += depth;
            output[u] = en_fc_store(p, acc, mult[u], shift[u]);
        }
        output += p->units;
    }
}
