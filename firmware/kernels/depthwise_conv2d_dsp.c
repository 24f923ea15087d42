/* DEPTHWISE_CONV_2D int8 (depth multiplier 1) with SIMD32. Spec: edgeneuro/ops/depthwise_conv2d.py.
 *
 * The input rows a window needs are kept in a ring in scratch memory, sign-extended once: per group
 * of 4 channels and column, the words SXTB16(x) = (c0, c2) and SXTB16(x ror 8) = (c1, c3). The
 * padding around the image is stored as the input zero point, and the bias holds
 * -in_zp * sum(w), so a padding tap adds in_zp * w - in_zp * w = 0, as in the portable kernel,
 * and border pixels take the same path as the others. A tap of 4 channels is then two LDRD and
 * four SMLABB / SMLATT.
 *
 * Weights and bias are doubled at compile time, so the accumulator is 2 * acc and the rounding
 * doubling high multiply is one SMMLAR: SRDHM(acc, m) = floor((acc * m + 2^30) / 2^31) =
 * floor((2 acc * m + 2^31) / 2^32). The rounding right shift by e (half away from zero) is
 * (x + 2^(e-1) - (x < 0)) >> e, where x < 0 can be read as acc < 0 (m > 0: x has acc's sign or
 * is 0, and then both give 0 for e >= 1); SMMLAR adds rc = 2^(e-1) + out_zp * 2^e, so the output
 * zero point comes out of the same shift. Layers where some channel has e < 1 or rc out of range
 * (the compiler decides: params.fast) take the portable en_requant on acc.
 *
 * In place: the ring is the only thing the window taps read, and the rows of output row oy's
 * window enter it before that row is computed, so the output may be the input's own bytes where
 * every input row enters the ring no later than the output row over it is written (same shapes;
 * stride 1 SAME among others: dsp_inplace in the spec decides, and declares Kernel.inplace). */
#include "depthwise_conv2d_dsp.h"

#include <string.h>

#include "en_fixedpoint.h"
#include "en_simd.h"

typedef en_depthwise_conv2d_s8_dsp_params en_dw_params;

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* lo, hi = the two words at base + OFF bytes, base + OFF word-aligned: one LDRD (gcc splits
 * 64-bit loads on Cortex-M). OFF: a literal, a multiple of 4 in [-1020, 1020]. The asm names no
 * memory: it is volatile, so it stays in its place in the loop, and it reads only memory written
 * before the function that uses it was called (the ring and the constants, in the noinline
 * en_dw_row3x3 functions). */
#define EN_DW_LDRD(lo, hi, base, OFF) __asm__ volatile("ldrd %0, %1, [%2, #" #OFF "]" : "=r"(lo), "=r"(hi) : "r"(base))
/* The same at `in`, offset 0, naming the 8 bytes it reads: the input, which an output written in
 * place overwrites later in the same call. */
#define EN_DW_LDRD_IN(lo, hi, in) \
    __asm__ volatile("ldrd %0, %1, [%2]" : "=r"(lo), "=r"(hi) : "r"(in), "m"(*(const en_u32x2 *)(const void *)(in)))
/* No memory access moves across it: the ring rows read from the input stay before the output
 * written after. */
