/* The Armv7E-M DSP (SIMD32) operations the fast kernels use, one name each: the ACLE intrinsics
 * (arm_acle.h) on cores that have them (__ARM_FEATURE_DSP: Cortex-M4, M7, M33, M55), and the
 * same arithmetic in plain C elsewhere, so one kernel source builds for the host and is tested
 * there bit for bit against the numpy reference. Each C twin follows the instruction's definition
 * in the Armv7-M Architecture Reference Manual (SXTB16, SMLAD, SMLABB/SMLATT, PKHBT). */
#ifndef EN_SIMD_H
#define EN_SIMD_H

#include <stdint.h>
#include <string.h>

/* Four int8 values read from any address as one word (the compiler makes it one LDR where
 * unaligned loads are allowed, as on Cortex-M3 and later). */
static inline uint32_t en_read_s8x4(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Rotate right by 8: selects bytes 1 and 3 for SXTB16 (folded into `sxtb16 rd, rm, ror #8`). */
static inline uint32_t en_ror8(uint32_t x)
{
    return (x >> 8) | (x << 24);
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>

/* Bytes 0 and 2 sign-extended to the two halfwords. */
static inline uint32_t en_sxtb16(uint32_t x)
{
    return (uint32_t)__sxtb16((int32_t)x);
}

/* Bytes 1 and 3 sign-extended: one `sxtb16 rd, rm, ror #8` (gcc does not fold the rotation into
 * the intrinsic by itself, and a separate ROR costs an instruction per word). */
static inline uint32_t en_sxtb16_ror8(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

/* acc + lo(a) * lo(b) + hi(a) * hi(b), halfwords signed. */
static inline int32_t en_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    return __smlad((int32_t)a, (int32_t)b, acc);
}

#else

static inline uint32_t en_sxtb16(uint32_t x)
{
    const uint32_t lo = (uint32_t)(int32_t)(int8_t)(x & 0xFFu) & 0xFFFFu;
    const uint32_t hi = (uint32_t)(int32_t)(int8_t)((x >> 16) & 0xFFu) & 0xFFFFu;
    return lo | (hi << 16);
}

static inline uint32_t en_sxtb16_ror8(uint32_t x)
{
    return en_sxtb16(en_ror8(x));
}

static inline int32_t en_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    const int32_t lo = (int32_t)(int16_t)(a & 0xFFFFu) * (int32_t)(int16_t)(b & 0xFFFFu);
    const int32_t hi = (int32_t)(int16_t)(a >> 16) * (int32_t)(int16_t)(b >> 16);
    return (int32_t)((uint32_t)acc + (uint32_t)lo + (uint32_t)hi); /* modulo 2^32, as the instruction */
}

#endif

#endif
