/* DEPTHWISE_CONV_2D int8 with depth multiplier 1 for cores with the DSP extension (SIMD32): the
 * same bits as en_depthwise_conv2d_s8 (depthwise_conv2d.h), with constants laid out for it at
 * compile time. Spec: edgeneuro/ops/depthwise_conv2d.py (dsp_constants and the
 * en_depthwise_conv2d_s8_dsp branch of reference). */
#ifndef EN_DEPTHWISE_CONV2D_DSP_H
#define EN_DEPTHWISE_CONV2D_DSP_H

#include <stdint.h>

/* groups = ceil(in_c / 4); row_w: the padded width of a ring row, (out_w - 1) * stride_w +
 * (k_w - 1) * dil_w + 1 columns; ring_rows = (k_h - 1) * dil_h + 1; fast: every channel takes the
 * short requantization (see consts). */
typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, k_h, k_w;
    int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t in_zp, out_zp, act_min, act_max;
    int32_t groups, row_w, ring_rows, fast;
} en_depthwise_conv2d_s8_dsp_params;

/* consts: per group of 4 channels c..c+3, 2 * k_h * k_w + 16 words:
 *   per tap (rows, then columns) two words of int16 pairs, 2*w[c] | 2*w[c+2] << 16 and
 *   2*w[c+1] | 2*w[c+3] << 16 (channels past in_c: 0);
 *   bias2[4]: 2 * (bias - in_zp * sum of the channel's weights) (the zero point folded in);
 *   (mult, rc)[4]: the multiplier and, when fast, rc = 2^(e-1) + out_zp * 2^e;
 *   e[4]: minus the shift (fast: 1..31).
 * scratch: ring_rows * groups * row_w * 8 bytes, 8-byte aligned: input rows sign-extended to int16
 * pairs, the padding filled with in_zp.
 * output may be input itself (the same bytes) where every input row enters the ring before the
 * output row over it is written: same shapes, as with stride 1 SAME (dsp_inplace in
 * edgeneuro/ops/depthwise_conv2d.py); otherwise the two must not overlap. */
void en_depthwise_conv2d_s8_dsp(const en_depthwise_conv2d_s8_dsp_params *p, const int8_t *input,
                                const int32_t *consts, int8_t *output, int8_t *scratch);

#endif
