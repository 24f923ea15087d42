/* L2_POOL_2D float32 NHWC. Spec: edgeneuro/ops/l2_pool.py. */
#ifndef EN_L2_POOL_H
#define EN_L2_POOL_H

#include <stdint.h>

typedef struct {
    int32_t batches, in_h, in_w, channels, out_h, out_w, k_h, k_w, stride_h, stride_w, pad_h, pad_w;
    float act_min, act_max;
} en_l2_pool2d_f32_params;

void en_l2_pool2d_f32(const en_l2_pool2d_f32_params *p, const float *input, float *output);

#endif
