/* Reading TFLite INT4 weights, two a byte (edgeneuro/ir/quant.py unpack_int4): value i of the
 * flat tensor is the low nibble of byte i / 2 when i is even, the high nibble when it is odd,
 * two's complement in [-8, 7]. */
#ifndef EN_INT4_H
#define EN_INT4_H

#include <stdint.h>

#include "en_fixedpoint.h"
#include "en_simd.h"

/* Value i of the packed array: the nibble moved to the top of a byte, then an arithmetic shift
 * right by 4 sign-extends it. */
static inline int32_t en_s4_at(const uint8_t *packed, int32_t i)
{
    const uint32_t byte = packed[i >> 1];
    return (int32_t)(int8_t)(uint8_t)(byte << (4 - 4 * (i & 1))) >> 4;
}

/* sum over j < n of (in[j] - zp) * value (at + j) of the packed array: the values two a byte, a
 * leading or trailing odd one alone. */
static inline int32_t en_s4_dot(const int8_t *in, const uint8_t *packed, int32_t at, int32_t n, int32_t zp)
{
    int32_t acc = 0, j = 0;
    if ((at & 1) && n > 0) {
        acc += ((int32_t)in[0] - zp) * en_s4_at(packed, at);
        j = 1;
    }
    const uint8_t *w = packed + ((at + j) >> 1);
    for (; j + 1 < n; j += 2) {
        const uint32_t b = *w++;
        acc += ((int32_t)in[j] - zp) * ((int32_t)(int8_t)(uint8_t)(b << 4) >> 4);
        acc += ((int32_t)in[j + 1] - zp) * ((int32_t)(int8_t)(uint8_t)b >> 4);
    }
    if (j < n) {
        acc += ((int32_t)in[j] - zp) * en_s4_at(packed, at + j);
    }
    return acc;
}

/* The DSP kernels' weights (fully_connected_s4.h "row pairs"): one word holds 4 consecutive
 * weights of two rows, the even row's in the low nibbles and the odd row's in the high nibbles of
 * the 4 bytes. Masked in place and shifted up by 4, the nibbles become 16 times the weights as
 * bytes, which SXTB16 widens next to the 4 inputs' (0, 2) and (1, 3) halves: two SMLAD a row. */
#define EN_S4_MASK 0xF0F0F0F0u

/* (word << 4) & mask: one `and rd, mask, word, lsl #4` with the mask held in a register (gcc
 * otherwise shifts, then ands with the immediate). */
static inline uint32_t en_s4_low(uint32_t mask, uint32_t word)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    uint32_t r;
    __asm__("and %0, %1, %2, lsl #4" : "=r"(r) : "r"(mask), "r"(word));
    return r;
#else
    return (word << 4) & mask;
#endif
}

static inline void en_s4_pair(uint32_t mask, uint32_t word, uint32_t x02, uint32_t x13, int32_t *even, int32_t *odd)
{
    const uint32_t lo = en_s4_low(mask, word), hi = word & mask;
    *even = en_smlad(en_sxtb16_ror8(lo), x13, en_smlad(en_sxtb16(lo), x02, *even));
    *odd = en_smlad(en_sxtb16_ror8(hi), x13, en_smlad(en_sxtb16(hi), x02, *odd));
}

/* The last depth % 4 inputs of a row pair (its tail word), 16 times the products like en_s4_pair. */
static inline void en_s4_pair_tail(uint32_t word, const int8_t *in, int32_t tail, int32_t *even, int32_t *odd)
{
    for (int32_t j = 0; j < tail; ++j, word >>= 8) {
        const int32_t x = in[j];
        *even += x * (int32_t)(int8_t)(uint8_t)(word << 4);
        *odd += x * (int32_t)(int8_t)(uint8_t)(word & 0xF0u);
    }
}

/* acc[0..3] += 16 times the dot products of 4 rows (two pairs, their words interleaved: pair 0,
 * pair 1 for each 4 inputs) with the n inputs at `in` (n % 4 == 0); returns the words after them. */
