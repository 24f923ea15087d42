/* Spec: edgeneuro/ops/synapse.py. */
#include "synapse.h"

#include "en_fixedpoint.h"

/* Weights are int8 (the _s8 kernels) or int16 (_s8_w16); one body computes both, reading weight i
 * of either type. */
static inline int32_t en_snn_weight(const void *weights, int32_t wide, int32_t i)
{
    return wide ? (int32_t)((const int16_t *)weights)[i] : (int32_t)((const int8_t *)weights)[i];
}

/* The accumulators cannot overflow: the compiler bounds 128 * sum |w| + |bias| per output, and so
 * every partial sum, in any order. */
static void en_snn_affine(const en_snn_affine_s8_params *p, const int8_t *input, const void *weights, int32_t wide,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output)
{
    const int32_t depth = p->depth;
    for (int32_t o = 0; o < p->units; ++o) {
        int32_t acc = bias[o];
        if (wide) {
            const int16_t *w = (const int16_t *)weights + o * depth;
            for (int32_t k = 0; k < depth; ++k) {
                acc += (int32_t)w[k] * (int32_t)input[k];
            }
        } else {
            const int8_t *w = (const int8_t *)weights + o * depth;
            for (int32_t k = 0; k < depth; ++k) {
                acc += (int32_t)w[k] * (int32_t)input[k];
            }
        }
        output[o] = en_sat32(en_mul_round(acc, mult[o], shift[o]));
    }
}

void en_snn_affine_s8(const en_snn_affine_s8_params *p, const int8_t *input, const int8_t *weights,
                      const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output)
{
    en_snn_affine(p, input, weights, 0, bias, mult, shift, output);
}

void en_snn_affine_s8_w16(const en_snn_affine_s8_params *p, const int8_t *input, const int16_t *weights,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output)
{
    en_snn_affine(p, input, weights, 1, bias, mult, shift, output);
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

/* y[t] += weight * x[t * stride] for the outputs y in [y, y_end). */
static inline void en_snn_tap_run(int32_t *y, const int32_t *y_end, const int8_t *x, int32_t stride, int32_t weight)
{
    if (stride == 1) {
        while (y < y_end) {
            *y++ += weight * (int32_t)*x++;
        }
    } else {
        for (; y < y_end; x += stride) {
            *y++ += weight * (int32_t)*x;
        }
    }
}

/* Tap by tap, as the 2-D kernel below: each tap (c, j) adds its weight times the run of inputs it
 * meets to the output row of channel o (no bounds test per term). */
static void en_snn_conv1d(const en_snn_conv1d_s8_params *p, const int8_t *input, const void *weights, int32_t wide,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output)
{
    const int32_t c_in_g = p->c_in / p->groups;
    const int32_t c_out_g = p->c_out / p->groups;
    const int32_t n_in = p->n_in, n_out = p->n_out, stride = p->stride;
    int32_t at = 0; /* the index of weight (o, c, j) */
    for (int32_t o = 0; o < p->c_out; ++o) {
        int32_t *out = &output[o * n_out];
        for (int32_t t = 0; t < n_out; ++t) {
            out[t] = bias[o];
        }
        for (int32_t c = 0; c < c_in_g; ++c) {
            const int8_t *in = &input[((o / c_out_g) * c_in_g + c) * n_in];
            for (int32_t j = 0; j < p->kernel; ++j, ++at) {
                const int32_t weight = en_snn_weight(weights, wide, at);
                const int32_t d = j * p->dilation - p->pad; /* input position = t * stride + d */
                int32_t t0, t1;
                en_snn_tap_outputs(d, stride, n_in, n_out, &t0, &t1);
                if (weight != 0 && t0 < t1) {
                    en_snn_tap_run(&out[t0], &out[t1], &in[t0 * stride + d], stride, weight);
                }
            }
        }
        for (int32_t t = 0; t < n_out; ++t) {
            out[t] = en_sat32(en_mul_round(out[t], mult[o], shift[o]));
        }
    }
}

void en_snn_conv1d_s8(const en_snn_conv1d_s8_params *p, const int8_t *input, const int8_t *weights,
                      const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output)
{
    en_snn_conv1d(p, input, weights, 0, bias, mult, shift, output);
}

void en_snn_conv1d_s8_w16(const en_snn_conv1d_s8_params *p, const int8_t *input, const int16_t *weights,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output)
{
    en_snn_conv1d(p, input, weights, 1, bias, mult, shift, output);
}

/* Tap by tap: the output plane of channel o is the accumulator (int32, as the output), and each tap
 * (c, i, j) adds its weight times the input rows it meets, a run of whole output rows at a time
 * (no bounds test per term). The sum is over the reference's terms in another order: exact (above). */
static void en_snn_conv2d(const en_snn_conv2d_s8_params *p, const int8_t *input, const void *weights, int32_t wide,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output)
{
    const int32_t c_in_g = p->c_in / p->groups;
    const int32_t c_out_g = p->c_out / p->groups;
    const int32_t h_out = p->h_out, w_out = p->w_out, w_in = p->w_in, stride_w = p->stride_w;
    const int32_t plane_in = p->h_in * w_in, plane_out = h_out * w_out;
    int32_t at = 0; /* the index of weight (o, c, i, j) */
    for (int32_t o = 0; o < p->c_out; ++o) {
        int32_t *out = &output[o * plane_out];
        for (int32_t t = 0; t < plane_out; ++t) {
            out[t] = bias[o];
        }
        for (int32_t c = 0; c < c_in_g; ++c) {
            const int8_t *in = &input[((o / c_out_g) * c_in_g + c) * plane_in];
            for (int32_t i = 0; i < p->k_h; ++i) {
                const int32_t dy = i * p->dil_h - p->pad_h; /* input row = oy * stride_h + dy */
                int32_t oy0, oy1;
                en_snn_tap_outputs(dy, p->stride_h, p->h_in, h_out, &oy0, &oy1);
                for (int32_t j = 0; j < p->k_w; ++j, ++at) {
                    const int32_t weight = en_snn_weight(weights, wide, at);
                    const int32_t dx = j * p->dil_w - p->pad_w; /* input column = ox * stride_w + dx */
                    int32_t ox0, ox1;
                    en_snn_tap_outputs(dx, stride_w, w_in, w_out, &ox0, &ox1);
                    if (weight == 0 || ox0 >= ox1) {
                        continue;
                    }
                    for (int32_t oy = oy0; oy < oy1; ++oy) {
                        en_snn_tap_run(&out[oy * w_out + ox0], &out[oy * w_out + ox1],
                                       &in[(oy * p->stride_h + dy) * w_in + ox0 * stride_w + dx], stride_w, weight);
                    }
                }
            }
        }
        for (int32_t t = 0; t < plane_out; ++t) {
            out[t] = en_sat32(en_mul_round(out[t], mult[o], shift[o]));
        }
    }
}

void en_snn_conv2d_s8(const en_snn_conv2d_s8_params *p, const int8_t *input, const int8_t *weights,
                      const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output)
{
    en_snn_conv2d(p, input, weights, 0, bias, mult, shift, output);
}

void en_snn_conv2d_s8_w16(const en_snn_conv2d_s8_params *p, const int8_t *input, const int16_t *weights,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output)
{
    en_snn_conv2d(p, input, weights, 1, bias, mult, shift, output);
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
