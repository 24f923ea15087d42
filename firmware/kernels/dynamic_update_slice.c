/* DYNAMIC_UPDATE_SLICE. Spec: edgeneuro/ops/dynamic_update_slice.py. */
#include "dynamic_update_slice.h"

#include <string.h>

void en_dynamic_update_slice(const en_dynamic_update_slice_params *p, const void *operand, const void *update,
                             const void *start, void *output)
{
    const int32_t d[5] = {p->d0, p->d1, p->d2, p->d3, p->d4};
    const int32_t u[5] = {p->u0, p->u1, p->u2, p->u3, p->u4};
    int32_t s[5] = {0, 0, 0, 0, 0};
    for (int32_t i = 0; i < p->rank; ++i) {
        const int64_t v = p->idx64 ? ((const int64_t *)start)[i] : ((const int32_t *)start)[i];
        const int32_t axis = 5 - p->rank + i;
        const int64_t hi = d[axis] - u[axis];
        s[axis] = (int32_t)(v < 0 ? 0 : (v > hi ? hi : v));
    }
    const size_t e = (size_t)p->esize;
    const size_t total = (size_t)d[0] * (size_t)d[1] * (size_t)d[2] * (size_t)d[3] * (size_t)d[4] * e;
    if (output != operand) {
        memcpy(output, operand, total);
    }
    const uint8_t *src = (const uint8_t *)update;
    uint8_t *out = (uint8_t *)output;
    const size_t run = (size_t)u[4] * e;
    for (int32_t i0 = 0; i0 < u[0]; ++i0)
        for (int32_t i1 = 0; i1 < u[1]; ++i1)
            for (int32_t i2 = 0; i2 < u[2]; ++i2)
                for (int32_t i3 = 0; i3 < u[3]; ++i3) {
                    const int64_t row = (((int64_t)(s[0] + i0) * d[1] + s[1] + i1) * d[2] + s[2] + i2) * d[3] + s[3] + i3;
                    memcpy(out + (size_t)(row * d[4] + s[4]) * e, src, run);
                    src += run;
                }
}
