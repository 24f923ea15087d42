/* CONV_2D int8 with Helium (MVE) as an int8 matrix product: two output pixels by four output
 * channels at a time, each of the 8 dot products one VMLADAVA (16 multiply-accumulates into a
 * scalar) per 16 bytes of the pixel's column, the two pixels' inputs and the four channels'
 * weights loaded once for all 8. A column is read as runs of contiguous bytes, each run's last 16
 * bytes one predicated vector (zeroing loads; the weights are zero-padded to whole vectors):
 *   en_conv2d_s8_mve gathers two pixels' columns (im2col) into working memory, in_zp where a tap
 *   falls in the padding (which the folded bias cancels), and reads each as one run;
 *   en_conv2d_s8_mve_direct reads the input in place (no working memory): a window row (k_w * in_c
 *   bytes, or with dil_w > 1 each tap's in_c bytes) is a run; at the border, the lanes of a run
 *   outside the image are in_zp (VPSEL), one pixel at a time.
 * The four accumulators of a pixel are requantized together in one vector (en_mve_requant).
 * Spec: edgeneuro/ops/conv2d.py. */
#include "conv2d_mve.h"

#include <stddef.h>
#include <stdint.h>

#include "en_mve.h"

typedef en_conv2d_s8_mve_params en_cv_params;

/* What the requantization needs of the parameters, in registers (stores through int8_t pointers
 * could alias *p, so gcc would read it again after each). */
typedef struct {
    int32_t out_zp;
    int32x4_t lo, hi;
} en_cv_out;

/* The accumulators of one pixel's channels 4j..4j+3: plus the bias, requantized (right: the short
 * form, every shift right), offset, clamped, and the first n stored at out; q: the block's bias,
 * mult and shift, 4 words each. */
static inline void en_cv_store4(const en_cv_out *oc, int right, int32x4_t acc, const int32_t *q, int8_t *out,
                                int32_t n)
{
    acc = vaddq_s32(acc, vldrwq_s32(q));
    const int32x4_t m = vldrwq_s32(q + 4), s = vldrwq_s32(q + 8);
    int32x4_t y;
    if (right) {
        y = en_mve_requant_right(acc, m, s);
    } else {
        const int32x4_t zero = vdupq_n_s32(0);
        y = en_mve_requant(acc, m, vmaxq_s32(s, zero), vminq_s32(s, zero));
    }
    y = vminq_s32(vmaxq_s32(vqaddq_n_s32(y, oc->out_zp), oc->lo), oc->hi);
    if (n >= 4) {
        vstrbq_s32(out, y);
    } else {
        vstrbq_p_s32(out, y, vctp32q((uint32_t)n));
    }
}

static inline en_cv_out en_cv_out_of(const en_cv_params *p)
{
    en_cv_out o;
    o.out_zp = p->out_zp;
    o.lo = vdupq_n_s32(p->act_min);
    o.hi = vdupq_n_s32(p->act_max);
    return o;
}

/* A column of k vectors (k 1 to 4; 0: more) held in registers: vector i is len[i] bytes (at most
 * 16; the lanes past them zero) at off[i] bytes from the column's start. */
typedef struct {
    int32_t k;
    int32_t off[4];
    uint32_t len[4];
} en_cv_held;

/* How a pixel's column is read: `runs` runs of rlen bytes, run r at off[r] bytes from the column's
 * start (off[0] = 0); rx runs a window row (in place: 1, or with dil_w > 1 k_w); and, where the
 * column fits 4 vectors, those (held). */
typedef struct {
    int32_t runs, rlen, rx;
    const int32_t *off;
    en_cv_held held;
} en_cv_runs;

/* The runs, with their held vectors: one run of at most 64 bytes in chunks of 16, or up to 4 runs
 * of at most 16 bytes (a small first layer's window rows) one vector each; else held.k = 0. */
