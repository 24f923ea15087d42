/* TRANSPOSE_CONV kernels, NHWC input, OHWI weights: int8 with per-channel requantization, 16x8,
 * and float32. Spec: the numpy reference in edgeneuro/ops/transpose_conv.py. */
#ifndef EN_TRANSPOSE_CONV_H
#define EN_TRANSPOSE_CONV_H

#include <stdint.h>

typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w;
    int32_t stride_h, stride_w, pad_h, pad_w;
    int32_t in_zp, out_zp, act_min, act_max;
} en_transpose_conv_s8_params;

void en_transpose_conv_s8(const en_transpose_conv_s8_params *p, const int8_t *input, const int8_t *weights,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output);

/* 16x8: int16 activations (zero point 0), int8 weights, int64 bias and accumulator. */
typedef en_transpose_conv_s8_params en_transpose_conv_s16_params;

void en_transpose_conv_s16(const en_transpose_conv_s16_params *p, const int16_t *input, const int8_t *weights,
                           const int64_t *bias, const int32_t *mult, const int32_t *shift, int16_t *output);

typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w;
    int32_t stride_h, stride_w, pad_h, pad_w;
    float act_min, act_max;
} en_transpose_conv_f32_params;

void en_transpose_conv_f32(const en_transpose_conv_f32_params *p, const float *input, const float *weights,
                           const float *bias, float *output);

#endif
