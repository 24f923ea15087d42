/* PRELU with broadcasting: int8, int16 (int8 alpha) and float32. Spec: edgeneuro/ops/prelu.py. */
#ifndef EN_PRELU_H
#define EN_PRELU_H

#include <stdint.h>

#include "en_broadcast.h"

typedef struct {
    EN_BROADCAST_FIELDS;
    int32_t in_zp, alpha_zp, out_zp, mult1, shift1, mult2, shift2, qmin, qmax;
} en_prelu_s8_params;

typedef en_prelu_s8_params en_prelu_s16_params;

typedef struct {
    EN_BROADCAST_FIELDS;
} en_prelu_f32_params;

void en_prelu_s8(const en_prelu_s8_params *p, const int8_t *a, const int8_t *b, int8_t *output);
void en_prelu_s16(const en_prelu_s16_params *p, const int16_t *a, const int8_t *b, int16_t *output);
void en_prelu_f32(const en_prelu_f32_params *p, const float *a, const float *b, float *output);

#endif
