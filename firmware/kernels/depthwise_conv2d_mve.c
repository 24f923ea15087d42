/* DEPTHWISE_CONV_2D int8 (depth multiplier 1) with Helium (MVE), reading the input in place (no
 * working memory). Spec: edgeneuro/ops/depthwise_conv2d.py.
 *
 * A vector holds 16 lanes of an output row: 16 channels of a pixel, or (flat: in_c < 16 divides
 * 16, stride_w 1) 16 / in_c pixels of in_c channels, which are 16 adjacent input bytes for every tap.
 * The input zero point is folded into the bias (bias - in_zp * sum(w)) and the raw input bytes are
 * multiplied, so a tap in the padding reads 16 bytes of in_zp (a block at the end of the
 * constants) and adds in_zp * w - in_zp * w = 0, as in the portable kernel. 3x3 windows whose
 * taps all lie in the image take a path with three row pointers and no bounds tests; the other
 * outputs (the border, other windows, the last in_c % 16 channels) go one pixel at a time.
 *
 * A tap of 16 lanes is one load of inputs and one of weights and two VMULL (the int8 products of
 * the even and of the odd lanes, exact in int16); two taps' products are summed in int16 when the
 * compiler proved it cannot overflow (params.pairs), then widened (VMOVLB/VMOVLT) into four int32x4
 * accumulators, which hold the lanes in the order (0, 4, 8, 12), (2, 6, 10, 14), (1, 5, 9, 13),
 * (3, 7, 11, 15). The constants are laid out in that order, the requantization is
 * en_mve_requant(_right) per accumulator, and the saturating narrows VQMOVNB/VQMOVNT put the lanes
 * back in order: (0, 4, 8, 12) and (2, 6, 10, 14) interleave to the even lanes 0, 2, ..., 14 as
 * int16, (1, 5, 9, 13) and (3, 7, 11, 15) to the odd ones, and those two interleave to 16 bytes.
 * The output zero point is added to the int16 values with saturation (as the int8 clamp follows,
 * the result is the same as adding it in int32). */
#include "depthwise_conv2d_mve.h"

#include <stddef.h>

#include "en_mve.h"

typedef en_depthwise_conv2d_s8_mve_params en_dw_params;

/* The loads of the inputs (LD): all 16 lanes, or those of the predicate pn. */
#define EN_DW_LD(x) vldrbq_s8(x)
#define EN_DW_LDZ(x) vldrbq_z_s8(x, pn)

/* acc0..acc3 += one tap of 16 lanes: x and w point to its 16 inputs and weights. The two VMULL
 * give the int8 products of the even and of the odd lanes, exact in int16. */
#define EN_DW_TAP(LD, x, w)                                                              \
    do {                                                                                 \
        const int8x16_t xv_ = LD(x), wv_ = vldrbq_s8(w);                                 \
        const int16x8_t pe_ = vmullbq_int_s8(xv_, wv_), po_ = vmulltq_int_s8(xv_, wv_);   \
        acc0 = vaddq_s32(acc0, vmovlbq_s16(pe_));                                        \
        acc1 = vaddq_s32(acc1, vmovltq_s16(pe_));                                        \
        acc2 = vaddq_s32(acc2, vmovlbq_s16(po_));                                        \
        acc3 = vaddq_s32(acc3, vmovltq_s16(po_));                                        \
        EN_MVE_ORDER(acc0);                                                              \
        EN_MVE_ORDER(acc1);                                                              \
        EN_MVE_ORDER(acc2);                                                              \
        EN_MVE_ORDER(acc3);                                                              \
    } while (0)

/* acc0..acc3 += two taps of 16 lanes (x0, w0 and x1, w1), their products summed in int16 first
 * (params.pairs: the compiler checked |w0| + |w1| <= 255 in every lane, so |x0 w0 + x1 w1| <=
 * 128 * 255). The inputs of the second tap are loaded twice rather than kept, so that the four
 * accumulators, the two int16 sums and one product fit the 8 vector registers. */
