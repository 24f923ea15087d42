/* The synapses of a spiking network (NIR Affine / Linear, Conv1d, Conv2d, Scale) and the sum of the
 * currents that meet at a node: int8 in, int32 currents out. The weighted ones take int8 weights
 * (_s8) or int16 weights (_s8_w16, same parameters). Spec: edgeneuro/ops/synapse.py. */
#ifndef EN_SYNAPSE_H
#define EN_SYNAPSE_H

#include <stdint.h>

typedef struct {
    int32_t depth, units;
} en_snn_affine_s8_params;
typedef en_snn_affine_s8_params en_snn_affine_s8_w16_params;

/* weights [units][depth] int8, bias [units], mult/shift [units]: the output multipliers. */
void en_snn_affine_s8(const en_snn_affine_s8_params *p, const int8_t *input, const int8_t *weights,
                      const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output);
void en_snn_affine_s8_w16(const en_snn_affine_s8_params *p, const int8_t *input, const int16_t *weights,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output);

typedef struct {
    int32_t c_in, n_in, c_out, n_out, kernel, stride, pad, dilation, groups;
} en_snn_conv1d_s8_params;
typedef en_snn_conv1d_s8_params en_snn_conv1d_s8_w16_params;

/* input [c_in][n_in], weights [c_out][c_in / groups][kernel], output [c_out][n_out]. */
void en_snn_conv1d_s8(const en_snn_conv1d_s8_params *p, const int8_t *input, const int8_t *weights,
                      const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output);
void en_snn_conv1d_s8_w16(const en_snn_conv1d_s8_params *p, const int8_t *input, const int16_t *weights,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output);

typedef struct {
    int32_t c_in, h_in, w_in, c_out, h_out, w_out, k_h, k_w, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups;
} en_snn_conv2d_s8_params;
typedef en_snn_conv2d_s8_params en_snn_conv2d_s8_w16_params;

/* input [c_in][h_in][w_in], weights [c_out][c_in / groups][k_h][k_w], output [c_out][h_out][w_out]. */
void en_snn_conv2d_s8(const en_snn_conv2d_s8_params *p, const int8_t *input, const int8_t *weights,
                      const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output);
void en_snn_conv2d_s8_w16(const en_snn_conv2d_s8_params *p, const int8_t *input, const int16_t *weights,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output);

typedef struct {
    int32_t size;
} en_snn_scale_s8_params;
typedef en_snn_scale_s8_params en_snn_scale_s32_params;

void en_snn_scale_s8(const en_snn_scale_s8_params *p, const int8_t *input, const int32_t *mult, const int32_t *shift,
                     int32_t *output);
void en_snn_scale_s32(const en_snn_scale_s32_params *p, const int32_t *input, const int32_t *mult,
                      const int32_t *shift, int32_t *output);

typedef struct {
    int32_t size, shift_a, shift_b;
} en_snn_add_s32_params;

void en_snn_add_s32(const en_snn_add_s32_params *p, const int32_t *a, const int32_t *b, int32_t *output);

#endif
