/* PAD / PADV2 int8 kernel (constant padding, shapes extended to 5-D with leading 1s).
 * Spec: the numpy reference in edgeneuro/ops/pad.py. */
#ifndef EN_PAD_H
#define EN_PAD_H

#include <stdint.h>

typedef struct {
    int32_t dim0, dim1, dim2, dim3, dim4;
    int32_t before0, before1, before2, before3, before4;
    int32_t after0, after1, after2, after3, after4;
    int32_t value;
} en_pad_s8_params;

void en_pad_s8(const en_pad_s8_params *p, const int8_t *input, int8_t *output);

#endif
