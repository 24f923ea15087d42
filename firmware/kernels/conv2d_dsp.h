/* CONV_2D int8 for cores with the DSP extension (SIMD32): the same bits as en_conv2d_s8 (conv2d.h)
 * for convolutions without groups, with constants laid out for it at compile time.
 * Spec: edgeneuro/ops/conv2d.py. */
#ifndef EN_CONV2D_DSP_H
#define EN_CONV2D_DSP_H

#include <stdint.h>

#include "conv2d.h"

/* en_conv2d_s8's parameters (filter_c == in_c), and `fast`: 1 when the short form of the
 * requantization is exact for every channel and input (decided at compile time: pack_channels). */
typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, filter_c;
    int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t in_zp, out_zp, act_min, act_max;
    int32_t fast;
} en_conv2d_s8_dsp_params;

/* packed: one stream of int32 words (pack_stream in edgeneuro/ops/conv2d.py). Per pair of output
 *   channels c, c+1: bias[c], bias[c+1]; for each 4 of the depth = k_h * k_w * in_c weights (OHWI
 *   order, zero-padded to a multiple of 4) c's 4 bytes then c+1's, as little-endian words; then
 *   mult[c], mult[c+1], offset[c], offset[c+1], right[c], right[c+1]. The last channel of an odd
 *   count likewise alone: bias, its words, mult, offset, right. bias[c] is the spec's bias minus
 *   in_zp * the sum of channel c's weights (the input zero point folded in), right = -shift, and
 *   offset = 2^(right-1) + out_zp * 2^right, the short requantization's constant (when `fast`;
 *   see channel_fields, which may also turn a channel of constant output into zero weights).
 * scratch: 4 * depth4 bytes (8-byte aligned; depth4 = depth rounded up to a multiple of 4), plus
 *   depth4 when in_c % 4 != 0. */
typedef void en_conv2d_s8_dsp_fn(const en_conv2d_s8_dsp_params *p, const int8_t *input, const int32_t *packed,
                                 int8_t *output, int8_t *scratch);

/* One entry point per requantization (`fast` 0: _exact; 1: _fast where the activation range is all
 * of int8, else _fast_clamp); the compiler calls the layer's own, so only those are linked. */
en_conv2d_s8_dsp_fn en_conv2d_s8_dsp_exact, en_conv2d_s8_dsp_fast, en_conv2d_s8_dsp_fast_clamp;

/* The same bits without working memory of its own, for in_c % 4 == 0 (the input word-aligned, as
 * the arena's buffers are); same parameters and stream. While the output has room to spare it
 * gathers a pixel pair's columns (16 * depth4 / 4 bytes) into the output's own last bytes, which
 * it writes last; the pairs that write over them read each pixel's column from the input in
 * place. The output must not overlap the input. */
typedef en_conv2d_s8_dsp_params en_conv2d_s8_dsp_direct_params;

typedef void en_conv2d_s8_dsp_direct_fn(const en_conv2d_s8_dsp_direct_params *p, const int8_t *input,
                                        const int32_t *packed, int8_t *output);

en_conv2d_s8_dsp_direct_fn en_conv2d_s8_dsp_direct_exact, en_conv2d_s8_dsp_direct_fast,
    en_conv2d_s8_dsp_direct_fast_clamp;

/* The gathering form with the column groups where both channels of a pair have zero weights left
 * out (compile --sparse auto; same parameters and scratch). packed: as en_conv2d_s8_dsp's, but per
 * pair of channels after the two biases the number of kept groups, then for each its word offset
 * into the widened column (4 * group) and the pair's two weight words; the last channel of an odd
 * count as in the dense stream. */
typedef en_conv2d_s8_dsp_params en_conv2d_s8_dsp_sparse_params;

en_conv2d_s8_dsp_fn en_conv2d_s8_dsp_sparse_exact, en_conv2d_s8_dsp_sparse_fast, en_conv2d_s8_dsp_sparse_fast_clamp;

#endif
