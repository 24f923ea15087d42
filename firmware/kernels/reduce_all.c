/* REDUCE_ALL. Spec: edgeneuro/ops/reduce_all.py. */
#include "reduce_all.h"

void en_reduce_all(const en_reduce_all_params *p, const uint8_t *input, uint8_t *output)
{
    for (int32_t i = 0; i < p->out_size; ++i) {
        output[i] = 1;
    }
    /* the kept axes' extents: 1 on reduced axes */
    const int32_t k1 = p->r1 ? 1 : p->d1, k2 = p->r2 ? 1 : p->d2, k3 = p->r3 ? 1 : p->d3, k4 = p->r4 ? 1 : p->d4;
    for (int32_t i0 = 0; i0 < p->d0; ++i0)
        for (int32_t i1 = 0; i1 < p->d1; ++i1)
            for (int32_t i2 = 0; i2 < p->d2; ++i2)
                for (int32_t i3 = 0; i3 < p->d3; ++i3)
                    for (int32_t i4 = 0; i4 < p->d4; ++i4) {
                        const int32_t o = (((p->r0 ? 0 : i0) * k1 + (p->r1 ? 0 : i1)) * k2 + (p->r2 ? 0 : i2)) * k3 * k4 +
                                          (p->r3 ? 0 : i3) * k4 + (p->r4 ? 0 : i4);
                        if (!*input++) {
                            output[o] = 0;
                        }
                    }
}
