/* CAST: element by element. Spec: edgeneuro/ops/cast.py. (Identity casts exist only to keep the
 * table regular; edgeneuro never calls them.) */
#include "cast.h"

/* float32 to an integer in [lo, hi]: truncation toward zero, saturated, NaN to 0. */
static int32_t en_float_to_int(float v, int32_t lo, int32_t hi)
{
    if (v != v) {
        return 0;
    }
    if (v <= (float)lo) {
        return lo;
    }
    if (v >= (float)hi) {
        return hi;
    }
    return (int32_t)v;
}

/* Integers: the value, or its low bits when the target is narrower (two's complement). */
#define EN_CAST_INT(FROM, TO, FROM_T, TO_T)                                                  \
    void en_cast_##FROM##_##TO(const en_cast_params *p, const FROM_T *input, TO_T *output) \
    {                                                                                       \
        for (int32_t i = 0; i < p->size; ++i) {                                             \
            output[i] = (TO_T)input[i];                                                     \
        }                                                                                   \
    }

#define EN_CAST_FROM_FLOAT(TO, TO_T, LO, HI)                                                \
    void en_cast_f32_##TO(const en_cast_params *p, const float *input, TO_T *output)       \
    {                                                                                       \
        for (int32_t i = 0; i < p->size; ++i) {                                             \
            output[i] = (TO_T)en_float_to_int(input[i], LO, HI);                            \
        }                                                                                   \
    }

#define EN_CAST_FROM_INT(FROM, FROM_T)            \
    EN_CAST_INT(FROM, s8, FROM_T, int8_t)         \
    EN_CAST_INT(FROM, s16, FROM_T, int16_t)       \
    EN_CAST_INT(FROM, s32, FROM_T, int32_t)       \
    EN_CAST_INT(FROM, f32, FROM_T, float)

EN_CAST_FROM_INT(b, uint8_t)
EN_CAST_FROM_INT(s8, int8_t)
EN_CAST_FROM_INT(s16, int16_t)
EN_CAST_FROM_INT(s32, int32_t)
EN_CAST_FROM_FLOAT(s8, int8_t, INT8_MIN, INT8_MAX)
EN_CAST_FROM_FLOAT(s16, int16_t, INT16_MIN, INT16_MAX)
EN_CAST_FROM_FLOAT(s32, int32_t, INT32_MIN, INT32_MAX)
EN_CAST_INT(f32, f32, float, float)
