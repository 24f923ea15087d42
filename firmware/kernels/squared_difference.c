/* SQUARED_DIFFERENCE with broadcasting. Spec: edgeneuro/ops/squared_difference.py. */
#include "squared_difference.h"

#include "en_fixedpoint.h"

static inline int32_t squared_q(const en_squared_difference_s8_params *p, int32_t x, int32_t y)
{
    const int32_t sx = en_rdbpot(en_srdhm((x - p->a_zp) * (1 << p->left_shift), p->a_mult), -p->a_shift);
    const int32_t sy = en_rdbpot(en_srdhm((y - p->b_zp) * (1 << p->left_shift), p->b_mult), -p->b_shift);
    const int32_t d = sx - sy;
    const int32_t v = en_requant(d * d, p->out_mult, p->out_shift) + p->out_zp;
    return v < p->qmin ? p->qmin : (v > p->qmax ? p->qmax : v);
}

void en_squared_difference_s8(const en_squared_difference_s8_params *p, const int8_t *a, const int8_t *b, int8_t *output)
{
#define OUT(x, y) ((int8_t)squared_q(p, x, y))
    EN_BROADCAST_LOOPS(int8_t, int8_t, OUT)
#undef OUT
}

void en_squared_difference_s16(const en_squared_difference_s16_params *p, const int16_t *a, const int16_t *b,
                               int16_t *output)
{
#define OUT(x, y) ((int16_t)squared_q(p, x, y))
    EN_BROADCAST_LOOPS(int16_t, int16_t, OUT)
#undef OUT
}

static inline int32_t squared_s32(int32_t x, int32_t y)
{
    const uint32_t d = (uint32_t)x - (uint32_t)y; /* wraps, as TFLM's int32 arithmetic does in practice */
    return (int32_t)(d * d);
}

void en_squared_difference_s32(const en_squared_difference_s32_params *p, const int32_t *a, const int32_t *b,
                               int32_t *output)
{
    EN_BROADCAST_LOOPS(int32_t, int32_t, squared_s32)
}

static inline float squared_f32(float x, float y)
{
    const float d = x - y;
    return d * d;
}

void en_squared_difference_f32(const en_squared_difference_f32_params *p, const float *a, const float *b, float *output)
{
    EN_BROADCAST_LOOPS(float, float, squared_f32)
}
