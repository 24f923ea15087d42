/* STRIDED_SLICE int8: a strided copy. Spec: edgeneuro/ops/strided_slice.py. */
#include "strided_slice.h"

void en_strided_slice_s8(const en_strided_slice_s8_params *p, const int8_t *input, int8_t *output)
{
    const int32_t s2 = p->dim3;
    const int32_t s1 = p->dim2 * s2;
    const int32_t s0 = p->dim1 * s1;
    for (int32_t i0 = 0; i0 < p->count0; ++i0) {
        const int32_t o0 = (p->begin0 + i0 * p->stride0) * s0;
        for (int32_t i1 = 0; i1 < p->count1; ++i1) {
            const int32_t o1 = o0 + (p->begin1 + i1 * p->stride1) * s1;
            for (int32_t i2 = 0; i2 < p->count2; ++i2) {
                const int8_t *in = input + o1 + (p->begin2 + i2 * p->stride2) * s2 + p->begin3;
                for (int32_t i3 = 0; i3 < p->count3; ++i3) {
                    *output++ = in[i3 * p->stride3];
                }
            }
        }
    }
}
