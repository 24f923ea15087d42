/* STRIDED_SLICE: a strided copy, one entry per element type. Spec: edgeneuro/ops/strided_slice.py. */
#include "strided_slice.h"

#define EN_STRIDED_SLICE(name, T)                                                                   \
    void name(const en_strided_slice_s8_params *p, const T *input, T *output)                       \
    {                                                                                               \
        const int32_t s2 = p->dim3;                                                                 \
        const int32_t s1 = p->dim2 * s2;                                                            \
        const int32_t s0 = p->dim1 * s1;                                                            \
        for (int32_t i0 = 0; i0 < p->count0; ++i0) {                                                \
            const int32_t o0 = (p->begin0 + i0 * p->stride0) * s0;                                  \
            for (int32_t i1 = 0; i1 < p->count1; ++i1) {                                            \
                const int32_t o1 = o0 + (p->begin1 + i1 * p->stride1) * s1;                         \
                for (int32_t i2 = 0; i2 < p->count2; ++i2) {                                        \
                    const T *in = input + o1 + (p->begin2 + i2 * p->stride2) * s2 + p->begin3;      \
                    for (int32_t i3 = 0; i3 < p->count3; ++i3) {                                    \
                        *output++ = in[i3 * p->stride3];                                            \
                    }                                                                               \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
    }

EN_STRIDED_SLICE(en_strided_slice_s8, int8_t)
EN_STRIDED_SLICE(en_strided_slice_s16, int16_t)
EN_STRIDED_SLICE(en_strided_slice_s32, int32_t)
EN_STRIDED_SLICE(en_strided_slice_f32, float)
EN_STRIDED_SLICE(en_strided_slice_b, uint8_t)
