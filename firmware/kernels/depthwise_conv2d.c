/* DEPTHWISE_CONV_2D int8, NHWC input, [1][KH][KW][C*M] weights, per-channel requantization.
 * Spec: edgeneuro/ops/depthwise_conv2d.py. */
#include "depthwise_conv2d.h"

#include "en_fixedpoint.h"

void en_depthwise_conv2d_s8(const en_depthwise_conv2d_s8_params *p, const int8_t *input, const int8_t *weights,
                            const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output)
{
    const int32_t out_c = p->in_c * p->depth_mult;
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                for (int32_t ic = 0; ic < p->in_c; ++ic) {
                    for (int32_t m = 0; m < p->depth_mult; ++m) {
                        const int32_t oc = ic * p->depth_mult + m;
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
                                const int32_t v = input[((b * p->in_h + iy) * p->in_w + ix) * p->in_c + ic];
                                acc += (v - p->in_zp) * (int32_t)weights[(ky * p->k_w + kx) * out_c + oc];
                            }
                        }
                        acc = en_requant(acc + bias[oc], mult[oc], shift[oc]) + p->out_zp;
                        output[((b * p->out_h + oy) * p->out_w + ox) * out_c + oc] = en_clamp_s8(acc, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
}

void en_depthwise_conv2d_f32(const en_depthwise_conv2d_f32_params *p, const float *input, const float *weights,
                             const float *bias, float *output)
{
    const int32_t out_c = p->in_c * p->depth_mult;
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                for (int32_t oc = 0; oc < out_c; ++oc) {
                    const int32_t ic = oc / p->depth_mult;
                    float acc = 0.0f;
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
                            acc += input[((b * p->in_h + iy) * p->in_w + ix) * p->in_c + ic] *
                                   weights[(ky * p->k_w + kx) * out_c + oc];
                        }
                    }
                    acc += bias[oc];
                    *output++ = acc < p->act_min ? p->act_min : (acc > p->act_max ? p->act_max : acc);
                }
            }
        }
    }
}
