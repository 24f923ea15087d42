/* The Armv7E-M DSP (SIMD32) operations the fast kernels use, one name each: the ACLE intrinsics
 * (arm_acle.h) on cores that have them (__ARM_FEATURE_DSP: Cortex-M4, M7, M33, M55), and the
 * same arithmetic in plain C elsewhere, so one kernel source builds for the host and is tested
 * there bit for bit against the numpy reference. Each C twin follows the instruction's definition
 * in the Armv7-M Architecture Reference Manual (SXTB16, SMLAD, SMLABB/SMLATT, PKHBT, SMMLAR, SSAT). */
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

/* x saturated to int8's range [-128, 127]: one SSAT (the builtin: see EN_SSAT). */
static inline int32_t en_ssat8(int32_t x)
{
    return (int32_t)__builtin_arm_ssat(x, 8);
}

/* The low halfword of lo and the low halfword of hi above it: one `pkhbt rd, lo, hi, lsl #16`. */
static inline uint32_t en_pkhbt(uint32_t lo, uint32_t hi)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi));
    return r;
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

static inline int32_t en_ssat8(int32_t x)
{
    return x < -128 ? -128 : (x > 127 ? 127 : x);
}

static inline uint32_t en_pkhbt(uint32_t lo, uint32_t hi)
{
    return (lo & 0xFFFFu) | (hi << 16);
}

#endif

/* Halfword multiply-accumulates, a rounded high multiply-accumulate and per-byte max/min
 * (depthwise_conv2d_dsp.c). */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP

/* acc + lo(a) * lo(b), halfwords signed (SMLABB). */
static inline int32_t en_smlabb(uint32_t a, uint32_t b, int32_t acc)
{
    return __smlabb((int32_t)a, (int32_t)b, acc);
}

/* acc + hi(a) * hi(b), halfwords signed (SMLATT). */
static inline int32_t en_smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    return __smlatt((int32_t)a, (int32_t)b, acc);
}

/* The high word of acc * 2^32 + a * b + 2^31: a rounded high multiply plus acc (SMMLAR). */
static inline int32_t en_smmlar(int32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* Per byte, signed: max(a, b) (SSUB8 sets GE where a >= b, SEL takes a there and b elsewhere). */
static inline uint32_t en_max_s8x4(uint32_t a, uint32_t b)
{
    uint32_t r, t;
    __asm__("ssub8 %1, %2, %3\n\tsel %0, %2, %3" : "=r"(r), "=&r"(t) : "r"(a), "r"(b) : "cc");
    return r;
}

/* Per byte, signed: min(a, b) (SSUB8, then SEL takes b where a >= b). */
static inline uint32_t en_min_s8x4(uint32_t a, uint32_t b)
{
    uint32_t r, t;
    __asm__("ssub8 %1, %2, %3\n\tsel %0, %3, %2" : "=r"(r), "=&r"(t) : "r"(a), "r"(b) : "cc");
    return r;
}

#else

static inline int32_t en_smlabb(uint32_t a, uint32_t b, int32_t acc)
{
    const int32_t prod = (int32_t)(int16_t)(a & 0xFFFFu) * (int32_t)(int16_t)(b & 0xFFFFu);
    return (int32_t)((uint32_t)acc + (uint32_t)prod); /* modulo 2^32, as the instruction */
}

static inline int32_t en_smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    const int32_t prod = (int32_t)(int16_t)(a >> 16) * (int32_t)(int16_t)(b >> 16);
    return (int32_t)((uint32_t)acc + (uint32_t)prod);
}

static inline int32_t en_smmlar(int32_t a, int32_t b, int32_t acc)
{
    const uint64_t sum = ((uint64_t)(uint32_t)acc << 32) + (uint64_t)((int64_t)a * (int64_t)b) + 0x80000000u;
    return (int32_t)(uint32_t)(sum >> 32); /* bits 63:32 of the 64-bit sum, modulo 2^64 */
}

