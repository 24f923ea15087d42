/* TRANSPOSE_CONV, NHWC input, OHWI weights: int8 with per-channel requantization, 16x8, and
 * float32. Spec: edgeneuro/ops/transpose_conv.py. */
#include "transpose_conv.h"

#include "en_fixedpoint.h"

/* The input coordinate that output coordinate `o` meets through filter tap `k`, or -1 when no
 * input pixel reaches it (between strides or outside the input). */
static inline int32_t en_tconv_source(int32_t o, int32_t k, int32_t pad, int32_t stride, int32_t size)
{
    const int32_t t = o + pad - k;
    if (t < 0 || t % stride != 0 || t / stride >= size) {
        return -1;
    }
    return t / stride;
}

/* The loop nest of all three variants, gathering what TFLM's scatter adds into each output
 * element in the order it adds it: filter rows and columns descending (input rows and columns
 * ascending), then input channels; then FINISH(acc, oc) is stored. */
#define EN_TCONV_LOOPS(IN_T, W_T, ACC_T, TERM, FINISH)                                                \
    for (int32_t b = 0; b < p->batches; ++b) {                                                       \
        for (int32_t oy = 0; oy < p->out_h; ++oy) {                                                  \
            for (int32_t ox = 0; ox < p->out_w; ++ox) {                                              \
                for (int32_t oc = 0; oc < p->out_c; ++oc) {                                          \
                    ACC_T acc = 0;                                                                   \
                    for (int32_t ky = p->k_h - 1; ky >= 0; --ky) {                                   \
                        const int32_t iy = en_tconv_source(oy, ky, p->pad_h, p->stride_h, p->in_h);  \
                        if (iy < 0) {                                                                \
                            continue;                                                                \
                        }                                                                            \
                        for (int32_t kx = p->k_w - 1; kx >= 0; --kx) {                               \
                            const int32_t ix = en_tconv_source(ox, kx, p->pad_w, p->stride_w, p->in_w); \
                            if (ix < 0) {                                                            \
                                continue;                                                            \
                            }                                                                        \
                            const IN_T *in = input + ((b * p->in_h + iy) * p->in_w + ix) * p->in_c;   \
                            const W_T *w = weights + ((oc * p->k_h + ky) * p->k_w + kx) * p->in_c;    \
                            for (int32_t ic = 0; ic < p->in_c; ++ic) {                               \
                                acc += TERM(in[ic], w[ic]);                                          \
                            }                                                                        \
                        }                                                                            \
                    }                                                                                \
                    *output++ = FINISH(acc, oc);                                                     \
                }                                                                                    \
            }                                                                                        \
        }                                                                                            \
    }

void en_transpose_conv_s8(const en_transpose_conv_s8_params *p, const int8_t *input, const int8_t *weights,
                          const int32_t *bias, const int32_t *mult, const int32_t *shift, int8_t *output)
{
    EN_TCONV_LOOPS(int8_t, int8_t, int32_t, EN_TERM_S8, EN_FINISH_S8)
}

void en_transpose_conv_s16(const en_transpose_conv_s16_params *p, const int16_t *input, const int8_t *weights,
                           const int64_t *bias, const int32_t *mult, const int32_t *shift, int16_t *output)
{
    EN_TCONV_LOOPS(int16_t, int8_t, int64_t, EN_TERM_S16, EN_FINISH_S16)
}

void en_transpose_conv_f32(const en_transpose_conv_f32_params *p, const float *input, const float *weights,
                           const float *bias, float *output)
{
    EN_TCONV_LOOPS(float, float, float, EN_TERM_F32, EN_FINISH_F32)
}
