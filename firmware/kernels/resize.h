/* RESIZE_NEAREST_NEIGHBOR (any element size) and RESIZE_BILINEAR (int8, float32), NHWC: each
 * output row and column reads the input rows and columns (and, bilinear, the weights) fixed at
 * compile time. Spec: the numpy reference in edgeneuro/ops/resize.py. */
#ifndef EN_RESIZE_H
#define EN_RESIZE_H

#include <stdint.h>

typedef struct {
    int32_t batches, in_h, in_w, out_h, out_w, channels, elem_bytes;
} en_resize_nearest_params;

/* rows[out_h], cols[out_w]: the input row and column each output row and column copies. */
void en_resize_nearest(const en_resize_nearest_params *p, const void *input, const int32_t *rows,
                       const int32_t *cols, void *output);

typedef struct {
    int32_t batches, in_h, in_w, out_h, out_w, channels;
} en_resize_bilinear_s8_params;
typedef en_resize_bilinear_s8_params en_resize_bilinear_f32_params;

/* rows[out_h][2], cols[out_w][2]: the lower and upper input row (column); row_w, col_w: their
 * weights, 10 fractional bits (int8) or float32. */
void en_resize_bilinear_s8(const en_resize_bilinear_s8_params *p, const int8_t *input, const int32_t *rows,
                           const int32_t *cols, const int32_t *row_w, const int32_t *col_w, int8_t *output);
void en_resize_bilinear_f32(const en_resize_bilinear_f32_params *p, const float *input, const int32_t *rows,
                            const int32_t *cols, const float *row_w, const float *col_w, float *output);

#endif
