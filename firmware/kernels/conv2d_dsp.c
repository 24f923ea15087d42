/* CONV_2D int8 with SIMD32 (SXTB16 + SMLAD), two output pixels by two output channels at a time.
 *
 * The two pixels' input columns (im2col; the value in_zp where a tap falls in the padding, which
 * the folded bias cancels) are widened once into working memory as int16 pairs, 4 column elements
 * in 4 words: [A: k, k+2] [B: k, k+2] [A: k+1, k+3] [B: k+1, k+3], the halves SXTB16 makes of the 4
 * bytes and of them rotated by 8. The weights stay int8: per 4 elements one LDRD reads both
 * channels' 4 bytes, and SXTB16 (plain and rotated) pairs them with the same elements. A step is
 * 3 LDRD, 4 SXTB16 and 8 SMLAD for 16 MACs; the constants are one stream (conv2d_dsp.h) read in
 * order. Each output's requantization is, where the compiler found it exact (`fast`), a short
 * form of the spec's: shift, SMMLAR, add, shift, SSAT, store. Spec: edgeneuro/ops/conv2d.py. */
#include "conv2d_dsp.h"

#include <string.h>

#include "en_fixedpoint.h"
#include "en_simd.h"

/* Two words from a word-aligned address, the pointer then advanced by 8 bytes: one LDRD with
 * writeback (gcc makes two LDR of a 64-bit memcpy here). */
static inline void en_ldrd(const uint32_t **p, uint32_t *lo, uint32_t *hi)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    __asm__ volatile("ldrd %0, %1, [%2], #8" : "=r"(*lo), "=r"(*hi), "+r"(*p) : "m"(*(const uint32_t(*)[2]) * p));
#else
    memcpy(lo, *p, sizeof *lo);
    memcpy(hi, *p + 1, sizeof *hi);
    *p += 2;
#endif
}

/* `groups` groups of 4 int8 values widened into one slot of the column (A: col, B: col + 1). */
static inline uint32_t *en_widen(uint32_t *col, const int8_t *src, int32_t groups)
{
    for (; groups >= 2; groups -= 2) {
        const uint32_t v = en_read_s8x4(src), u = en_read_s8x4(src + 4);
        col[0] = en_sxtb16(v);
        col[2] = en_sxtb16_ror8(v);
        col[4] = en_sxtb16(u);
        col[6] = en_sxtb16_ror8(u);
        src += 8;
        col += 8;
    }
    if (groups) {
        const uint32_t v = en_read_s8x4(src);
        col[0] = en_sxtb16(v);
        col[2] = en_sxtb16_ror8(v);
        col += 4;
    }
    return col;
}

/* Slot A copied into slot B (an odd last pixel paired with itself). */
static void en_widen_copy(uint32_t *col, int32_t groups)
{
    for (; groups > 0; --groups) {
        col[1] = col[0];
        col[3] = col[2];
        col += 4;
    }
}

/* `groups` groups of the input zero point into one slot. */
static inline uint32_t *en_fill(uint32_t *col, uint32_t zz, int32_t groups)
{
    for (; groups > 0; --groups) {
        col[0] = zz;
        col[2] = zz;
        col += 4;
    }
    return col;
}

/* The taps [lo, hi) of a filter row or column that fall inside the image: origin o, dilation d,
 * k taps, image size n. */
static inline void en_inside(int32_t o, int32_t d, int32_t k, int32_t n, int32_t *lo, int32_t *hi)
{
    int32_t a = o >= 0 ? 0 : (d - 1 - o) / d;
    int32_t b = o >= n ? 0 : (n - o + d - 1) / d;
    a = a < k ? a : k;
    b = b < k ? b : k;
    *lo = a;
    *hi = b > a ? b : a;
}

/* in_c % 4 == 0: the column of the window at (y0, x0) of `image` widened straight into slot
 * `col`, a filter row (one run of input when the row lies inside and dil_w == 1) or a tap at a
 * time, in_zp where a tap falls in the padding. */
