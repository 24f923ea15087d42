/* REDUCE_ALL: logical AND over the axes with r_i = 1 of the input (shape padded to 5-D), bool
 * (one byte, 0 or 1). Spec: edgeneuro/ops/reduce_all.py. */
#ifndef EN_REDUCE_ALL_H
#define EN_REDUCE_ALL_H

#include <stdint.h>

typedef struct {
    int32_t d0, d1, d2, d3, d4, r0, r1, r2, r3, r4, out_size;
} en_reduce_all_params;

void en_reduce_all(const en_reduce_all_params *p, const uint8_t *input, uint8_t *output);

#endif
