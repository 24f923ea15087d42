/* RELU (requantizing), RELU6 (a clamp in the input's quantization, as TFLM) and LEAKY_RELU (two
 * multipliers) on int8 and int16; the float32 forms. Spec: edgeneuro/ops/relu.py. */
#include "en_fixedpoint.h"
#include "relu.h"

/* The int8 and int16 forms share their loops: T the element type, CLAMP its saturating clamp. */
#define EN_RELU_FAMILY(SUFFIX, T, CLAMP, T_MIN, T_MAX)                                                  \
    void en_relu_##SUFFIX(const en_relu_##SUFFIX##_params *p, const T *input, T *output)                \
    {                                                                                                 \
        for (int32_t i = 0; i < p->size; ++i) {                                                       \
            const int32_t y = p->out_zp + en_requant((int32_t)input[i] - p->in_zp, p->mult, p->shift); \
            output[i] = CLAMP(y, p->act_min, p->act_max);                                             \
        }                                                                                             \
    }                                                                                                 \
                                                                                                      \
    void en_relu6_##SUFFIX(const en_relu6_##SUFFIX##_params *p, const T *input, T *output)              \
    {                                                                                                 \
        for (int32_t i = 0; i < p->size; ++i) {                                                       \
            output[i] = CLAMP(input[i], p->zero, p->six);                                             \
        }                                                                                             \
    }                                                                                                 \
                                                                                                      \
    /* TFLM requantizes with |alpha multiplier| and negates the result for a negative alpha. */       \
    void en_leaky_relu_##SUFFIX(const en_leaky_relu_##SUFFIX##_params *p, const T *input, T *output)    \
    {                                                                                                 \
        const int negative_alpha = p->alpha_mult < 0;                                                 \
        const int32_t alpha_mult = negative_alpha ? -p->alpha_mult : p->alpha_mult;                   \
        for (int32_t i = 0; i < p->size; ++i) {                                                       \
            const int32_t x = (int32_t)input[i] - p->in_zp;                                           \
            int32_t y;                                                                                \
            if (x >= 0) {                                                                             \
                y = en_requant(x, p->id_mult, p->id_shift);                                           \
            } else {                                                                                  \
                const int32_t scaled = en_requant(x, alpha_mult, p->alpha_shift);                     \
                y = negative_alpha ? -scaled : scaled;                                                \
            }                                                                                         \
            output[i] = CLAMP(p->out_zp + y, T_MIN, T_MAX);                                           \
        }                                                                                             \
    }

EN_RELU_FAMILY(s8, int8_t, en_clamp_s8, -128, 127)
EN_RELU_FAMILY(s16, int16_t, en_clamp_s16, -32768, 32767)

void en_relu_f32(const en_relu_f32_params *p, const float *input, float *output)
{
    const int32_t n = p->size;
    switch (p->op) {
    case 0:
        for (int32_t i = 0; i < n; ++i) {
            const float v = input[i];
            output[i] = v < 0.0f ? 0.0f : v;
        }
        break;
    case 1:
        for (int32_t i = 0; i < n; ++i) {
            const float v = input[i];
            output[i] = v > 6.0f ? 6.0f : (v < 0.0f ? 0.0f : v);
        }
        break;
    default:
        for (int32_t i = 0; i < n; ++i) {
            const float v = input[i];
            output[i] = v > 0.0f ? v : v * p->alpha;
        }
        break;
    }
}
