/* CONV_2D kernels, int8 and float32: parameters fixed at compile time, then activations, constants, outputs.
 * Spec: the numpy reference in edgeneuro/ops/. */
#ifndef EN_CONV2D_H
#define EN_CONV2D_H

#include <stdint.h>

typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, filter_c;
    int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t in_zp, out_zp, act_min, act_max;
} en_conv2d_s8_params;

void en_conv2d_s8(const en_conv2d_s8_params *p, const int8_t *input, const int8_t *weights,
                  const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output);

/* 16x8: int16 activations (zero point 0), int8 weights, int64 bias and accumulator. */
typedef en_conv2d_s8_params en_conv2d_s16_params;

void en_conv2d_s16(const en_conv2d_s16_params *p, const int16_t *input, const int8_t *weights,
                   const int64_t *bias, const int32_t *mult, const int32_t *shift, int16_t *output);

typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, filter_c;
    int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    float act_min, act_max;
} en_conv2d_f32_params;

void en_conv2d_f32(const en_conv2d_f32_params *p, const float *input, const float *weights, const float *bias,
                   float *output);

#endif
