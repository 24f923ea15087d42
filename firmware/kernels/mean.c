/* MEAN over any subset of (up to) four axes: int8 and float32. Spec: edgeneuro/ops/mean.py. */
#include "mean.h"

#include "en_fixedpoint.h"

/* The loop nest of both kernels: for each output element (the kept axes, in order), sum the
 * reduced elements in row-major order, then store FINISH(sum). */
#define EN_MEAN_LOOPS(ACC_T, FINISH)                                                              \
    const int32_t d[4] = {p->d0, p->d1, p->d2, p->d3};                                           \
    const int32_t r[4] = {p->r0, p->r1, p->r2, p->r3};                                           \
    const int32_t stride[4] = {p->d1 * p->d2 * p->d3, p->d2 * p->d3, p->d3, 1};                  \
    int32_t keep[4], red[4];                                                                     \
    for (int i = 0; i < 4; ++i) {                                                                \
        keep[i] = r[i] ? 1 : d[i];                                                               \
        red[i] = r[i] ? d[i] : 1;                                                                \
    }                                                                                            \
    for (int32_t a0 = 0; a0 < keep[0]; ++a0)                                                     \
    for (int32_t a1 = 0; a1 < keep[1]; ++a1)                                                     \
    for (int32_t a2 = 0; a2 < keep[2]; ++a2)                                                     \
    for (int32_t a3 = 0; a3 < keep[3]; ++a3) {                                                   \
        ACC_T sum = 0;                                                                           \
        for (int32_t b0 = 0; b0 < red[0]; ++b0)                                                  \
        for (int32_t b1 = 0; b1 < red[1]; ++b1)                                                  \
        for (int32_t b2 = 0; b2 < red[2]; ++b2)                                                  \
        for (int32_t b3 = 0; b3 < red[3]; ++b3) {                                                \
            sum += input[(a0 + b0) * stride[0] + (a1 + b1) * stride[1] + (a2 + b2) * stride[2] + (a3 + b3) * stride[3]]; \
        }                                                                                        \
        *output++ = FINISH(sum);                                                                 \
    }

void en_mean_s8(const en_mean_s8_params *p, const int8_t *input, int8_t *output)
{
#define FINISH(sum) en_clamp_s8(en_requant((sum) - p->in_zp * p->count, p->mult, p->shift) + p->out_zp, -128, 127)
    EN_MEAN_LOOPS(int32_t, FINISH)
#undef FINISH
}

void en_mean_f32(const en_mean_f32_params *p, const float *input, float *output)
{
#define FINISH(sum) ((sum) / (float)p->count)
    EN_MEAN_LOOPS(float, FINISH)
#undef FINISH
}
