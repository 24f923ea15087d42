/* MAX_POOL_2D and AVERAGE_POOL_2D int8 with SIMD32: one word holds four channels of a tap. The
 * maximum takes SSUB8 + SEL per word (en_max_s8x4), the average sums bytes into halfwords with
 * SXTAB16; the windows are clipped to the input exactly as in pool.c. Spec: edgeneuro/ops/pool.py. */
#include "pool_dsp.h"

#include <string.h>

#include "en_fixedpoint.h"
#include "en_simd.h"

void en_max_pool2d_s8_dsp(const en_max_pool2d_s8_dsp_params *p, const int8_t *input, int8_t *output)
{
    const int32_t c = p->channels, c4 = c & ~3, row = p->in_w * c;
    const uint32_t lo = 0x01010101u * (uint8_t)(int8_t)p->act_min;
    const uint32_t hi = 0x01010101u * (uint8_t)(int8_t)p->act_max;
    EN_POOL_EACH_WINDOW({
        int32_t ch = 0;
        for (; ch < c4; ch += 4) {
            uint32_t acc = 0x80808080u;
            for (int32_t ky = 0; ky < kh; ++ky) {
                const int8_t *t = in + ky * row + ch;
                for (int32_t kx = 0; kx < kw; ++kx, t += c) {
                    acc = en_max_s8x4(acc, en_read_s8x4(t));
                }
            }
            acc = en_min_s8x4(en_max_s8x4(acc, lo), hi);
            memcpy(out + ch, &acc, sizeof acc);
        }
        for (; ch < c; ++ch) {
            int32_t acc = -128;
            for (int32_t ky = 0; ky < kh; ++ky) {
                for (int32_t kx = 0; kx < kw; ++kx) {
                    const int32_t v = in[ky * row + kx * c + ch];
                    acc = v > acc ? v : acc;
                }
            }
            out[ch] = en_clamp_s8(acc, p->act_min, p->act_max);
        }
    });
}

/* The average of n values summing to s, rounded half away from zero with C's truncating
 * division (as pool.c and TFLite), clamped. */
static inline int8_t en_average(const en_avg_pool2d_s8_dsp_params *p, int32_t s, int32_t n)
{
    return en_clamp_s8(s > 0 ? (s + n / 2) / n : (s - n / 2) / n, p->act_min, p->act_max);
}

/* (s + sign(s) * half) / n, clamped to [lo, hi] only when `clamp` (an average of int8 values is
 * an int8 value, so without a fused activation there is nothing to clamp). */
static inline __attribute__((always_inline)) int8_t en_avg_lane(int32_t s, int32_t n, int32_t half, int32_t lo,
                                                                int32_t hi, const int clamp)
{
    const int32_t q = (s + ((s >> 31) | 1) * half) / n;
    return clamp ? en_clamp_s8(q, lo, hi) : (int8_t)q;
}

/* A time series' pool: one column (in_w == 1, k_w == 1, no padding, channels % 4 == 0), so the input is a run of rows of c bytes
 * and window k is the k_h rows from k * stride_h; every (batch, output row) is one such window,
 * its taps summed two rows at a time. `clamp` is a constant, so each caller gets its own loop. */
static inline __attribute__((always_inline)) void en_avg_column(const en_avg_pool2d_s8_dsp_params *p,
                                                                const int8_t *input, int8_t *output, const int clamp)
{
    const int32_t c = p->channels, n = p->k_h, half = n / 2, lo = p->act_min, hi = p->act_max;
    const int32_t step = p->stride_h * c, batch_gap = (p->in_h - p->out_h * p->stride_h) * c;
    const int32_t windows = p->out_h;
    const int8_t *in = input;
    for (int32_t b = 0; b < p->batches; ++b, in += batch_gap) {
        for (int32_t oy = 0; oy < windows; ++oy, in += step) {
            for (int32_t ch = 0; ch < c; ch += 4, output += 4) {
                uint32_t even = 0, odd = 0; /* halfword sums of channels (ch, ch + 2) and (ch + 1, ch + 3) */
                const int8_t *t = in + ch;
                int32_t k = n;
                for (; k >= 2; k -= 2, t += 2 * c) {
                    const uint32_t v0 = en_read_s8x4(t), v1 = en_read_s8x4(t + c);
                    even = en_sxtab16(en_sxtab16(even, v0), v1);
                    odd = en_sxtab16_ror8(en_sxtab16_ror8(odd, v0), v1);
                }
                if (k) {
                    const uint32_t v = en_read_s8x4(t);
                    even = en_sxtab16(even, v);
                    odd = en_sxtab16_ror8(odd, v);
                }
                output[0] = en_avg_lane((int16_t)(even & 0xFFFFu), n, half, lo, hi, clamp);
                output[1] = en_avg_lane((int16_t)(odd & 0xFFFFu), n, half, lo, hi, clamp);
                output[2] = en_avg_lane((int32_t)even >> 16, n, half, lo, hi, clamp);
                output[3] = en_avg_lane((int32_t)odd >> 16, n, half, lo, hi, clamp);
            }
        }
    }
}

/* The column entries (edgeneuro/ops/pool.py `column`): the compiler calls them for a time series'
 * pool, without (`_column`) or with (`_column_clamp`) a fused activation. */
void en_avg_pool2d_s8_dsp_column(const en_avg_pool2d_s8_dsp_params *p, const int8_t *input, int8_t *output)
{
    en_avg_column(p, input, output, 0);
}

void en_avg_pool2d_s8_dsp_column_clamp(const en_avg_pool2d_s8_dsp_params *p, const int8_t *input, int8_t *output)
{
    en_avg_column(p, input, output, 1);
}

void en_avg_pool2d_s8_dsp(const en_avg_pool2d_s8_dsp_params *p, const int8_t *input, int8_t *output)
{
    const int32_t c = p->channels, c4 = c & ~3, row = p->in_w * c;
    EN_POOL_EACH_WINDOW({
        const int32_t n = kh * kw;
        int32_t ch = 0;
        for (; ch < c4; ch += 4) {
            uint32_t even = 0, odd = 0; /* halfword sums of channels (ch, ch + 2) and (ch + 1, ch + 3) */
            for (int32_t ky = 0; ky < kh; ++ky) {
                const int8_t *t = in + ky * row + ch;
                for (int32_t kx = 0; kx < kw; ++kx, t += c) {
                    const uint32_t v = en_read_s8x4(t);
                    even = en_sxtab16(even, v);
                    odd = en_sxtab16_ror8(odd, v);
                }
            }
            out[ch] = en_average(p, (int16_t)(even & 0xFFFFu), n);
            out[ch + 1] = en_average(p, (int16_t)(odd & 0xFFFFu), n);
            out[ch + 2] = en_average(p, (int16_t)(even >> 16), n);
            out[ch + 3] = en_average(p, (int16_t)(odd >> 16), n);
        }
        for (; ch < c; ++ch) {
            int32_t s = 0;
            for (int32_t ky = 0; ky < kh; ++ky) {
                for (int32_t kx = 0; kx < kw; ++kx) {
                    s += in[ky * row + kx * c + ch];
                }
            }
            out[ch] = en_average(p, s, n);
        }
    });
}