static inline const uint32_t *en_s4_rows4_add(const uint32_t *w, const int8_t *in, int32_t n, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    uint32_t mask = EN_S4_MASK;
    const int8_t *x = in, *end = in + n;
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    /* en_s4_pair twice as one block of 24 instructions (gcc spills or rematerializes the mask),
     * two blocks a loop step; the mask is "+r" so that it stays in its register across the loop
     * rather than being rebuilt every step. */
    uint32_t v, x02, w0, w1, t, t2;
#define EN_S4_ROWS4_STEP \
    __asm__ volatile( \
            "ldr %[v], [%[x]], #4\n\t" \
            "ldrd %[w0], %[w1], [%[w]], #8\n\t" \
            "sxtb16 %[x02], %[v]\n\t" \
            "sxtb16 %[v], %[v], ror #8\n\t" \
            "and %[t], %[m], %[w0], lsl #4\n\t" \
            "and %[w0], %[w0], %[m]\n\t" \
            "sxtb16 %[t2], %[t]\n\t" \
            "smlad %[a0], %[t2], %[x02], %[a0]\n\t" \
            "sxtb16 %[t], %[t], ror #8\n\t" \
            "smlad %[a0], %[t], %[v], %[a0]\n\t" \
            "sxtb16 %[t2], %[w0]\n\t" \
            "smlad %[a1], %[t2], %[x02], %[a1]\n\t" \
            "sxtb16 %[w0], %[w0], ror #8\n\t" \
            "smlad %[a1], %[w0], %[v], %[a1]\n\t" \
            "and %[t], %[m], %[w1], lsl #4\n\t" \
            "and %[w1], %[w1], %[m]\n\t" \
            "sxtb16 %[t2], %[t]\n\t" \
            "smlad %[a2], %[t2], %[x02], %[a2]\n\t" \
            "sxtb16 %[t], %[t], ror #8\n\t" \
            "smlad %[a2], %[t], %[v], %[a2]\n\t" \
            "sxtb16 %[t2], %[w1]\n\t" \
            "smlad %[a3], %[t2], %[x02], %[a3]\n\t" \
            "sxtb16 %[w1], %[w1], ror #8\n\t" \
            "smlad %[a3], %[w1], %[v], %[a3]" \
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(w), [v] "=&r"(v), \
              [x02] "=&r"(x02), [w0] "=&r"(w0), [w1] "=&r"(w1), [t] "=&r"(t), [t2] "=&r"(t2), \
              [m] "+r"(mask) \
            : \
            : "memory");
    for (const int8_t *end8 = in + (n & ~7); x < end8;) {
        EN_S4_ROWS4_STEP
        EN_S4_ROWS4_STEP
    }
    if (x < end) {
        EN_S4_ROWS4_STEP
    }
#undef EN_S4_ROWS4_STEP
#else
    for (; x < end; x += 4, w += 2) {
        const uint32_t v = en_read_s8x4(x), x02 = en_sxtb16(v), x13 = en_sxtb16_ror8(v);
        en_s4_pair(mask, w[0], x02, x13, &a0, &a1);
        en_s4_pair(mask, w[1], x02, x13, &a2, &a3);
    }
#endif
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
    return w;
}

/* The same for one pair of rows (the last units % 4 rows, an odd one paired with zeros). */
static inline const uint32_t *en_s4_rows2_add(const uint32_t *w, const int8_t *in, int32_t n, int32_t acc[2])
{
    int32_t a0 = acc[0], a1 = acc[1];
    for (const int8_t *x = in, *end = in + n; x < end; x += 4) {
        const uint32_t v = en_read_s8x4(x);
        en_s4_pair(EN_S4_MASK, *w++, en_sxtb16(v), en_sxtb16_ror8(v), &a0, &a1);
    }
    acc[0] = a0, acc[1] = a1;
    return w;
}

/* 16 times the dot products of 4 rows with `depth` raw inputs, their last depth % 4 weights in one
 * tail word a pair after the others; returns the words after the block. */
static inline const uint32_t *en_s4_rows4(const uint32_t *w, const int8_t *in, int32_t depth, int32_t acc[4])
{
    acc[0] = acc[1] = acc[2] = acc[3] = 0;
    w = en_s4_rows4_add(w, in, depth & ~3, acc);
    if (depth & 3) {
        en_s4_pair_tail(w[0], in + (depth & ~3), depth & 3, &acc[0], &acc[1]);
        en_s4_pair_tail(w[1], in + (depth & ~3), depth & 3, &acc[2], &acc[3]);
        w += 2;
    }
    return w;
}

/* The same for one pair of rows. */
static inline const uint32_t *en_s4_rows2(const uint32_t *w, const int8_t *in, int32_t depth, int32_t acc[2])
{
    acc[0] = acc[1] = 0;
    w = en_s4_rows2_add(w, in, depth & ~3, acc);
    if (depth & 3) {
        en_s4_pair_tail(*w++, in + (depth & ~3), depth & 3, &acc[0], &acc[1]);
    }
    return w;
}

/* The int8 output of the DSP kernels' 16 times accumulator, from the channel's fields
 * (edgeneuro/ops/conv2d.py channel_fields: bias with the input zero point folded in, mult, offset,
 * right): with `fast` the short form (SMMLAR of 2 * acc, the sign, the shift), else the spec's
 * arithmetic (mult, shift = -right), then the activation's clamp. */
static inline int8_t en_s4_out(int32_t acc16, const int32_t *f, int32_t fast, int32_t out_zp, int32_t lo, int32_t hi)
{
    const int32_t acc = (acc16 >> 4) + f[0]; /* acc16 is exactly 16 times the sum */
    const int32_t y = fast ? (en_smmlar(2 * acc, f[1], f[2]) + (acc < 0 ? -1 : 0)) >> f[3]
                           : en_requant(acc, f[1], -f[3]) + out_zp;
    return en_clamp_s8(y, lo, hi);
}

#endif