static en_cv_runs en_cv_runs_of(int32_t runs, int32_t rlen, int32_t rx, const int32_t *off)
{
    en_cv_runs rs = {runs, rlen, rx, off, {0, {0, 0, 0, 0}, {0, 0, 0, 0}}};
    if (runs == 1 && rlen <= 64) {
        rs.held.k = (rlen + 15) >> 4;
        for (int32_t i = 0; i < rs.held.k; ++i) {
            const int32_t left = rlen - 16 * i;
            rs.held.off[i] = 16 * i;
            rs.held.len[i] = (uint32_t)(left < 16 ? left : 16);
        }
    } else if (runs <= 4 && rlen <= 16) {
        rs.held.k = runs;
        for (int32_t i = 0; i < runs; ++i) {
            rs.held.off[i] = off[i];
            rs.held.len[i] = (uint32_t)rlen;
        }
    }
    return rs;
}

/* a0..a3 = or += (OP: EN_CV_SET, EN_CV_ADD) the 16 bytes u times the 16 weights of each of the
 * block's 4 channels at w, and b0..b3 the same of v when `two`, each weight vector loaded once. */
#define EN_CV_SET(acc, u, w) vmladavq_s8(u, w)
#define EN_CV_ADD(acc, u, w) vmladavaq_s8(acc, u, w)
#define EN_CV_DOT(OP, u, v, w)                  \
    do {                                        \
        int8x16_t wv_ = vldrbq_s8(w);           \
        a0 = OP(a0, u, wv_);                    \
        if (two) {                              \
            b0 = OP(b0, v, wv_);                \
        }                                       \
        wv_ = vldrbq_s8(w + 16);                \
        a1 = OP(a1, u, wv_);                    \
        if (two) {                              \
            b1 = OP(b1, v, wv_);                \
        }                                       \
        wv_ = vldrbq_s8(w + 32);                \
        a2 = OP(a2, u, wv_);                    \
        if (two) {                              \
            b2 = OP(b2, v, wv_);                \
        }                                       \
        wv_ = vldrbq_s8(w + 48);                \
        a3 = OP(a3, u, wv_);                    \
        if (two) {                              \
            b3 = OP(b3, v, wv_);                \
        }                                       \
    } while (0)

/* a0..a3 (b0..b3) += the n whole chunks of 16 bytes from x (y) on, then when `tail_` the run's
 * last rlen % 16 bytes (predicated by pt); w advances past their weights. */
#define EN_CV_RUN(x, y, n, tail_)                                                          \
    do {                                                                                   \
        const int8_t *x_ = (x), *y_ = (y);                                                 \
        for (int32_t k_ = (n); k_ > 0; --k_, x_ += 16, y_ += 16, w += 64) {                \
            const int8x16_t u_ = vldrbq_s8(x_), v_ = two ? vldrbq_s8(y_) : u_;              \
            EN_CV_DOT(EN_CV_ADD, u_, v_, w);                                               \
        }                                                                                  \
        if (tail_) {                                                                       \
            const int8x16_t u_ = vldrbq_z_s8(x_, pt), v_ = two ? vldrbq_z_s8(y_, pt) : u_;  \
            EN_CV_DOT(EN_CV_ADD, u_, v_, w);                                               \
            w += 64;                                                                       \
        }                                                                                  \
    } while (0)

/* NAME: all output channels of two pixels (TWO 1), columns at xa and xb, to oa and ob, or of one
 * pixel (TWO 0: xb and ob unused), 4 channels at a time. RIGHT: params.right; MULTI: a column of
 * several runs (else one). The first 16 bytes of the columns (predicated if the run is shorter)
 * are loaded once for all channels and start the accumulators (VMLADAV); each run's last rlen % 16
 * bytes are predicated. VMLADAVA accumulates into even-numbered registers only (r0, r2, ...,
 * r12), so gcc moves some of the 8 accumulators of two pixels around. */