#define EN_DW_BARRIER() __asm__ volatile("" ::: "memory")
/* The same at base, then base += STEP bytes (post-indexed). */
#define EN_DW_LDRD_POST(lo, hi, base, STEP) \
    __asm__ volatile("ldrd %0, %1, [%2], #" #STEP : "=r"(lo), "=r"(hi), "+r"(base))
/* base[0], base[1] = lo, hi, then base += 8 bytes: one STRD. */
#define EN_DW_STRD_POST(lo, hi, base) \
    __asm__ volatile("strd %1, %2, [%0], #8" : "+r"(base) : "r"(lo), "r"(hi) : "memory")

/* Bytes 0 of y0..y3 as one word: three BFI. */
static inline uint32_t en_dw_pack4(int32_t y0, int32_t y1, int32_t y2, int32_t y3)
{
    uint32_t v = (uint32_t)y0;
    __asm__("bfi %0, %1, #8, #8" : "+r"(v) : "r"(y1));
    __asm__("bfi %0, %1, #16, #8" : "+r"(v) : "r"(y2));
    __asm__("bfi %0, %1, #24, #8" : "+r"(v) : "r"(y3));
    return v;
}
#else
/* lo and hi are int32_t or uint32_t: each takes the word's bits, as from the LDRD (cast, not through
 * a memcpy of its own, which changes the code gcc makes for the M3). */
#define EN_DW_LDRD(lo, hi, base, OFF)                                     \
    do {                                                                  \
        uint32_t pair_[2];                                                \
        memcpy(pair_, (const uint8_t *)(base) + (OFF), sizeof pair_);     \
        (lo) = (__typeof__(lo))pair_[0];                                  \
        (hi) = (__typeof__(hi))pair_[1];                                  \
    } while (0)
#define EN_DW_LDRD_POST(lo, hi, base, STEP)                                      \
    do {                                                                         \
        EN_DW_LDRD(lo, hi, base, 0);                                             \
        (base) = (const uint32_t *)(const void *)((const uint8_t *)(base) + (STEP)); \
    } while (0)
#define EN_DW_LDRD_IN(lo, hi, in) EN_DW_LDRD(lo, hi, in, 0)
#define EN_DW_BARRIER() ((void)0) /* plain C orders the accesses itself */
#define EN_DW_STRD_POST(lo, hi, base) \
    do {                              \
        (base)[0] = (lo);             \
        (base)[1] = (hi);             \
        (base) += 2;                  \
    } while (0)

static inline uint32_t en_dw_pack4(int32_t y0, int32_t y1, int32_t y2, int32_t y3)
{
    return ((uint32_t)y0 & 0xFFu) | ((uint32_t)y1 & 0xFFu) << 8 | ((uint32_t)y2 & 0xFFu) << 16 | (uint32_t)y3 << 24;
}
#endif

/* The padding columns of the ring in_zp, for good (en_dw_fill writes only the image columns). */
static void en_dw_fill_pad(const en_dw_params *p, uint32_t *s)
{
    const uint32_t zp = ((uint32_t)p->in_zp & 0xFFFFu) * 0x00010001u;
    const int32_t rw = p->row_w, left = p->pad_w < rw ? p->pad_w : rw;
    const int32_t mid = p->in_w < rw - left ? p->in_w : rw - left, right = rw - left - mid;
    for (int32_t n = p->ring_rows * p->groups; n > 0; --n) {
        for (int32_t i = left; i > 0; --i) {
            EN_DW_STRD_POST(zp, zp, s);
        }
        s += 2 * mid;
        for (int32_t i = right; i > 0; --i) {
            EN_DW_STRD_POST(zp, zp, s);
        }
    }
}

/* The image columns of one input row (NULL: a padding row, in_zp) sign-extended into its slot. */
static void en_dw_fill(const en_dw_params *p, uint32_t *slot, const int8_t *row)
{
    const int32_t c = p->in_c, rw2 = p->row_w * 2, full = c >> 2, left = p->pad_w < p->row_w ? p->pad_w : p->row_w;
    const int32_t mid = p->in_w < p->row_w - left ? p->in_w : p->row_w - left; /* >= 0 */
    slot += 2 * left;
    if (row == NULL) {
        const uint32_t zp = ((uint32_t)p->in_zp & 0xFFFFu) * 0x00010001u;
        for (int32_t g = 0; g < p->groups; ++g) {
            uint32_t *s = slot + g * rw2;
            for (int32_t i = mid; i > 0; --i) {
                EN_DW_STRD_POST(zp, zp, s);
            }
        }
        return;
    }
    int32_t g = 0;
    if (((uintptr_t)row & 3) == 0 && (c & 3) == 0) { /* word-aligned: two groups a load (LDRD) */
        for (; g + 2 <= full; g += 2) {
            uint32_t *s0 = slot + g * rw2, *s1 = s0 + rw2;
            const int8_t *in = row + 4 * g;
            for (int32_t i = mid; i > 0; --i, in += c) {
                uint32_t x0, x1;
                EN_DW_LDRD_IN(x0, x1, in);
                EN_DW_STRD_POST(en_sxtb16(x0), en_sxtb16_ror8(x0), s0);
                EN_DW_STRD_POST(en_sxtb16(x1), en_sxtb16_ror8(x1), s1);
            }
        }
    }
    for (; g < full; ++g) { /* two columns a step */
        uint32_t *s = slot + g * rw2;
        const int8_t *in = row + 4 * g;
        for (int32_t i = mid >> 1; i > 0; --i) {
            const uint32_t x0 = en_read_s8x4(in), x1 = en_read_s8x4(in + c);
            in += 2 * c;
            EN_DW_STRD_POST(en_sxtb16(x0), en_sxtb16_ror8(x0), s);
            EN_DW_STRD_POST(en_sxtb16(x1), en_sxtb16_ror8(x1), s);
        }
        if (mid & 1) {
            const uint32_t x = en_read_s8x4(in);
            EN_DW_STRD_POST(en_sxtb16(x), en_sxtb16_ror8(x), s);
        }
    }
    if (c & 3) { /* the last in_c % 4 channels; the others read as 0 (their weights are 0) */
        uint32_t *s = slot + full * rw2;
        const int8_t *in = row + 4 * full;
        for (int32_t i = 0; i < mid; ++i, in += c) {
            uint32_t x = 0;
            for (int32_t j = 0; j < (c & 3); ++j) {
                x |= (uint32_t)(uint8_t)in[j] << (8 * j);
            }
            EN_DW_STRD_POST(en_sxtb16(x), en_sxtb16_ror8(x), s);
        }
    }
}

/* acc0..acc3 += one tap of 4 channels: xe, xo the ring's words, we, wo the weights'. */
#define EN_DW_MAC(xe, xo, we, wo)         \
    do {                                  \
        acc0 = en_smlabb(xe, we, acc0);   \
        acc2 = en_smlatt(xe, we, acc2);   \
        acc1 = en_smlabb(xo, wo, acc1);   \
        acc3 = en_smlatt(xo, wo, acc3);   \
    } while (0)

/* The same from memory: x and w point to two words each. */
#define EN_DW_TAP(x, w) EN_DW_MAC((x)[0], (x)[1], (w)[0], (w)[1])

/* The short requantization (params.fast) of 2 * acc, saturated to int8. */
static inline int32_t en_dw_fast(int32_t acc2, int32_t mult, int32_t rc, int32_t e)
{
    return en_ssat8((en_smmlar(acc2, mult, rc) + (acc2 >> 31)) >> e);
}

/* One ring row of a 3x3 window: taps at columns 0, 1, 2 of r (advanced by STEP bytes, one output
 * pixel), weights at w + WOFF bytes. */
#define EN_DW_ROW3(r, WOFF, STEP, OFF1, OFF2)       \
    do {                                            \
        uint32_t xe, xo, we, wo;                    \
        EN_DW_LDRD_POST(xe, xo, r, STEP);           \
        EN_DW_LDRD(we, wo, w, WOFF);                \
        EN_DW_MAC(xe, xo, we, wo);                  \
        EN_DW_LDRD(xe, xo, r, OFF1);                \
        EN_DW_LDRD(we, wo, w, WOFF + 8);            \
        EN_DW_MAC(xe, xo, we, wo);                  \
        EN_DW_LDRD(xe, xo, r, OFF2);                \
        EN_DW_LDRD(we, wo, w, WOFF + 16);           \
        EN_DW_MAC(xe, xo, we, wo);                  \
    } while (0)

/* 3x3 windows with dil_w 1 and the fast requantization, the groups of 4 channels of one output
 * row: NAME for stride_w STEP / 8 (OFF1, OFF2 = 8 - STEP, 16 - STEP), CLAMP: act_min / act_max
 * narrower than int8. r0..r2: the ring rows of the window. A group's constants (the block of
 * depthwise_conv2d_dsp.h) are at fixed offsets: weights 0..71, bias 72, (mult, rc) 88, e 120. */
#define EN_DW_DEFINE_ROW3X3(NAME, STEP, OFF1, OFF2, CLAMP)                                                  \
    static __attribute__((noinline)) void NAME(const en_dw_params *p, const uint32_t *r0, const uint32_t *r1,   \
                                               const uint32_t *r2, const int32_t *k, int8_t *out)          \
    {                                                                                                       \
        const int32_t c = p->in_c, ow = p->out_w;                                                           \
        const int32_t skip = p->row_w * 2 - ow * (STEP / 4), back = ow * c - 4; /* to the next group */    \
        const uint32_t lo4 = ((uint32_t)p->act_min & 0xFFu) * 0x01010101u;                                  \
        const uint32_t hi4 = ((uint32_t)p->act_max & 0xFFu) * 0x01010101u;                                  \
        (void)lo4;                                                                                          \
        (void)hi4;                                                                                          \
        const uint32_t *a = r0, *b = r1, *d = r2;                                                           \
        int8_t *o = out;                                                                                    \
        for (int32_t g = c >> 2; g > 0; --g, k += 18 + 16, a += skip, b += skip, d += skip, o -= back) {    \
            const int32_t *w = k;                                                                           \
            for (int32_t ox = ow; ox > 0; --ox, o += c) {                                                   \
                int32_t acc0, acc1, acc2, acc3, m, rc, e0, e1;                                              \
                EN_DW_LDRD(acc0, acc1, w, 72);                                                              \
                EN_DW_LDRD(acc2, acc3, w, 80);                                                              \
                EN_DW_ROW3(a, 0, STEP, OFF1, OFF2);                                                         \
                EN_DW_ROW3(b, 24, STEP, OFF1, OFF2);                                                        \
                EN_DW_ROW3(d, 48, STEP, OFF1, OFF2);                                                        \
                EN_DW_LDRD(e0, e1, w, 120);                                                                 \
                EN_DW_LDRD(m, rc, w, 88);                                                                   \
                const int32_t y0 = en_dw_fast(acc0, m, rc, e0);                                             \
                EN_DW_LDRD(m, rc, w, 96);                                                                   \
                const int32_t y1 = en_dw_fast(acc1, m, rc, e1);                                             \
                EN_DW_LDRD(e0, e1, w, 128);                                                                 \
                EN_DW_LDRD(m, rc, w, 104);                                                                  \
                const int32_t y2 = en_dw_fast(acc2, m, rc, e0);                                             \
                EN_DW_LDRD(m, rc, w, 112);                                                                  \
                const int32_t y3 = en_dw_fast(acc3, m, rc, e1);                                             \
                uint32_t v = en_dw_pack4(y0, y1, y2, y3);                                                   \
                if (CLAMP) {                                                                                \
                    v = en_min_s8x4(en_max_s8x4(v, lo4), hi4);                                              \
                }                                                                                           \
                memcpy(o, &v, sizeof v);                                                                    \
            }                                                                                               \
        }                                                                                                   \
    }

EN_DW_DEFINE_ROW3X3(en_dw_row3x3_s1, 8, 0, 8, 0)
EN_DW_DEFINE_ROW3X3(en_dw_row3x3_s1_clamp, 8, 0, 8, 1)
EN_DW_DEFINE_ROW3X3(en_dw_row3x3_s2, 16, -8, 0, 0)
EN_DW_DEFINE_ROW3X3(en_dw_row3x3_s2_clamp, 16, -8, 0, 1)

/* Any window, the groups g0.. of one output row, either requantization. s0: the ring slot of the
 * window's first row. */
static void en_dw_row_any(const en_dw_params *p, const uint32_t *ring, int32_t s0, const int32_t *consts, int32_t g0,
                          int8_t *out)
{
    const int32_t taps = p->k_h * p->k_w, rw2 = p->row_w * 2, slot = p->groups * rw2;
    const int32_t c = p->in_c, step = 2 * p->stride_w, dw2 = 2 * p->dil_w;
    for (int32_t g = g0; g < p->groups; ++g) {
        const int32_t *k = consts + g * (2 * taps + 16);
        const int32_t *q = k + 2 * taps;
        const int32_t n = c - 4 * g < 4 ? c - 4 * g : 4;
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            int32_t acc0 = q[0], acc1 = q[1], acc2 = q[2], acc3 = q[3];
            const uint32_t *w = (const uint32_t *)k;
            int32_t s = s0;
            for (int32_t ky = 0; ky < p->k_h; ++ky) {
                const uint32_t *x = ring + s * slot + g * rw2 + ox * step;
                for (int32_t kx = 0; kx < p->k_w; ++kx, x += dw2, w += 2) {
                    EN_DW_TAP(x, w);
                }
                s += p->dil_h;
                s -= s >= p->ring_rows ? p->ring_rows : 0;
            }
            const int32_t acc[4] = {acc0, acc1, acc2, acc3};
            int8_t *o = out + ox * c + 4 * g;
            for (int32_t j = 0; j < n; ++j) {
                const int32_t mult = q[4 + 2 * j], e = q[12 + j];
                const int32_t y = p->fast ? en_dw_fast(acc[j], mult, q[5 + 2 * j], e)
                                          : en_clamp_s8(en_requant(acc[j] >> 1, mult, -e) + p->out_zp, -128, 127);
                o[j] = en_clamp_s8(y, p->act_min, p->act_max);
            }
        }
    }
}

