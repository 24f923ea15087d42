/* DEPTHWISE_CONV_2D with int4 weights (TFLite INT4, two a byte) and int8 activations: the bits of
 * en_depthwise_conv2d_s8 on the unpacked weights, which stay packed in flash and are unpacked as
 * they are read. Spec: edgeneuro/ops/depthwise_conv2d.py. */
#ifndef EN_DEPTHWISE_CONV2D_S4_H
#define EN_DEPTHWISE_CONV2D_S4_H

#include <stdint.h>

#include "depthwise_conv2d.h"

typedef en_depthwise_conv2d_s8_params en_depthwise_conv2d_s4_params;

/* weights: the model's packed bytes, [1][KH][KW][C*M] flat, value i in the low (even i) or high
 * (odd i) nibble of byte i / 2. */
void en_depthwise_conv2d_s4(const en_depthwise_conv2d_s4_params *p, const int8_t *input, const uint8_t *weights,
                            const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output);

#endif
