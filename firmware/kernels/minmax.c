/* MAXIMUM and MINIMUM with broadcasting. Spec: edgeneuro/ops/minmax.py. */
#include "minmax.h"

#define EN_MAX(x, y) ((x) > (y) ? (x) : (y))
#define EN_MIN(x, y) ((x) < (y) ? (x) : (y))

#define EN_MINMAX_KERNEL(NAME, T)                                                  \
    void NAME(const en_minmax_s8_params *p, const T *a, const T *b, T *output)    \
    {                                                                             \
        if (p->op == 0) {                                                         \
            EN_BROADCAST_LOOPS(T, T, EN_MAX)                                      \
        } else {                                                                  \
            EN_BROADCAST_LOOPS(T, T, EN_MIN)                                      \
        }                                                                         \
    }

EN_MINMAX_KERNEL(en_minmax_s8, int8_t)
EN_MINMAX_KERNEL(en_minmax_s16, int16_t)
EN_MINMAX_KERNEL(en_minmax_s32, int32_t)
EN_MINMAX_KERNEL(en_minmax_f32, float)
