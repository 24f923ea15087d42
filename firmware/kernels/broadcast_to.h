/* BROADCAST_TO: the input repeated over the output shape (padded to 5-D), elements of esize bytes;
 * s0..s4 are the input's element strides, 0 on broadcast axes. Spec: edgeneuro/ops/broadcast_to.py. */
#ifndef EN_BROADCAST_TO_H
#define EN_BROADCAST_TO_H

#include <stdint.h>

typedef struct {
    int32_t d0, d1, d2, d3, d4;
    int32_t s0, s1, s2, s3, s4;
    int32_t esize;
} en_broadcast_to_params;

void en_broadcast_to(const en_broadcast_to_params *p, const void *input, void *output);

#endif
