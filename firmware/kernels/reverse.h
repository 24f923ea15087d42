/* REVERSE_V2 kernel (element type agnostic): the input seen as [outer][mid][inner_bytes], row m of
 * the output is row mid - 1 - m of the input. Spec: the numpy reference in edgeneuro/ops/reverse.py. */
#ifndef EN_REVERSE_H
#define EN_REVERSE_H

#include <stdint.h>

typedef struct {
    int32_t outer, mid, inner_bytes;
} en_reverse_params;

void en_reverse(const en_reverse_params *p, const void *input, void *output);

#endif
