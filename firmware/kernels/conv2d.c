/* CONV_2D, NHWC input, OHWI weights, grouped when in_c > filter_c: int8 with per-channel
 * requantization, and float32.
 * Spec: edgeneuro/ops/conv2d.py. */
#include "en_fixedpoint.h"
#include "conv2d.h"

void en_conv2d_s8(const en_conv2d_s8_params *p, const int8_t *input, const int8_t *weights,
                  const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output)
{
    const int32_t per_group = p->out_c / (p->in_c / p->filter_c);
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    const int32_t c0 = (oc / per_group) * p->filter_c;
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
                            const int8_t *in = input + ((b * p->in_h + iy) * p->in_w + ix) * p->in_c + c0;
                            const int8_t *w = weights + ((oc * p->k_h + ky) * p->k_w + kx) * p->filter_c;
                            for (int32_t ic = 0; ic < p->filter_c; ++ic) {
                                acc += ((int32_t)in[ic] - p->in_zp) * (int32_t)w[ic];
                            }
                        }
                    }
                    acc = en_requant(acc + bias[oc], mult[oc], shift[oc]) + p->out_zp;
                    *output++ = en_clamp_s8(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

void en_conv2d_f32(const en_conv2d_f32_params *p, const float *input, const float *weights, const float *bias,
                   float *output)
{
    const int32_t per_group = p->out_c / (p->in_c / p->filter_c);
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    const int32_t c0 = (oc / per_group) * p->filter_c;
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
                            const float *in = input + ((b * p->in_h + iy) * p->in_w + ix) * p->in_c + c0;
                            const float *w = weights + ((oc * p->k_h + ky) * p->k_w + kx) * p->filter_c;
                            for (int32_t ic = 0; ic < p->filter_c; ++ic) {
                                acc += in[ic] * w[ic];
                            }
                        }
                    }
                    *output++ = clampf(acc + bias[oc], p->act_min, p->act_max);
                }
            }
        }
    }
}

void en_conv2d_s16(const en_conv2d_s16_params *p, const int16_t *input, const int8_t *weights,
                   const int64_t *bias, const int32_t *mult, const int32_t *shift, int16_t *output)
{
    const int32_t per_group = p->out_c / (p->in_c / p->filter_c);
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    const int32_t c0 = (oc / per_group) * p->filter_c;
                    int64_t acc = 0;
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
                            const int16_t *in = input + ((b * p->in_h + iy) * p->in_w + ix) * p->in_c + c0;
                            const int8_t *w = weights + ((oc * p->k_h + ky) * p->k_w + kx) * p->filter_c;
                            for (int32_t ic = 0; ic < p->filter_c; ++ic) {
                                acc += (int32_t)in[ic] * (int32_t)w[ic];
                            }
                        }
                    }
                    *output++ = en_clamp_s16(en_requant64(acc + bias[oc], mult[oc], shift[oc]), p->act_min, p->act_max);
                }
            }
        }
    }
}
