/* UNIDIRECTIONAL_SEQUENCE_LSTM int8 (int16 cell state) for cores with the DSP extension (SIMD32):
 * the same bits as en_lstm_s8 (lstm.h), with everything but the activations fixed at compile time.
 * Spec: edgeneuro/ops/lstm.py (dsp_kernel). */
#ifndef EN_LSTM_DSP_H
#define EN_LSTM_DSP_H

#include <stdint.h>

#include "lstm.h"

typedef struct {
    int32_t batches, steps, in_dim, units, time_major, xp, up, h_zp, cell_lo, cell_hi;
    int32_t forget_mult, forget_round, forget_shift, input_mult, input_round, input_shift;
    int32_t hidden_mult, hidden_round, hidden_shift, tanh_mult, tanh_round, tanh_shift;
} en_lstm_s8_dsp_params;

/* Rows r = gate * units + unit, gates in the order forget, input, cell, output; xp and up are
 * in_dim and units rounded up to multiples of 4.
 * weights: one stream of words, per block of 4 rows: the 4 input-FC biases (bias - in_zp *
 *   sum(w_in)), then for each pair of input columns (zero-padded to xp) the 4 rows' int16 pairs,
 *   then the 4 recurrent biases (-h_zp * sum(w_rec)) and the recurrent weights the same way
 *   (columns zero-padded to up); weights and biases shifted left by their FC's 1 + max(shift, 0).
 * gate_rq: per gate, for the input FC then the recurrent FC: multiplier, 2^(e-1) (0 for e = 0), e
 *   (the rounding right shift). *_round: 2^(shift - 1), 0 for a tanh shift of 0.
 * scratch: dsp_scratch_bytes (edgeneuro/ops/lstm.py), 8-byte aligned. The state starts from reset
 * at every call. */
void en_lstm_s8_dsp(const en_lstm_s8_dsp_params *p, const int8_t *input, const int32_t *weights, const int32_t *gate_rq,
                    int8_t *output, int8_t *scratch);

/* The same with a sparse weight stream, for weights pruned in 4x4 blocks: per block of 4 rows and
 * per FC, the 4 biases, the count of kept groups of 4 columns (two column pairs) holding a non-zero
 * weight, then per kept group the word offset of its first column pair in the int16 vector and
 * its 8 words as in en_lstm_s8_dsp's stream; all-zero groups left out. Bit-exact with
 * en_lstm_s8_dsp (the left-out products are zero). Spec: edgeneuro/ops/lstm.py (_stream_sparse). */
typedef en_lstm_s8_dsp_params en_lstm_s8_dsp_sparse_params;
void en_lstm_s8_dsp_sparse(const en_lstm_s8_dsp_sparse_params *p, const int8_t *input, const int32_t *weights,
                           const int32_t *gate_rq, int8_t *output, int8_t *scratch);

#endif
