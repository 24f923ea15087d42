/* MAX_POOL_2D and AVERAGE_POOL_2D, NHWC, windows clipped to the input: int8 and float32.
 * Spec: edgeneuro/ops/pool.py. */
#include "pool.h"

#include <float.h>

#include "en_fixedpoint.h"

/* The loop nest of all four kernels: for each output element, acc starts at INIT and takes
 * STEP(acc, v) for every input value v of the window (rows, then columns), then FINISH(acc,
 * count) is stored, count being the number of values in the clipped window. */
#define EN_POOL_LOOPS(T, ACC_T, INIT, STEP, FINISH)                                                \
    for (int32_t b = 0; b < p->batches; ++b) {                                                    \
        for (int32_t oy = 0; oy < p->out_h; ++oy) {                                               \
            const int32_t y0 = oy * p->stride_h - p->pad_h;                                       \
            const int32_t ky0 = y0 < 0 ? -y0 : 0;                                                 \
            const int32_t ky1 = p->in_h - y0 < p->k_h ? p->in_h - y0 : p->k_h;                    \
            for (int32_t ox = 0; ox < p->out_w; ++ox) {                                           \
                const int32_t x0 = ox * p->stride_w - p->pad_w;                                   \
                const int32_t kx0 = x0 < 0 ? -x0 : 0;                                             \
                const int32_t kx1 = p->in_w - x0 < p->k_w ? p->in_w - x0 : p->k_w;                \
                for (int32_t c = 0; c < p->channels; ++c) {                                       \
                    ACC_T acc = INIT;                                                             \
                    for (int32_t ky = ky0; ky < ky1; ++ky) {                                      \
                        for (int32_t kx = kx0; kx < kx1; ++kx) {                                  \
                            const T v = input[((b * p->in_h + y0 + ky) * p->in_w + x0 + kx) * p->channels + c]; \
                            acc = STEP(acc, v);                                                   \
                        }                                                                         \
                    }                                                                             \
                    const int32_t count = (ky1 - ky0) * (kx1 - kx0);                              \
                    *output++ = FINISH(acc, count);                                               \
                }                                                                                 \
            }                                                                                     \
        }                                                                                         \
    }

#define MAX_STEP(acc, v) ((v) > (acc) ? (v) : (acc))
#define SUM_STEP(acc, v) ((acc) + (v))

void en_max_pool2d_s8(const en_pool2d_s8_params *p, const int8_t *input, int8_t *output)
{
#define FINISH(acc, count) ((void)(count), en_clamp_s8(acc, p->act_min, p->act_max))
    EN_POOL_LOOPS(int8_t, int32_t, -128, MAX_STEP, FINISH)
#undef FINISH
}

void en_avg_pool2d_s8(const en_pool2d_s8_params *p, const int8_t *input, int8_t *output)
{
    /* The average rounds half away from zero with C's truncating division, as TFLite does. */
#define FINISH(acc, n) en_clamp_s8((acc) > 0 ? ((acc) + (n) / 2) / (n) : ((acc) - (n) / 2) / (n), p->act_min, p->act_max)
    EN_POOL_LOOPS(int8_t, int32_t, 0, SUM_STEP, FINISH)
#undef FINISH
}

void en_max_pool2d_f32(const en_pool2d_f32_params *p, const float *input, float *output)
{
#define FINISH(acc, count) ((void)(count), en_clampf(acc, p->act_min, p->act_max))
    EN_POOL_LOOPS(float, float, -FLT_MAX, MAX_STEP, FINISH)
#undef FINISH
}

void en_avg_pool2d_f32(const en_pool2d_f32_params *p, const float *input, float *output)
{
#define FINISH(acc, n) en_clampf((acc) / (float)(n), p->act_min, p->act_max)
    EN_POOL_LOOPS(float, float, 0.0f, SUM_STEP, FINISH)
#undef FINISH
}
