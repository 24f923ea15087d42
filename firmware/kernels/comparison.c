/* Comparisons and logical AND / OR with broadcasting. Spec: edgeneuro/ops/comparison.py. */
#include "comparison.h"

#include "en_fixedpoint.h"

/* One loop nest per comparison, the operator chosen once per call. */
#define EN_EQ(x, y) ((uint8_t)((x) == (y)))
#define EN_NE(x, y) ((uint8_t)((x) != (y)))
#define EN_LT(x, y) ((uint8_t)((x) < (y)))
#define EN_LE(x, y) ((uint8_t)((x) <= (y)))
#define EN_GT(x, y) ((uint8_t)((x) > (y)))
#define EN_GE(x, y) ((uint8_t)((x) >= (y)))
#define EN_AND(x, y) ((uint8_t)((x) && (y)))
#define EN_OR(x, y) ((uint8_t)((x) || (y)))

/* int8: each input rescaled by its own multiplier before the comparison (TFLM's WithScaling). */
static inline int32_t rescale(int32_t x, int32_t zp, int32_t mult, int32_t shift)
{
    return en_rdbpot(en_srdhm((x - zp) * (1 << 8), mult), -shift);
}

#define S8_A(x) rescale((x), p->a_zp, p->a_mult, p->a_shift)
#define S8_B(y) rescale((y), p->b_zp, p->b_mult, p->b_shift)
#define S8_EQ(x, y) EN_EQ(S8_A(x), S8_B(y))
#define S8_NE(x, y) EN_NE(S8_A(x), S8_B(y))
#define S8_LT(x, y) EN_LT(S8_A(x), S8_B(y))
#define S8_LE(x, y) EN_LE(S8_A(x), S8_B(y))
#define S8_GT(x, y) EN_GT(S8_A(x), S8_B(y))
#define S8_GE(x, y) EN_GE(S8_A(x), S8_B(y))

void en_compare_s8(const en_compare_s8_params *p, const int8_t *a, const int8_t *b, uint8_t *output)
{
    switch (p->op) {
    case 0: EN_BROADCAST_LOOPS(int8_t, int8_t, S8_EQ) break;
    case 1: EN_BROADCAST_LOOPS(int8_t, int8_t, S8_NE) break;
    case 2: EN_BROADCAST_LOOPS(int8_t, int8_t, S8_LT) break;
    case 3: EN_BROADCAST_LOOPS(int8_t, int8_t, S8_LE) break;
    case 4: EN_BROADCAST_LOOPS(int8_t, int8_t, S8_GT) break;
    default: EN_BROADCAST_LOOPS(int8_t, int8_t, S8_GE) break;
    }
}

#define EN_COMPARE_KERNEL(NAME, PARAMS, T)                                 \
    void NAME(const PARAMS *p, const T *a, const T *b, uint8_t *output)   \
    {                                                                     \
        switch (p->op) {                                                  \
        case 0: EN_BROADCAST_LOOPS(T, T, EN_EQ) break;                    \
        case 1: EN_BROADCAST_LOOPS(T, T, EN_NE) break;                    \
        case 2: EN_BROADCAST_LOOPS(T, T, EN_LT) break;                    \
        case 3: EN_BROADCAST_LOOPS(T, T, EN_LE) break;                    \
        case 4: EN_BROADCAST_LOOPS(T, T, EN_GT) break;                    \
        case 5: EN_BROADCAST_LOOPS(T, T, EN_GE) break;                    \
        case 6: EN_BROADCAST_LOOPS(T, T, EN_AND) break;                   \
        default: EN_BROADCAST_LOOPS(T, T, EN_OR) break;                   \
        }                                                                 \
    }

EN_COMPARE_KERNEL(en_compare_s32, en_compare_s32_params, int32_t)
EN_COMPARE_KERNEL(en_compare_f32, en_compare_f32_params, float)
EN_COMPARE_KERNEL(en_compare_b, en_compare_b_params, uint8_t)
