/* UNIDIRECTIONAL_SEQUENCE_LSTM, int8 with an int16 cell state. Spec: edgeneuro/ops/lstm.py. */
#include "lstm.h"

#include "en_fixedpoint.h"
#include "en_float.h"

/* sigmoid(i / 24) in 0.16 fixed point, i = 0..255: the table of TFLite's int16 LOGISTIC and TANH. */
static const uint16_t sigmoid_table[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794, 41432, 42064, 42688,
    43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409,
    51865, 52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110,
    61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186,
    63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900,
    64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208,
    65221, 65234, 65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433, 65438, 65442, 65445, 65449,
    65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491,
    65493, 65495, 65497, 65498, 65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
    65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530,
    65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535};

static inline int32_t scaled_input(int16_t x, int32_t mult, int32_t shift)
{
    const int32_t rnd = shift > 0 ? (1 << (shift - 1)) : 0;
    return ((int32_t)x * mult + rnd) >> shift;
}

/* The table interpolated at a with frac_bits fractional bits (a >> frac_bits < 255). */
static inline uint32_t interpolate(uint32_t a, int frac_bits)
{
    const uint32_t ua = sigmoid_table[a >> frac_bits];
    const uint32_t ub = sigmoid_table[(a >> frac_bits) + 1];
    return (ua << frac_bits) + (a & ((1u << frac_bits) - 1u)) * (ub - ua);
}

static int16_t sigmoid16(int16_t x, int32_t mult, int32_t shift)
{
    const int32_t v = scaled_input(x, mult, shift);
    const uint32_t a = (uint32_t)(v >= 0 ? v : -v);
    uint32_t r = (a >> 9) >= 255 ? (0x7FFFu << 10) : interpolate(a, 9);
    r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
    return (int16_t)(r >> 10);
}

static int16_t tanh16(int16_t x, int32_t mult, int32_t shift)
{
    const int32_t v = scaled_input(x, mult, shift);
    const uint32_t a = (uint32_t)(v >= 0 ? v : -v);
    int32_t r = (a >> 8) >= 255 ? (int32_t)(0xFFFFu << 8) : (int32_t)interpolate(a, 8);
    r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
    return (int16_t)(r >> 8);
}

static inline int16_t sat16(int32_t v)
{
    return en_clamp_s16(v, INT16_MIN, INT16_MAX);
}

/* TFLM's int8 -> int16 fully connected, without clamping the sum. */
static inline int32_t gate_fc(const int8_t *v, int32_t zp, const int8_t *w, int32_t n, int32_t bias, int32_t mult,
                              int32_t shift)
{
    int32_t acc = 0;
    for (int32_t k = 0; k < n; ++k) {
        acc += ((int32_t)v[k] - zp) * (int32_t)w[k];
    }
    return sat16(en_requant(acc + bias, mult, shift));
}

void en_lstm_s8(const en_lstm_s8_params *p, const int8_t *input, const int8_t *w_in, const int8_t *w_rec,
                const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output, int8_t *scratch)
{
    const int32_t units = p->units, in_dim = p->in_dim;
    int16_t *cell = (int16_t *)(void *)scratch;
    int16_t *gate[4] = {cell + units, cell + 2 * units, cell + 3 * units, cell + 4 * units};
    int8_t *hidden = scratch + 10 * units;
    /* Row strides between consecutive time steps and between sequences, for both layouts. */
    const int32_t step_rows = p->time_major ? p->batches : 1;
    const int32_t seq_rows = p->time_major ? 1 : p->steps;

    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t u = 0; u < units; ++u) {
            cell[u] = 0;
            hidden[u] = (int8_t)p->h_zp;
        }
        for (int32_t t = 0; t < p->steps; ++t) {
            const int32_t row = b * seq_rows + t * step_rows;
            const int8_t *x = input + row * in_dim;
            for (int32_t g = 0; g < 4; ++g) {
                const int8_t *wi = w_in + g * units * in_dim;
                const int8_t *wr = w_rec + g * units * units;
                for (int32_t u = 0; u < units; ++u) {
                    const int32_t a = gate_fc(x, p->in_zp, wi + u * in_dim, in_dim, bias[g * units + u], mult[2 * g],
                                              shift[2 * g]) +
                                      gate_fc(hidden, p->h_zp, wr + u * units, units, 0, mult[2 * g + 1],
                                              shift[2 * g + 1]);
                    const int16_t s = sat16(a);
                    gate[g][u] = g == 2 ? tanh16(s, 3, 0) : sigmoid16(s, 3, 0);
                }
            }
            int8_t *out = output + row * units;
            for (int32_t u = 0; u < units; ++u) {
                int32_t c = sat16(en_requant((int32_t)gate[0][u] * cell[u], p->forget_mult, p->forget_shift));
                c += sat16(en_requant((int32_t)gate[1][u] * gate[2][u], p->input_mult, p->input_shift));
                c = sat16(c);
                if (p->cell_clip > 0) {
                    c = c > p->cell_clip ? p->cell_clip : (c < -p->cell_clip ? -p->cell_clip : c);
                }
                cell[u] = (int16_t)c;
                const int16_t th = tanh16(cell[u], p->tanh_mult, p->tanh_shift);
                out[u] = en_clamp_s8(en_requant((int32_t)th * gate[3][u], p->hidden_mult, p->hidden_shift) + p->h_zp,
                                     -128, 127);
            }
            /* All four gates read the previous hidden state: update it after the step. */
            for (int32_t u = 0; u < units; ++u) {
                hidden[u] = out[u];
            }
        }
    }
}

