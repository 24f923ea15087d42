/* RELU, RELU6 and LEAKY_RELU int8, int16 and float32 kernels: parameters fixed at compile time, then activations,
 * outputs. Spec: the numpy reference in edgeneuro/ops/relu.py. */
#ifndef EN_RELU_H
#define EN_RELU_H

#include <stdint.h>

typedef struct {
    int32_t size, in_zp, out_zp, mult, shift, act_min, act_max;
} en_relu_s8_params;

typedef struct {
    int32_t size, zero, six;
} en_relu6_s8_params;

typedef struct {
    int32_t size, in_zp, out_zp, id_mult, id_shift, alpha_mult, alpha_shift;
} en_leaky_relu_s8_params;

void en_relu_s8(const en_relu_s8_params *p, const int8_t *input, int8_t *output);
void en_relu6_s8(const en_relu6_s8_params *p, const int8_t *input, int8_t *output);
void en_leaky_relu_s8(const en_leaky_relu_s8_params *p, const int8_t *input, int8_t *output);

/* int16: the same parameters, the int16 range */
typedef en_relu_s8_params en_relu_s16_params;
typedef en_relu6_s8_params en_relu6_s16_params;
typedef en_leaky_relu_s8_params en_leaky_relu_s16_params;
void en_relu_s16(const en_relu_s16_params *p, const int16_t *input, int16_t *output);
void en_relu6_s16(const en_relu6_s16_params *p, const int16_t *input, int16_t *output);
void en_leaky_relu_s16(const en_leaky_relu_s16_params *p, const int16_t *input, int16_t *output);

typedef struct {
    int32_t size, op; /* 0 RELU, 1 RELU6, 2 LEAKY_RELU */
    float alpha;
} en_relu_f32_params;

void en_relu_f32(const en_relu_f32_params *p, const float *input, float *output);

#endif
