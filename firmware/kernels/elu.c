/* ELU. Spec: edgeneuro/ops/elu.py. */
#include "elu.h"

#include <math.h>

void en_elu_f32(const en_elu_f32_params *p, const float *input, float *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const float v = input[i];
        output[i] = v < 0.0f ? expm1f(v) : v;
    }
}

void en_elu_s8(const en_elu_s8_params *p, const int8_t *input, const int8_t *table, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = table[(uint8_t)input[i]];
    }
}
