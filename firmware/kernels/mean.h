/* MEAN int8 kernel: parameters fixed at compile time, then activations, constants, outputs.
 * Spec: the numpy reference in edgeneuro/ops/. */
#ifndef EN_MEAN_H
#define EN_MEAN_H

#include <stdint.h>

typedef struct {
    int32_t d0, d1, d2, d3, r0, r1, r2, r3, count, mult, shift, in_zp, out_zp;
} en_mean_s8_params;

void en_mean_s8(const en_mean_s8_params *p, const int8_t *input, int8_t *output);

typedef struct {
    int32_t d0, d1, d2, d3, r0, r1, r2, r3, count;
} en_mean_f32_params;

void en_mean_f32(const en_mean_f32_params *p, const float *input, float *output);

#endif
