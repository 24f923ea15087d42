/* DEPTHWISE_CONV_2D int8 with depth multiplier 1 for cores with Helium (MVE): the same bits as
 * en_depthwise_conv2d_s8 (depthwise_conv2d.h), with constants laid out for it at compile time; no
 * working memory. Spec: edgeneuro/ops/depthwise_conv2d.py (mve_constants and the
 * en_depthwise_conv2d_s8_mve branch of reference). */
#ifndef EN_DEPTHWISE_CONV2D_MVE_H
#define EN_DEPTHWISE_CONV2D_MVE_H

#include <stdint.h>

/* A vector is 16 lanes of one output row: with flat = 1 (in_c < 16 divides 16) 16 / in_c pixels of in_c
 * channels, else 16 channels of one pixel, groups = ceil(in_c / 16) vectors a pixel. pairs: two
 * taps' int8 products add up in int16 without overflow (|w1| + |w2| <= 255 in every channel, taps
 * paired in order); right: every channel's shift is -1 or less. */
typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, k_h, k_w;
    int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t in_zp, out_zp, act_min, act_max;
    int32_t groups, flat, pairs, right;
} en_depthwise_conv2d_s8_mve_params;

/* weights: per group of 16 lanes, per tap (rows, then columns), the 16 lanes' weights (lane l is
 * channel 16 * group + l, or l % in_c when flat; lanes past in_c: 0).
 * quant: per group 48 words, 12 vectors of 4 lanes: bias (bias - in_zp * sum of the channel's
 * weights, the zero point folded in), mult, shift, each as 4 vectors in accumulator order: lanes
 * (0, 4, 8, 12), (2, 6, 10, 14), (1, 5, 9, 13), (3, 7, 11, 15) of the group; then 4 * groups
 * words holding 16 * groups bytes of in_zp (what a tap in the padding reads). */
void en_depthwise_conv2d_s8_mve(const en_depthwise_conv2d_s8_mve_params *p, const int8_t *input,
                                const int8_t *weights, const int32_t *quant, int8_t *output);

#endif
