/* CONV_2D, NHWC input, OHWI int4 weights (grouped when in_c > filter_c), int8 activations.
 * Spec: edgeneuro/ops/conv2d.py. */
#include "conv2d_s4.h"

#include "en_fixedpoint.h"
#include "en_int4.h"

#include <string.h>

void en_conv2d_s4(const en_conv2d_s4_params *p, const int8_t *input, const uint8_t *weights, const int32_t *bias,
                  const int32_t *mult, const int32_t *shift, int8_t *output)
{
    const int32_t per_group = p->out_c / (p->in_c / p->filter_c);
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    const int32_t c0 = (oc / per_group) * p->filter_c;
                    int32_t acc = 0;
                    for (int32_t ky = 0; ky < p->k_h; ++ky) {
                        const int32_t iy = y0 + ky * p->dil_h;
                        if (iy < 0 || iy >= p->in_h) {
                            continue;
                        }
                        for (int32_t kx = 0; kx < p->k_w; ++kx) {
                            const int32_t ix = x0 + kx * p->dil_w;
                            if (ix < 0 || ix >= p->in_w) {
                                continue;
                            }
                            const int8_t *in = input + ((b * p->in_h + iy) * p->in_w + ix) * p->in_c + c0;
                            const int32_t at = ((oc * p->k_h + ky) * p->k_w + kx) * p->filter_c;
                            acc += en_s4_dot(in, weights, at, p->filter_c, p->in_zp);
                        }
                    }
                    *output++ = EN_FINISH_S8(acc, oc);
                }
            }
        }
    }
}

/* n bytes from `from` to `to`, a word at a time where n % 4 == 0 (any alignment of `from`). */
static inline void en_s4_copy(int8_t *to, const int8_t *from, int32_t n)
{
    if ((n & 3) == 0) {
        for (int32_t i = 0; i < n; i += 4) {
            const uint32_t v = en_read_s8x4(from + i);
            memcpy(to + i, &v, sizeof v);
        }
        return;
    }
    for (int32_t i = 0; i < n; ++i) {
        to[i] = from[i];
    }
}

void en_conv2d_s4_dsp(const en_conv2d_s4_dsp_params *p, const int8_t *input, const int32_t *weights,
                      const int32_t *fields, int8_t *output, int8_t *scratch)
{
    const int32_t depth = p->k_h * p->k_w * p->in_c, u4 = p->out_c & ~3;
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                int8_t *col = scratch;
                for (int32_t ky = 0; ky < p->k_h; ++ky) {
                    const int32_t iy = y0 + ky * p->dil_h;
                    for (int32_t kx = 0; kx < p->k_w; ++kx, col += p->in_c) {
                        const int32_t ix = x0 + kx * p->dil_w;
                        if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
                            memset(col, p->in_zp, (size_t)p->in_c);
                        } else {
                            en_s4_copy(col, input + ((b * p->in_h + iy) * p->in_w + ix) * p->in_c, p->in_c);
                        }
                    }
                }
                const uint32_t *w = (const uint32_t *)weights;
                int32_t oc = 0, acc[4];
                for (; oc < u4; oc += 4) {
                    w = en_s4_rows4(w, scratch, depth, acc);
                    for (int32_t r = 0; r < 4; ++r) {
                        *output++ = en_s4_out(acc[r], fields + 4 * (oc + r), p->fast, p->out_zp, p->act_min, p->act_max);
                    }
                }
                for (; oc < p->out_c; oc += 2) {
                    w = en_s4_rows2(w, scratch, depth, acc);
                    for (int32_t r = 0; r < 2 && oc + r < p->out_c; ++r) {
                        *output++ = en_s4_out(acc[r], fields + 4 * (oc + r), p->fast, p->out_zp, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
}

/* acc[0..n) (n = 4 or 2 rows from w) += 16 times the rows' dot products with the column of the
 * pixel at (y0, x0) of image `img`, read in place; returns the words after the rows. */
static inline const uint32_t *en_s4_direct_rows(const en_conv2d_s4_dsp_params *p, const int8_t *img, const int8_t *pad,
                                                int32_t y0, int32_t x0, const uint32_t *w, int32_t acc[4], int32_t n)
{
    const int32_t run = p->k_w * p->in_c;
    const int row_inside = p->dil_w == 1 && x0 >= 0 && x0 + p->k_w <= p->in_w;
    acc[0] = acc[1] = acc[2] = acc[3] = 0;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = y0 + ky * p->dil_h;
        const int y_inside = iy >= 0 && iy < p->in_h;
        if (y_inside && row_inside) {
            const int8_t *at = img + (iy * p->in_w + x0) * p->in_c;
            w = n == 4 ? en_s4_rows4_add(w, at, run, acc) : en_s4_rows2_add(w, at, run, acc);
            continue;
        }
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = x0 + kx * p->dil_w;
            const int8_t *at = y_inside && ix >= 0 && ix < p->in_w ? img + (iy * p->in_w + ix) * p->in_c : pad;
            w = n == 4 ? en_s4_rows4_add(w, at, p->in_c, acc) : en_s4_rows2_add(w, at, p->in_c, acc);
        }
    }
    return w;
}

void en_conv2d_s4_dsp_direct(const en_conv2d_s4_dsp_direct_params *p, const int8_t *input, const int32_t *weights,
                             const int32_t *fields, const int8_t *pad, int8_t *output)
{
    const int32_t u4 = p->out_c & ~3;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *img = input + b * p->in_h * p->in_w * p->in_c;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                const uint32_t *w = (const uint32_t *)weights;
                int32_t oc = 0, acc[4];
                for (; oc < u4; oc += 4) {
                    w = en_s4_direct_rows(p, img, pad, y0, x0, w, acc, 4);
                    for (int32_t r = 0; r < 4; ++r) {
                        *output++ = en_s4_out(acc[r], fields + 4 * (oc + r), p->fast, p->out_zp, p->act_min, p->act_max);
                    }
                }
                for (; oc < p->out_c; oc += 2) {
                    w = en_s4_direct_rows(p, img, pad, y0, x0, w, acc, 2);
                    for (int32_t r = 0; r < 2 && oc + r < p->out_c; ++r) {
                        *output++ = en_s4_out(acc[r], fields + 4 * (oc + r), p->fast, p->out_zp, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
}
