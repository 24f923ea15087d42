/* SLICE: a box of the input (shapes extended to 5-D with leading 1s), any element type of esize
 * bytes. Spec: the numpy reference in edgeneuro/ops/slice.py. */
#ifndef EN_SLICE_H
#define EN_SLICE_H

#include <stdint.h>

typedef struct {
    int32_t d0, d1, d2, d3, d4; /* input shape */
    int32_t b0, b1, b2, b3, b4; /* box begin */
    int32_t s0, s1, s2, s3, s4; /* box size */
    int32_t esize;
} en_slice_params;

void en_slice(const en_slice_params *p, const void *input, void *output);

#endif
