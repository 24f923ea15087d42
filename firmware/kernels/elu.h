/* ELU: float32 (expm1f) and int8 (a table made at compile time). Spec: edgeneuro/ops/elu.py. */
#ifndef EN_ELU_H
#define EN_ELU_H

#include <stdint.h>

typedef struct {
    int32_t size;
} en_elu_f32_params;

typedef en_elu_f32_params en_elu_s8_params;

void en_elu_f32(const en_elu_f32_params *p, const float *input, float *output);
void en_elu_s8(const en_elu_s8_params *p, const int8_t *input, const int8_t *table, int8_t *output);

#endif
