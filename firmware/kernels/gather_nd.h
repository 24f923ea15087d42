/* GATHER_ND kernel (element type agnostic: sizes in bytes): output slice i = the `slice` bytes of
 * the input at the index tuple indices[i][0 .. nd-1] (dimensions dim0 .. dim<nd-1>); a tuple with
 * a component outside its dimension writes zeros. Spec: edgeneuro/ops/gather_nd.py. */
#ifndef EN_GATHER_ND_H
#define EN_GATHER_ND_H

#include <stdint.h>

typedef struct {
    int32_t n, nd;
    int32_t dim0, dim1, dim2, dim3, dim4;
    int32_t slice;
} en_gather_nd_params;

void en_gather_nd(const en_gather_nd_params *p, const void *input, const int32_t *indices, void *output);

#endif