#define EN_DW_PAIR(LD, x0, w0, x1, w1)                                                        \
    do {                                                                                      \
        const int8_t *xb_ = (x1);                                                             \
        const int8x16_t xa_ = LD(x0), wa_ = vldrbq_s8(w0);                                    \
        int16x8_t pe_ = vmullbq_int_s8(xa_, wa_), po_ = vmulltq_int_s8(xa_, wa_);             \
        const int8x16_t wb_ = vldrbq_s8(w1);                                                  \
        pe_ = vaddq_s16(pe_, vmullbq_int_s8(LD(xb_), wb_));                                   \
        EN_MVE_AGAIN(xb_);                                                                    \
        po_ = vaddq_s16(po_, vmulltq_int_s8(LD(xb_), wb_));                                   \
        acc0 = vaddq_s32(acc0, vmovlbq_s16(pe_));                                             \
        acc1 = vaddq_s32(acc1, vmovltq_s16(pe_));                                             \
        acc2 = vaddq_s32(acc2, vmovlbq_s16(po_));                                             \
        acc3 = vaddq_s32(acc3, vmovltq_s16(po_));                                             \
        EN_MVE_ORDER(acc0);                                                                   \
        EN_MVE_ORDER(acc1);                                                                   \
        EN_MVE_ORDER(acc2);                                                                   \
        EN_MVE_ORDER(acc3);                                                                   \
    } while (0)

/* acc0..acc3 += a 3x3 window, its taps (rows, then columns) at x0..x8, weights from w on; PAIRS:
 * params.pairs. */
#define EN_DW_3X3(LD, PAIRS, x0, x1, x2, x3, x4, x5, x6, x7, x8) \
    do {                                                       \
        if (PAIRS) {                                           \
            EN_DW_PAIR(LD, x0, w, x1, w + 16);                 \
            EN_DW_PAIR(LD, x2, w + 32, x3, w + 48);            \
            EN_DW_PAIR(LD, x4, w + 64, x5, w + 80);            \
            EN_DW_PAIR(LD, x6, w + 96, x7, w + 112);           \
        } else {                                               \
            EN_DW_TAP(LD, x0, w);                              \
            EN_DW_TAP(LD, x1, w + 16);                         \
            EN_DW_TAP(LD, x2, w + 32);                         \
            EN_DW_TAP(LD, x3, w + 48);                         \
            EN_DW_TAP(LD, x4, w + 64);                         \
            EN_DW_TAP(LD, x5, w + 80);                         \
            EN_DW_TAP(LD, x6, w + 96);                         \
            EN_DW_TAP(LD, x7, w + 112);                        \
        }                                                      \
        EN_DW_TAP(LD, x8, w + 128);                            \
    } while (0)

/* What the per-vector code needs of the parameters, in registers (stores through int8_t pointers
 * could alias *p, so gcc would read it again after each). */
typedef struct {
    int16_t out_zp;
    int8x16_t lo, hi;
} en_dw_out;

static inline en_dw_out en_dw_out_of(const en_dw_params *p)
{
    en_dw_out o;
    o.out_zp = (int16_t)p->out_zp;
    o.lo = vdupq_n_s8((int8_t)p->act_min);
    o.hi = vdupq_n_s8((int8_t)p->act_max);
    return o;
}

/* One accumulator requantized with the lanes k of the group's quant block. */
static inline int32x4_t en_dw_requant(int right, int32x4_t acc, const int32_t *q, int k)
{
    const int32x4_t m = vldrwq_s32(q + 16 + 4 * k), s = vldrwq_s32(q + 32 + 4 * k);
    if (right) {
        return en_mve_requant_right(acc, m, s);
    }
    const int32x4_t zero = vdupq_n_s32(0);
    return en_mve_requant(acc, m, vmaxq_s32(s, zero), vminq_s32(s, zero));
}

/* The four accumulators requantized, narrowed back to lane order, offset by out_zp, clamped, and
 * the first n lanes stored at out. */
