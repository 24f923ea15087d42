/* MAXIMUM and MINIMUM with broadcasting: int8, int16, int32 and float32. Spec: edgeneuro/ops/minmax.py. */
#ifndef EN_MINMAX_H
#define EN_MINMAX_H

#include <stdint.h>

#include "en_broadcast.h"

typedef struct {
    EN_BROADCAST_FIELDS;
    int32_t op; /* 0 MAXIMUM, 1 MINIMUM */
} en_minmax_s8_params;

typedef en_minmax_s8_params en_minmax_s16_params;
typedef en_minmax_s8_params en_minmax_s32_params;
typedef en_minmax_s8_params en_minmax_f32_params;

void en_minmax_s8(const en_minmax_s8_params *p, const int8_t *a, const int8_t *b, int8_t *output);
void en_minmax_s16(const en_minmax_s16_params *p, const int16_t *a, const int16_t *b, int16_t *output);
void en_minmax_s32(const en_minmax_s32_params *p, const int32_t *a, const int32_t *b, int32_t *output);
void en_minmax_f32(const en_minmax_f32_params *p, const float *a, const float *b, float *output);

#endif
