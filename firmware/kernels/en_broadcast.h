/* The loop nest of the broadcasting binary elementwise kernels (MAXIMUM / MINIMUM, the
 * comparisons, SQUARED_DIFFERENCE, DIV, PRELU): output element i combines a[i'] and b[i''], the
 * inputs indexed through their element strides (0 along a broadcast axis). The kernel's parameters
 * `p` have the fields d0..d4 (the output shape padded to 5-D), a0..a4 and b0..b4 (the strides). */
#ifndef EN_BROADCAST_H
#define EN_BROADCAST_H

#include <stdint.h>

#define EN_BROADCAST_LOOPS(TA, TB, OUT)                                            \
    for (int32_t i0 = 0; i0 < p->d0; ++i0)                                        \
    for (int32_t i1 = 0; i1 < p->d1; ++i1)                                        \
    for (int32_t i2 = 0; i2 < p->d2; ++i2)                                        \
    for (int32_t i3 = 0; i3 < p->d3; ++i3) {                                      \
        const TA *pa = a + i0 * p->a0 + i1 * p->a1 + i2 * p->a2 + i3 * p->a3;     \
        const TB *pb = b + i0 * p->b0 + i1 * p->b1 + i2 * p->b2 + i3 * p->b3;     \
        for (int32_t i4 = 0; i4 < p->d4; ++i4) {                                  \
            *output++ = OUT(pa[i4 * p->a4], pb[i4 * p->b4]);                      \
        }                                                                         \
    }

/* The struct fields of the shape and strides, first in every such kernel's parameters. */
#define EN_BROADCAST_FIELDS int32_t d0, d1, d2, d3, d4, a0, a1, a2, a3, a4, b0, b1, b2, b3, b4

#endif
