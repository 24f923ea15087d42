/* HARD_SWISH int8 kernel: parameters fixed at compile time, then activations, outputs.
 * Spec: the numpy reference in edgeneuro/ops/hard_swish.py. */
#ifndef EN_HARD_SWISH_H
#define EN_HARD_SWISH_H

#include <stdint.h>

typedef struct {
    int32_t size, in_zp, out_zp, out_mult, out_exp, rel_mult, rel_exp;
} en_hard_swish_s8_params;

void en_hard_swish_s8(const en_hard_swish_s8_params *p, const int8_t *input, int8_t *output);

#endif
