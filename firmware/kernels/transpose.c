/* TRANSPOSE, int8 and float32: walk the output in order, step through the input with permuted
 * strides. Spec: edgeneuro/ops/transpose.py. */
#include "transpose.h"

#define EN_TRANSPOSE_LOOPS(T)                                                        \
    const int32_t d[5] = {p->dim0, p->dim1, p->dim2, p->dim3, p->dim4};             \
    const int32_t perm[5] = {p->perm0, p->perm1, p->perm2, p->perm3, p->perm4};     \
    int32_t in_stride[5];                                                           \
    in_stride[4] = 1;                                                               \
    for (int i = 3; i >= 0; --i) {                                                  \
        in_stride[i] = in_stride[i + 1] * d[i + 1];                                 \
    }                                                                               \
    int32_t n[5], s[5];                                                             \
    for (int k = 0; k < 5; ++k) {                                                   \
        n[k] = d[perm[k]];                                                          \
        s[k] = in_stride[perm[k]];                                                  \
    }                                                                               \
    for (int32_t i0 = 0; i0 < n[0]; ++i0)                                           \
    for (int32_t i1 = 0; i1 < n[1]; ++i1)                                           \
    for (int32_t i2 = 0; i2 < n[2]; ++i2)                                           \
    for (int32_t i3 = 0; i3 < n[3]; ++i3) {                                         \
        const T *in = input + i0 * s[0] + i1 * s[1] + i2 * s[2] + i3 * s[3];        \
        for (int32_t i4 = 0; i4 < n[4]; ++i4) {                                     \
            *output++ = in[i4 * s[4]];                                              \
        }                                                                           \
    }

void en_transpose_s8(const en_transpose_s8_params *p, const int8_t *input, int8_t *output)
{
    EN_TRANSPOSE_LOOPS(int8_t)
}

void en_transpose_f32(const en_transpose_f32_params *p, const float *input, float *output)
{
    EN_TRANSPOSE_LOOPS(float)
}