#define EN_CV_DEFINE(NAME, RIGHT, TWO, MULTI)                                                                  \
    static void NAME(const en_cv_params *p, const en_cv_out *oc, const en_cv_runs *rs, const int8_t *xa,       \
                     const int8_t *xb, const int32_t *packed, int8_t *oa, int8_t *ob)                          \
    {                                                                                                          \
        const int two = TWO;                                                                                   \
        const en_cv_out o = *oc;                                                                               \
        const int32_t out_c = p->out_c, runs = MULTI ? rs->runs : 1, rlen = rs->rlen;                          \
        const int32_t whole = rlen >> 4, tail = rlen & 15, first = whole > 0 ? whole - 1 : 0;                  \
        const mve_pred16_t pt = vctp8q((uint32_t)tail);                                                        \
        const int32_t *off = rs->off;                                                                          \
        const int8_t *w = (const int8_t *)packed;                                                              \
        if (!two) {                                                                                            \
            xb = xa;                                                                                           \
        }                                                                                                      \
        /* the first chunk: a whole one, or the tail of a run shorter than 16 bytes */                         \
        const int8x16_t u0 = vldrbq_z_s8(xa, vctp8q((uint32_t)rlen));                                          \
        const int8x16_t v0 = two ? vldrbq_z_s8(xb, vctp8q((uint32_t)rlen)) : u0;                               \
        const int8_t *xa1 = whole > 0 ? xa + 16 : xa, *xb1 = whole > 0 ? xb + 16 : xb;                         \
        const int tail0 = whole > 0 && tail; /* run 0 still has its tail after the first chunk */               \
        for (int32_t j = 0; j < out_c; j += 4) {                                                               \
            int32_t a0, a1, a2, a3, b0 = 0, b1 = 0, b2 = 0, b3 = 0;                                            \
            EN_CV_DOT(EN_CV_SET, u0, v0, w);                                                                   \
            w += 64;                                                                                           \
            EN_CV_RUN(xa1, xb1, first, tail0);                                                                 \
            if (MULTI) {                                                                                       \
                for (int32_t r = 1; r < runs; ++r) {                                                           \
                    EN_CV_RUN(xa + off[r], xb + off[r], whole, tail);                                          \
                }                                                                                              \
            }                                                                                                  \
            const int32x4_t va =                                                                               \
                vsetq_lane_s32(a3, vsetq_lane_s32(a2, vsetq_lane_s32(a1, vdupq_n_s32(a0), 1), 2), 3);          \
            en_cv_store4(&o, RIGHT, va, (const int32_t *)(const void *)w, oa + j, out_c - j);                   \
            if (two) {                                                                                         \
                const int32x4_t vb =                                                                           \
                    vsetq_lane_s32(b3, vsetq_lane_s32(b2, vsetq_lane_s32(b1, vdupq_n_s32(b0), 1), 2), 3);      \
                en_cv_store4(&o, RIGHT, vb, (const int32_t *)(const void *)w, ob + j, out_c - j);               \
            }                                                                                                  \
            w += 48; /* past the block's bias, mult and shift */                                               \
        }                                                                                                      \
    }

EN_CV_DEFINE(en_cv_right_two, 1, 1, 0)
EN_CV_DEFINE(en_cv_right_one, 1, 0, 0)
EN_CV_DEFINE(en_cv_any_two, 0, 1, 0)
EN_CV_DEFINE(en_cv_any_one, 0, 0, 0)
EN_CV_DEFINE(en_cv_right_two_runs, 1, 1, 1)
EN_CV_DEFINE(en_cv_right_one_runs, 1, 0, 1)
EN_CV_DEFINE(en_cv_any_two_runs, 0, 1, 1)
EN_CV_DEFINE(en_cv_any_one_runs, 0, 0, 1)

/* NAME: all output channels of one pixel whose column is K vectors (K = 1 to 4: one run of at most
 * 16 * K bytes, or K runs of at most 16 bytes each; en_cv_held_of) at xa, to oa: the vectors stay
 * in registers (predicated where shorter than 16 bytes), so a block of 4 channels costs 4 * K
 * weight loads and 4 * K VMLADAV(A), no input loads. RIGHT: params.right. */
