/* FULLY_CONNECTED int8 with Helium (MVE): four output units at a time share each 16-byte vector of
 * input, and each takes one VMLADAVA (16 multiply-accumulates into a scalar) per vector of its row;
 * a row's last depth % 16 bytes are one tail-predicated vector (VCTP, zeroing loads). The raw input
 * bytes are multiplied (the zero point is in the bias), and the four accumulators are requantized
 * together in one vector (en_mve_requant). Spec: edgeneuro/ops/fully_connected.py. */
#include "fully_connected_mve.h"

#include "en_fixedpoint.h"
#include "en_mve.h"

typedef en_fully_connected_s8_mve_params en_fc_params;

/* Four units' accumulators requantized, offset, clamped and stored as 4 bytes. */
static inline void en_fc_store4(const en_fc_params *p, int32x4_t acc, const int32_t *mult, const int32_t *shift,
                                int8_t *out)
{
    const int32x4_t m = vldrwq_s32(mult), s = vldrwq_s32(shift);
    int32x4_t y;
    if (p->right) {
        y = en_mve_requant_right(acc, m, s);
    } else {
        const int32x4_t zero = vdupq_n_s32(0);
        y = en_mve_requant(acc, m, vmaxq_s32(s, zero), vminq_s32(s, zero));
    }
    y = vqaddq_n_s32(y, p->out_zp);
    y = vminq_s32(vmaxq_s32(y, vdupq_n_s32(p->act_min)), vdupq_n_s32(p->act_max));
    vstrbq_s32(out, y);
}

void en_fully_connected_s8_mve(const en_fully_connected_s8_mve_params *p, const int8_t *input, const int8_t *weights,
                               const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output)
{
    const int32_t depth = p->depth, tail = depth & 15, chunks = depth >> 4;
    const int32_t units4 = p->units & ~3;
    const mve_pred16_t pt = vctp8q((uint32_t)tail);
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * depth;
        const int8_t *w = weights;
        int32_t u = 0;
        for (; u < units4; u += 4) {
            int32_t a0 = bias[u], a1 = bias[u + 1], a2 = bias[u + 2], a3 = bias[u + 3];
            const int8_t *x = in;
            for (int32_t n = chunks; n > 0; --n) {
                const int8x16_t xv = vldrbq_s8(x);
                x += 16;
                a0 = vmladavaq_s8(a0, xv, vldrbq_s8(w));
                a1 = vmladavaq_s8(a1, xv, vldrbq_s8(w + 16));
                a2 = vmladavaq_s8(a2, xv, vldrbq_s8(w + 32));
                a3 = vmladavaq_s8(a3, xv, vldrbq_s8(w + 48));
                w += 64;
            }
            if (tail) { /* the rows' last bytes, one after the other; the lanes past them are zero */
                const int8x16_t xv = vldrbq_z_s8(x, pt);
                a0 = vmladavaq_s8(a0, xv, vldrbq_z_s8(w, pt));
                a1 = vmladavaq_s8(a1, xv, vldrbq_z_s8(w + tail, pt));
                a2 = vmladavaq_s8(a2, xv, vldrbq_z_s8(w + 2 * tail, pt));
                a3 = vmladavaq_s8(a3, xv, vldrbq_z_s8(w + 3 * tail, pt));
                w += 4 * tail;
            }
            int32x4_t acc = vdupq_n_s32(a0);
            acc = vsetq_lane_s32(a1, acc, 1);
            acc = vsetq_lane_s32(a2, acc, 2);
            acc = vsetq_lane_s32(a3, acc, 3);
            en_fc_store4(p, acc, mult + u, shift + u, output + u);
        }
        for (; u < p->units; ++u) { /* the last units % 4 rows, as they are */
            int32_t acc = bias[u];
            const int8_t *x = in;
            for (int32_t n = chunks; n > 0; --n) {
                acc = vmladavaq_s8(acc, vldrbq_s8(x), vldrbq_s8(w));
                x += 16;
                w += 16;
            }
            if (tail) {
                acc = vmladavaq_s8(acc, vldrbq_z_s8(x, pt), vldrbq_z_s8(w, pt));
                w += tail;
            }
            output[u] = en_clamp_s8(en_requant(acc, mult[u], shift[u]) + p->out_zp, p->act_min, p->act_max);
        }
        output += p->units;
    }
}
