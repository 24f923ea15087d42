/* FLOOR_DIV and FLOOR_MOD on float32 with broadcasting. Spec: edgeneuro/ops/floor_div.py. */
#ifndef EN_FLOOR_DIV_H
#define EN_FLOOR_DIV_H

#include <stdint.h>

#include "en_broadcast.h"

typedef struct {
    EN_BROADCAST_FIELDS;
    int32_t op; /* 0 FLOOR_DIV, 1 FLOOR_MOD */
} en_floor_div_f32_params;

void en_floor_div_f32(const en_floor_div_f32_params *p, const float *a, const float *b, float *output);

#endif
