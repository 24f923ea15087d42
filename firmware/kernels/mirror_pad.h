/* MIRROR_PAD kernel (shapes extended to 5-D with leading 1s; element type agnostic: `esize` bytes
 * per element): output index o on axis k reads input index before_k - o - 1 + offset before the
 * input, o - before_k inside it, and dim_k - 1 - offset - (o - before_k - dim_k) after it
 * (offset 1: REFLECT, 0: SYMMETRIC). Spec: the numpy reference in edgeneuro/ops/mirror_pad.py. */
#ifndef EN_MIRROR_PAD_H
#define EN_MIRROR_PAD_H

#include <stdint.h>

typedef struct {
    int32_t dim0, dim1, dim2, dim3, dim4;
    int32_t out0, out1, out2, out3, out4;
    int32_t before0, before1, before2, before3, before4;
    int32_t offset, esize;
} en_mirror_pad_params;

void en_mirror_pad(const en_mirror_pad_params *p, const void *input, void *output);

#endif
