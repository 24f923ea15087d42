/* DEPTHWISE_CONV_2D int8 kernel. Spec: edgeneuro/ops/depthwise_conv2d.py. */
#ifndef EN_DEPTHWISE_CONV2D_H
#define EN_DEPTHWISE_CONV2D_H

#include <stdint.h>

typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, depth_mult, k_h, k_w;
    int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t in_zp, out_zp, act_min, act_max;
} en_depthwise_conv2d_s8_params;

void en_depthwise_conv2d_s8(const en_depthwise_conv2d_s8_params *p, const int8_t *input, const int8_t *weights,
                            const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output);

typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, depth_mult, k_h, k_w;
    int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    float act_min, act_max;
} en_depthwise_conv2d_f32_params;

void en_depthwise_conv2d_f32(const en_depthwise_conv2d_f32_params *p, const float *input, const float *weights,
                             const float *bias, float *output);

#endif
