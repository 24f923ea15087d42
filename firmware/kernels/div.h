/* DIV with broadcasting: int8, int32 and float32. Spec: edgeneuro/ops/div.py. */
#ifndef EN_DIV_H
#define EN_DIV_H

#include <stdint.h>

#include "en_broadcast.h"

typedef struct {
    EN_BROADCAST_FIELDS;
    int32_t a_zp, b_zp, out_zp, mult, shift, act_min, act_max;
} en_div_s8_params;

typedef struct {
    EN_BROADCAST_FIELDS;
    int32_t act_min, act_max;
} en_div_s32_params;

typedef struct {
    EN_BROADCAST_FIELDS;
    float act_min, act_max;
} en_div_f32_params;

void en_div_s8(const en_div_s8_params *p, const int8_t *a, const int8_t *b, int8_t *output);
void en_div_s32(const en_div_s32_params *p, const int32_t *a, const int32_t *b, int32_t *output);
void en_div_f32(const en_div_f32_params *p, const float *a, const float *b, float *output);

#endif
