/* ADD, SUB and MUL int8 with broadcasting. Spec: edgeneuro/ops/binary.py. */
#include "binary.h"

#include "en_fixedpoint.h"

static int32_t combine(const en_binary_s8_params *p, int32_t x, int32_t y)
{
    x -= p->a_zp;
    y -= p->b_zp;
    int32_t raw;
    if (p->op == 2) {
        raw = x * y;
    } else {
        const int32_t sx = en_requant(x * (1 << p->left_shift), p->a_mult, p->a_shift);
        const int32_t sy = en_requant(y * (1 << p->left_shift), p->b_mult, p->b_shift);
        raw = p->op == 0 ? sx + sy : sx - sy;
    }
    const int32_t v = en_requant(raw, p->out_mult, p->out_shift) + p->out_zp;
    return v < p->act_min ? p->act_min : (v > p->act_max ? p->act_max : v);
}

void en_binary_s8(const en_binary_s8_params *p, const int8_t *a, const int8_t *b, int8_t *output)
{
    for (int32_t i0 = 0; i0 < p->d0; ++i0)
    for (int32_t i1 = 0; i1 < p->d1; ++i1)
    for (int32_t i2 = 0; i2 < p->d2; ++i2)
    for (int32_t i3 = 0; i3 < p->d3; ++i3) {
        const int8_t *pa = a + i0 * p->a0 + i1 * p->a1 + i2 * p->a2 + i3 * p->a3;
        const int8_t *pb = b + i0 * p->b0 + i1 * p->b1 + i2 * p->b2 + i3 * p->b3;
        for (int32_t i4 = 0; i4 < p->d4; ++i4) {
            *output++ = (int8_t)combine(p, pa[i4 * p->a4], pb[i4 * p->b4]);
        }
    }
}

void en_binary_f32(const en_binary_f32_params *p, const float *a, const float *b, float *output)
{
    for (int32_t i0 = 0; i0 < p->d0; ++i0)
    for (int32_t i1 = 0; i1 < p->d1; ++i1)
    for (int32_t i2 = 0; i2 < p->d2; ++i2)
    for (int32_t i3 = 0; i3 < p->d3; ++i3) {
        const float *pa = a + i0 * p->a0 + i1 * p->a1 + i2 * p->a2 + i3 * p->a3;
        const float *pb = b + i0 * p->b0 + i1 * p->b1 + i2 * p->b2 + i3 * p->b3;
        for (int32_t i4 = 0; i4 < p->d4; ++i4) {
            const float x = pa[i4 * p->a4], y = pb[i4 * p->b4];
            const float r = p->op == 0 ? x + y : (p->op == 1 ? x - y : x * y);
            *output++ = r < p->act_min ? p->act_min : (r > p->act_max ? p->act_max : r);
        }
    }
}

void en_binary_s16(const en_binary_s16_params *p, const int16_t *a, const int16_t *b, int16_t *output)
{
    for (int32_t i0 = 0; i0 < p->d0; ++i0)
    for (int32_t i1 = 0; i1 < p->d1; ++i1)
    for (int32_t i2 = 0; i2 < p->d2; ++i2)
    for (int32_t i3 = 0; i3 < p->d3; ++i3) {
        const int16_t *pa = a + i0 * p->a0 + i1 * p->a1 + i2 * p->a2 + i3 * p->a3;
        const int16_t *pb = b + i0 * p->b0 + i1 * p->b1 + i2 * p->b2 + i3 * p->b3;
        for (int32_t i4 = 0; i4 < p->d4; ++i4) {
            *output++ = (int16_t)combine(p, pa[i4 * p->a4], pb[i4 * p->b4]);
        }
    }
}
