/* The pools of a spiking network (NIR SumPool2d and AvgPool2d) over [c][h][w]: the exact sum of each
 * window (zero padding). AvgPool2d's division by k_h * k_w is in the output's scale (int8 input) or
 * in the multiplier (int32 input). Spec: edgeneuro/ops/snn_pool.py. */
#ifndef EN_SNN_POOL_H
#define EN_SNN_POOL_H

#include <stdint.h>

typedef struct {
    int32_t c, h_in, w_in, h_out, w_out, k_h, k_w, stride_h, stride_w, pad_h, pad_w;
} en_snn_pool2d_s8_params;
typedef en_snn_pool2d_s8_params en_snn_pool2d_s8_s32_params;

typedef struct {
    int32_t c, h_in, w_in, h_out, w_out, k_h, k_w, stride_h, stride_w, pad_h, pad_w, mult, shift;
} en_snn_pool2d_s32_params;

/* int8 in, the sum as int8 (saturated; the compiler picks this one where the sum fits). */
void en_snn_pool2d_s8(const en_snn_pool2d_s8_params *p, const int8_t *input, int8_t *output);
/* int8 in, the sum as int32. */
void en_snn_pool2d_s8_s32(const en_snn_pool2d_s8_s32_params *p, const int8_t *input, int32_t *output);
/* int32 in, the int64 sum times mult * 2^-shift, rounded half up, saturated to int32. */
void en_snn_pool2d_s32(const en_snn_pool2d_s32_params *p, const int32_t *input, int32_t *output);

#endif
