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

/* The outputs t in [0, n_out) whose tap reads position t * stride + offset inside [0, n_in):
 * [*lo, *hi). */
static void en_snn_tap_outputs(int32_t offset, int32_t stride, int32_t n_in, int32_t n_out, int32_t *lo, int32_t *hi)
{
    const int32_t first = offset < 0 ? (stride - 1 - offset) / stride : 0;
    const int32_t end = offset < n_in ? (n_in - offset + stride - 1) / stride : 0;
    *lo = first;
    *hi = end < n_out ? end : n_out;
}

/* Tap by tap: the output plane of channel o is the accumulator (int32, as the output), and each tap
 * (c, i, j) adds its weight times the input rows it meets, a run of whole output rows at a time
 * (no bounds test per term). The sum is over the reference's terms in another order: exact, since
 * the compiler's bound on |bias| + 128 * 127 * depth holds for every partial sum. */
void en_snn_conv2d_s8(const en_snn_conv2d_s8_params *p, const int8_t *input, const int8_t *weights,
                      const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output)
{
    const int32_t c_in_g = p->c_in / p->groups;
    const int32_t c_out_g = p->c_out / p->groups;
    const int32_t h_out = p->h_out, w_out = p->w_out, w_in = p->w_in, stride_w = p->stride_w;
    const int32_t plane_in = p->h_in * w_in, plane_out = h_out * w_out;
    for (int32_t o = 0; o < p->c_out; ++o) {
        int32_t *out = &output[o * plane_out];
        for (int32_t t = 0; t < plane_out; ++t) {
            out[t] = bias[o];
        }
        const int8_t *w = &weights[o * c_in_g * p->k_h * p->k_w];
        for (int32_t c = 0; c < c_in_g; ++c) {
            const int8_t *in = &input[((o / c_out_g) * c_in_g + c) * plane_in];
            for (int32_t i = 0; i < p->k_h; ++i) {
                const int32_t dy = i * p->dil_h - p->pad_h; /* input row = oy * stride_h + dy */
                int32_t oy0, oy1;
                en_snn_tap_outputs(dy, p->stride_h, p->h_in, h_out, &oy0, &oy1);
                for (int32_t j = 0; j < p->k_w; ++j, ++w) {
                    const int32_t weight = *w;
                    const int32_t dx = j * p->dil_w - p->pad_w; /* input column = ox * stride_w + dx */
                    int32_t ox0, ox1;
                    en_snn_tap_outputs(dx, stride_w, w_in, w_out, &ox0, &ox1);
                    if (weight == 0 || ox0 >= ox1) {
                        continue;
                    }
                    for (int32_t oy = oy0; oy < oy1; ++oy) {
                        const int8_t *x = &in[(oy * p->stride_h + dy) * w_in + ox0 * stride_w + dx];
                        int32_t *y = &out[oy * w_out + ox0];
                        int32_t *y_end = &out[oy * w_out + ox1];
                        if (stride_w == 1) {
                            while (y < y_end) {
                                *y++ += weight * (int32_t)*x++;
                            }
                        } else {
                            for (; y < y_end; x += stride_w) {
                                *y++ += weight * (int32_t)*x;
                            }
                        }
                    }
                }
            }
        }
        for (int32_t t = 0; t < plane_out; ++t) {
            out[t] = en_sat32(en_mul_round(out[t], mult[o], shift[o]));
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
