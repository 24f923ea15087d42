/* GELU and ERF, float32 (erff, tanhf); int8 runs ELU's table lookup (en_elu_s8) with a table made at
 * compile time. Spec: edgeneuro/ops/gelu.py. */
#ifndef EN_GELU_H
#define EN_GELU_H

#include <stdint.h>

typedef struct {
    int32_t size;
    int32_t approximate; /* 1: the tanh approximation */
} en_gelu_f32_params;

typedef struct {
    int32_t size;
} en_erf_f32_params;

void en_gelu_f32(const en_gelu_f32_params *p, const float *input, float *output);
void en_erf_f32(const en_erf_f32_params *p, const float *input, float *output);

#endif
