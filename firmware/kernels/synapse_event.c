/* Spec: edgeneuro/ops/synapse.py (dense reference) and edgeneuro/ops/synapse_event.py. */
#include "synapse_event.h"

#include <string.h>

#include "en_fixedpoint.h"

/* The indices of the non-zero values of x[0, size), ascending, into active[]; returns their count.
 * Four values are tested per 32-bit load; within a word that holds a spike the store is
 * unconditional and the count advances only past non-zero values. */
static int32_t en_snn_gather(const int8_t *x, int32_t size, uint16_t *active)
{
    int32_t n = 0;
    const int8_t *end = x + (size & ~3);
    for (const int8_t *q = x; q < end; q += 4) {
        uint32_t word;
        memcpy(&word, q, sizeof word);
        if (__builtin_expect(word != 0u, 0)) { /* mostly silent */
            const int32_t k = (int32_t)(q - x);
            active[n] = (uint16_t)k;
            n += q[0] != 0;
            active[n] = (uint16_t)(k + 1);
            n += q[1] != 0;
            active[n] = (uint16_t)(k + 2);
            n += q[2] != 0;
            active[n] = (uint16_t)(k + 3);
            n += q[3] != 0;
        }
    }
    for (int32_t k = size & ~3; k < size; ++k) {
        active[n] = (uint16_t)k;
        n += x[k] != 0;
    }
    return n;
}

/* acc [channels][length] -> the int32 currents, one output multiplier per channel. */
static void en_snn_finish(int32_t *acc, int32_t channels, int32_t length, const int32_t *mult, const int32_t *shift)
{
    for (int32_t o = 0; o < channels; ++o) {
        for (int32_t t = 0; t < length; ++t, ++acc) {
            *acc = en_sat32(en_mul_round(*acc, mult[o], shift[o]));
        }
    }
}

/* y[o * step] += w[first + o] * x for o in [0, n): the weights of one input to n outputs, int8 or
 * (wide) int16. */
static inline void en_snn_scatter(int32_t *y, int32_t step, const void *w, int32_t wide, int32_t first, int32_t n,
                                  int32_t x)
{
    if (wide) {
        const int16_t *v = (const int16_t *)w + first;
        for (int32_t o = 0; o < n; ++o, y += step) {
            *y += (int32_t)v[o] * x;
        }
    } else {
        const int8_t *v = (const int8_t *)w + first;
        for (int32_t o = 0; o < n; ++o, y += step) {
            *y += (int32_t)v[o] * x;
        }
    }
}

static void en_snn_affine_event(const en_snn_affine_event_s8_params *p, const int8_t *input, const void *weights,
                                int32_t wide, const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                int32_t *output, int8_t *scratch)
{
    uint16_t *active = (uint16_t *)(void *)scratch;
    const int32_t units = p->units;
    const int32_t n = en_snn_gather(input, p->depth, active);
    for (int32_t o = 0; o < units; ++o) {
        output[o] = bias[o];
    }
    for (int32_t i = 0; i < n; ++i) {
        en_snn_scatter(output, 1, weights, wide, (int32_t)active[i] * units, units, input[active[i]]);
    }
    en_snn_finish(output, units, 1, mult, shift);
}

static void en_snn_conv1d_event(const en_snn_conv1d_event_s8_params *p, const int8_t *input, const void *weights,
                                int32_t wide, const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                int32_t *output, int8_t *scratch)
{
    uint16_t *active = (uint16_t *)(void *)scratch;
    const int32_t c_in_g = p->c_in / p->groups;
    const int32_t c_out_g = p->c_out / p->groups;
    const int32_t n_in = p->n_in, n_out = p->n_out;
    const int32_t n = en_snn_gather(input, p->c_in * n_in, active);
    for (int32_t o = 0; o < p->c_out; ++o) {
        for (int32_t t = 0; t < n_out; ++t) {
            output[o * n_out + t] = bias[o];
        }
    }
    int32_t c = 0; /* the channel of active[i]: the list is ascending */
    int32_t start = 0; /* c * n_in */
    for (int32_t i = 0; i < n; ++i) {
        const int32_t at = active[i];
        while (at >= start + n_in) {
            ++c;
            start += n_in;
        }
        const int32_t x = input[at];
        const int32_t shifted = at - start + p->pad; /* t * stride + j * dilation for the (t, j) it reaches */
        int32_t *out = &output[(c / c_in_g) * c_out_g * n_out];
        int32_t w = c * p->kernel * c_out_g; /* the index of weight (c, j, 0) */
        for (int32_t j = 0; j < p->kernel; ++j, w += c_out_g) {
            const int32_t ts = shifted - j * p->dilation;
            if (ts < 0) {
                break; /* the later taps reach further left still */
            }
            const int32_t t = ts / p->stride;
            if (t * p->stride != ts || t >= n_out) {
                continue;
            }
            en_snn_scatter(&out[t], n_out, weights, wide, w, c_out_g, x);
        }
    }
    en_snn_finish(output, p->c_out, n_out, mult, shift);
}

