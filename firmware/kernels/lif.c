/* Spec: edgeneuro/ops/lif.py. */
#include "lif.h"

#include "en_fixedpoint.h"

/* v + round((v_leak - v) * decay / 2^30) + in, saturated: the forward-Euler leak in Q1.30. */
static inline int32_t leak(int32_t v, int32_t v_leak, int32_t decay, int64_t in)
{
    return en_sat32((int64_t)v + en_mul_round((int64_t)v_leak - v, decay, 30) + in);
}

/* The synaptic current of the Cuba kinds, updated first: I + round(-I * decay / 2^30) + u * m / 2^n. */
static inline int32_t synapse(int32_t i, int32_t u, int32_t m, int32_t n, int32_t decay)
{
    return en_sat32((int64_t)i + en_mul_round(0 - (int64_t)i, decay, 30) + en_mul_round(u, m, n));
}

void en_snn_lif_s32(const en_snn_neuron_params *p, const int32_t *input, const int32_t *m_in, const int32_t *n_in,
                    const int32_t *decay, const int32_t *v_leak, const int32_t *threshold, const int32_t *v_reset,
                    int8_t *spikes, int8_t *state)
{
    int32_t *v = (int32_t *)state;
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t vi = leak(v[i], v_leak[i], decay[i], en_mul_round(input[i], m_in[i], n_in[i]));
        spikes[i] = (int8_t)(vi > threshold[i]);
        v[i] = vi > threshold[i] ? v_reset[i] : vi;
    }
}

void en_snn_if_s32(const en_snn_neuron_params *p, const int32_t *input, const int32_t *m_in, const int32_t *n_in,
                   const int32_t *threshold, const int32_t *v_reset, int8_t *spikes, int8_t *state)
{
    int32_t *v = (int32_t *)state;
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t vi = en_sat32((int64_t)v[i] + en_mul_round(input[i], m_in[i], n_in[i]));
        spikes[i] = (int8_t)(vi > threshold[i]);
        v[i] = vi > threshold[i] ? v_reset[i] : vi;
    }
}

void en_snn_li_s32(const en_snn_neuron_params *p, const int32_t *input, const int32_t *m_in, const int32_t *n_in,
                   const int32_t *decay, const int32_t *v_leak, int32_t *membrane, int8_t *state)
{
    int32_t *v = (int32_t *)state;
    for (int32_t i = 0; i < p->size; ++i) {
        v[i] = leak(v[i], v_leak[i], decay[i], en_mul_round(input[i], m_in[i], n_in[i]));
        membrane[i] = v[i]; /* may be the input's bytes: input[i] was read above */
    }
}

void en_snn_cubalif_s32(const en_snn_neuron_params *p, const int32_t *input, const int32_t *m_syn,
                        const int32_t *n_syn, const int32_t *decay_syn, const int32_t *m_in, const int32_t *n_in,
                        const int32_t *decay, const int32_t *v_leak, const int32_t *threshold, const int32_t *v_reset,
                        int8_t *spikes, int8_t *state)
{
    int32_t *v = (int32_t *)state;
    int32_t *cur = v + p->size;
    for (int32_t i = 0; i < p->size; ++i) {
        cur[i] = synapse(cur[i], input[i], m_syn[i], n_syn[i], decay_syn[i]);
        const int32_t vi = leak(v[i], v_leak[i], decay[i], en_mul_round(cur[i], m_in[i], n_in[i]));
        spikes[i] = (int8_t)(vi > threshold[i]);
        v[i] = vi > threshold[i] ? v_reset[i] : vi;
    }
}

void en_snn_cubali_s32(const en_snn_neuron_params *p, const int32_t *input, const int32_t *m_syn,
                       const int32_t *n_syn, const int32_t *decay_syn, const int32_t *m_in, const int32_t *n_in,
                       const int32_t *decay, const int32_t *v_leak, int32_t *membrane, int8_t *state)
{
    int32_t *v = (int32_t *)state;
    int32_t *cur = v + p->size;
    for (int32_t i = 0; i < p->size; ++i) {
        cur[i] = synapse(cur[i], input[i], m_syn[i], n_syn[i], decay_syn[i]);
        v[i] = leak(v[i], v_leak[i], decay[i], en_mul_round(cur[i], m_in[i], n_in[i]));
        membrane[i] = v[i];
    }
}

void en_snn_threshold_s32(const en_snn_neuron_params *p, const int32_t *input, const int32_t *threshold,
                          int8_t *spikes)
{
    for (int32_t i = 0; i < p->size; ++i) {
        spikes[i] = (int8_t)(input[i] > threshold[i]);
    }
}

void en_snn_i_s32(const en_snn_neuron_params *p, const int32_t *input, const int32_t *m_in, const int32_t *n_in,
                  int32_t *membrane, int8_t *state)
{
    int32_t *v = (int32_t *)state;
    for (int32_t i = 0; i < p->size; ++i) {
        v[i] = en_sat32((int64_t)v[i] + en_mul_round(input[i], m_in[i], n_in[i]));
        membrane[i] = v[i]; /* may be the input's bytes: input[i] was read above */
    }
}
