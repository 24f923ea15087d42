/* MAX_POOL_2D and AVERAGE_POOL_2D int8, NHWC; windows clipped to the input.
 * Spec: edgeneuro/ops/pool.py. */
#include <float.h>

#include "en_fixedpoint.h"
#include "pool.h"

static void pool(const en_pool2d_s8_params *p, const int8_t *input, int8_t *output, int is_max)
{
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            const int32_t ky0 = y0 < 0 ? -y0 : 0;
            const int32_t ky1 = p->in_h - y0 < p->k_h ? p->in_h - y0 : p->k_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                const int32_t kx0 = x0 < 0 ? -x0 : 0;
                const int32_t kx1 = p->in_w - x0 < p->k_w ? p->in_w - x0 : p->k_w;
                for (int32_t c = 0; c < p->channels; ++c) {
                    int32_t acc = is_max ? -128 : 0;
                    int32_t count = 0;
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        for (int32_t kx = kx0; kx < kx1; ++kx) {
                            const int32_t v = input[((b * p->in_h + y0 + ky) * p->in_w + x0 + kx) * p->channels + c];
                            if (is_max) {
                                acc = v > acc ? v : acc;
                            } else {
                                acc += v;
                            }
                            ++count;
                        }
                    }
                    if (!is_max) {
                        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    }
                    *output++ = en_clamp_s8(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}

void en_max_pool2d_s8(const en_pool2d_s8_params *p, const int8_t *input, int8_t *output)
{
    pool(p, input, output, 1);
}

void en_avg_pool2d_s8(const en_pool2d_s8_params *p, const int8_t *input, int8_t *output)
{
    pool(p, input, output, 0);
}

static void pool_f32(const en_pool2d_f32_params *p, const float *input, float *output, int is_max)
{
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            const int32_t ky0 = y0 < 0 ? -y0 : 0;
            const int32_t ky1 = p->in_h - y0 < p->k_h ? p->in_h - y0 : p->k_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                const int32_t kx0 = x0 < 0 ? -x0 : 0;
                const int32_t kx1 = p->in_w - x0 < p->k_w ? p->in_w - x0 : p->k_w;
                for (int32_t c = 0; c < p->channels; ++c) {
                    float acc = is_max ? -FLT_MAX : 0.0f;
                    float count = 0.0f;
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        for (int32_t kx = kx0; kx < kx1; ++kx) {
                            const float v = input[((b * p->in_h + y0 + ky) * p->in_w + x0 + kx) * p->channels + c];
                            if (is_max) {
                                acc = v > acc ? v : acc;
                            } else {
                                acc += v;
                            }
                            count += 1.0f;
                        }
                    }
                    if (!is_max) {
                        acc = acc / count;
                    }
                    *output++ = acc < p->act_min ? p->act_min : (acc > p->act_max ? p->act_max : acc);
                }
            }
        }
    }
}

void en_max_pool2d_f32(const en_pool2d_f32_params *p, const float *input, float *output)
{
    pool_f32(p, input, output, 1);
}

void en_avg_pool2d_f32(const en_pool2d_f32_params *p, const float *input, float *output)
{
    pool_f32(p, input, output, 0);
}
