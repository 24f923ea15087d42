/* MAX_POOL_2D and AVERAGE_POOL_2D int8 with Helium (MVE): a vector holds 16 channels of a tap (the
 * last in_c % 16 predicated). The maximum is one VMAX a tap, started from act_min (which is the
 * lower clamp); the average sums the taps in int16 lanes (widening loads, 8 channels each) and
 * divides each channel's sum as pool.c does. The windows are clipped to the input exactly as in
 * pool.c. Spec: edgeneuro/ops/pool.py. */
#include "pool_mve.h"

#include "en_fixedpoint.h"
#include "en_mve.h"

void en_max_pool2d_s8_mve(const en_max_pool2d_s8_mve_params *p, const int8_t *input, int8_t *output)
{
    const int32_t c = p->channels, c16 = c & ~15, row = p->in_w * c;
    const int8x16_t lo = vdupq_n_s8((int8_t)p->act_min), hi = vdupq_n_s8((int8_t)p->act_max);
    const mve_pred16_t tail = vctp8q((uint32_t)(c - c16));
    EN_POOL_EACH_WINDOW({
        int32_t ch = 0;
        for (; ch < c16; ch += 16) {
            int8x16_t acc = lo;
            for (int32_t ky = 0; ky < kh; ++ky) {
                const int8_t *t = in + ky * row + ch;
                for (int32_t kx = kw; kx > 0; --kx, t += c) {
                    acc = vmaxq_s8(acc, vldrbq_s8(t));
                }
            }
            vstrbq_s8(out + ch, vminq_s8(acc, hi));
        }
        if (ch < c) { /* the last c % 16 channels; the other lanes read as 0 and are not stored */
            int8x16_t acc = lo;
            for (int32_t ky = 0; ky < kh; ++ky) {
                const int8_t *t = in + ky * row + ch;
                for (int32_t kx = kw; kx > 0; --kx, t += c) {
                    acc = vmaxq_s8(acc, vldrbq_z_s8(t, tail));
                }
            }
            vstrbq_p_s8(out + ch, vminq_s8(acc, hi), tail);
        }
    });
}

/* The average of n values summing to s, rounded half away from zero with C's truncating
 * division (as pool.c and TFLite), clamped. */
static inline int8_t en_average(const en_avg_pool2d_s8_mve_params *p, int32_t s, int32_t n)
{
    return en_clamp_s8(s > 0 ? (s + n / 2) / n : (s - n / 2) / n, p->act_min, p->act_max);
}

void en_avg_pool2d_s8_mve(const en_avg_pool2d_s8_mve_params *p, const int8_t *input, int8_t *output)
{
    const int32_t c = p->channels, row = p->in_w * c;
    int16_t sums[16];
    EN_POOL_EACH_WINDOW({
        const int32_t n = kh * kw;
        for (int32_t ch = 0; ch < c; ch += 16) {
            const int32_t m = c - ch < 16 ? c - ch : 16;
            const mve_pred16_t p0 = vctp16q((uint32_t)m), p1 = vctp16q((uint32_t)(m > 8 ? m - 8 : 0));
            int16x8_t s0 = vdupq_n_s16(0), s1 = s0;
            for (int32_t ky = 0; ky < kh; ++ky) {
                const int8_t *t = in + ky * row + ch;
                if (m == 16) {
                    for (int32_t kx = kw; kx > 0; --kx, t += c) {
                        s0 = vaddq_s16(s0, vldrbq_s16(t));
                        s1 = vaddq_s16(s1, vldrbq_s16(t + 8));
                    }
                } else { /* the lanes past the channels read as 0 */
                    for (int32_t kx = kw; kx > 0; --kx, t += c) {
                        s0 = vaddq_s16(s0, vldrbq_z_s16(t, p0));
                        s1 = vaddq_s16(s1, vldrbq_z_s16(t + 8, p1));
                    }
                }
            }
            vstrhq_s16(sums, s0);
            vstrhq_s16(sums + 8, s1);
            for (int32_t j = 0; j < m; ++j) {
                out[ch + j] = en_average(p, sums[j], n);
            }
        }
    });
}
