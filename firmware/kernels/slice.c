/* SLICE. Spec: edgeneuro/ops/slice.py. */
#include "slice.h"

#include <string.h>

void en_slice(const en_slice_params *p, const void *input, void *output)
{
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    const int32_t e = p->esize;
    const int32_t run = p->s4 * e;
    for (int32_t i0 = 0; i0 < p->s0; ++i0) {
        for (int32_t i1 = 0; i1 < p->s1; ++i1) {
            for (int32_t i2 = 0; i2 < p->s2; ++i2) {
                for (int32_t i3 = 0; i3 < p->s3; ++i3) {
                    const int32_t row = (((p->b0 + i0) * p->d1 + p->b1 + i1) * p->d2 + p->b2 + i2) * p->d3 + p->b3 + i3;
                    memcpy(out, in + ((int64_t)row * p->d4 + p->b4) * e, (size_t)run);
                    out += run;
                }
            }
        }
    }
}
