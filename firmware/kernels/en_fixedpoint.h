/* The integer requantization arithmetic of TFLite / gemmlowp (double rounding), see
 * edgeneuro/ir/quant.py for the same rules in numpy. */
#ifndef EN_FIXEDPOINT_H
#define EN_FIXEDPOINT_H

#include <stdint.h>

/* SaturatingRoundingDoublingHighMul: round(a * b / 2^31), saturating the one overflow case. */
static inline int32_t en_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t s = ab + (ab >= 0 ? (INT64_C(1) << 30) : (1 - (INT64_C(1) << 30)));
    /* Division by 2^31 truncating toward zero, without a 64-bit divide. */
    return (int32_t)(s >= 0 ? (s >> 31) : -((-s) >> 31));
}

/* RoundingDivideByPOT: x / 2^exponent rounded half away from zero. */
static inline int32_t en_rdbpot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)((INT64_C(1) << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* MultiplyByQuantizedMultiplier: x * mult * 2^(shift - 31), double rounding. */
static inline int32_t en_requant(int32_t x, int32_t mult, int32_t shift)
{
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    return en_rdbpot(en_srdhm(x * (int32_t)(1u << left), mult), right);
}

/* MultiplyByQuantizedMultiplier for the int64 accumulators of the 16x8 kernels: the multiplier
 * reduced to 16 bits, then one rounding shift. */
static inline int32_t en_requant64(int64_t x, int32_t mult, int32_t shift)
{
    const int64_t reduced = mult < 0x7FFF0000 ? ((mult + (1 << 15)) >> 16) : 0x7FFF;
    const int total = 15 - shift;
    return (int32_t)((x * reduced + ((int64_t)1 << (total - 1))) >> total);
}

static inline int16_t en_clamp_s16(int32_t v, int32_t lo, int32_t hi)
{
    return (int16_t)(v < lo ? lo : (v > hi ? hi : v));
}

static inline float en_clampf(float v, float lo, float hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

static inline int8_t en_clamp_s8(int32_t v, int32_t lo, int32_t hi)
{
    return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}

#endif
