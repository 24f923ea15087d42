/* ADD, SUB and MUL int8 kernel with broadcasting. Spec: edgeneuro/ops/binary.py. */
#ifndef EN_BINARY_H
#define EN_BINARY_H

#include <stdint.h>

typedef struct {
    int32_t d0, d1, d2, d3, d4;      /* output shape, padded to 5-D */
    int32_t a0, a1, a2, a3, a4;      /* element strides of input a (0 where broadcast) */
    int32_t b0, b1, b2, b3, b4;      /* element strides of input b */
    int32_t a_zp, b_zp, out_zp, act_min, act_max;
    int32_t op;                      /* 0 ADD, 1 SUB, 2 MUL */
    int32_t a_mult, a_shift, b_mult, b_shift, left_shift, out_mult, out_shift;
} en_binary_s8_params;

void en_binary_s8(const en_binary_s8_params *p, const int8_t *a, const int8_t *b, int8_t *output);

typedef en_binary_s8_params en_binary_s16_params;
void en_binary_s16(const en_binary_s16_params *p, const int16_t *a, const int16_t *b, int16_t *output);

typedef struct {
    int32_t d0, d1, d2, d3, d4, a0, a1, a2, a3, a4, b0, b1, b2, b3, b4;
    int32_t op; /* 0 ADD, 1 SUB, 2 MUL */
    float act_min, act_max;
} en_binary_f32_params;

void en_binary_f32(const en_binary_f32_params *p, const float *a, const float *b, float *output);

#endif
