/* PAD / PADV2 int8: the input in the middle, the pad value around it. Spec: edgeneuro/ops/pad.py. */
#include "pad.h"

void en_pad_s8(const en_pad_s8_params *p, const int8_t *input, int8_t *output)
{
    const int32_t b[5] = {p->before0, p->before1, p->before2, p->before3, p->before4};
    const int32_t d[5] = {p->dim0, p->dim1, p->dim2, p->dim3, p->dim4};
    int32_t o[5];
    for (int i = 0; i < 5; ++i) {
        o[i] = b[i] + d[i];
    }
    const int32_t out4 = o[4] + p->after4;
    const int8_t value = (int8_t)p->value;
    for (int32_t i0 = 0; i0 < o[0] + p->after0; ++i0) {
        const int in0 = i0 >= b[0] && i0 < o[0];
        for (int32_t i1 = 0; i1 < o[1] + p->after1; ++i1) {
            const int in1 = in0 && i1 >= b[1] && i1 < o[1];
            for (int32_t i2 = 0; i2 < o[2] + p->after2; ++i2) {
                const int in2 = in1 && i2 >= b[2] && i2 < o[2];
                for (int32_t i3 = 0; i3 < o[3] + p->after3; ++i3) {
                    const int in3 = in2 && i3 >= b[3] && i3 < o[3];
                    for (int32_t i4 = 0; i4 < out4; ++i4) {
                        /* The input is read in order, so a running pointer is enough. */
                        *output++ = (in3 && i4 >= b[4] && i4 < o[4]) ? *input++ : value;
                    }
                }
            }
        }
    }
}