/* float32: TFLM's float EvalLstm (reference FullyConnected, Logistic, tanhf, Mul clamped to
 * +-FLT_MAX). Spec: edgeneuro/ops/lstm.py (_reference_f32). */
static inline float fc_f32(const float *v, const float *w, int32_t n, float bias)
{
    float acc = 0.0f;
    for (int32_t k = 0; k < n; ++k) {
        acc += v[k] * w[k];
    }
    return en_clamp_f32(acc + bias);
}

void en_lstm_f32(const en_lstm_f32_params *p, const float *input, const float *w_in, const float *w_rec,
                 const float *bias, float *output, int8_t *scratch)
{
    const int32_t units = p->units, in_dim = p->in_dim;
    float *cell = (float *)(void *)scratch;
    float *hidden = cell + units;
    float *gate[4] = {hidden + units, hidden + 2 * units, hidden + 3 * units, hidden + 4 * units};
    const int32_t step_rows = p->time_major ? p->batches : 1;
    const int32_t seq_rows = p->time_major ? 1 : p->steps;
    const float clip = p->cell_clip;

    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t u = 0; u < units; ++u) {
            cell[u] = 0.0f;
            hidden[u] = 0.0f;
        }
        for (int32_t t = 0; t < p->steps; ++t) {
            const int32_t row = b * seq_rows + t * step_rows;
            const float *x = input + row * in_dim;
            for (int32_t g = 0; g < 4; ++g) {
                const float *wi = w_in + g * units * in_dim;
                const float *wr = w_rec + g * units * units;
                for (int32_t u = 0; u < units; ++u) {
                    const float a = fc_f32(x, wi + u * in_dim, in_dim, bias[g * units + u]) +
                                    fc_f32(hidden, wr + u * units, units, 0.0f);
                    gate[g][u] = g == 2 ? tanhf(a) : en_sigmoid_f32(a);
                }
            }
            float *out = output + row * units;
            for (int32_t u = 0; u < units; ++u) {
                float c = en_clamp_f32(gate[0][u] * cell[u]) + en_clamp_f32(gate[1][u] * gate[2][u]);
                if (clip > 0.0f) {
                    c = c < clip ? c : clip;
                    c = c < -clip ? -clip : c;
                }
                cell[u] = c;
                out[u] = en_clamp_f32(tanhf(c) * gate[3][u]);
            }
            for (int32_t u = 0; u < units; ++u) {
                hidden[u] = out[u];
            }
        }
    }
}

/* 16x8: TFLM's int16 x int8 -> int16 fully connected (int64 accumulator, no input offset). */
static inline int32_t gate_fc16(const int16_t *v, const int8_t *w, int32_t n, int64_t bias, int32_t mult,
                                int32_t shift)
{
    int64_t acc = 0;
    for (int32_t k = 0; k < n; ++k) {
        acc += (int32_t)v[k] * (int32_t)w[k];
    }
    return sat16(en_requant64(acc + bias, mult, shift));
}

void en_lstm_s16(const en_lstm_s16_params *p, const int16_t *input, const int8_t *w_in, const int8_t *w_rec,
                 const int64_t *bias, const int32_t *mult, const int32_t *shift, int16_t *output, int8_t *scratch)
{
    const int32_t units = p->units, in_dim = p->in_dim;
    int16_t *cell = (int16_t *)(void *)scratch;
    int16_t *gate[4] = {cell + units, cell + 2 * units, cell + 3 * units, cell + 4 * units};
    int16_t *hidden = cell + 5 * units;
    const int32_t step_rows = p->time_major ? p->batches : 1;
    const int32_t seq_rows = p->time_major ? 1 : p->steps;

    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t u = 0; u < units; ++u) {
            cell[u] = 0;
            hidden[u] = 0;
        }
        for (int32_t t = 0; t < p->steps; ++t) {
            const int32_t row = b * seq_rows + t * step_rows;
            const int16_t *x = input + row * in_dim;
            for (int32_t g = 0; g < 4; ++g) {
                const int8_t *wi = w_in + g * units * in_dim;
                const int8_t *wr = w_rec + g * units * units;
                for (int32_t u = 0; u < units; ++u) {
                    const int32_t a =
                        gate_fc16(x, wi + u * in_dim, in_dim, bias[g * units + u], mult[2 * g], shift[2 * g]) +
                        gate_fc16(hidden, wr + u * units, units, 0, mult[2 * g + 1], shift[2 * g + 1]);
                    const int16_t s = sat16(a);
                    gate[g][u] = g == 2 ? tanh16(s, 3, 0) : sigmoid16(s, 3, 0);
                }
            }
            int16_t *out = output + row * units;
            for (int32_t u = 0; u < units; ++u) {
                int32_t c = sat16(en_requant((int32_t)gate[0][u] * cell[u], p->forget_mult, p->forget_shift));
                c += sat16(en_requant((int32_t)gate[1][u] * gate[2][u], p->input_mult, p->input_shift));
                c = sat16(c);
                if (p->cell_clip > 0) {
                    c = c > p->cell_clip ? p->cell_clip : (c < -p->cell_clip ? -p->cell_clip : c);
                }
                cell[u] = (int16_t)c;
                const int16_t th = tanh16(cell[u], p->tanh_mult, p->tanh_shift);
                out[u] = sat16(en_requant((int32_t)th * gate[3][u], p->hidden_mult, p->hidden_shift));
            }
            for (int32_t u = 0; u < units; ++u) {
                hidden[u] = out[u];
            }
        }
    }
}
