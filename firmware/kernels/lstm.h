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

typedef struct {
    int32_t batches, steps, in_dim, units, time_major;
    float cell_clip;
} en_lstm_f32_params;

/* float32 LSTM (TFLM's float EvalLstm), the int8 kernel's layout: w_in [4][units][in_dim],
 * w_rec [4][units][units], bias [4][units]. scratch: 24 * units bytes, 8-byte aligned. */
void en_lstm_f32(const en_lstm_f32_params *p, const float *input, const float *w_in, const float *w_rec,
                 const float *bias, float *output, int8_t *scratch);

typedef struct {
    int32_t batches, steps, in_dim, units, time_major, cell_clip;
    int32_t forget_mult, forget_shift, input_mult, input_shift, hidden_mult, hidden_shift, tanh_mult, tanh_shift;
} en_lstm_s16_params;

/* 16x8 LSTM (int16 activations with zero point 0, int8 weights, int64 biases, int16 cell state):
 * the int8 kernel's layout and multipliers. scratch: 12 * units bytes, 8-byte aligned. */
void en_lstm_s16(const en_lstm_s16_params *p, const int16_t *input, const int8_t *w_in, const int8_t *w_rec,
                 const int64_t *bias, const int32_t *mult, const int32_t *shift, int16_t *output, int8_t *scratch);

#endif