#define EN_CV_DEFINE_HELD(NAME, RIGHT, K)                                                                      \
    static void NAME(const en_cv_params *p, const en_cv_out *oc, const en_cv_held *h, const int8_t *xa,        \
                     const int32_t *packed, int8_t *oa)                                                        \
    {                                                                                                          \
        const en_cv_out o = *oc;                                                                               \
        const int32_t out_c = p->out_c;                                                                        \
        const int8x16_t u0 = vldrbq_z_s8(xa + h->off[0], vctp8q(h->len[0]));                                   \
        const int8x16_t u1 = K > 1 ? vldrbq_z_s8(xa + h->off[1], vctp8q(h->len[1])) : u0;                      \
        const int8x16_t u2 = K > 2 ? vldrbq_z_s8(xa + h->off[2], vctp8q(h->len[2])) : u0;                      \
        const int8x16_t u3 = K > 3 ? vldrbq_z_s8(xa + h->off[3], vctp8q(h->len[3])) : u0;                      \
        const int8_t *w = (const int8_t *)packed;                                                              \
        for (int32_t j = 0; j < out_c; j += 4, w += 48) {                                                      \
            int32_t a0 = vmladavq_s8(u0, vldrbq_s8(w)), a1 = vmladavq_s8(u0, vldrbq_s8(w + 16));               \
            int32_t a2 = vmladavq_s8(u0, vldrbq_s8(w + 32)), a3 = vmladavq_s8(u0, vldrbq_s8(w + 48));          \
            w += 64;                                                                                           \
            if (K > 1) {                                                                                       \
                a0 = vmladavaq_s8(a0, u1, vldrbq_s8(w));                                                       \
                a1 = vmladavaq_s8(a1, u1, vldrbq_s8(w + 16));                                                  \
                a2 = vmladavaq_s8(a2, u1, vldrbq_s8(w + 32));                                                  \
                a3 = vmladavaq_s8(a3, u1, vldrbq_s8(w + 48));                                                  \
                w += 64;                                                                                       \
            }                                                                                                  \
            if (K > 2) {                                                                                       \
                a0 = vmladavaq_s8(a0, u2, vldrbq_s8(w));                                                       \
                a1 = vmladavaq_s8(a1, u2, vldrbq_s8(w + 16));                                                  \
                a2 = vmladavaq_s8(a2, u2, vldrbq_s8(w + 32));                                                  \
                a3 = vmladavaq_s8(a3, u2, vldrbq_s8(w + 48));                                                  \
                w += 64;                                                                                       \
            }                                                                                                  \
            if (K > 3) {                                                                                       \
                a0 = vmladavaq_s8(a0, u3, vldrbq_s8(w));                                                       \
                a1 = vmladavaq_s8(a1, u3, vldrbq_s8(w + 16));                                                  \
                a2 = vmladavaq_s8(a2, u3, vldrbq_s8(w + 32));                                                  \
                a3 = vmladavaq_s8(a3, u3, vldrbq_s8(w + 48));                                                  \
                w += 64;                                                                                       \
            }                                                                                                  \
            const int32x4_t va =                                                                               \
                vsetq_lane_s32(a3, vsetq_lane_s32(a2, vsetq_lane_s32(a1, vdupq_n_s32(a0), 1), 2), 3);          \
            en_cv_store4(&o, RIGHT, va, (const int32_t *)(const void *)w, oa + j, out_c - j);                   \
        }                                                                                                      \
    }

EN_CV_DEFINE_HELD(en_cv_held_right_1, 1, 1)
EN_CV_DEFINE_HELD(en_cv_held_right_2, 1, 2)
EN_CV_DEFINE_HELD(en_cv_held_right_3, 1, 3)
EN_CV_DEFINE_HELD(en_cv_held_right_4, 1, 4)
EN_CV_DEFINE_HELD(en_cv_held_any_1, 0, 1)
EN_CV_DEFINE_HELD(en_cv_held_any_2, 0, 2)
EN_CV_DEFINE_HELD(en_cv_held_any_3, 0, 3)
EN_CV_DEFINE_HELD(en_cv_held_any_4, 0, 4)

