/* CUMSUM along one axis (exclusive, reverse): float32 and int8. Spec: edgeneuro/ops/cumsum.py. */
#ifndef EN_CUMSUM_H
#define EN_CUMSUM_H

#include <stdint.h>

typedef struct {
    int32_t before, depth, after, exclusive, reverse;
} en_cumsum_f32_params;

typedef struct {
    int32_t before, depth, after, exclusive, reverse;
    int32_t in_zp, out_zp, in_mult, in_shift, out_mult, out_shift;
} en_cumsum_s8_params;

void en_cumsum_f32(const en_cumsum_f32_params *p, const float *input, float *output);
void en_cumsum_s8(const en_cumsum_s8_params *p, const int8_t *input, int8_t *output);

#endif
