/* UNIDIRECTIONAL_SEQUENCE_LSTM int8 kernel (int8 activations and weights, int16 cell state).
 * Spec: edgeneuro/ops/lstm.py. */
#ifndef EN_LSTM_H
#define EN_LSTM_H

#include <stdint.h>

typedef struct {
    int32_t batches, steps, in_dim, units, time_major, in_zp, h_zp, cell_clip;
    int32_t forget_mult, forget_shift, input_mult, input_shift, hidden_mult, hidden_shift, tanh_mult, tanh_shift;
} en_lstm_s8_params;

/* Gates in the order forget, input, cell, output: w_in [4][units][in_dim], w_rec [4][units][units],
 * bias [4][units]; mult/shift [8]: the input and the recurrent multiplier of each gate.
 * scratch: 11 * units bytes, 8-byte aligned. The state starts from reset at every call. */
void en_lstm_s8(const en_lstm_s8_params *p, const int8_t *input, const int8_t *w_in, const int8_t *w_rec,
                const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch);

#endif