typedef void en_cv_held_fn(const en_cv_params *p, const en_cv_out *oc, const en_cv_held *h, const int8_t *xa,
                           const int32_t *packed, int8_t *oa);

typedef void en_cv_fn(const en_cv_params *p, const en_cv_out *oc, const en_cv_runs *rs, const int8_t *xa,
                      const int8_t *xb, const int32_t *packed, int8_t *oa, int8_t *ob);

/* Two pixels, or one (xb NULL), with the function params.right and the runs select: a column of
 * at most 4 vectors (rs->held.k) held in registers, one pixel at a time. */
static void en_cv_pixels(const en_cv_params *p, const en_cv_out *oc, const en_cv_runs *rs, const int8_t *xa,
                         const int8_t *xb, const int32_t *packed, int8_t *oa, int8_t *ob)
{
    if (rs->held.k) {
        static en_cv_held_fn *const held[2][4] = {
            {en_cv_held_any_1, en_cv_held_any_2, en_cv_held_any_3, en_cv_held_any_4},
            {en_cv_held_right_1, en_cv_held_right_2, en_cv_held_right_3, en_cv_held_right_4}};
        en_cv_held_fn *const f = held[p->right != 0][rs->held.k - 1];
        f(p, oc, &rs->held, xa, packed, oa);
        if (xb != NULL) {
            f(p, oc, &rs->held, xb, packed, ob);
        }
        return;
    }
    static en_cv_fn *const fns[8] = {en_cv_any_one,        en_cv_any_two,        en_cv_right_one,
                                     en_cv_right_two,      en_cv_any_one_runs,   en_cv_any_two_runs,
                                     en_cv_right_one_runs, en_cv_right_two_runs};
    fns[(rs->runs > 1) * 4 + (p->right != 0) * 2 + (xb != NULL)](p, oc, rs, xa, xb, packed, oa, ob);
}

/* n bytes from src to dst (src NULL: n bytes of zp), 16 at a time, the last vector predicated. */
static inline int8_t *en_cv_copy(int8_t *dst, const int8_t *src, int8x16_t zp, int32_t n)
{
    if (src != NULL) {
        for (; n > 16; n -= 16, src += 16, dst += 16) {
            vstrbq_s8(dst, vldrbq_s8(src));
        }
        const mve_pred16_t pr = vctp8q((uint32_t)n);
        vstrbq_p_s8(dst, vldrbq_z_s8(src, pr), pr);
    } else {
        for (; n > 16; n -= 16, dst += 16) {
            vstrbq_s8(dst, zp);
        }
        vstrbq_p_s8(dst, zp, vctp8q((uint32_t)n));
    }
    return dst + n;
}

/* Pixel (oy, ox)'s column of image (im2col): for each tap (rows, then columns) in_c bytes, the
 * input's or in_zp's in the padding; the taps of a window row inside the image (dil_w 1) are one
 * copy, those outside one fill on either side. */
static void en_cv_gather(const en_cv_params *p, const int8_t *image, int32_t oy, int32_t ox, int8_t *col)
{
    const int32_t c = p->in_c, kw = p->k_w, y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w;
    const int8x16_t zp = vdupq_n_s8((int8_t)p->in_zp);
    /* with dil_w 1, the taps [k0, k1) of a row lie inside the image */
    const int32_t k0 = x0 < 0 ? (-x0 < kw ? -x0 : kw) : 0;
    const int32_t k1 = p->in_w - x0 < kw ? (p->in_w - x0 > k0 ? p->in_w - x0 : k0) : kw;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = y0 + ky * p->dil_h;
        if (iy < 0 || iy >= p->in_h) {
            col = en_cv_copy(col, NULL, zp, kw * c);
            continue;
        }
        const int8_t *row = image + iy * p->in_w * c;
        if (p->dil_w == 1) {
            if (k0 > 0) {
                col = en_cv_copy(col, NULL, zp, k0 * c);
            }
            if (k1 > k0) {
                col = en_cv_copy(col, row + (x0 + k0) * c, zp, (k1 - k0) * c);
            }
            if (k1 < kw) {
                col = en_cv_copy(col, NULL, zp, (kw - k1) * c);
            }
            continue;
        }
        for (int32_t kx = 0; kx < kw; ++kx) {
            const int32_t ix = x0 + kx * p->dil_w;
            col = en_cv_copy(col, ix >= 0 && ix < p->in_w ? row + ix * c : NULL, zp, c);
        }
    }
}

