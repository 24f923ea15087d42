/* MAX_POOL_2D and AVERAGE_POOL_2D int8 kernel: parameters fixed at compile time, then activations, constants, outputs.
 * Spec: the numpy reference in edgeneuro/ops/. */
#ifndef EN_POOL_H
#define EN_POOL_H

#include <stdint.h>

typedef struct {
    int32_t batches, in_h, in_w, channels, out_h, out_w, k_h, k_w, stride_h, stride_w, pad_h, pad_w;
    int32_t act_min, act_max;
} en_pool2d_s8_params;
typedef en_pool2d_s8_params en_max_pool2d_s8_params;
typedef en_pool2d_s8_params en_avg_pool2d_s8_params;

void en_max_pool2d_s8(const en_pool2d_s8_params *p, const int8_t *input, int8_t *output);

/* The window walk of the SIMD variants (pool_dsp.c, pool_mve.c), clipped to the input as pool.c's:
 * inside a kernel with `p`, `input`, `output` and `c` (the channels). */
/* For each output pixel: `in` at the window's top-left corner inside the input, its clipped
 * rows kh and columns kw, and `out` at the pixel's output; the body (the macro's arguments) then
 * runs with them. */
#define EN_POOL_EACH_WINDOW(...)                                                                \
    do {                                                                                        \
        int8_t *out = output;                                                                   \
        for (int32_t b = 0; b < p->batches; ++b) {                                              \
            for (int32_t oy = 0; oy < p->out_h; ++oy) {                                         \
                const int32_t y0 = oy * p->stride_h - p->pad_h;                                 \
                const int32_t ky0 = y0 < 0 ? -y0 : 0;                                           \
                const int32_t ky1 = p->in_h - y0 < p->k_h ? p->in_h - y0 : p->k_h;              \
                for (int32_t ox = 0; ox < p->out_w; ++ox, out += c) {                           \
                    const int32_t x0 = ox * p->stride_w - p->pad_w;                             \
                    const int32_t kx0 = x0 < 0 ? -x0 : 0;                                       \
                    const int32_t kx1 = p->in_w - x0 < p->k_w ? p->in_w - x0 : p->k_w;          \
                    const int32_t kh = ky1 - ky0, kw = kx1 - kx0;                               \
                    const int8_t *in = input + ((b * p->in_h + y0 + ky0) * p->in_w + x0 + kx0) * c; \
                    __VA_ARGS__                                                                 \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    } while (0)

void en_avg_pool2d_s8(const en_pool2d_s8_params *p, const int8_t *input, int8_t *output);

typedef struct {
    int32_t batches, in_h, in_w, channels, out_h, out_w, k_h, k_w, stride_h, stride_w, pad_h, pad_w;
    float act_min, act_max;
} en_pool2d_f32_params;
typedef en_pool2d_f32_params en_max_pool2d_f32_params;
typedef en_pool2d_f32_params en_avg_pool2d_f32_params;

void en_max_pool2d_f32(const en_pool2d_f32_params *p, const float *input, float *output);
void en_avg_pool2d_f32(const en_pool2d_f32_params *p, const float *input, float *output);

#endif
