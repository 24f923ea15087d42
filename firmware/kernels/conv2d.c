/* CONV_2D, NHWC input, OHWI weights, grouped when in_c > filter_c: int8 with per-channel
 * requantization, 16x8, and float32. Spec: edgeneuro/ops/conv2d.py. */
#include "conv2d.h"

#include "en_fixedpoint.h"

/* The loop nest of all three variants: for each output element, acc sums TERM(in, w) over the
 * filter taps that fall inside the image (rows, then columns, then input channels, the order
 * TFLite sums in), then FINISH(acc, oc) is stored. */
#define EN_CONV2D_LOOPS(IN_T, W_T, ACC_T, TERM, FINISH)                                              \
    const int32_t per_group = p->out_c / (p->in_c / p->filter_c);                                   \
    for (int32_t b = 0; b < p->batches; ++b) {                                                      \
        for (int32_t oy = 0; oy < p->out_h; ++oy) {                                                 \
            const int32_t y0 = oy * p->stride_h - p->pad_h;                                         \
            for (int32_t ox = 0; ox < p->out_w; ++ox) {                                             \
                const int32_t x0 = ox * p->stride_w - p->pad_w;                                     \
                for (int32_t oc = 0; oc < p->out_c; ++oc) {                                         \
                    const int32_t c0 = (oc / per_group) * p->filter_c;                              \
                    ACC_T acc = 0;                                                                  \
                    for (int32_t ky = 0; ky < p->k_h; ++ky) {                                       \
                        const int32_t iy = y0 + ky * p->dil_h;                                      \
                        if (iy < 0 || iy >= p->in_h) {                                              \
                            continue;                                                               \
                        }                                                                           \
                        for (int32_t kx = 0; kx < p->k_w; ++kx) {                                   \
                            const int32_t ix = x0 + kx * p->dil_w;                                  \
                            if (ix < 0 || ix >= p->in_w) {                                          \
                                continue;                                                           \
                            }                                                                       \
                            const IN_T *in = input + ((b * p->in_h + iy) * p->in_w + ix) * p->in_c + c0; \
                            const W_T *w = weights + ((oc * p->k_h + ky) * p->k_w + kx) * p->filter_c;   \
                            for (int32_t ic = 0; ic < p->filter_c; ++ic) {                          \
                                acc += TERM(in[ic], w[ic]);                                         \
                            }                                                                       \
                        }                                                                           \
                    }                                                                               \
                    *output++ = FINISH(acc, oc);                                                    \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
    }

void en_conv2d_s8(const en_conv2d_s8_params *p, const int8_t *input, const int8_t *weights,
                  const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output)
{
    EN_CONV2D_LOOPS(int8_t, int8_t, int32_t, EN_TERM_S8, EN_FINISH_S8)
}

void en_conv2d_s16(const en_conv2d_s16_params *p, const int16_t *input, const int8_t *weights,
                   const int64_t *bias, const int32_t *mult, const int32_t *shift, int16_t *output)
{
    EN_CONV2D_LOOPS(int16_t, int8_t, int64_t, EN_TERM_S16, EN_FINISH_S16)
}

void en_conv2d_f32(const en_conv2d_f32_params *p, const float *input, const float *weights, const float *bias,
                   float *output)
{
    EN_CONV2D_LOOPS(float, float, float, EN_TERM_F32, EN_FINISH_F32)
}
