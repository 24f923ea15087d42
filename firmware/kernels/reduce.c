/* SUM, REDUCE_MAX and REDUCE_MIN. Spec: edgeneuro/ops/reduce.py. */
#include "reduce.h"

#include <float.h>

#include "en_fixedpoint.h"

/* For each output element (the kept axes, in order): acc = INIT, then acc = STEP(acc, x) over the
 * reduced elements in row-major order, then store FINISH(acc). */
#define EN_REDUCE_LOOPS(ACC_T, INIT, STEP, FINISH)                                                 \
    const int32_t d[5] = {p->d0, p->d1, p->d2, p->d3, p->d4};                                     \
    const int32_t r[5] = {p->r0, p->r1, p->r2, p->r3, p->r4};                                     \
    int32_t stride[5], keep[5], red[5];                                                           \
    stride[4] = 1;                                                                                \
    for (int i = 3; i >= 0; --i) {                                                                \
        stride[i] = stride[i + 1] * d[i + 1];                                                     \
    }                                                                                             \
    for (int i = 0; i < 5; ++i) {                                                                 \
        keep[i] = r[i] ? 1 : d[i];                                                                \
        red[i] = r[i] ? d[i] : 1;                                                                 \
    }                                                                                             \
    for (int32_t a0 = 0; a0 < keep[0]; ++a0)                                                      \
    for (int32_t a1 = 0; a1 < keep[1]; ++a1)                                                      \
    for (int32_t a2 = 0; a2 < keep[2]; ++a2)                                                      \
    for (int32_t a3 = 0; a3 < keep[3]; ++a3)                                                      \
    for (int32_t a4 = 0; a4 < keep[4]; ++a4) {                                                    \
        ACC_T acc = INIT;                                                                         \
        for (int32_t b0 = 0; b0 < red[0]; ++b0)                                                   \
        for (int32_t b1 = 0; b1 < red[1]; ++b1)                                                   \
        for (int32_t b2 = 0; b2 < red[2]; ++b2)                                                   \
        for (int32_t b3 = 0; b3 < red[3]; ++b3)                                                   \
        for (int32_t b4 = 0; b4 < red[4]; ++b4) {                                                 \
            const ACC_T x = input[(a0 + b0) * stride[0] + (a1 + b1) * stride[1] + (a2 + b2) * stride[2] \
                                  + (a3 + b3) * stride[3] + (a4 + b4) * stride[4]];                \
            acc = STEP(acc, x);                                                                   \
        }                                                                                         \
        *output++ = FINISH(acc);                                                                  \
    }

#define EN_ADD(acc, x) ((acc) + (x))
#define EN_MAX(acc, x) ((x) > (acc) ? (x) : (acc))
#define EN_MIN(acc, x) ((x) < (acc) ? (x) : (acc))
#define EN_SAME(acc) (acc)

void en_reduce_f32(const en_reduce_f32_params *p, const float *input, float *output)
{
    if (p->op == 0) {
        EN_REDUCE_LOOPS(float, 0.0f, EN_ADD, EN_SAME)
    } else if (p->op == 1) {
        EN_REDUCE_LOOPS(float, -FLT_MAX, EN_MAX, EN_SAME)
    } else {
        EN_REDUCE_LOOPS(float, FLT_MAX, EN_MIN, EN_SAME)
    }
}

void en_reduce_s8(const en_reduce_s8_params *p, const int8_t *input, int8_t *output)
{
    if (p->op == 1) {
        EN_REDUCE_LOOPS(int8_t, -128, EN_MAX, EN_SAME)
    } else {
        EN_REDUCE_LOOPS(int8_t, 127, EN_MIN, EN_SAME)
    }
}

static inline int32_t sum_finish(const en_reduce_sum_s8_params *p, int32_t sum)
{
    const int32_t v = en_requant(sum - p->in_zp * p->count, p->mult, p->shift) + p->out_zp;
    return v < p->qmin ? p->qmin : (v > p->qmax ? p->qmax : v);
}

void en_reduce_sum_s8(const en_reduce_sum_s8_params *p, const int8_t *input, int8_t *output)
{
#define FINISH(sum) ((int8_t)sum_finish(p, sum))
    EN_REDUCE_LOOPS(int32_t, 0, EN_ADD, FINISH)
#undef FINISH
}

void en_reduce_sum_s16(const en_reduce_sum_s16_params *p, const int16_t *input, int16_t *output)
{
#define FINISH(sum) ((int16_t)sum_finish(p, sum))
    EN_REDUCE_LOOPS(int32_t, 0, EN_ADD, FINISH)
#undef FINISH
}
