/* SOFTMAX int8 kernel: parameters fixed at compile time, then activations, constants, outputs.
 * Spec: the numpy reference in edgeneuro/ops/. */
#ifndef EN_SOFTMAX_H
#define EN_SOFTMAX_H

#include <stdint.h>

typedef struct {
    int32_t rows, depth, mult, left_shift, diff_min;
} en_softmax_s8_params;

void en_softmax_s8(const en_softmax_s8_params *p, const int8_t *input, int8_t *output);

typedef struct {
    int32_t rows, depth;
    float beta;
} en_softmax_f32_params;

void en_softmax_f32(const en_softmax_f32_params *p, const float *input, float *output);

#endif
