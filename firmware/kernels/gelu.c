/* GELU and ERF. Spec: edgeneuro/ops/gelu.py. */
#include "gelu.h"

#include <math.h>

void en_gelu_f32(const en_gelu_f32_params *p, const float *input, float *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const float x = input[i];
        const float half_x = 0.5f * x;
        if (p->approximate) {
            output[i] = half_x * (1.0f + tanhf(0.7978845608f * (x + 0.044715f * x * x * x)));
        } else {
            output[i] = half_x * (1.0f + erff(x * 0.70710678f));
        }
    }
}

void en_erf_f32(const en_erf_f32_params *p, const float *input, float *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = erff(input[i]);
    }
}
