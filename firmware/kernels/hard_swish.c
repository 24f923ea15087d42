/* HARD_SWISH on int8 in TFLite's 16-bit fixed point (gemmlowp int16 primitives).
 * Spec: edgeneuro/ops/hard_swish.py. Values are int16 held in int32_t. */
#include "hard_swish.h"

/* gemmlowp SaturatingRoundingDoublingHighMul<int16_t>. */
static int32_t srdhm16(int32_t a, int32_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    const int32_t ab = a * b;
    return (ab + (ab >= 0 ? (1 << 14) : (1 - (1 << 14)))) / (1 << 15);
}

/* TFLite SaturatingDoublingHighMul: (a * b) / 2^15 truncating toward zero. */
static int32_t sdhm16(int32_t a, int32_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    return (a * b) / (1 << 15);
}

/* gemmlowp RoundingDivideByPOT<int16_t>, 0 <= exponent <= 31: the mask (1 << exponent) - 1 is
 * truncated to int16, so it is -1 from exponent 16 on. */
static int32_t rdbpot16(int32_t x, int exponent)
{
    const int32_t mask = exponent <= 15 ? (int32_t)((1u << exponent) - 1u) : -1;
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite SaturatingLeftShift on an int16 value, 0 <= amount <= 30. */
static int32_t sat_shl16(int32_t x, int amount)
{
    const int64_t r = (int64_t)x * ((int64_t)1 << amount);
    return r > INT16_MAX ? INT16_MAX : (r < INT16_MIN ? INT16_MIN : (int32_t)r);
}

void en_hard_swish_s8(const en_hard_swish_s8_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t v = ((int32_t)input[i] - p->in_zp) * 128;
        const int32_t pre = srdhm16(v, p->out_mult);
        int32_t r = v;
        if (p->rel_exp > 0) {
            r = sat_shl16(r, p->rel_exp - 1);
        }
        r = srdhm16(r, p->rel_mult);
        if (p->rel_exp > 0) {
            r = sat_shl16(r, 1);
        }
        if (p->rel_exp < 0) {
            r = rdbpot16(r, -p->rel_exp);
        }
        r = (r + (1 << 15)) >> 1;
        const int32_t y = rdbpot16(sdhm16(r, pre), -p->out_exp) + p->out_zp;
        output[i] = (int8_t)(y < -128 ? -128 : (y > 127 ? 127 : y));
    }
}
