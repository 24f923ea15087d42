/* MAX_POOL_2D and AVERAGE_POOL_2D int8 with SIMD32: one word holds four channels of a tap. The
 * maximum takes SSUB8 + SEL per word (en_max_s8x4), the average sums bytes into halfwords with
 * SXTAB16; the windows are clipped to the input exactly as in pool.c. Spec: edgeneuro/ops/pool.py. */
#include "pool_dsp.h"

#include <string.h>

#include "en_fixedpoint.h"
#include "en_simd.h"

/* For each output pixel: `in` at the window's top-left corner inside the input, its clipped
 * rows kh and columns kw; the body (the macro's arguments) then runs with them. */
#define EN_POOL_WINDOWS(...)                                                                    \
    for (int32_t b = 0; b < p->batches; ++b) {                                                  \
        for (int32_t oy = 0; oy < p->out_h; ++oy) {                                             \
            const int32_t y0 = oy * p->stride_h - p->pad_h;                                     \
            const int32_t ky0 = y0 < 0 ? -y0 : 0;                                               \
            const int32_t ky1 = p->in_h - y0 < p->k_h ? p->in_h - y0 : p->k_h;                  \
            for (int32_t ox = 0; ox < p->out_w; ++ox) {                                         \
                const int32_t x0 = ox * p->stride_w - p->pad_w;                                 \
                const int32_t kx0 = x0 < 0 ? -x0 : 0;                                           \
                const int32_t kx1 = p->in_w - x0 < p->k_w ? p->in_w - x0 : p->k_w;              \
                const int32_t kh = ky1 - ky0, kw = kx1 - kx0;                                   \
                const int8_t *in = input + ((b * p->in_h + y0 + ky0) * p->in_w + x0 + kx0) * c; \
                __VA_ARGS__                                                                     \
            }                                                                                   \
        }                                                                                       \
    }

void en_max_pool2d_s8_dsp(const en_max_pool2d_s8_dsp_params *p, const int8_t *input, int8_t *output)
{
    const int32_t c = p->channels, c4 = c & ~3, row = p->in_w * c;
    const uint32_t lo = 0x01010101u * (uint8_t)(int8_t)p->act_min;
    const uint32_t hi = 0x01010101u * (uint8_t)(int8_t)p->act_max;
    EN_POOL_WINDOWS({
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
            memcpy(output, &acc, sizeof acc);
            output += 4;
        }
        for (; ch < c; ++ch) {
            int32_t acc = -128;
            for (int32_t ky = 0; ky < kh; ++ky) {
                for (int32_t kx = 0; kx < kw; ++kx) {
                    const int32_t v = in[ky * row + kx * c + ch];
                    acc = v > acc ? v : acc;
                }
            }
            *output++ = en_clamp_s8(acc, p->act_min, p->act_max);
        }
    })
}

/* The average of n values summing to s, rounded half away from zero with C's truncating
 * division (as pool.c and TFLite), clamped. */
static inline int8_t en_average(const en_avg_pool2d_s8_dsp_params *p, int32_t s, int32_t n)
{
    return en_clamp_s8(s > 0 ? (s + n / 2) / n : (s - n / 2) / n, p->act_min, p->act_max);
}

void en_avg_pool2d_s8_dsp(const en_avg_pool2d_s8_dsp_params *p, const int8_t *input, int8_t *output)
{
    const int32_t c = p->channels, c4 = c & ~3, row = p->in_w * c;
    EN_POOL_WINDOWS({
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
            output[0] = en_average(p, (int16_t)(even & 0xFFFFu), n);
            output[1] = en_average(p, (int16_t)(odd & 0xFFFFu), n);
            output[2] = en_average(p, (int16_t)(even >> 16), n);
            output[3] = en_average(p, (int16_t)(odd >> 16), n);
            output += 4;
        }
        for (; ch < c; ++ch) {
            int32_t s = 0;
            for (int32_t ky = 0; ky < kh; ++ky) {
                for (int32_t kx = 0; kx < kw; ++kx) {
                    s += in[ky * row + kx * c + ch];
                }
            }
            *output++ = en_average(p, s, n);
        }
    })
}
