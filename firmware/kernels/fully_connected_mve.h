/* FULLY_CONNECTED int8 for cores with Helium (MVE): the same bits as en_fully_connected_s8
 * (fully_connected.h), with constants laid out for it at compile time.
 * Spec: edgeneuro/ops/fully_connected.py. */
#ifndef EN_FULLY_CONNECTED_MVE_H
#define EN_FULLY_CONNECTED_MVE_H

#include <stdint.h>

/* right: every unit's shift is -1 or less (no left shift, the short requantization). */
typedef struct {
    int32_t batches, depth, units, in_zp, out_zp, act_min, act_max, right;
} en_fully_connected_s8_mve_params;

/* weights: rows in blocks of 4 units; within a block, for each 16 columns the 4 rows' 16 bytes one
 * after the other, then each row's last depth % 16 bytes; the last units % 4 rows as they are.
 * bias: bias[u] - in_zp * sum_d weights[u][d] (the input zero point folded in). */
void en_fully_connected_s8_mve(const en_fully_connected_s8_mve_params *p, const int8_t *input, const int8_t *weights,
                               const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output);

#endif
