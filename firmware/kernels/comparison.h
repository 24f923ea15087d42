/* EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER, GREATER_EQUAL, LOGICAL_AND and LOGICAL_OR with
 * broadcasting, bool output (uint8_t, 0 or 1). Spec: edgeneuro/ops/comparison.py. */
#ifndef EN_COMPARISON_H
#define EN_COMPARISON_H

#include <stdint.h>

#include "en_broadcast.h"

typedef struct {
    EN_BROADCAST_FIELDS;
    int32_t op; /* 0 ==, 1 !=, 2 <, 3 <=, 4 >, 5 >=, 6 and, 7 or */
} en_compare_s32_params;

typedef en_compare_s32_params en_compare_f32_params;
typedef en_compare_s32_params en_compare_b_params;

typedef struct {
    EN_BROADCAST_FIELDS;
    int32_t op;
    int32_t a_zp, a_mult, a_shift, b_zp, b_mult, b_shift; /* each input's rescaling */
} en_compare_s8_params;

void en_compare_s8(const en_compare_s8_params *p, const int8_t *a, const int8_t *b, uint8_t *output);
void en_compare_s32(const en_compare_s32_params *p, const int32_t *a, const int32_t *b, uint8_t *output);
void en_compare_f32(const en_compare_f32_params *p, const float *a, const float *b, uint8_t *output);
void en_compare_b(const en_compare_b_params *p, const uint8_t *a, const uint8_t *b, uint8_t *output);

#endif