void en_depthwise_conv2d_s8_dsp(const en_depthwise_conv2d_s8_dsp_params *p, const int8_t *input,
                                const int32_t *consts, int8_t *output, int8_t *scratch)
{
    uint32_t *ring = (uint32_t *)(void *)scratch;
    const int32_t rows = p->ring_rows, slot = p->groups * p->row_w * 2, c = p->in_c;
    const int three = p->k_h == 3 && p->k_w == 3 && p->dil_w == 1 && p->fast && (p->stride_w == 1 || p->stride_w == 2);
    const int clamp = p->act_min > -128 || p->act_max < 127;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * p->in_h * p->in_w * c;
        en_dw_fill_pad(p, ring);
        int32_t next = -p->pad_h; /* the next input row the ring needs (rows above the image: padding) */
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t top = oy * p->stride_h - p->pad_h, bottom = top + (p->k_h - 1) * p->dil_h;
            next = next < top ? top : next;
            for (; next <= bottom; ++next) {
                const int8_t *row = next >= 0 && next < p->in_h ? in + next * p->in_w * c : NULL;
                en_dw_fill(p, ring + ((next + p->pad_h) % rows) * slot, row);
            }
            EN_DW_BARRIER(); /* in place: this output row's input row is in the ring */
            const int32_t s0 = (top + p->pad_h) % rows;
            int8_t *out = output + (b * p->out_h + oy) * p->out_w * c;
            if (three) {
                int32_t s1 = s0 + p->dil_h, s2;
                s1 -= s1 >= rows ? rows : 0;
                s2 = s1 + p->dil_h;
                s2 -= s2 >= rows ? rows : 0;
                const uint32_t *r0 = ring + s0 * slot, *r1 = ring + s1 * slot, *r2 = ring + s2 * slot;
                if (p->stride_w == 1) {
                    (clamp ? en_dw_row3x3_s1_clamp : en_dw_row3x3_s1)(p, r0, r1, r2, consts, out);
                } else {
                    (clamp ? en_dw_row3x3_s2_clamp : en_dw_row3x3_s2)(p, r0, r1, r2, consts, out);
                }
            }
            if (!three || c & 3) { /* the other windows, and the last in_c % 4 channels */
                en_dw_row_any(p, ring, s0, consts, three ? c >> 2 : 0, out);
            }
        }
    }
}
