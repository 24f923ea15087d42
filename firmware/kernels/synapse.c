/* Spec: edgeneuro/ops/synapse.py. */
#include "synapse.h"

#include "en_fixedpoint.h"

void en_snn_affine_s8(const en_snn_affine_s8_params *p, const int8_t *input, const int8_t *weights,
                      const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output)
{
    for (int32_t o = 0; o < p->units; ++o) {
        const int8_t *w = &weights[o * p->depth];
        int32_t acc = bias[o]; /* cannot overflow: the compiler bounds 128 * 127 * depth + |bias| */
        for (int32_t k = 0; k < p->depth; ++k) {
            acc += (int32_t)w[k] * (int32_t)input[k];
        }
        output[o] = en_sat32(en_mul_round(acc, mult[o], shift[o]));
    }
}

void en_snn_conv1d_s8(const en_snn_conv1d_s8_params *p, const int8_t *input, const int8_t *weights,
                      const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output)
{
    const int32_t c_in_g = p->c_in / p->groups;
    const int32_t c_out_g = p->c_out / p->groups;
    for (int32_t o = 0; o < p->c_out; ++o) {
        const int8_t *in = &input[(o / c_out_g) * c_in_g * p->n_in];
        const int8_t *w = &weights[o * c_in_g * p->kernel];
        for (int32_t t = 0; t < p->n_out; ++t) {
            int32_t acc = bias[o];
            for (int32_t c = 0; c < c_in_g; ++c) {
                for (int32_t j = 0; j < p->kernel; ++j) {
                    const int32_t pos = t * p->stride + j * p->dilation - p->pad;
                    if (pos >= 0 && pos < p->n_in) {
                        acc += (int32_t)w[c * p->kernel + j] * (int32_t)in[c * p->n_in + pos];
                    }
                }
            }
            output[o * p->n_out + t] = en_sat32(en_mul_round(acc, mult[o], shift[o]));
        }
    }
}

void en_snn_scale_s8(const en_snn_scale_s8_params *p, const int8_t *input, const int32_t *mult, const int32_t *shift,
                     int32_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = en_sat32(en_mul_round(input[i], mult[i], shift[i]));
    }
}

void en_snn_scale_s32(const en_snn_scale_s32_params *p, const int32_t *input, const int32_t *mult,
                      const int32_t *shift, int32_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = en_sat32(en_mul_round(input[i], mult[i], shift[i]));
    }
}

void en_snn_add_s32(const en_snn_add_s32_params *p, const int32_t *a, const int32_t *b, int32_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = en_sat32(en_shift_round(a[i], p->shift_a) + en_shift_round(b[i], p->shift_b));
    }
}
