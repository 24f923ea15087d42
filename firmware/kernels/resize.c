/* RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR. Spec: edgeneuro/ops/resize.py. */
#include "resize.h"

#include <string.h>

void en_resize_nearest(const en_resize_nearest_params *p, const void *input, const int32_t *rows,
                       const int32_t *cols, void *output)
{
    const int32_t pixel = p->channels * p->elem_bytes;
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    for (int32_t b = 0; b < p->batches; ++b) {
        const uint8_t *image = in + b * p->in_h * p->in_w * pixel;
        for (int32_t y = 0; y < p->out_h; ++y) {
            const uint8_t *row = image + rows[y] * p->in_w * pixel;
            for (int32_t x = 0; x < p->out_w; ++x, out += pixel) {
                memcpy(out, row + cols[x] * pixel, (size_t)pixel);
            }
        }
    }
}

/* For each output pixel: the four input pixels at the row pair rows[2y..] and column pair
 * cols[2x..] (t00: lower row, lower column; t10: upper row, lower column; ...), with the weights
 * wy0, wy1, wx0, wx1; the body (the macro's last arguments) then writes the pixel's channels to out. */
#define EN_BILINEAR_EACH_PIXEL(T, W_T, ...)                                                        \
    for (int32_t b = 0; b < p->batches; ++b) {                                                      \
        const T *image = input + b * p->in_h * p->in_w * p->channels;                               \
        for (int32_t y = 0; y < p->out_h; ++y) {                                                    \
            const T *r0 = image + rows[2 * y] * p->in_w * p->channels;                              \
            const T *r1 = image + rows[2 * y + 1] * p->in_w * p->channels;                          \
            const W_T wy0 = row_w[2 * y], wy1 = row_w[2 * y + 1];                                   \
            for (int32_t x = 0; x < p->out_w; ++x, output += p->channels) {                         \
                const T *t00 = r0 + cols[2 * x] * p->channels, *t01 = r0 + cols[2 * x + 1] * p->channels; \
                const T *t10 = r1 + cols[2 * x] * p->channels, *t11 = r1 + cols[2 * x + 1] * p->channels; \
                const W_T wx0 = col_w[2 * x], wx1 = col_w[2 * x + 1];                               \
                for (int32_t c = 0; c < p->channels; ++c) {                                         \
                    __VA_ARGS__                                                                     \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
    }

void en_resize_bilinear_s8(const en_resize_bilinear_s8_params *p, const int8_t *input, const int32_t *rows,
                           const int32_t *cols, const int32_t *row_w, const int32_t *col_w, int8_t *output)
{
    EN_BILINEAR_EACH_PIXEL(int8_t, int64_t, {
        const int64_t s = t00[c] * wy0 * wx0 + t10[c] * wy1 * wx0 + t01[c] * wy0 * wx1 + t11[c] * wy1 * wx1;
        output[c] = (int8_t)((s + (s > 0 ? (INT64_C(1) << 19) : -(INT64_C(1) << 19))) / (INT64_C(1) << 20));
    })
}

void en_resize_bilinear_f32(const en_resize_bilinear_f32_params *p, const float *input, const int32_t *rows,
                            const int32_t *cols, const float *row_w, const float *col_w, float *output)
{
    EN_BILINEAR_EACH_PIXEL(float, float, {
        output[c] = t00[c] * wy0 * wx0 + t10[c] * wy1 * wx0 + t01[c] * wy0 * wx1 + t11[c] * wy1 * wx1 + 0.0f;
    })
}
