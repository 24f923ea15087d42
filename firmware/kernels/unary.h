/* ABS, NEG, RSQRT, SQRT, EXP, LOG, CEIL, FLOOR, ROUND, SIN, COS, SQUARE, LOGICAL_NOT and
 * L2_NORMALIZATION. Spec: edgeneuro/ops/unary.py. */
#ifndef EN_UNARY_H
#define EN_UNARY_H

#include <stdint.h>

typedef struct {
    int32_t size;
    int32_t op; /* 0 ABS, 1 NEG, 2 RSQRT, 3 SQRT, 4 EXP, 5 LOG, 8 CEIL, 9 FLOOR, 10 ROUND, 11 SIN, 12 COS, 13 SQUARE */
} en_unary_f32_params;

void en_unary_f32(const en_unary_f32_params *p, const float *input, float *output);

typedef struct {
    int32_t size;
} en_logical_not_params;

void en_logical_not(const en_logical_not_params *p, const uint8_t *input, uint8_t *output);

typedef en_logical_not_params en_abs_s16_raw_params;
void en_abs_s16_raw(const en_abs_s16_raw_params *p, const int16_t *input, int16_t *output);

typedef struct {
    int32_t size, in_zp, out_zp, rescale, mult, shift;
} en_abs_s8_params;

typedef en_abs_s8_params en_abs_s16_params;
void en_abs_s8(const en_abs_s8_params *p, const int8_t *input, int8_t *output);
void en_abs_s16(const en_abs_s16_params *p, const int16_t *input, int16_t *output);

typedef struct {
    int32_t size, in_zp, out_zp, mult, shift;
} en_rsqrt_s8_params;

void en_rsqrt_s8(const en_rsqrt_s8_params *p, const int8_t *input, int8_t *output);

/* L2_NORMALIZATION over the last axis: rows of depth elements. */
typedef struct {
    int32_t outer, depth, in_zp;
} en_l2norm_s8_params;

typedef struct {
    int32_t outer, depth;
} en_l2norm_f32_params;

void en_l2norm_s8(const en_l2norm_s8_params *p, const int8_t *input, int8_t *output);
void en_l2norm_f32(const en_l2norm_f32_params *p, const float *input, float *output);

#endif
