/* SVDF kernels: int8 with an int8 or int16 state and time weights, and float32; every inference from
 * the reset state. Spec: the numpy reference in edgeneuro/ops/svdf.py. */
#ifndef EN_SVDF_H
#define EN_SVDF_H

#include <stdint.h>

typedef struct {
    int32_t batches, depth, filters, memory, rank, units;
    int32_t in_zp, state_zp, out_zp, reset, state_min, state_max, mult1, shift1, mult2, shift2;
} en_svdf_s8_params;
typedef en_svdf_s8_params en_svdf_s16_params;

void en_svdf_s8(const en_svdf_s8_params *p, const int8_t *input, const int8_t *weights_feature,
                const int8_t *weights_time, const int32_t *bias, int8_t *output);
void en_svdf_s16(const en_svdf_s16_params *p, const int8_t *input, const int8_t *weights_feature,
                 const int16_t *weights_time, const int32_t *bias, int8_t *output);

typedef struct {
    int32_t batches, depth, filters, memory, rank, units;
    float act_min, act_max;
} en_svdf_f32_params;

void en_svdf_f32(const en_svdf_f32_params *p, const float *input, const float *weights_feature,
                 const float *weights_time, const float *bias, float *output);

#endif
