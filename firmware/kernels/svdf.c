/* SVDF: int8 (int8 or int16 state) and float32, every inference from the reset state: each
 * filter's memory holds the reset value but for its newest entry, the feature product, so no state
 * memory is needed. Spec: edgeneuro/ops/svdf.py. */
#include "svdf.h"

#include "en_fixedpoint.h"

/* One batch row's units: for each unit, acc starts at bias[u], then adds each of its rank filters'
 * time product (FEATURE(f) the filter's newest state value, RESET the others, STATE_TERM(w, v) one
 * term of it, T_ACC its accumulator type); FINISH(acc) is stored. */
#define EN_SVDF_UNITS(ACC_T, T_ACC, FEATURE, RESET, STATE_TERM, FINISH)                    \
    for (int32_t u = 0; u < p->units; ++u) {                                               \
        ACC_T acc = bias[u];                                                               \
        for (int32_t r = 0; r < p->rank; ++r) {                                            \
            const int32_t f = u * p->rank + r;                                             \
            const T_ACC newest = FEATURE(f);                                               \
            T_ACC t = 0;                                                                   \
            for (int32_t j = 0; j < p->memory; ++j) {                                      \
                const T_ACC v = j == p->memory - 1 ? newest : (RESET);                     \
                t += STATE_TERM(weights_time[f * p->memory + j], v);                       \
            }                                                                              \
            acc += t;                                                                      \
        }                                                                                  \
        out[u] = FINISH(acc);                                                              \
    }

/* The int8 feature product of filter f, clamped to the state's type, plus the state's zero point
 * (which the caller wraps into the state's type, as TFLM stores it). */
static inline int32_t en_svdf_feature(const en_svdf_s8_params *p, const int8_t *x, const int8_t *wf, int32_t f)
{
    int32_t dot = 0;
    for (int32_t k = 0; k < p->depth; ++k) {
        dot += wf[f * p->depth + k] * ((int32_t)x[k] - p->in_zp);
    }
    const int32_t v = en_requant(dot, p->mult1, p->shift1);
    return (v < p->state_min ? p->state_min : (v > p->state_max ? p->state_max : v)) + p->state_zp;
}

#define EN_SVDF_FEATURE_S8(f) ((int32_t)(int8_t)en_svdf_feature(p, x, weights_feature, (f)))
#define EN_SVDF_FEATURE_S16(f) ((int32_t)(int16_t)en_svdf_feature(p, x, weights_feature, (f)))
#define EN_SVDF_TERM_INT(w, v) ((int32_t)(w) * ((v) - p->state_zp))
/* the unit's sum in int64 (a rank > 1 unit's filters can pass int32 together, where TFLM's int32
 * sum would overflow), saturated to int32 before the requantization */
#define EN_SVDF_SAT32(acc) ((int32_t)((acc) > INT32_MAX ? INT32_MAX : ((acc) < INT32_MIN ? INT32_MIN : (acc))))
#define EN_SVDF_FINISH_INT(acc) en_clamp_s8(en_requant(EN_SVDF_SAT32(acc), p->mult2, p->shift2) + p->out_zp, -128, 127)

void en_svdf_s8(const en_svdf_s8_params *p, const int8_t *input, const int8_t *weights_feature,
                const int8_t *weights_time, const int32_t *bias, int8_t *output)
{
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * p->depth;
        int8_t *out = output + b * p->units;
        EN_SVDF_UNITS(int64_t, int32_t, EN_SVDF_FEATURE_S8, p->reset, EN_SVDF_TERM_INT, EN_SVDF_FINISH_INT)
    }
}

void en_svdf_s16(const en_svdf_s16_params *p, const int8_t *input, const int8_t *weights_feature,
                 const int16_t *weights_time, const int32_t *bias, int8_t *output)
{
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * p->depth;
        int8_t *out = output + b * p->units;
        EN_SVDF_UNITS(int64_t, int32_t, EN_SVDF_FEATURE_S16, p->reset, EN_SVDF_TERM_INT, EN_SVDF_FINISH_INT)
    }
}

/* The float32 feature product of filter f: dot = 0, then + w * x over the input, in order. */
static inline float en_svdf_feature_f32(const en_svdf_f32_params *p, const float *x, const float *wf, int32_t f)
{
    float dot = 0.0f;
    for (int32_t k = 0; k < p->depth; ++k) {
        dot += wf[f * p->depth + k] * x[k];
    }
    return dot;
}

/* TFLM's ActivationValFloat for NONE / RELU / RELU6 / RELU_N1_TO_1: std::max(lo, std::min(v, hi)). */
static inline float en_svdf_activation(const en_svdf_f32_params *p, float v)
{
    const float m = p->act_max < v ? p->act_max : v;
    return p->act_min < m ? m : p->act_min;
}

#define EN_SVDF_FEATURE_F32(f) en_svdf_feature_f32(p, x, weights_feature, (f))
#define EN_SVDF_TERM_F32(w, v) ((w) * (v))
#define EN_SVDF_FINISH_F32(acc) en_svdf_activation(p, (acc))

void en_svdf_f32(const en_svdf_f32_params *p, const float *input, const float *weights_feature,
                 const float *weights_time, const float *bias, float *output)
{
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *x = input + b * p->depth;
        float *out = output + b * p->units;
        EN_SVDF_UNITS(float, float, EN_SVDF_FEATURE_F32, 0.0f, EN_SVDF_TERM_F32, EN_SVDF_FINISH_F32)
    }
}
