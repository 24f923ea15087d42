/* Spiking neurons (NIR LIF, IF, LI, CubaLIF, CubaLI and the integrator I; int32 state kept between calls, one call = one
 * time step) and the stateless Threshold. Spec: edgeneuro/ops/lif.py.
 * state: v[size] (and I[size] for the Cuba kinds), int32, zeroed by en_model_reset(). */
#ifndef EN_LIF_H
#define EN_LIF_H

#include <stdint.h>

typedef struct {
    int32_t size;
} en_snn_neuron_params;

typedef en_snn_neuron_params en_snn_lif_s32_params;
typedef en_snn_neuron_params en_snn_if_s32_params;
typedef en_snn_neuron_params en_snn_li_s32_params;
typedef en_snn_neuron_params en_snn_cubalif_s32_params;
typedef en_snn_neuron_params en_snn_cubali_s32_params;
typedef en_snn_neuron_params en_snn_i_s32_params;
typedef en_snn_neuron_params en_snn_threshold_s32_params;

void en_snn_lif_s32(const en_snn_neuron_params *p, const int32_t *input, const int32_t *m_in, const int32_t *n_in,
                    const int32_t *decay, const int32_t *v_leak, const int32_t *threshold, const int32_t *v_reset,
                    int8_t *spikes, int8_t *state);
void en_snn_if_s32(const en_snn_neuron_params *p, const int32_t *input, const int32_t *m_in, const int32_t *n_in,
                   const int32_t *threshold, const int32_t *v_reset, int8_t *spikes, int8_t *state);
void en_snn_li_s32(const en_snn_neuron_params *p, const int32_t *input, const int32_t *m_in, const int32_t *n_in,
                   const int32_t *decay, const int32_t *v_leak, int32_t *membrane, int8_t *state);
void en_snn_cubalif_s32(const en_snn_neuron_params *p, const int32_t *input, const int32_t *m_syn,
                        const int32_t *n_syn, const int32_t *decay_syn, const int32_t *m_in, const int32_t *n_in,
                        const int32_t *decay, const int32_t *v_leak, const int32_t *threshold, const int32_t *v_reset,
                        int8_t *spikes, int8_t *state);
void en_snn_cubali_s32(const en_snn_neuron_params *p, const int32_t *input, const int32_t *m_syn,
                       const int32_t *n_syn, const int32_t *decay_syn, const int32_t *m_in, const int32_t *n_in,
                       const int32_t *decay, const int32_t *v_leak, int32_t *membrane, int8_t *state);
void en_snn_i_s32(const en_snn_neuron_params *p, const int32_t *input, const int32_t *m_in, const int32_t *n_in,
                  int32_t *membrane, int8_t *state);
void en_snn_threshold_s32(const en_snn_neuron_params *p, const int32_t *input, const int32_t *threshold,
                          int8_t *spikes);

#endif
