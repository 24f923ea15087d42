/* FULLY_CONNECTED int8 kernel: parameters fixed at compile time, then activations, constants, outputs.
 * Spec: the numpy reference in edgeneuro/ops/. */
#ifndef EN_FULLY_CONNECTED_H
#define EN_FULLY_CONNECTED_H

#include <stdint.h>

typedef struct {
    int32_t batches, depth, units, in_zp, out_zp, act_min, act_max;
} en_fully_connected_s8_params;

void en_fully_connected_s8(const en_fully_connected_s8_params *p, const int8_t *input, const int8_t *weights,
                           const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output);

/* 16x8: int16 activations (zero point 0), int8 weights, int64 bias and accumulator. */
typedef en_fully_connected_s8_params en_fully_connected_s16_params;

void en_fully_connected_s16(const en_fully_connected_s16_params *p, const int16_t *input, const int8_t *weights,
                            const int64_t *bias, const int32_t *mult, const int32_t *shift, int16_t *output);

typedef struct {
    int32_t batches, depth, units;
    float act_min, act_max;
} en_fully_connected_f32_params;

void en_fully_connected_f32(const en_fully_connected_f32_params *p, const float *input, const float *weights,
                            const float *bias, float *output);

#endif
