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

/* A channel pair's records after its weights (mult, offset, right for both) read from s, and its
 * four outputs stored; returns s past them. */
static inline __attribute__((always_inline)) const uint32_t *en_pair_store(const en_conv2d_s8_dsp_params *p,
                                                                           const uint32_t *s, int8_t *out_a,
                                                                           int8_t *out_b, int32_t a0, int32_t a1,
                                                                           int32_t b0, int32_t b1, const int mode)
{
    uint32_t m0, m1, o0, o1, r0, r1;
    en_ldrd(&s, &m0, &m1);
    en_ldrd(&s, &o0, &o1);
    en_ldrd(&s, &r0, &r1);
    en_store2(p, out_a, out_b, a0, b0, (int32_t)m0, (int32_t)o0, (int32_t)r0, mode);
    en_store2(p, out_a + 1, out_b + 1, a1, b1, (int32_t)m1, (int32_t)o1, (int32_t)r1, mode);
    return s;
}

/* The last channel of an odd count, alone: its bias, its words for every group, its records. */
static inline __attribute__((always_inline)) void en_last_channel(const en_conv2d_s8_dsp_params *p,
                                                                  const uint32_t *col, int32_t groups,
                                                                  const uint32_t *s, int8_t *out_a, int8_t *out_b,
                                                                  const int mode)
{
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
        s = en_pair_store(p, s, out_a, out_b, a0, a1, b0, b1, mode);
        out_a += 2;
        out_b += 2;
    }
    if (p->out_c & 1) {
        en_last_channel(p, col, groups, s, out_a, out_b, mode);
    }
}

/* en_pair for the sparse stream (conv2d_dsp.h): per channel pair only the column groups where one
 * of the two channels has a non-zero weight, each with its word offset into the column: a kept
 * group costs en_pair's step and a load and an add more. */
