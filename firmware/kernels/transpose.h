/* TRANSPOSE int8 and float32 kernels (shapes extended to 5-D with leading 1s): output[i0..i4] =
 * input[the index whose axis perm[k] is i_k]. Spec: the numpy reference in edgeneuro/ops/transpose.py. */
#ifndef EN_TRANSPOSE_H
#define EN_TRANSPOSE_H

#include <stdint.h>

typedef struct {
    int32_t dim0, dim1, dim2, dim3, dim4;
    int32_t perm0, perm1, perm2, perm3, perm4;
} en_transpose_s8_params;

typedef en_transpose_s8_params en_transpose_f32_params;

void en_transpose_s8(const en_transpose_s8_params *p, const int8_t *input, int8_t *output);
void en_transpose_f32(const en_transpose_f32_params *p, const float *input, float *output);

#endif
