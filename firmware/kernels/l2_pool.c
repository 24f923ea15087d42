/* L2_POOL_2D. Spec: edgeneuro/ops/l2_pool.py. */
#include "l2_pool.h"

#include <math.h>

void en_l2_pool2d_f32(const en_l2_pool2d_f32_params *p, const float *input, float *output)
{
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *img = input + (int64_t)b * p->in_h * p->in_w * p->channels;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            const int32_t fy0 = y0 < 0 ? -y0 : 0;
            const int32_t fy1 = p->k_h < p->in_h - y0 ? p->k_h : p->in_h - y0;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                const int32_t fx0 = x0 < 0 ? -x0 : 0;
                const int32_t fx1 = p->k_w < p->in_w - x0 ? p->k_w : p->in_w - x0;
                for (int32_t c = 0; c < p->channels; ++c) {
                    float s = 0.0f;
                    int32_t count = 0;
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            const float v = img[((y0 + fy) * p->in_w + x0 + fx) * p->channels + c];
                            s += v * v;
                            ++count;
                        }
                    }
                    float r = sqrtf(s / (float)count);
                    r = r < p->act_min ? p->act_min : r;
                    *output++ = r > p->act_max ? p->act_max : r;
                }
            }
        }
    }
}