static inline uint32_t en_max_s8x4(uint32_t a, uint32_t b)
{
    uint32_t r = 0;
    for (int i = 0; i < 32; i += 8) {
        const int8_t x = (int8_t)(a >> i), y = (int8_t)(b >> i);
        r |= (uint32_t)(uint8_t)(x >= y ? x : y) << i;
    }
    return r;
}

static inline uint32_t en_min_s8x4(uint32_t a, uint32_t b)
{
    uint32_t r = 0;
    for (int i = 0; i < 32; i += 8) {
        const int8_t x = (int8_t)(a >> i), y = (int8_t)(b >> i);
        r |= (uint32_t)(uint8_t)(x >= y ? y : x) << i;
    }
    return r;
}

#endif

/* x saturated to the signed range of n bits, [-2^(n-1), 2^(n-1) - 1], n a constant: one SSAT
 * (lstm_dsp.c). */
static inline int32_t en_ssat_c(int32_t x, int n)
{
    const int32_t hi = (int32_t)((1u << (n - 1)) - 1u), lo = -hi - 1;
    return x < lo ? lo : (x > hi ? hi : x);
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* Not arm_acle.h's __ssat: it assigns __builtin_arm_ssat, which gcc declares as returning unsigned
 * int, to an int32_t, a -Wsign-conversion warning at every use. The builtin with its result cast
 * back is the same instruction and the same bits. */
#define EN_SSAT(x, n) ((int32_t)__builtin_arm_ssat((x), (n)))
#else
#define EN_SSAT(x, n) en_ssat_c((x), (n))
#endif

/* Two words from the word-aligned *p in one LDRD, *p advanced past them (gcc splits 64-bit loads
 * whose halves are used apart into two LDR). */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
typedef struct {
    uint32_t w[2];
} __attribute__((may_alias)) en_u32x2; /* the two words, for the compiler: what the LDRD reads */

static inline void en_ldrd_next(const uint32_t **p, uint32_t *w0, uint32_t *w1)
{
    const uint32_t *q = *p;
    uint32_t a, b;
    __asm__("ldrd %0, %1, [%2], #8" : "=r"(a), "=r"(b), "+r"(q) : "m"(*(const en_u32x2 *)q));
    *p = q;
    *w0 = a;
    *w1 = b;
}
#else
static inline void en_ldrd_next(const uint32_t **p, uint32_t *w0, uint32_t *w1)
{
    memcpy(w0, *p, sizeof *w0);
    memcpy(w1, *p + 1, sizeof *w1);
    *p += 2;
}
#endif

/* Halfword sums of sign-extended bytes (SXTAB16): acc's two halfwords plus bytes 0 and 2 of x
 * (en_sxtab16), or bytes 1 and 3 (en_sxtab16_ror8), each halfword modulo 2^16. */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
static inline uint32_t en_sxtab16(uint32_t acc, uint32_t x)
{
    return (uint32_t)__sxtab16((int32_t)acc, (int32_t)x);
}

static inline uint32_t en_sxtab16_ror8(uint32_t acc, uint32_t x)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
    return r;
}
#else
static inline uint32_t en_sxtab16(uint32_t acc, uint32_t x)
{
    /* in uint16_t: gcc's -Wsign-conversion misreads (acc + (uint32_t)(int8_t)b) & 0xFFFFu, which gcc
     * narrows to these same halfword sums (the Cortex-M3 code is the same) */
    const uint32_t lo = (uint16_t)((uint16_t)acc + (uint16_t)(int8_t)(x & 0xFFu));
    const uint32_t hi = (uint16_t)((uint16_t)(acc >> 16) + (uint16_t)(int8_t)((x >> 16) & 0xFFu));
    return lo | (hi << 16);
}

static inline uint32_t en_sxtab16_ror8(uint32_t acc, uint32_t x)
{
    return en_sxtab16(acc, en_ror8(x));
}
#endif

#endif
