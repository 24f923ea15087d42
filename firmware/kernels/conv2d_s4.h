/* CONV_2D with int4 weights (TFLite INT4, two a byte) and int8 activations: the bits of
 * en_conv2d_s8 on the unpacked weights, which stay packed in flash and are unpacked as they are
 * read. Spec: edgeneuro/ops/conv2d.py. */
#ifndef EN_CONV2D_S4_H
#define EN_CONV2D_S4_H

#include <stdint.h>

#include "conv2d.h"

typedef en_conv2d_s8_params en_conv2d_s4_params;

/* weights: the model's packed bytes, OHWI flat, value i in the low (even i) or high (odd i)
 * nibble of byte i / 2. */
void en_conv2d_s4(const en_conv2d_s4_params *p, const int8_t *input, const uint8_t *weights, const int32_t *bias,
                  const int32_t *mult, const int32_t *shift, int8_t *output);

/* For cores with SIMD32 (groups == 1): for each output pixel its column of k_h * k_w * in_c raw
 * input bytes (a tap in the padding: in_zp) is gathered into `scratch`, then multiplied by the
 * out_c rows of weights, 4 rows at a time, as en_fully_connected_s4_dsp does. weights: the rows
 * [out_c][k_h * k_w * in_c] (OHWI) in row pairs (fully_connected_s4.h); fields: per channel bias
 * (the input zero point folded in: bias - in_zp * sum of the row, so the in_zp taps of the padding
 * add nothing), mult, offset, right (en_int4.h en_s4_out). filter_c is in_c. */
typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, filter_c;
    int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t in_zp, out_zp, act_min, act_max;
    int32_t fast; /* the short requantization (en_s4_out) */
} en_conv2d_s4_dsp_params;

void en_conv2d_s4_dsp(const en_conv2d_s4_dsp_params *p, const int8_t *input, const int32_t *weights,
                      const int32_t *fields, int8_t *output, int8_t *scratch);

/* The same without working memory (in_c % 4 == 0): each 4-row block reads every tap's in_c bytes
 * where they lie, a row of taps inside the image (dil_w == 1) as one run of k_w * in_c bytes, and a
 * tap in the padding reads `pad`, in_c bytes of in_zp (a constant). */
typedef en_conv2d_s4_dsp_params en_conv2d_s4_dsp_direct_params;

void en_conv2d_s4_dsp_direct(const en_conv2d_s4_dsp_direct_params *p, const int8_t *input, const int32_t *weights,
                             const int32_t *fields, const int8_t *pad, int8_t *output);

#endif
