/* DEPTHWISE_CONV_2D, NHWC input, [1][KH][KW][C*M] weights: int8 with per-channel requantization,
 * and float32. Spec: edgeneuro/ops/depthwise_conv2d.py. */
#include "depthwise_conv2d.h"

#include "en_fixedpoint.h"

/* The loop nest of both variants: output channel oc reads input channel oc / depth_mult; acc sums
 * TERM(in, w) over the taps inside the image (rows, then columns), then FINISH(acc, oc). */
#define EN_DEPTHWISE_LOOPS(IN_T, W_T, ACC_T, TERM, FINISH)                                    \
    const int32_t out_c = p->in_c * p->depth_mult;                                           \
    for (int32_t b = 0; b < p->batches; ++b) {                                               \
        for (int32_t oy = 0; oy < p->out_h; ++oy) {                                          \
            const int32_t y0 = oy * p->stride_h - p->pad_h;                                  \
            for (int32_t ox = 0; ox < p->out_w; ++ox) {                                      \
                const int32_t x0 = ox * p->stride_w - p->pad_w;                              \
                for (int32_t oc = 0; oc < out_c; ++oc) {                                     \
                    const int32_t ic = oc / p->depth_mult;                                   \
                    ACC_T acc = 0;                                                           \
                    for (int32_t ky = 0; ky < p->k_h; ++ky) {                                \
                        const int32_t iy = y0 + ky * p->dil_h;                               \
                        if (iy < 0 || iy >= p->in_h) {                                       \
                            continue;                                                        \
                        }                                                                    \
                        for (int32_t kx = 0; kx < p->k_w; ++kx) {                            \
                            const int32_t ix = x0 + kx * p->dil_w;                           \
                            if (ix < 0 || ix >= p->in_w) {                                   \
                                continue;                                                    \
                            }                                                                \
                            const IN_T v = input[((b * p->in_h + iy) * p->in_w + ix) * p->in_c + ic]; \
                            const W_T w = weights[(ky * p->k_w + kx) * out_c + oc];          \
                            acc += TERM(v, w);                                               \
                        }                                                                    \
                    }                                                                        \
                    *output++ = FINISH(acc, oc);                                             \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    }

void en_depthwise_conv2d_s8(const en_depthwise_conv2d_s8_params *p, const int8_t *input, const int8_t *weights,
                            const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output)
{
    EN_DEPTHWISE_LOOPS(int8_t, int8_t, int32_t, EN_TERM_S8, EN_FINISH_S8)
}

void en_depthwise_conv2d_f32(const en_depthwise_conv2d_f32_params *p, const float *input, const float *weights,
                             const float *bias, float *output)
{
    EN_DEPTHWISE_LOOPS(float, float, float, EN_TERM_F32, EN_FINISH_F32)
}