static inline __attribute__((always_inline)) void en_pair_sparse(const en_conv2d_s8_dsp_params *p,
                                                                 const uint32_t *col, int32_t groups,
                                                                 const uint32_t *s, int8_t *out_a, int8_t *out_b,
                                                                 const int mode)
{
    for (int32_t n = p->out_c >> 1; n > 0; --n) {
        uint32_t u0, u1;
        en_ldrd(&s, &u0, &u1);
        int32_t a0 = (int32_t)u0, a1 = (int32_t)u1;
        int32_t b0 = a0, b1 = a1;
        for (int32_t k = (int32_t)*s++; k > 0; --k) {
            const uint32_t *x = col + *s++;
            EN_STEP2(x, s);
        }
        s = en_pair_store(p, s, out_a, out_b, a0, a1, b0, b1, mode);
        out_a += 2;
        out_b += 2;
    }
    if (p->out_c & 1) {
        en_last_channel(p, col, groups, s, out_a, out_b, mode);
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

#define EN_PAIR_SPARSE(mode, MODE)                                                                                \
    static void en_pair_sparse_##mode(const en_conv2d_s8_dsp_params *p, const uint32_t *col, int32_t groups,      \
                                      const uint32_t *s, int8_t *out_a, int8_t *out_b)                          \
    {                                                                                                             \
        en_pair_sparse(p, col, groups, s, out_a, out_b, MODE);                                                    \
    }
EN_PAIR_SPARSE(exact, EN_EXACT)
EN_PAIR_SPARSE(fast_clamp, EN_FAST_CLAMP)
EN_PAIR_SPARSE(fast, EN_FAST)

/* The gathering form with one requantization's pair step; the entry points below name the step, so
 * that a model links only the steps its layers use (the compiler picks the entry: Kernel.entry). */
static void en_conv2d_dsp_run(const en_conv2d_s8_dsp_params *p, const int8_t *input, const int32_t *packed,
                              int8_t *output, int8_t *scratch, en_pair_fn *const pair)
{
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

/* ---- en_conv2d_s8_dsp_direct: in_c % 4 == 0, no working memory of its own ----
 *
 * The same stream and the same pairs of output pixels and channels. While the output has room to
 * spare, a pair's columns are gathered as above, into the output's last 16 * groups bytes (8-byte
 * aligned): the pairs before write only below them, and the pairs after, which write over them,
 * read the input in place instead. There, each pixel's 4 column elements are one LDR from the input
 * where they lie (in_c % 4 == 0 keeps a word inside one tap, word-aligned), widened in registers
 * (two SXTB16) for the step's 2 channels, whose 4 weights are widened once for both pixels: a step
 * is 3 loads, 8 SXTB16 and 8 SMLAD for 16 MACs. A tap in the padding reads the word of 4 in_zp
 * bytes (`zz`) instead, which the folded bias cancels, as in the gathered columns. */

/* Where a pixel's window lies in the input. */
typedef struct {
    const int8_t *image;
    const int8_t *at; /* the bytes of tap (0, 0): (y0, x0) of the image, possibly outside it */
    int32_t y0, x0;
    int cols; /* every filter column inside the image */
} en_window;

static inline en_window en_window_of(const en_conv2d_s8_dsp_params *p, const int8_t *input, int32_t b, int32_t oy,
                                     int32_t ox)
{
    en_window w;
    w.y0 = oy * p->stride_h - p->pad_h;
    w.x0 = ox * p->stride_w - p->pad_w;
    w.image = input + b * p->in_h * p->in_w * p->in_c;
    w.at = w.image + (w.y0 * p->in_w + w.x0) * p->in_c;
    w.cols = w.x0 >= 0 && w.x0 + (p->k_w - 1) * p->dil_w < p->in_w;
    return w;
}

/* The sums of a channel pair (or of the last channel of an odd count: a0, b0) for pixels A and B,
 * and where the pair's weights continue in the stream. */
typedef struct {
    int32_t a0, a1, b0, b1;
    const uint32_t *s;
} en_sums;

/* n words of each pixel, from xa and xb advancing by sa and sb bytes (4, or 0 where a pixel's tap
 * lies in the padding and the pointer is at its zz word), by one or two channels' weights. */
static void en_words(const int8_t *xa, int32_t sa, const int8_t *xb, int32_t sb, int32_t n, en_sums *c, int two)
{
    const uint32_t *s = c->s;
    int32_t a0 = c->a0, a1 = c->a1, b0 = c->b0, b1 = c->b1;
    for (; n > 0; --n, xa += sa, xb += sb) {
        const uint32_t va = en_read_s8x4(xa), vb = en_read_s8x4(xb);
        const uint32_t ea = en_sxtb16(va), oa = en_sxtb16_ror8(va), eb = en_sxtb16(vb), ob = en_sxtb16_ror8(vb);
        const uint32_t w0 = *s++, we0 = en_sxtb16(w0), wo0 = en_sxtb16_ror8(w0);
        a0 = en_smlad(oa, wo0, en_smlad(ea, we0, a0));
        b0 = en_smlad(ob, wo0, en_smlad(eb, we0, b0));
        if (two) {
            const uint32_t w1 = *s++, we1 = en_sxtb16(w1), wo1 = en_sxtb16_ror8(w1);
            a1 = en_smlad(oa, wo1, en_smlad(ea, we1, a1));
            b1 = en_smlad(ob, wo1, en_smlad(eb, we1, b1));
        }
    }
    c->a0 = a0, c->a1 = a1, c->b0 = b0, c->b1 = b1, c->s = s;
}

/* n words of padding in both windows: in_zp (zz2: in two halfwords) times the weights, once for
 * both pixels, added modulo 2^32 as SMLAD adds. */
static void en_pad(int32_t n, uint32_t zz2, en_sums *c, int two)
{
    const uint32_t *s = c->s;
    uint32_t t0 = 0, t1 = 0;
    for (; n > 0; --n) {
        const uint32_t w0 = *s++;
        t0 = (uint32_t)en_smlad(zz2, en_sxtb16_ror8(w0), en_smlad(zz2, en_sxtb16(w0), (int32_t)t0));
        if (two) {
            const uint32_t w1 = *s++;
            t1 = (uint32_t)en_smlad(zz2, en_sxtb16_ror8(w1), en_smlad(zz2, en_sxtb16(w1), (int32_t)t1));
        }
    }
    c->a0 = (int32_t)((uint32_t)c->a0 + t0), c->b0 = (int32_t)((uint32_t)c->b0 + t0);
    c->a1 = (int32_t)((uint32_t)c->a1 + t1), c->b1 = (int32_t)((uint32_t)c->b1 + t1);
    c->s = s;
}

/* n words of each pixel from xa and xb (a run of input inside the image) by the channel pair. */
static void en_run2(const int8_t *xa, const int8_t *xb, int32_t n, en_sums *c)
{
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    /* In assembly, so that the loop keeps its 13 values in registers (gcc spills its counter):
     * per word 3 loads, 8 SXTB16 and 8 SMLAD; two words an iteration, which ends when xa reaches
     * `end` (read from the stack into a free register, not kept in one). It reads the input and
     * the stream, which nothing writes while the kernel runs; the "memory" clobber keeps every
     * other access on its side of it all the same. */
#define EN_RUN2_WORD                       \
    "ldrd %[w0], %[w1], [%[s]], #8\n\t"    \
    "ldr %[e], [%[xa]], #4\n\t"            \
    "sxtb16 %[w2], %[w0], ror #8\n\t"      \
    "sxtb16 %[w0], %[w0]\n\t"              \
    "sxtb16 %[w3], %[w1], ror #8\n\t"      \
    "sxtb16 %[w1], %[w1]\n\t"              \
    "sxtb16 %[o], %[e], ror #8\n\t"        \
    "sxtb16 %[e], %[e]\n\t"                \
    "smlad %[a0], %[e], %[w0], %[a0]\n\t"  \
    "smlad %[a1], %[e], %[w1], %[a1]\n\t"  \
    "smlad %[a0], %[o], %[w2], %[a0]\n\t"  \
    "smlad %[a1], %[o], %[w3], %[a1]\n\t"  \
    "ldr %[e], [%[xb]], #4\n\t"            \
    "sxtb16 %[o], %[e], ror #8\n\t"        \
    "sxtb16 %[e], %[e]\n\t"                \
    "smlad %[b0], %[e], %[w0], %[b0]\n\t"  \
    "smlad %[b1], %[e], %[w1], %[b1]\n\t"  \
    "smlad %[b0], %[o], %[w2], %[b0]\n\t"  \
    "smlad %[b1], %[o], %[w3], %[b1]\n\t"
#define EN_RUN2_OPERANDS                                                                                  \
    [a0] "+r"(a0), [a1] "+r"(a1), [b0] "+r"(b0), [b1] "+r"(b1), [xa] "+r"(xa), [xb] "+r"(xb), [s] "+r"(s), \
        [w0] "=&r"(w0), [w1] "=&r"(w1), [w2] "=&r"(w2), [w3] "=&r"(w3), [e] "=&r"(e), [o] "=&r"(o)
    int32_t a0 = c->a0, a1 = c->a1, b0 = c->b0, b1 = c->b1;
    const uint32_t *s = c->s;
    uint32_t w0, w1, w2, w3, e, o;
    if (n & 1) {
        __asm__ volatile(EN_RUN2_WORD : EN_RUN2_OPERANDS : : "memory");
    }
    if (n >> 1) {
        const int8_t *const end = xa + 8 * (n >> 1);
        __asm__ volatile("1:\n\t" EN_RUN2_WORD EN_RUN2_WORD "ldr %[e], %[end]\n\t"
                         "cmp %[xa], %[e]\n\t"
                         "bne 1b"
                         : EN_RUN2_OPERANDS
                         : [end] "m"(end)
                         : "cc", "memory");
    }
#undef EN_RUN2_WORD
#undef EN_RUN2_OPERANDS
    c->a0 = a0, c->a1 = a1, c->b0 = b0, c->b1 = b1, c->s = s;
#else
    en_words(xa, 4, xb, 4, n, c, 1);
#endif
}

/* A run inside both windows. */
static inline void en_run(const int8_t *xa, const int8_t *xb, int32_t n, en_sums *c, int two)
{
    if (two) {
        en_run2(xa, xb, n, c);
    } else {
        en_words(xa, 4, xb, 4, n, c, 0);
    }
}

/* The sums of the pair's windows, filter row by filter row: a row inside both windows (and the
 * image) in runs, one per row when dil_w == 1, else one per tap; a row in the padding of both as
 * in_zp times its weights; the others tap by tap, a tap in the padding of one window reading
 * zz there. */
static void en_windows(const en_conv2d_s8_dsp_params *p, const en_window *A, const en_window *B, en_sums *c, int two)
{
    const int32_t in_c = p->in_c, groups = in_c >> 2, row_bytes = p->in_w * in_c, tap_step = p->dil_w * in_c;
    const uint32_t zz = ((uint32_t)p->in_zp & 0xFFu) * 0x01010101u, zz2 = ((uint32_t)p->in_zp & 0xFFFFu) * 0x10001u;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t dy = ky * p->dil_h, row = dy * row_bytes;
        const int ya = (uint32_t)(A->y0 + dy) < (uint32_t)p->in_h, yb = (uint32_t)(B->y0 + dy) < (uint32_t)p->in_h;
        if (ya && yb && A->cols && B->cols) {
            if (p->dil_w == 1) {
                en_run(A->at + row, B->at + row, p->k_w * groups, c, two);
            } else {
                for (int32_t kx = 0; kx < p->k_w; ++kx) {
                    en_run(A->at + row + kx * tap_step, B->at + row + kx * tap_step, groups, c, two);
                }
            }
        } else if (!ya && !yb) {
            en_pad(p->k_w * groups, zz2, c, two);
        } else {
            for (int32_t kx = 0; kx < p->k_w; ++kx) {
                const int32_t dx = kx * p->dil_w, off = row + dx * in_c;
                const int in_a = ya && (uint32_t)(A->x0 + dx) < (uint32_t)p->in_w;
                const int in_b = yb && (uint32_t)(B->x0 + dx) < (uint32_t)p->in_w;
                if (in_a && in_b) {
                    en_run(A->at + off, B->at + off, groups, c, two);
                } else {
                    en_words(in_a ? A->at + off : (const int8_t *)&zz, in_a ? 4 : 0,
                             in_b ? B->at + off : (const int8_t *)&zz, in_b ? 4 : 0, groups, c, two);
                }
            }
        }
    }
}

/* All output channels of the pixels A and B (B == A for an odd last pixel) from the input in
 * place: A's outputs to out_a, B's to out_b. A 1 x k_w window inside the image with dil_w == 1
 * (1x1, Conv1D) is one run. */
static inline __attribute__((always_inline)) void en_direct_pair(const en_conv2d_s8_dsp_params *p,
                                                                 const en_window *A, const en_window *B,
                                                                 const uint32_t *s, int8_t *out_a, int8_t *out_b,
                                                                 const int mode)
{
    const int one_run = p->k_h == 1 && p->dil_w == 1 && A->cols && B->cols && (uint32_t)A->y0 < (uint32_t)p->in_h &&
                        (uint32_t)B->y0 < (uint32_t)p->in_h;
    const int32_t run = p->k_w * (p->in_c >> 2);
    for (int32_t n = p->out_c >> 1; n > 0; --n) {
        en_sums c;
        c.a0 = c.b0 = (int32_t)s[0];
        c.a1 = c.b1 = (int32_t)s[1];
        c.s = s + 2;
        if (one_run) {
            en_run2(A->at, B->at, run, &c);
        } else {
            en_windows(p, A, B, &c, 1);
        }
        s = c.s; /* then mult, mult', offset, offset', right, right' */
        en_store2(p, out_a, out_b, c.a0, c.b0, (int32_t)s[0], (int32_t)s[2], (int32_t)s[4], mode);
        en_store2(p, out_a + 1, out_b + 1, c.a1, c.b1, (int32_t)s[1], (int32_t)s[3], (int32_t)s[5], mode);
        s += 6;
        out_a += 2;
        out_b += 2;
    }
    if (p->out_c & 1) { /* bias, the words, mult, offset, right */
        en_sums c = {(int32_t)s[0], 0, (int32_t)s[0], 0, s + 1};
        en_windows(p, A, B, &c, 0);
        en_store2(p, out_a, out_b, c.a0, c.b0, (int32_t)c.s[0], (int32_t)c.s[1], (int32_t)c.s[2], mode);
    }
}

/* en_direct_pair specialized by requantization, one copy each. */
typedef void en_direct_fn(const en_conv2d_s8_dsp_params *p, const en_window *A, const en_window *B,
                          const uint32_t *s, int8_t *out_a, int8_t *out_b);

static void en_direct_exact(const en_conv2d_s8_dsp_params *p, const en_window *A, const en_window *B,
                            const uint32_t *s, int8_t *out_a, int8_t *out_b)
{
    en_direct_pair(p, A, B, s, out_a, out_b, EN_EXACT);
}

static void en_direct_fast_clamp(const en_conv2d_s8_dsp_params *p, const en_window *A, const en_window *B,
                                 const uint32_t *s, int8_t *out_a, int8_t *out_b)
{
    en_direct_pair(p, A, B, s, out_a, out_b, EN_FAST_CLAMP);
}

static void en_direct_fast(const en_conv2d_s8_dsp_params *p, const en_window *A, const en_window *B,
                           const uint32_t *s, int8_t *out_a, int8_t *out_b)
{
    en_direct_pair(p, A, B, s, out_a, out_b, EN_FAST);
}

/* The direct form with one requantization's steps (entry points below). */
static void en_conv2d_dsp_direct_run(const en_conv2d_s8_dsp_direct_params *p, const int8_t *input,
                                     const int32_t *packed, int8_t *output, en_pair_fn *const pair,
                                     en_direct_fn *const direct)
{
    const int32_t in_c = p->in_c, out_c = p->out_c, groups = (p->k_h * p->k_w * in_c) >> 2;
    const int32_t pixels = p->batches * p->out_h * p->out_w;
    const uint32_t col_bytes = 16u * (uint32_t)groups, out_bytes = (uint32_t)(pixels * out_c);
    /* The gathered columns' place: the output's last col_bytes, 8-byte aligned, and the pairs that
     * write only below it (`staged` pixels; the spec's dsp_staged). */
    const uintptr_t at = ((uintptr_t)output + out_bytes - col_bytes) & ~(uintptr_t)7;
    uint32_t *col = (uint32_t *)at;
    const int32_t staged =
        out_bytes >= col_bytes + 8u ? (int32_t)((at - (uintptr_t)output) / (uint32_t)out_c) & ~1 : 0;
    const int pointwise = p->k_h == 1 && p->k_w == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_h == 0 &&
                          p->pad_w == 0;
    const uint32_t *s = (const uint32_t *)(const void *)packed;
    int32_t i = 0;
    if (pointwise) { /* a pixel's column is its in_c input bytes */
        for (; i + 2 <= staged; i += 2) {
            en_widen(col, input + i * in_c, groups);
            en_widen(col + 1, input + (i + 1) * in_c, groups);
            pair(p, col, groups, s, output + i * out_c, output + (i + 1) * out_c);
        }
    }
    const int32_t per_image = p->out_h * p->out_w;
    int32_t b = i / per_image, oy = (i - b * per_image) / p->out_w, ox = i - b * per_image - oy * p->out_w;
    for (; i < pixels; i += 2) {
        const int32_t j = i + 1 < pixels ? i + 1 : i; /* an odd last pixel is paired with itself */
        en_window w[2];
        for (int32_t slot = 0; slot < 2; ++slot) {
            w[slot] = en_window_of(p, input, b, oy, ox);
            if (slot == 0 && j == i) {
                w[1] = w[0];
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
        if (i + 2 <= staged) { /* then j == i + 1 */
            en_gather_words(p, w[0].image, w[0].y0, w[0].x0, col);
            en_gather_words(p, w[1].image, w[1].y0, w[1].x0, col + 1);
            pair(p, col, groups, s, output + i * out_c, output + j * out_c);
        } else {
            direct(p, &w[0], &w[1], s, output + i * out_c, output + j * out_c);
        }
    }
}

/* The entry points, by requantization: the spec's (exact), the short form saturated to int8
 * (fast: the activation range is all of int8) or then clamped to it (fast_clamp). */
#define EN_CONV2D_DSP_ENTRIES(mode)                                                                                \
    void en_conv2d_s8_dsp_##mode(const en_conv2d_s8_dsp_params *p, const int8_t *input, const int32_t *packed,     \
                                 int8_t *output, int8_t *scratch)                                                  \
    {                                                                                                              \
        en_conv2d_dsp_run(p, input, packed, output, scratch, en_pair_##mode);                                      \
    }                                                                                                              \
    void en_conv2d_s8_dsp_direct_##mode(const en_conv2d_s8_dsp_direct_params *p, const int8_t *input,              \
                                        const int32_t *packed, int8_t *output)                                     \
    {                                                                                                              \
        en_conv2d_dsp_direct_run(p, input, packed, output, en_pair_##mode, en_direct_##mode);                      \
    }

/* The gathering form on the sparse stream, by requantization. */
#define EN_CONV2D_DSP_SPARSE_ENTRY(mode)                                                                           \
    void en_conv2d_s8_dsp_sparse_##mode(const en_conv2d_s8_dsp_sparse_params *p, const int8_t *input,              \
                                        const int32_t *packed, int8_t *output, int8_t *scratch)                    \
    {                                                                                                              \
        en_conv2d_dsp_run(p, input, packed, output, scratch, en_pair_sparse_##mode);                               \
    }

EN_CONV2D_DSP_SPARSE_ENTRY(exact)
EN_CONV2D_DSP_SPARSE_ENTRY(fast)
EN_CONV2D_DSP_SPARSE_ENTRY(fast_clamp)

EN_CONV2D_DSP_ENTRIES(exact)
EN_CONV2D_DSP_ENTRIES(fast)
EN_CONV2D_DSP_ENTRIES(fast_clamp)