static inline void en_dw_store(const en_dw_out *oc, int right, int32x4_t acc0, int32x4_t acc1, int32x4_t acc2,
                               int32x4_t acc3, const int32_t *q, int8_t *out, int32_t n)
{
    /* each narrow writes half the lanes of a vector whose other half the next one writes: the
     * first takes as its base a vector that is dead by then (an accumulator, reinterpreted) */
    const int32x4_t y0 = en_dw_requant(right, acc0, q, 0), y1 = en_dw_requant(right, acc1, q, 1);
    int16x8_t even = vqmovntq_s32(vqmovnbq_s32(vreinterpretq_s16_s32(acc0), y0), y1);
    const int32x4_t y2 = en_dw_requant(right, acc2, q, 2), y3 = en_dw_requant(right, acc3, q, 3);
    int16x8_t odd = vqmovntq_s32(vqmovnbq_s32(vreinterpretq_s16_s32(acc2), y2), y3);
    even = vqaddq_n_s16(even, oc->out_zp);
    odd = vqaddq_n_s16(odd, oc->out_zp);
    int8x16_t y = vqmovntq_s16(vqmovnbq_s16(vreinterpretq_s8_s32(acc1), even), odd);
    y = vminq_s8(vmaxq_s8(y, oc->lo), oc->hi);
    if (n >= 16) {
        vstrbq_s8(out, y);
    } else {
        vstrbq_p_s8(out, y, vctp8q((uint32_t)n));
    }
}

/* Pixel (oy, ox) of image `in`, its groups g0.. of 16 lanes (the last one, and with flat the
 * only one, in_c % 16 or in_c lanes), any window: each tap read at tp[t] + 16 * group, tp[t] the
 * input's pixel or, in the padding, the zp block (16 bytes of in_zp a group). NAME for RIGHT and
 * PAIRS (3x3: the unrolled window; else PAIRS 0 and a loop over the taps). */
#define EN_DW_DEFINE_PIXEL(NAME, RIGHT, PAIRS, THREE)                                                          \
    static EN_MVE_KERNEL void NAME(const en_dw_params *p, const en_dw_out *oc, const int8_t *in, int32_t oy,    \
                                   int32_t ox, int32_t g0, const int8_t *weights, const int32_t *quant,         \
                                   int8_t *out)                                                               \
    {                                                                                                         \
        const int32_t c = p->in_c, taps = p->k_h * p->k_w, lanes = p->flat ? c : 16;                          \
        const int32_t y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;                     \
        const int8_t *zp = (const int8_t *)(const void *)(quant + 48 * p->groups);                            \
        const int8_t *tp[taps];                                                                               \
        for (int32_t ky = 0, t = 0; ky < p->k_h; ++ky) {                                                      \
            const int32_t iy = y0 + ky * p->dil_h;                                                            \
            for (int32_t kx = 0; kx < p->k_w; ++kx, ++t) {                                                    \
                const int32_t ix = x0 + kx * p->dil_w;                                                        \
                tp[t] = iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w ? in + (iy * p->in_w + ix) * c : zp; \
            }                                                                                                 \
        }                                                                                                     \
        for (int32_t g = g0; g < p->groups; ++g) {                                                            \
            const int32_t n = c - 16 * g < lanes ? c - 16 * g : lanes, r = 16 * g;                            \
            const mve_pred16_t pn = vctp8q((uint32_t)n);                                                      \
            const int8_t *w = weights + g * taps * 16;                                                        \
            const int32_t *q = quant + 48 * g;                                                                \
            int32x4_t acc0 = vldrwq_s32(q), acc1 = vldrwq_s32(q + 4), acc2 = vldrwq_s32(q + 8),               \
                      acc3 = vldrwq_s32(q + 12);                                                              \
            if (THREE && n == 16) { /* a whole group: the zp block and the input hold its 16 bytes */          \
                EN_DW_3X3(EN_DW_LD, PAIRS, tp[0] + r, tp[1] + r, tp[2] + r, tp[3] + r, tp[4] + r, tp[5] + r,    \
                          tp[6] + r, tp[7] + r, tp[8] + r);                                                   \
            } else if (THREE) {                                                                               \
                EN_DW_3X3(EN_DW_LDZ, PAIRS, tp[0] + r, tp[1] + r, tp[2] + r, tp[3] + r, tp[4] + r, tp[5] + r,   \
                          tp[6] + r, tp[7] + r, tp[8] + r);                                                   \
            } else {                                                                                          \
                for (int32_t t = 0; t < taps; ++t, w += 16) {                                                 \
                    EN_DW_TAP(EN_DW_LDZ, tp[t] + r, w);                                                       \
                }                                                                                             \
            }                                                                                                 \
            en_dw_store(oc, RIGHT, acc0, acc1, acc2, acc3, q, out + r, n);                                    \
        }                                                                                                     \
    }