static void en_snn_conv2d_event(const en_snn_conv2d_event_s8_params *p, const int8_t *input, const void *weights,
                                int32_t wide, const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                int32_t *output, int8_t *scratch)
{
    uint16_t *active = (uint16_t *)(void *)scratch;
    const int32_t c_in_g = p->c_in / p->groups;
    const int32_t c_out_g = p->c_out / p->groups;
    const int32_t h_in = p->h_in, w_in = p->w_in, h_out = p->h_out, w_out = p->w_out;
    const int32_t plane_out = h_out * w_out;
    const int32_t taps = p->k_h * p->k_w * c_out_g;
    const int32_t n = en_snn_gather(input, p->c_in * h_in * w_in, active);
    for (int32_t o = 0; o < p->c_out; ++o) {
        for (int32_t t = 0; t < plane_out; ++t) {
            output[o * plane_out + t] = bias[o];
        }
    }
    int32_t c = 0, y = 0; /* the channel and row of active[i]: the list is ascending */
    int32_t row = 0;      /* the index of that row's first input */
    for (int32_t i = 0; i < n; ++i) {
        const int32_t at = active[i];
        while (at >= row + w_in) {
            row += w_in;
            if (++y == h_in) {
                y = 0;
                ++c;
            }
        }
        const int32_t x = input[at];
        const int32_t sy = y + p->pad_h;        /* oy * stride_h + ki * dil_h for the outputs it reaches */
        const int32_t sx = at - row + p->pad_w; /* ox * stride_w + kj * dil_w */
        int32_t *out = &output[(c / c_in_g) * c_out_g * plane_out];
        const int32_t w = c * taps; /* the index of weight (c, 0, 0, 0) */
        for (int32_t ki = 0; ki < p->k_h; ++ki) {
            const int32_t ty = sy - ki * p->dil_h;
            if (ty < 0) {
                break; /* the later rows of taps reach further up still */
            }
            const int32_t oy = ty / p->stride_h;
            if (oy * p->stride_h != ty || oy >= h_out) {
                continue;
            }
            int32_t wk = w + ki * p->k_w * c_out_g; /* the index of weight (c, ki, kj, 0) */
            for (int32_t kj = 0; kj < p->k_w; ++kj, wk += c_out_g) {
                const int32_t tx = sx - kj * p->dil_w;
                if (tx < 0) {
                    break;
                }
                const int32_t ox = tx / p->stride_w;
                if (ox * p->stride_w != tx || ox >= w_out) {
                    continue;
                }
                en_snn_scatter(&out[oy * w_out + ox], plane_out, weights, wide, wk, c_out_g, x);
            }
        }
    }
    en_snn_finish(output, p->c_out, plane_out, mult, shift);
}

void en_snn_affine_event_s8(const en_snn_affine_event_s8_params *p, const int8_t *input, const int8_t *weights,
                            const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output,
                            int8_t *scratch)
{
    en_snn_affine_event(p, input, weights, 0, bias, mult, shift, output, scratch);
}

void en_snn_affine_event_s8_w16(const en_snn_affine_event_s8_params *p, const int8_t *input, const int16_t *weights,
                                const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output,
                                int8_t *scratch)
{
    en_snn_affine_event(p, input, weights, 1, bias, mult, shift, output, scratch);
}

void en_snn_conv1d_event_s8(const en_snn_conv1d_event_s8_params *p, const int8_t *input, const int8_t *weights,
                            const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output,
                            int8_t *scratch)
{
    en_snn_conv1d_event(p, input, weights, 0, bias, mult, shift, output, scratch);
}

void en_snn_conv1d_event_s8_w16(const en_snn_conv1d_event_s8_params *p, const int8_t *input, const int16_t *weights,
                                const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output,
                                int8_t *scratch)
{
    en_snn_conv1d_event(p, input, weights, 1, bias, mult, shift, output, scratch);
}

void en_snn_conv2d_event_s8(const en_snn_conv2d_event_s8_params *p, const int8_t *input, const int8_t *weights,
                            const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output,
                            int8_t *scratch)
{
    en_snn_conv2d_event(p, input, weights, 0, bias, mult, shift, output, scratch);
}

void en_snn_conv2d_event_s8_w16(const en_snn_conv2d_event_s8_params *p, const int8_t *input, const int16_t *weights,
                                const int32_t *bias, const int32_t *mult, const int32_t *shift, int32_t *output,
                                int8_t *scratch)
{
    en_snn_conv2d_event(p, input, weights, 1, bias, mult, shift, output, scratch);
}
