/* ABS, NEG, RSQRT, SQRT, EXP, LOG, CEIL, FLOOR, ROUND, SIN, COS, SQUARE, LOGICAL_NOT and
 * L2_NORMALIZATION. Spec: edgeneuro/ops/unary.py. */
#include "unary.h"

#include <math.h>

#include "en_fixedpoint.h"

/* TFLM's RoundToNearest: halves to even; -0.4 and -0.5 give +0.0. */
static inline float round_to_nearest(float x)
{
    const float f = floorf(x);
    const float d = x - f;
    if (d < 0.5f || (d == 0.5f && (int32_t)f % 2 == 0)) {
        return f;
    }
    return f + 1.0f;
}

void en_unary_f32(const en_unary_f32_params *p, const float *input, float *output)
{
    const int32_t n = p->size;
    switch (p->op) {
    case 0: for (int32_t i = 0; i < n; ++i) output[i] = fabsf(input[i]); break;
    case 1: for (int32_t i = 0; i < n; ++i) output[i] = -input[i]; break;
    case 2: for (int32_t i = 0; i < n; ++i) output[i] = 1.0f / sqrtf(input[i]); break;
    case 3: for (int32_t i = 0; i < n; ++i) output[i] = sqrtf(input[i]); break;
    case 4: for (int32_t i = 0; i < n; ++i) output[i] = expf(input[i]); break;
    case 5: for (int32_t i = 0; i < n; ++i) output[i] = logf(input[i]); break;
    case 8: for (int32_t i = 0; i < n; ++i) output[i] = ceilf(input[i]); break;
    case 9: for (int32_t i = 0; i < n; ++i) output[i] = floorf(input[i]); break;
    case 10: for (int32_t i = 0; i < n; ++i) output[i] = round_to_nearest(input[i]); break;
    case 11: for (int32_t i = 0; i < n; ++i) output[i] = sinf(input[i]); break;
    case 12: for (int32_t i = 0; i < n; ++i) output[i] = cosf(input[i]); break;
    default: for (int32_t i = 0; i < n; ++i) output[i] = input[i] * input[i]; break;
    }
}

void en_logical_not(const en_logical_not_params *p, const uint8_t *input, uint8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (uint8_t)!input[i];
    }
}

void en_abs_s16_raw(const en_abs_s16_raw_params *p, const int16_t *input, int16_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t v = input[i];
        output[i] = (int16_t)(v < 0 ? -v : v); /* -32768 wraps to itself, as in TFLM */
    }
}

static inline int32_t abs_q(const en_abs_s8_params *p, int32_t x)
{
    int32_t v = x - p->in_zp;
    v = v < 0 ? -v : v;
    if (p->rescale) {
        v = en_requant(v, p->mult, p->shift);
    }
    return v + p->out_zp;
}

void en_abs_s8(const en_abs_s8_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = en_clamp_s8(abs_q(p, input[i]), -128, 127);
    }
}

void en_abs_s16(const en_abs_s16_params *p, const int16_t *input, int16_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = en_clamp_s16(abs_q(p, input[i]), -32768, 32767);
    }
}

/* GetInvSqrtQuantizedMultiplierExp(v, -1) for v > 1: 1 / sqrt(v) ~ mult * 2^(shift - 31), five
 * Newton-Raphson steps in Q3.28 (gemmlowp). */
static void inv_sqrt(int32_t v, int32_t *mult, int32_t *shift)
{
    int32_t s = 11;
    while (v >= (1 << 29)) {
        v /= 4;
        ++s;
    }
    int clz = 0;
    while (clz < 32 && !((uint32_t)v & (UINT32_C(0x80000000) >> clz))) {
        ++clz;
    }
    const int pairs = (clz - 1) / 2 - 1;
    s -= pairs;
    v <<= 2 * pairs;
    const int32_t half_input = en_rdbpot(v >> 1, 1);
    const int32_t half_three = (1 << 28) + (1 << 27);
    int32_t x = 1 << 28;
    for (int i = 0; i < 5; ++i) {
        const int32_t x3 = en_sat_shl(en_srdhm(en_srdhm(x, x), x), 6);
        x = en_sat_shl(en_srdhm(half_three, x) - en_srdhm(half_input, x3), 3);
    }
    x = en_srdhm(x, 1518500250);
    if (s < 0) {
        x = (int32_t)((uint32_t)x << -s);
        s = 0;
    }
    *mult = x;
    *shift = -s;
}

void en_rsqrt_s8(const en_rsqrt_s8_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t v = input[i] - p->in_zp;
        if (v <= 0) {
            output[i] = 127;
            continue;
        }
        int32_t inv = INT32_MAX, e = 0;
        if (v > 1) {
            inv_sqrt(v, &inv, &e);
        }
        const int32_t d = en_requant(1, inv, e + 20);
        output[i] = en_clamp_s8(en_requant(d, p->mult, p->shift) + p->out_zp, -128, 127);
    }
}

void en_l2norm_s8(const en_l2norm_s8_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t r = 0; r < p->outer; ++r) {
        const int8_t *x = input + r * p->depth;
        int32_t acc = 0;
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t v = x[c] - p->in_zp;
            acc += v * v;
        }
        int32_t inv = INT32_MAX, e = 0;
        if (acc > 1) {
            inv_sqrt(acc, &inv, &e);
        }
        for (int32_t c = 0; c < p->depth; ++c) {
            *output++ = en_clamp_s8(en_requant(x[c] - p->in_zp, inv, e + 7), -128, 127);
        }
    }
}

void en_l2norm_f32(const en_l2norm_f32_params *p, const float *input, float *output)
{
    for (int32_t r = 0; r < p->outer; ++r) {
        const float *x = input + r * p->depth;
        float total = 0.0f;
        for (int32_t c = 0; c < p->depth; ++c) {
            total += x[c] * x[c];
        }
        float norm = sqrtf(total);
        norm = norm > 1e-6f ? norm : 1e-6f;
        for (int32_t c = 0; c < p->depth; ++c) {
            *output++ = x[c] / norm;
        }
    }
}
