/* Event-driven synapses of a spiking network (NIR Affine / Linear, Conv1d and Conv2d fed by spikes): only the
 * inputs that are not zero cost work. Each computes exactly what its dense twin in synapse.h
 * computes (the same int32 terms, summed in another order; integer addition is associative and no
 * partial sum can leave int32, the bound the compiler checks covers every subset of the terms).
 * Spec: edgeneuro/ops/synapse.py (the dense reference), edgeneuro/ops/synapse_event.py.
 *
 * A scan gathers the indices of the non-zero inputs into an index list in scratch memory (uint16_t,
 * one per input; four inputs are tested per 32-bit load, so runs of silence cost little), then each
 * listed input adds its weights, times its value (1 for a spike), into the int32 accumulators.
 * Each takes int8 weights (_s8) or int16 weights (_s8_w16, same parameters and layout). */
#ifndef EN_SYNAPSE_EVENT_H
#define EN_SYNAPSE_EVENT_H

#include <stdint.h>

typedef struct {
    int32_t depth, units;
} en_snn_affine_event_s8_params;
typedef en_snn_affine_event_s8_params en_snn_affine_event_s8_w16_params;

/* weights [depth][units] int8: transposed, the column of input k is contiguous; bias, mult, shift
 * [units]; scratch: uint16_t[depth], 8-byte aligned. */
void en_snn_affine_event_s8(const en_snn_affine_event_s8_params *p, const int8_t *input, const int8_t *weights,
                            const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output,
                            int8_t *scratch);
void en_snn_affine_event_s8_w16(const en_snn_affine_event_s8_params *p, const int8_t *input, const int16_t *weights,
                                const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output,
                                int8_t *scratch);

typedef struct {
    int32_t c_in, n_in, c_out, n_out, kernel, stride, pad, dilation, groups;
} en_snn_conv1d_event_s8_params;
typedef en_snn_conv1d_event_s8_params en_snn_conv1d_event_s8_w16_params;

/* input [c_in][n_in], weights [c_in][kernel][c_out / groups]: for input channel c and tap j, the
 * weights to the output channels of c's group; output [c_out][n_out]; scratch: uint16_t[c_in * n_in]. */
void en_snn_conv1d_event_s8(const en_snn_conv1d_event_s8_params *p, const int8_t *input, const int8_t *weights,
                            const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output,
                            int8_t *scratch);
void en_snn_conv1d_event_s8_w16(const en_snn_conv1d_event_s8_params *p, const int8_t *input, const int16_t *weights,
                                const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output,
                                int8_t *scratch);

typedef struct {
    int32_t c_in, h_in, w_in, c_out, h_out, w_out, k_h, k_w, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups;
} en_snn_conv2d_event_s8_params;
typedef en_snn_conv2d_event_s8_params en_snn_conv2d_event_s8_w16_params;

/* input [c_in][h_in][w_in], weights [c_in][k_h][k_w][c_out / groups]: for input channel c and tap
 * (i, j), the weights to the output channels of c's group; output [c_out][h_out][w_out]; scratch:
 * uint16_t[c_in * h_in * w_in]. */
void en_snn_conv2d_event_s8(const en_snn_conv2d_event_s8_params *p, const int8_t *input, const int8_t *weights,
                            const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output,
                            int8_t *scratch);
void en_snn_conv2d_event_s8_w16(const en_snn_conv2d_event_s8_params *p, const int8_t *input, const int16_t *weights,
                                const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output,
                                int8_t *scratch);

#endif
