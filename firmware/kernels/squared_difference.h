/* SQUARED_DIFFERENCE with broadcasting: int8, int16, int32 and float32. Spec:
 * edgeneuro/ops/squared_difference.py. */
#ifndef EN_SQUARED_DIFFERENCE_H
#define EN_SQUARED_DIFFERENCE_H

#include <stdint.h>

#include "en_broadcast.h"

typedef struct {
    EN_BROADCAST_FIELDS;
    int32_t a_zp, b_zp, out_zp, left_shift, a_mult, a_shift, b_mult, b_shift, out_mult, out_shift, qmin, qmax;
} en_squared_difference_s8_params;

typedef en_squared_difference_s8_params en_squared_difference_s16_params;

typedef struct {
    EN_BROADCAST_FIELDS;
} en_squared_difference_f32_params;

typedef en_squared_difference_f32_params en_squared_difference_s32_params;

void en_squared_difference_s8(const en_squared_difference_s8_params *p, const int8_t *a, const int8_t *b, int8_t *output);
void en_squared_difference_s16(const en_squared_difference_s16_params *p, const int16_t *a, const int16_t *b,
                               int16_t *output);
void en_squared_difference_s32(const en_squared_difference_s32_params *p, const int32_t *a, const int32_t *b,
                               int32_t *output);
void en_squared_difference_f32(const en_squared_difference_f32_params *p, const float *a, const float *b, float *output);

#endif
