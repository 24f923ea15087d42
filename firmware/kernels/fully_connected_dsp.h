/* FULLY_CONNECTED int8 for cores with the DSP extension (SIMD32): the bits of
 * en_fully_connected_s8 (fully_connected.h), with constants laid out for it at compile time.
 * Spec: edgeneuro/ops/fully_connected.py. */
#ifndef EN_FULLY_CONNECTED_DSP_H
#define EN_FULLY_CONNECTED_DSP_H

#include <stdint.h>

typedef struct {
    int32_t batches, depth, units, out_zp, act_min, act_max;
    int32_t fast;   /* the requantization triples are the short form's (else the spec's) */
    int32_t shared; /* one triple for all units (else one per unit) */
} en_fully_connected_s8_dsp_params;

/* weights: rows in blocks of 4 units; within a block, for each 4 columns the 4 rows' 4 bytes one
 * after the other, then each row's last depth % 4 bytes; the last units % 4 rows as they are
 * (word-aligned, as every constant array is).
 * fields: the units' biases with the input zero point folded in (bias - in_zp * sum of the row),
 * then the requantization triples mult, offset, right, one per unit or one for all (`shared`):
 * with `fast` the short form's (conv2d.py channel_fields), else the spec's mult, 0 and -shift. */
void en_fully_connected_s8_dsp(const en_fully_connected_s8_dsp_params *p, const int8_t *input, const int8_t *weights,
                               const int32_t *fields, int8_t *output);

/* The same with the 4-unit blocks' zero words left out (compile --sparse auto). weights: one int32
 * stream; per block of 4 units, for each input word where one of the 4 rows is non-zero a record
 * of 5 words: the distance in bytes from the previous such input word (the first from input - 4),
 * then the 4 rows' 4 weights, one word each; then a word 0; then the 4 rows' last depth % 4
 * weights (4 * (depth % 4) bytes); after the blocks the last units % 4 rows as they are, and 4
 * words 0 (the last block's LDM reads 4 words past its 0). fields: as en_fully_connected_s8_dsp. */
typedef en_fully_connected_s8_dsp_params en_fully_connected_s8_dsp_sparse_params;

void en_fully_connected_s8_dsp_sparse(const en_fully_connected_s8_dsp_sparse_params *p, const int8_t *input,
                                      const int32_t *weights, const int32_t *fields, int8_t *output);

#endif
