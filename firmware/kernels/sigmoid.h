/* LOGISTIC and TANH int8 kernels: parameters fixed at compile time, then activations, outputs.
 * Spec: the numpy reference in edgeneuro/ops/sigmoid.py. */
#ifndef EN_SIGMOID_H
#define EN_SIGMOID_H

#include <stdint.h>

typedef struct {
    int32_t size, in_zp, mult, shift, radius;
} en_sigmoid_s8_params;
typedef en_sigmoid_s8_params en_logistic_s8_params;
typedef en_sigmoid_s8_params en_tanh_s8_params;

void en_logistic_s8(const en_logistic_s8_params *p, const int8_t *input, int8_t *output);
void en_tanh_s8(const en_tanh_s8_params *p, const int8_t *input, int8_t *output);

/* float32: TFLite's reference Logistic and tanhf. */
typedef struct {
    int32_t size;
} en_sigmoid_f32_params;
typedef en_sigmoid_f32_params en_logistic_f32_params;
typedef en_sigmoid_f32_params en_tanh_f32_params;

void en_logistic_f32(const en_logistic_f32_params *p, const float *input, float *output);
void en_tanh_f32(const en_tanh_f32_params *p, const float *input, float *output);

#endif