void en_conv2d_s8_mve(const en_conv2d_s8_mve_params *p, const int8_t *input, const int32_t *packed, int8_t *output,
                      int8_t *scratch)
{
    const en_cv_out oc = en_cv_out_of(p);
    static const int32_t zero = 0;
    const en_cv_runs rs = en_cv_runs_of(1, p->depth, 1, &zero); /* a gathered column: one run */
    const int32_t image = p->in_h * p->in_w * p->in_c, out_c = p->out_c;
    int8_t *ca = scratch, *cb = scratch + p->depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * image;
        int8_t *out = output + b * p->out_h * p->out_w * out_c;
        int32_t oy = 0, ox = 0; /* the next pixel */
        for (int32_t left = p->out_h * p->out_w; left > 0; left -= 2, out += 2 * out_c) {
            en_cv_gather(p, in, oy, ox, ca);
            if (++ox == p->out_w) {
                ox = 0;
                ++oy;
            }
            if (left == 1) {
                en_cv_pixels(p, &oc, &rs, ca, NULL, packed, out, NULL);
                break;
            }
            en_cv_gather(p, in, oy, ox, cb);
            if (++ox == p->out_w) {
                ox = 0;
                ++oy;
            }
            en_cv_pixels(p, &oc, &rs, ca, cb, packed, out, out + out_c);
        }
    }
}

/* The interior [lo, hi) of an output axis of `out` positions: where a window of k taps dil apart
 * (stride s, padding pad) lies inside [0, size). */
static void en_cv_interior(int32_t out, int32_t size, int32_t k, int32_t s, int32_t dil, int32_t pad, int32_t *lo,
                           int32_t *hi)
{
    const int32_t first = (pad + s - 1) / s, last = size - 1 + pad - (k - 1) * dil; /* o * s <= last */
    *lo = first < out ? first : out;
    *hi = last < 0 ? *lo : last / s + 1;
    *hi = *hi > out ? out : (*hi < *lo ? *lo : *hi);
}

/* All output channels of border pixel (oy, ox) of image `in`: the column read in place run by run,
 * the lanes of a run outside the image in_zp (a row outside: all of it). */