EN_DW_DEFINE_PIXEL(en_dw_pixel3x3_right_pairs, 1, 1, 1)
EN_DW_DEFINE_PIXEL(en_dw_pixel3x3_right, 1, 0, 1)
EN_DW_DEFINE_PIXEL(en_dw_pixel3x3_any_pairs, 0, 1, 1)
EN_DW_DEFINE_PIXEL(en_dw_pixel3x3_any, 0, 0, 1)
EN_DW_DEFINE_PIXEL(en_dw_pixel_right, 1, 0, 0)
EN_DW_DEFINE_PIXEL(en_dw_pixel_any, 0, 0, 0)

typedef void en_dw_pixel_fn(const en_dw_params *p, const en_dw_out *oc, const int8_t *in, int32_t oy, int32_t ox,
                            int32_t g0, const int8_t *weights, const int32_t *quant, int8_t *out);

/* A run of pixels of one output row whose 3x3 windows lie in the image, NAME for params.right ==
 * RIGHT and params.pairs == PAIRS: ra, rb, rd at the first pixel's window rows (its first tap),
 * the window's columns at 0, o1, o2 bytes; `vectors` full vectors of 16 lanes, in order: with flat
 * the run's bytes 16 at a time, else `groups` a pixel (the pixel's full groups of 16 channels), the
 * next pixel rstep bytes further in the input and ostep further in the output. */
#define EN_DW_DEFINE_RUN3X3(NAME, RIGHT, PAIRS)                                                              \
    static EN_MVE_KERNEL void NAME(const en_dw_out *oc, const int8_t *ra, const int8_t *rb, const int8_t *rd,   \
                                   int32_t o1, int32_t o2, int32_t vectors, int32_t groups, int32_t rstep,     \
                                   int32_t ostep, const int8_t *weights, const int32_t *quant, int8_t *out)    \
    {                                                                                                        \
        const int8_t *w = weights;                                                                           \
        const int32_t *q = quant;                                                                            \
        int32_t r = 0, g = groups;                                                                           \
        for (; vectors > 0; --vectors) {                                                                     \
            int32x4_t acc0 = vldrwq_s32(q), acc1 = vldrwq_s32(q + 4), acc2 = vldrwq_s32(q + 8),              \
                      acc3 = vldrwq_s32(q + 12);                                                             \
            const int8_t *a = ra + r, *b = rb + r, *d = rd + r;                                              \
            EN_DW_3X3(EN_DW_LD, PAIRS, a, a + o1, a + o2, b, b + o1, b + o2, d, d + o1, d + o2);             \
            en_dw_store(oc, RIGHT, acc0, acc1, acc2, acc3, q, out, 16);                                      \
            if (--g > 0) { /* the pixel's next group */                                                      \
                w += 144;                                                                                    \
                q += 48;                                                                                     \
                r += 16;                                                                                     \
                out += 16;                                                                                   \
            } else { /* the next pixel, or with flat the next 16 bytes */                                    \
                g = groups;                                                                                  \
                w = weights;                                                                                 \
                q = quant;                                                                                   \
                r += rstep;                                                                                  \
                out += ostep;                                                                                \
            }                                                                                                \
        }                                                                                                    \
    }

EN_DW_DEFINE_RUN3X3(en_dw_run3x3_right_pairs, 1, 1)
EN_DW_DEFINE_RUN3X3(en_dw_run3x3_right, 1, 0)
EN_DW_DEFINE_RUN3X3(en_dw_run3x3_any_pairs, 0, 1)
EN_DW_DEFINE_RUN3X3(en_dw_run3x3_any, 0, 0)

