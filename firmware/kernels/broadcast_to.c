/* BROADCAST_TO. Spec: edgeneuro/ops/broadcast_to.py. */
#include "broadcast_to.h"

#include <string.h>

void en_broadcast_to(const en_broadcast_to_params *p, const void *input, void *output)
{
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    const size_t e = (size_t)p->esize;
    for (int32_t i0 = 0; i0 < p->d0; ++i0)
        for (int32_t i1 = 0; i1 < p->d1; ++i1)
            for (int32_t i2 = 0; i2 < p->d2; ++i2)
                for (int32_t i3 = 0; i3 < p->d3; ++i3) {
                    const int32_t base = i0 * p->s0 + i1 * p->s1 + i2 * p->s2 + i3 * p->s3;
                    for (int32_t i4 = 0; i4 < p->d4; ++i4) {
                        memcpy(out, in + (size_t)(base + i4 * p->s4) * e, e);
                        out += e;
                    }
                }
}
