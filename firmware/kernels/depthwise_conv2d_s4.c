/* DEPTHWISE_CONV_2D, NHWC input, [1][KH][KW][C*M] int4 weights, int8 activations.
 * Spec: edgeneuro/ops/depthwise_conv2d.py. */
#include "depthwise_conv2d_s4.h"

#include "en_fixedpoint.h"
#include "en_int4.h"

void en_depthwise_conv2d_s4(const en_depthwise_conv2d_s4_params *p, const int8_t *input, const uint8_t *weights,
                            const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output)
{
    const int32_t out_c = p->in_c * p->depth_mult;
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                for (int32_t oc = 0; oc < out_c; ++oc) {
                    const int32_t ic = oc / p->depth_mult;
                    int32_t acc = 0;
                    for (int32_t ky = 0; ky < p->k_h; ++ky) {
                        const int32_t iy = y0 + ky * p->dil_h;
                        if (iy < 0 || iy >= p->in_h) {
                            continue;
                        }
                        for (int32_t kx = 0; kx < p->k_w; ++kx) {
                            const int32_t ix = x0 + kx * p->dil_w;
                            if (ix < 0 || ix >= p->in_w) {
                                continue;
                            }
                            const int8_t v = input[((b * p->in_h + iy) * p->in_w + ix) * p->in_c + ic];
                            acc += EN_TERM_S8(v, en_s4_at(weights, (ky * p->k_w + kx) * out_c + oc));
                        }
                    }
                    *output++ = EN_FINISH_S8(acc, oc);
                }
            }
        }
    }
}
