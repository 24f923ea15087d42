/* FULLY_CONNECTED int8 for cores with the DSP extension (SIMD32): the same parameters and bits as
 * en_fully_connected_s8 (fully_connected.h), with constants laid out for it at compile time.
 * Spec: edgeneuro/ops/fully_connected.py. */
#ifndef EN_FULLY_CONNECTED_DSP_H
#define EN_FULLY_CONNECTED_DSP_H

#include <stdint.h>

#include "fully_connected.h"

typedef en_fully_connected_s8_params en_fully_connected_s8_dsp_params;

/* weights: rows in blocks of 4 units; within a block, for each 4 columns the 4 rows' 4 bytes one
 * after the other, then each row's last depth % 4 bytes; the last units % 4 rows as they are.
 * bias: bias[u] - in_zp * sum_d weights[u][d] (the input zero point folded in). */
void en_fully_connected_s8_dsp(const en_fully_connected_s8_dsp_params *p, const int8_t *input, const int8_t *weights,
                               const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output);

#endif