static void en_gather_words(const en_conv2d_s8_dsp_params *p, const int8_t *image, int32_t y0, int32_t x0,
                            uint32_t *col)
{
    const int32_t k_w = p->k_w, groups = p->in_c >> 2, row_bytes = p->in_w * p->in_c;
    const int32_t tap_step = p->dil_w * p->in_c, row_groups = k_w * groups;
    if (y0 >= 0 && x0 >= 0 && y0 + (p->k_h - 1) * p->dil_h < p->in_h && x0 + (k_w - 1) * p->dil_w < p->in_w) {
        const int8_t *src = image + y0 * row_bytes + x0 * p->in_c; /* the window lies inside */
        for (int32_t ky = p->k_h; ky > 0; --ky) {
            if (p->dil_w == 1) {
                col = en_widen(col, src, row_groups);
            } else {
                for (int32_t kx = 0; kx < k_w; ++kx) {
                    col = en_widen(col, src + kx * tap_step, groups);
                }
            }
            src += p->dil_h * row_bytes;
        }
        return;
    }
    const uint32_t zz = ((uint32_t)p->in_zp & 0xFFFFu) * 0x10001u;
    int32_t ky_lo, ky_hi, kx_lo, kx_hi;
    en_inside(y0, p->dil_h, p->k_h, p->in_h, &ky_lo, &ky_hi);
    en_inside(x0, p->dil_w, k_w, p->in_w, &kx_lo, &kx_hi);
    const int run = kx_lo == 0 && kx_hi == k_w && p->dil_w == 1;
    const int8_t *src = image + (y0 + ky_lo * p->dil_h) * row_bytes + (x0 + kx_lo * p->dil_w) * p->in_c;
    col = en_fill(col, zz, ky_lo * row_groups);
    for (int32_t ky = ky_lo; ky < ky_hi; ++ky) {
        if (run) {
            col = en_widen(col, src, row_groups);
        } else {
            col = en_fill(col, zz, kx_lo * groups);
            const int8_t *t = src;
            for (int32_t kx = kx_lo; kx < kx_hi; ++kx) {
                col = en_widen(col, t, groups);
                t += tap_step;
            }
            col = en_fill(col, zz, (k_w - kx_hi) * groups);
        }
        src += p->dil_h * row_bytes;
    }
    en_fill(col, zz, (p->k_h - ky_hi) * row_groups);
}

/* The tables of the in_c % 4 != 0 gather, per column element k (then up to depth4): its offset
 * in the input from the window's first element, and its (row, column) offset in the window. */
static void en_tables(const en_conv2d_s8_dsp_params *p, int32_t *off, uint32_t *taps, int32_t depth4)
{
    int32_t k = 0;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t dy = ky * p->dil_h, dx = kx * p->dil_w;
            for (int32_t ic = 0; ic < p->in_c; ++ic, ++k) {
                off[k] = (dy * p->in_w + dx) * p->in_c + ic;
                taps[k] = (uint32_t)dy | ((uint32_t)dx << 16);
            }
        }
    }
    for (; k < depth4; ++k) {
        off[k] = 0; /* the window's first element; zero weights meet it */
        taps[k] = 0;
    }
}

/* in_c % 4 != 0: the column of the window at (y0, x0) into slot `col` through the tables: a window
 * inside the image an element at a time, halfword pairs packed; one at the border into `bytes`
 * (int8, its last depth4 - depth zero) with in_zp where an element falls in the padding, then
 * widened. */
static void en_gather_table(const en_conv2d_s8_dsp_params *p, const int8_t *image, int32_t y0, int32_t x0,
                            uint32_t *col, int8_t *bytes, const int32_t *off, const uint32_t *taps, int32_t groups)
{
    const int32_t origin = (y0 * p->in_w + x0) * p->in_c;
    if (y0 >= 0 && x0 >= 0 && y0 + (p->k_h - 1) * p->dil_h < p->in_h && x0 + (p->k_w - 1) * p->dil_w < p->in_w) {
        const int8_t *base = image + origin;
        const uint32_t *o = (const uint32_t *)(const void *)off;
        for (int32_t g = groups; g > 0; --g) {
            uint32_t o0, o1, o2, o3;
            en_ldrd(&o, &o0, &o1);
            en_ldrd(&o, &o2, &o3);
            col[0] = en_pkhbt((uint32_t)base[o0], (uint32_t)base[o2]);
            col[2] = en_pkhbt((uint32_t)base[o1], (uint32_t)base[o3]);
            col += 4;
        }
        return;
    }
    const int32_t depth = p->k_h * p->k_w * p->in_c;
    const uint32_t in_h = (uint32_t)p->in_h, in_w = (uint32_t)p->in_w;
    for (int32_t k = 0; k < depth; ++k) {
        const uint32_t t = taps[k];
        const int inside = (uint32_t)(y0 + (int32_t)(t & 0xFFFFu)) < in_h && (uint32_t)(x0 + (int32_t)(t >> 16)) < in_w;
        bytes[k] = inside ? image[origin + off[k]] : (int8_t)p->in_zp;
    }
    en_widen(col, bytes, groups);
}

