/* edgeneuro int8 kernels: portable C99, TFLite (TFLM reference) arithmetic, bit-exact with the
 * numpy references in edgeneuro/ops/. Each kernel takes a parameter struct fixed at compile time,
 * then its activation inputs, its constant arrays and its outputs. No heap, no globals. */
#ifndef EN_KERNELS_H
#define EN_KERNELS_H

#include <stdint.h>

typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, filter_c;
    int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t in_zp, out_zp, act_min, act_max;
} en_conv2d_s8_params;

typedef struct {
    int32_t batches, depth, units, in_zp, out_zp, act_min, act_max;
} en_fully_connected_s8_params;

typedef struct {
    int32_t batches, in_h, in_w, channels, out_h, out_w, k_h, k_w, stride_h, stride_w, pad_h, pad_w;
    int32_t act_min, act_max;
} en_pool2d_s8_params;
typedef en_pool2d_s8_params en_max_pool2d_s8_params;
typedef en_pool2d_s8_params en_avg_pool2d_s8_params;

typedef struct {
    int32_t d0, d1, d2, d3, r0, r1, r2, r3, count, mult, shift, in_zp, out_zp;
} en_mean_s8_params;

typedef struct {
    int32_t rows, depth, mult, left_shift, diff_min;
} en_softmax_s8_params;

void en_conv2d_s8(const en_conv2d_s8_params *p, const int8_t *input, const int8_t *weights,
                  const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output);
void en_fully_connected_s8(const en_fully_connected_s8_params *p, const int8_t *input, const int8_t *weights,
                           const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output);
void en_max_pool2d_s8(const en_pool2d_s8_params *p, const int8_t *input, int8_t *output);
void en_avg_pool2d_s8(const en_pool2d_s8_params *p, const int8_t *input, int8_t *output);
void en_mean_s8(const en_mean_s8_params *p, const int8_t *input, int8_t *output);
void en_softmax_s8(const en_softmax_s8_params *p, const int8_t *input, int8_t *output);

#endif