typedef void en_dw_run_fn(const en_dw_out *oc, const int8_t *ra, const int8_t *rb, const int8_t *rd, int32_t o1,
                          int32_t o2, int32_t vectors, int32_t groups, int32_t rstep, int32_t ostep,
                          const int8_t *weights, const int32_t *quant, int8_t *out);

/* The first output index from which a window of k taps dil apart (stride s, padding pad) lies in
 * [0, size), and the first from which it does not any more (the interior [lo, hi) of an axis). */
static void en_dw_interior(int32_t out, int32_t size, int32_t k, int32_t s, int32_t dil, int32_t pad, int32_t *lo,
                           int32_t *hi)
{
    const int32_t first = (pad + s - 1) / s, last = size - 1 + pad - (k - 1) * dil; /* o * s <= last */
    *lo = first < out ? first : out;
    *hi = last < 0 ? *lo : last / s + 1;
    *hi = *hi > out ? out : (*hi < *lo ? *lo : *hi);
}

void en_depthwise_conv2d_s8_mve(const en_depthwise_conv2d_s8_mve_params *p, const int8_t *input,
                                const int8_t *weights, const int32_t *quant, int8_t *output)
{
    const en_dw_out oc = en_dw_out_of(p);
    const int32_t c = p->in_c, row = p->in_w * c;
    const int three = p->k_h == 3 && p->k_w == 3;
    /* with flat, pixels are vectors only for stride_w 1 (the run's bytes are then contiguous) */
    const int flat_run = p->flat && p->stride_w == 1;
    const int32_t full = p->flat ? (flat_run ? 1 : 0) : c >> 4; /* full groups a pixel (flat: per vector) */
    en_dw_run_fn *const run = p->right ? (p->pairs ? en_dw_run3x3_right_pairs : en_dw_run3x3_right)
                                       : (p->pairs ? en_dw_run3x3_any_pairs : en_dw_run3x3_any);
    en_dw_pixel_fn *const pixel =
        three ? (p->right ? (p->pairs ? en_dw_pixel3x3_right_pairs : en_dw_pixel3x3_right)
                          : (p->pairs ? en_dw_pixel3x3_any_pairs : en_dw_pixel3x3_any))
              : (p->right ? en_dw_pixel_right : en_dw_pixel_any);
    int32_t ylo, yhi, xlo, xhi;
    en_dw_interior(p->out_h, p->in_h, p->k_h, p->stride_h, p->dil_h, p->pad_h, &ylo, &yhi);
    en_dw_interior(p->out_w, p->in_w, p->k_w, p->stride_w, p->dil_w, p->pad_w, &xlo, &xhi);
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * p->in_h * row;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            int8_t *out = output + (b * p->out_h + oy) * p->out_w * c;
            int32_t lo = 0, hi = 0, done = 0; /* the run [lo, hi) of pixels and its first `done` whole */
            if (three && full > 0 && oy >= ylo && oy < yhi && xlo < xhi) {
                lo = xlo;
                hi = xhi;
                const int32_t iy = oy * p->stride_h - p->pad_h, ix = lo * p->stride_w - p->pad_w;
                const int8_t *ra = in + iy * row + ix * c;
                const int32_t o1 = p->dil_w * c, o2 = 2 * o1, down = p->dil_h * row;
                if (flat_run) { /* 16 / c pixels a vector, the last ones of the run one at a time */
                    const int32_t vectors = (hi - lo) * c >> 4;
                    done = vectors * 16 / c;
                    run(&oc, ra, ra + down, ra + 2 * down, o1, o2, vectors, 1, 16, 16, weights, quant, out + lo * c);
                } else {
                    done = hi - lo;
                    run(&oc, ra, ra + down, ra + 2 * down, o1, o2, done * full, full,
                        p->stride_w * c - 16 * (full - 1), c - 16 * (full - 1), weights, quant, out + lo * c);
                }
            }
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int in_run = ox >= lo && ox < lo + done;
                const int32_t g0 = in_run ? full : 0; /* the run took the pixel's full groups */
                if (g0 < p->groups && !(in_run && p->flat)) {
                    pixel(p, &oc, in, oy, ox, g0, weights, quant, out + ox * c);
                }
            }
        }
    }
}
