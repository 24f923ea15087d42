/* SUM, REDUCE_MAX and REDUCE_MIN over up to five axes: float32, int8, SUM int16. Spec:
 * edgeneuro/ops/reduce.py. */
#ifndef EN_REDUCE_H
#define EN_REDUCE_H

#include <stdint.h>

typedef struct {
    int32_t d0, d1, d2, d3, d4; /* input shape, padded to 5-D */
    int32_t r0, r1, r2, r3, r4; /* 1 on the reduced axes */
    int32_t op;                 /* 0 SUM, 1 REDUCE_MAX, 2 REDUCE_MIN */
} en_reduce_f32_params;

typedef en_reduce_f32_params en_reduce_s8_params;

typedef struct {
    int32_t d0, d1, d2, d3, d4, r0, r1, r2, r3, r4, op;
    int32_t count, in_zp, out_zp, mult, shift, qmin, qmax;
} en_reduce_sum_s8_params;

typedef en_reduce_sum_s8_params en_reduce_sum_s16_params;

void en_reduce_f32(const en_reduce_f32_params *p, const float *input, float *output);
void en_reduce_s8(const en_reduce_s8_params *p, const int8_t *input, int8_t *output);
void en_reduce_sum_s8(const en_reduce_sum_s8_params *p, const int8_t *input, int8_t *output);
void en_reduce_sum_s16(const en_reduce_sum_s16_params *p, const int16_t *input, int16_t *output);

#endif