/* How outputs are requantized: the spec's arithmetic, or its short form, saturated to int8 then
 * clamped to the activation range, or (when that range is all of int8) only saturated. */
enum { EN_EXACT, EN_FAST_CLAMP, EN_FAST };

/* One channel's outputs of both pixels, with its mult, offset and right (conv2d_dsp.h). */
static inline __attribute__((always_inline)) void en_store2(const en_conv2d_s8_dsp_params *p, int8_t *out_a,
                                                            int8_t *out_b, int32_t a, int32_t b, int32_t mult,
                                                            int32_t offset, int32_t right, const int mode)
{
    int32_t va, vb;
    if (mode == EN_EXACT) {
        va = en_requant(a, mult, -right) + p->out_zp;
        vb = en_requant(b, mult, -right) + p->out_zp;
    } else { /* (SMMLAR(2 acc, mult, offset) - (acc < 0)) >> right: exact here (channel_fields) */
        const int32_t a2 = (int32_t)((uint32_t)a << 1), b2 = (int32_t)((uint32_t)b << 1);
        va = en_ssat8((en_smmlar(a2, mult, offset) + (a2 >> 31)) >> right);
        vb = en_ssat8((en_smmlar(b2, mult, offset) + (b2 >> 31)) >> right);
    }
    if (mode != EN_FAST) {
        const int32_t lo = p->act_min, hi = p->act_max;
        va = en_clamp_s8(va, lo, hi);
        vb = en_clamp_s8(vb, lo, hi);
    }
    *out_a = (int8_t)va;
    *out_b = (int8_t)vb;
}

/* 4 column elements of both pixels by 2 channels: 3 loads, 4 SXTB16, 8 SMLAD. */
#define EN_STEP2(x, w)                 \
    do {                               \
        uint32_t xa, xb, w0, w1, t;    \
        en_ldrd(&w, &w0, &w1);         \
        en_ldrd(&x, &xa, &xb);         \
        t = en_sxtb16(w0);             \
        a0 = en_smlad(xa, t, a0);      \
        b0 = en_smlad(xb, t, b0);      \
        t = en_sxtb16(w1);             \
        a1 = en_smlad(xa, t, a1);      \
        b1 = en_smlad(xb, t, b1);      \
        en_ldrd(&x, &xa, &xb);         \
        t = en_sxtb16_ror8(w0);        \
        a0 = en_smlad(xa, t, a0);      \
        b0 = en_smlad(xb, t, b0);      \
        t = en_sxtb16_ror8(w1);        \
        a1 = en_smlad(xa, t, a1);      \
        b1 = en_smlad(xb, t, b1);      \
    } while (0)

/* All output channels of the pixel pair in `col`, their weights and records read from the stream
 * s in order: A's outputs to out_a, B's to out_b. */
static inline __attribute__((always_inline)) void en_pair(const en_conv2d_s8_dsp_params *p, const uint32_t *col,
                                                          int32_t groups, const uint32_t *s, int8_t *out_a,
                                                          int8_t *out_b, const int mode)
{
    for (int32_t n = p->out_c >> 1; n > 0; --n) {
        uint32_t u0, u1;
        en_ldrd(&s, &u0, &u1);
        int32_t a0 = (int32_t)u0, a1 = (int32_t)u1;
        int32_t b0 = a0, b1 = a1;
        const uint32_t *x = col;
        for (int32_t k = groups >> 2; k > 0; --k) {
            EN_STEP2(x, s);
            EN_STEP2(x, s);
            EN_STEP2(x, s);
            EN_STEP2(x, s);
        }
        for (int32_t k = groups & 3; k > 0; --k) {
            EN_STEP2(x, s);
        }
        uint32_t m0, m1, o0, o1, r0, r1;
        en_ldrd(&s, &m0, &m1);
        en_ldrd(&s, &o0, &o1);
        en_ldrd(&s, &r0, &r1);
        en_store2(p, out_a, out_b, a0, b0, (int32_t)m0, (int32_t)o0, (int32_t)r0, mode);
        en_store2(p, out_a + 1, out_b + 1, a1, b1, (int32_t)m1, (int32_t)o1, (int32_t)r1, mode);
        out_a += 2;
        out_b += 2;
    }
    if (p->out_c & 1) { /* the last channel of an odd count, alone */
        int32_t a0 = (int32_t)*s++, b0 = a0;
        const uint32_t *x = col;
        for (int32_t g = groups; g > 0; --g) {
            uint32_t xa, xb;
            const uint32_t v = *s++;
            en_ldrd(&x, &xa, &xb);
            uint32_t t = en_sxtb16(v);
            a0 = en_smlad(xa, t, a0);
            b0 = en_smlad(xb, t, b0);
            en_ldrd(&x, &xa, &xb);
            t = en_sxtb16_ror8(v);
            a0 = en_smlad(xa, t, a0);
            b0 = en_smlad(xb, t, b0);
        }
        en_store2(p, out_a, out_b, a0, b0, (int32_t)s[0], (int32_t)s[1], (int32_t)s[2], mode);
    }
}

