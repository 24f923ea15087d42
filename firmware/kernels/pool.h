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
