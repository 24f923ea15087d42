/* CONV_2D int8 for cores with Helium (MVE): the same bits as en_conv2d_s8 (conv2d.h) for
 * convolutions without groups, with constants laid out for it at compile time.
 * Spec: edgeneuro/ops/conv2d.py. */
#ifndef EN_CONV2D_MVE_H
#define EN_CONV2D_MVE_H

#include <stdint.h>

/* en_conv2d_s8's parameters (filter_c == in_c), and depth = k_h * k_w * in_c, the length of a
 * pixel's column; right: every channel's shift is -1 or less (no left shift). */
typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, filter_c;
    int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t in_zp, out_zp, act_min, act_max;
    int32_t depth, right;
} en_conv2d_s8_mve_params;

/* The input read in place, no working memory. */
typedef en_conv2d_s8_mve_params en_conv2d_s8_mve_direct_params;

/* packed: one stream of int32 words, per block of 4 output channels (out_c rounded up to a multiple
 *   of 4, the extra channels' weights 0): for each run of the column, for each 16 bytes of the run
 *   (rounded up to a multiple of 16, the extra weights 0) the 4 channels' 16 int8 weights one
 *   after the other; then the 4 channels' bias, mult and shift (4 words each); bias is the spec's
 *   bias minus in_zp * the sum of the channel's weights (the input zero point folded in). The
 *   runs: en_conv2d_s8_mve one, the whole column (depth bytes: k_h * k_w * in_c in OHWI order);
 *   en_conv2d_s8_mve_direct each window row (k_w * in_c bytes), or with dil_w > 1 each tap (in_c).
 * scratch: 2 * depth bytes, two pixels' columns (im2col; in_zp where a tap falls in the padding). */
void en_conv2d_s8_mve(const en_conv2d_s8_mve_params *p, const int8_t *input, const int32_t *packed, int8_t *output,
                      int8_t *scratch);

void en_conv2d_s8_mve_direct(const en_conv2d_s8_mve_direct_params *p, const int8_t *input, const int32_t *packed,
                             int8_t *output);

#endif