/* en_pair specialized by requantization, one copy each. */
typedef void en_pair_fn(const en_conv2d_s8_dsp_params *p, const uint32_t *col, int32_t groups, const uint32_t *s,
                        int8_t *out_a, int8_t *out_b);

static void en_pair_exact(const en_conv2d_s8_dsp_params *p, const uint32_t *col, int32_t groups,
                          const uint32_t *s, int8_t *out_a, int8_t *out_b)
{
    en_pair(p, col, groups, s, out_a, out_b, EN_EXACT);
}

static void en_pair_fast_clamp(const en_conv2d_s8_dsp_params *p, const uint32_t *col, int32_t groups,
                               const uint32_t *s, int8_t *out_a, int8_t *out_b)
{
    en_pair(p, col, groups, s, out_a, out_b, EN_FAST_CLAMP);
}

static void en_pair_fast(const en_conv2d_s8_dsp_params *p, const uint32_t *col, int32_t groups,
                         const uint32_t *s, int8_t *out_a, int8_t *out_b)
{
    en_pair(p, col, groups, s, out_a, out_b, EN_FAST);
}

void en_conv2d_s8_dsp(const en_conv2d_s8_dsp_params *p, const int8_t *input, const int32_t *packed, int8_t *output,
                      int8_t *scratch)
{
    en_pair_fn *const pair = !p->fast                                       ? en_pair_exact
                             : p->act_min == -128 && p->act_max == 127 ? en_pair_fast
                                                                         : en_pair_fast_clamp;
    const int32_t in_c = p->in_c, out_c = p->out_c;
    const int32_t groups = (p->k_h * p->k_w * in_c + 3) >> 2;
    uint32_t *col = (uint32_t *)(void *)scratch; /* 16 bytes a group: both pixels' columns */
    int8_t *bytes = scratch + 16 * groups;       /* in_c % 4 != 0: 4 bytes a group, then the tables */
    int32_t *off = (int32_t *)(void *)(bytes + 4 * groups);
    uint32_t *taps = (uint32_t *)(off + 4 * groups);
    if (in_c & 3) {
        for (int32_t k = 0; k < 4 * groups; ++k) {
            bytes[k] = 0;
        }
        en_tables(p, off, taps, 4 * groups);
    }
    /* 1x1, stride 1, no padding: a pixel's column is its in_c input bytes */
    const int direct = p->k_h == 1 && p->k_w == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_h == 0 &&
                       p->pad_w == 0 && (in_c & 3) == 0;
    const int32_t pixels = p->batches * p->out_h * p->out_w, image_bytes = p->in_h * p->in_w * in_c;
    const uint32_t *s = (const uint32_t *)(const void *)packed;
    int32_t b = 0, oy = 0, ox = 0; /* the next pixel */
    for (int32_t i = 0; i < pixels; i += 2) {
        const int32_t j = i + 1 < pixels ? i + 1 : i; /* an odd last pixel is paired with itself */
        if (direct) {
            en_widen(col, input + i * in_c, groups);
            en_widen(col + 1, input + j * in_c, groups);
        } else {
            for (int32_t slot = 0; slot < 2; ++slot) {
                const int8_t *image = input + b * image_bytes;
                const int32_t y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
                if (in_c & 3) {
                    en_gather_table(p, image, y0, x0, col + slot, bytes, off, taps, groups);
                } else {
                    en_gather_words(p, image, y0, x0, col + slot);
                }
                if (slot == 0 && j == i) {
                    en_widen_copy(col, groups); /* B = A */
                    break;
                }
                if (++ox == p->out_w) {
                    ox = 0;
                    if (++oy == p->out_h) {
                        oy = 0;
                        ++b;
                    }
                }
            }
        }
        pair(p, col, groups, s, output + i * out_c, output + j * out_c);
    }
}
