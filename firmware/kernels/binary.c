/* ADD, SUB and MUL with broadcasting: int8, int16 (16x8) and float32. Spec: edgeneuro/ops/binary.py. */
#include "binary.h"

#include "en_fixedpoint.h"

/* The loop nest of all three kernels: output element i combines a[i'] and b[i''], the inputs
 * indexed through their (broadcast) strides. */
#define EN_BINARY_LOOPS(T, OUT)                                                    \
    for (int32_t i0 = 0; i0 < p->d0; ++i0)                                        \
    for (int32_t i1 = 0; i1 < p->d1; ++i1)                                        \
    for (int32_t i2 = 0; i2 < p->d2; ++i2)                                        \
    for (int32_t i3 = 0; i3 < p->d3; ++i3) {                                      \
        const T *pa = a + i0 * p->a0 + i1 * p->a1 + i2 * p->a2 + i3 * p->a3;      \
        const T *pb = b + i0 * p->b0 + i1 * p->b1 + i2 * p->b2 + i3 * p->b3;      \
        for (int32_t i4 = 0; i4 < p->d4; ++i4) {                                  \
            *output++ = OUT(pa[i4 * p->a4], pb[i4 * p->b4]);                      \
        }                                                                         \
    }

/* The quantized arithmetic shared by int8 and int16. */
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
#define OUT(x, y) ((int8_t)combine(p, x, y))
    EN_BINARY_LOOPS(int8_t, OUT)
#undef OUT
}

void en_binary_s16(const en_binary_s16_params *p, const int16_t *a, const int16_t *b, int16_t *output)
{
#define OUT(x, y) ((int16_t)combine(p, x, y))
    EN_BINARY_LOOPS(int16_t, OUT)
#undef OUT
}

static float combine_f32(const en_binary_f32_params *p, float x, float y)
{
    return en_clampf(p->op == 0 ? x + y : (p->op == 1 ? x - y : x * y), p->act_min, p->act_max);
}

void en_binary_f32(const en_binary_f32_params *p, const float *a, const float *b, float *output)
{
#define OUT(x, y) combine_f32(p, x, y)
    EN_BINARY_LOOPS(float, OUT)
#undef OUT
}
