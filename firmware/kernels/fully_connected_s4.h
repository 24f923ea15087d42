/* FULLY_CONNECTED with int4 weights (TFLite INT4, two a byte) and int8 activations: the bits of
 * en_fully_connected_s8 on the unpacked weights, which stay packed in flash and are unpacked as
 * they are read. Spec: edgeneuro/ops/fully_connected.py. */
#ifndef EN_FULLY_CONNECTED_S4_H
#define EN_FULLY_CONNECTED_S4_H

#include <stdint.h>

#include "fully_connected.h"

typedef en_fully_connected_s8_params en_fully_connected_s4_params;

/* weights: the model's packed bytes, [units][depth] flat, value i in the low (even i) or high
 * (odd i) nibble of byte i / 2 (a row may start in the middle of a byte). */
void en_fully_connected_s4(const en_fully_connected_s4_params *p, const int8_t *input, const uint8_t *weights,
                           const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output);

/* For cores with SIMD32. weights: int32 words in row pairs (en_int4.h en_s4_pair): one word holds
 * 4 consecutive weights of two rows, the even row's in the low nibbles of its 4 bytes, the odd
 * row's in the high nibbles. Per block of 4 units: for each 4 inputs the word of units 0, 1 and
 * the word of units 2, 3; then, when depth % 4, the two pairs' last weights in a word each (bytes
 * past the depth 0). The last units % 4 rows as one more pair the same way (a lone last row
 * paired with zeros). fields: per unit bias (the input zero point folded in: bias - in_zp * sum of
 * the row), mult, offset, right (en_int4.h en_s4_out; `fast`: the short requantization). */
typedef struct {
    int32_t batches, depth, units, out_zp, act_min, act_max;
    int32_t fast;
} en_fully_connected_s4_dsp_params;

void en_fully_connected_s4_dsp(const en_fully_connected_s4_dsp_params *p, const int8_t *input, const int32_t *weights,
                               const int32_t *fields, int8_t *output);

#endif
