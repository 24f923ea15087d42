/* CAST kernels en_cast_<from>_<to>: out[i] = (to)in[i] for `size` elements; integers narrow by
 * keeping the low bits, float32 to an integer truncates toward zero and saturates (NaN: 0).
 * Spec: the numpy reference in edgeneuro/ops/cast.py. */
#ifndef EN_CAST_H
#define EN_CAST_H

#include <stdint.h>

typedef struct {
    int32_t size;
} en_cast_params;

#define EN_CAST_DECLARE(FROM, TO, FROM_T, TO_T)                     \
    typedef en_cast_params en_cast_##FROM##_##TO##_params;           \
    void en_cast_##FROM##_##TO(const en_cast_params *p, const FROM_T *input, TO_T *output);

#define EN_CAST_DECLARE_FROM(FROM, FROM_T)            \
    EN_CAST_DECLARE(FROM, s8, FROM_T, int8_t)         \
    EN_CAST_DECLARE(FROM, s16, FROM_T, int16_t)       \
    EN_CAST_DECLARE(FROM, s32, FROM_T, int32_t)       \
    EN_CAST_DECLARE(FROM, f32, FROM_T, float)

EN_CAST_DECLARE_FROM(b, uint8_t)
EN_CAST_DECLARE_FROM(s8, int8_t)
EN_CAST_DECLARE_FROM(s16, int16_t)
EN_CAST_DECLARE_FROM(s32, int32_t)
EN_CAST_DECLARE_FROM(f32, float)

#endif