static __attribute__((noinline)) void en_cv_border(const en_cv_params *p, const en_cv_out *oc,
                                                    const en_cv_runs *rs, const int8_t *in, int32_t oy, int32_t ox,
                                                    const int32_t *packed, int8_t *out)
{
    const int32_t c = p->in_c, row = p->in_w * c, out_c = p->out_c, rlen = rs->rlen, chunks = (rlen + 15) >> 4;
    const int32_t y0 = oy * p->stride_h - p->pad_h, x0 = ox * p->stride_w - p->pad_w, rx = rs->rx;
    const int8x16_t zp = vdupq_n_s8((int8_t)p->in_zp);
    const int8_t *w = (const int8_t *)packed;
    for (int32_t j = 0; j < out_c; j += 4) {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (int32_t i = 0; i < rs->runs / rx; ++i) {
            const int32_t iy = y0 + i * p->dil_h;
            for (int32_t jx = 0; jx < rx; ++jx) {
                /* the run's first tap column, and its lanes [lo, hi) inside the image */
                const int32_t ix = x0 + jx * p->dil_w, taps = rlen / c;
                int32_t lo = 0, hi = 0;
                if (iy >= 0 && iy < p->in_h) {
                    const int32_t first = ix < 0 ? -ix : 0, end = p->in_w - ix < taps ? p->in_w - ix : taps;
                    lo = first * c;
                    hi = end > first ? end * c : lo;
                }
                /* the run's address (before the image where it starts in the padding; only the lanes
                 * inside are read) */
                const uintptr_t at = (uintptr_t)in + (uintptr_t)(intptr_t)(iy * row + ix * c);
                for (int32_t k = 0; k < chunks; ++k, w += 64) {
                    const int32_t l0 = lo - 16 * k, l1 = hi - 16 * k;
                    const mve_pred16_t pin = (mve_pred16_t)(vctp8q((uint32_t)(l1 > 0 ? l1 : 0)) &
                                                            ~vctp8q((uint32_t)(l0 > 0 ? l0 : 0)));
                    const int8_t *x = (const int8_t *)(at + (uintptr_t)(16 * k));
                    const int8x16_t u = vpselq_s8(vldrbq_z_s8(x, pin), zp, pin);
                    a0 = vmladavaq_s8(a0, u, vldrbq_s8(w));
                    a1 = vmladavaq_s8(a1, u, vldrbq_s8(w + 16));
                    a2 = vmladavaq_s8(a2, u, vldrbq_s8(w + 32));
                    a3 = vmladavaq_s8(a3, u, vldrbq_s8(w + 48));
                }
            }
        }
        const int32x4_t va = vsetq_lane_s32(a3, vsetq_lane_s32(a2, vsetq_lane_s32(a1, vdupq_n_s32(a0), 1), 2), 3);
        en_cv_store4(oc, p->right, va, (const int32_t *)(const void *)w, out + j, out_c - j);
        w += 48;
    }
}

void en_conv2d_s8_mve_direct(const en_conv2d_s8_mve_direct_params *p, const int8_t *input, const int32_t *packed,
                             int8_t *output)
{
    const en_cv_out oc = en_cv_out_of(p);
    const int32_t c = p->in_c, row = p->in_w * c, out_c = p->out_c;
    const int32_t ry = p->k_h, rx = p->dil_w == 1 ? 1 : p->k_w; /* runs: window rows, or taps */
    int32_t off[ry * rx];
    for (int32_t i = 0; i < ry * rx; ++i) {
        off[i] = i / rx * p->dil_h * row + i % rx * p->dil_w * c;
    }
    const en_cv_runs rs = en_cv_runs_of(ry * rx, rx == 1 ? p->k_w * c : c, rx, off);
    int32_t ylo, yhi, xlo, xhi;
    en_cv_interior(p->out_h, p->in_h, p->k_h, p->stride_h, p->dil_h, p->pad_h, &ylo, &yhi);
    en_cv_interior(p->out_w, p->in_w, p->k_w, p->stride_w, p->dil_w, p->pad_w, &xlo, &xhi);
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * p->in_h * row;
        int8_t *out = output + b * p->out_h * p->out_w * out_c;
        const int8_t *wait = NULL; /* an interior pixel not yet computed, and its output */
        int8_t *wait_out = NULL;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int rows_in = oy >= ylo && oy < yhi;
            for (int32_t ox = 0; ox < p->out_w; ++ox, out += out_c) {
                if (!rows_in || ox < xlo || ox >= xhi) {
                    en_cv_border(p, &oc, &rs, in, oy, ox, packed, out);
                    continue;
                }
                const int8_t *x = in + (oy * p->stride_h - p->pad_h) * row + (ox * p->stride_w - p->pad_w) * c;
                if (wait == NULL) {
                    wait = x;
                    wait_out = out;
                } else { /* two interior pixels (maybe rows apart) */
                    en_cv_pixels(p, &oc, &rs, wait, x, packed, wait_out, out);
                    wait = NULL;
                }
            }
        }
        if (wait != NULL) {
            en_cv_pixels(p, &oc, &rs, wait, NULL, packed, wait_out, NULL);
        }
    }
}
