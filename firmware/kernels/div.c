/* DIV with broadcasting. Spec: edgeneuro/ops/div.py. */
#include "div.h"

#include "en_fixedpoint.h"

static inline int clz32(uint32_t v)
{
    int n = 0;
    while (n < 32 && !(v & (UINT32_C(0x80000000) >> n))) {
        ++n;
    }
    return n;
}

/* TFLM's int32 RoundingDivideByPOT(x, e) as its pinned (x86-64) build computes it, also for
 * exponents 32..63 outside its contract: the mask is then -1 and x >> e shifts by e mod 32. Written
 * out so that every target computes the same (an Arm shift by 32 or more gives 0 or -1). */
static inline int32_t rdbpot_wide(int32_t x, int exponent)
{
    const int wide = exponent >= 32;
    const int32_t mask = wide ? -1 : (int32_t)((INT64_C(1) << exponent) - 1);
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> (wide ? (exponent & 31) : exponent)) + ((x & mask) > threshold ? 1 : 0);
}

static inline int8_t divide_s8(const en_div_s8_params *p, int32_t x, int32_t y)
{
    int32_t u = x - p->a_zp;
    int32_t v = y - p->b_zp;
    if (v == 0) {
        return en_clamp_s8(p->out_zp, p->act_min, p->act_max);
    }
    if (v < 0) {
        u = -u;
        v = -v;
    }
    const int c = clz32((uint32_t)v);
    const int32_t recip = en_sat_shl(en_reciprocal_one_plus_x((int32_t)(((uint32_t)v << c) - UINT32_C(0x80000000))), 1);
    const int h = clz32((uint32_t)(u >= 0 ? u : ~u)) - 1;
    const int32_t q = en_srdhm((int32_t)((uint32_t)u << h), recip);
    const int32_t r = p->out_zp + rdbpot_wide(en_srdhm(q, p->mult), h + (31 - c) - p->shift);
    return en_clamp_s8(r, p->act_min, p->act_max);
}

void en_div_s8(const en_div_s8_params *p, const int8_t *a, const int8_t *b, int8_t *output)
{
#define OUT(x, y) divide_s8(p, x, y)
    EN_BROADCAST_LOOPS(int8_t, int8_t, OUT)
#undef OUT
}

static inline int32_t divide_s32(const en_div_s32_params *p, int32_t x, int32_t y)
{
    const int64_t q = (int64_t)x / (int64_t)(y == 0 ? 1 : y);
    return (int32_t)(q < p->act_min ? p->act_min : (q > p->act_max ? p->act_max : q));
}

void en_div_s32(const en_div_s32_params *p, const int32_t *a, const int32_t *b, int32_t *output)
{
#define OUT(x, y) divide_s32(p, x, y)
    EN_BROADCAST_LOOPS(int32_t, int32_t, OUT)
#undef OUT
}

void en_div_f32(const en_div_f32_params *p, const float *a, const float *b, float *output)
{
#define OUT(x, y) en_clampf((x) / (y), p->act_min, p->act_max)
    EN_BROADCAST_LOOPS(float, float, OUT)
#undef OUT
}
