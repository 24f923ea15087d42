/* RELU (requantizing), RELU6 (a clamp in the input's quantization, as TFLM) and LEAKY_RELU (two
 * multipliers) on int8 and int16; the float32 forms. Spec: edgeneuro/ops/relu.py. */
#include "en_fixedpoint.h"
#include "relu.h"

void en_relu_s8(const en_relu_s8_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t y = p->out_zp + en_requant((int32_t)input[i] - p->in_zp, p->mult, p->shift);
        output[i] = en_clamp_s8(y, p->act_min, p->act_max);
    }
}

void en_relu6_s8(const en_relu6_s8_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = en_clamp_s8(input[i], p->zero, p->six);
    }
}

void en_leaky_relu_s8(const en_leaky_relu_s8_params *p, const int8_t *input, int8_t *output)
{
    /* TFLM requantizes with |alpha multiplier| and negates the result for a negative alpha. */
    const int negative_alpha = p->alpha_mult < 0;
    const int32_t alpha_mult = negative_alpha ? -p->alpha_mult : p->alpha_mult;
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = (int32_t)input[i] - p->in_zp;
        int32_t y;
        if (x >= 0) {
            y = en_requant(x, p->id_mult, p->id_shift);
        } else {
            const int32_t scaled = en_requant(x, alpha_mult, p->alpha_shift);
            y = negative_alpha ? -scaled : scaled;
        }
        output[i] = en_clamp_s8(p->out_zp + y, -128, 127);
    }
}

void en_relu_s16(const en_relu_s16_params *p, const int16_t *input, int16_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t y = p->out_zp + en_requant((int32_t)input[i] - p->in_zp, p->mult, p->shift);
        output[i] = en_clamp_s16(y, p->act_min, p->act_max);
    }
}

void en_relu6_s16(const en_relu6_s16_params *p, const int16_t *input, int16_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = en_clamp_s16(input[i], p->zero, p->six);
    }
}

void en_leaky_relu_s16(const en_leaky_relu_s16_params *p, const int16_t *input, int16_t *output)
{
    const int negative_alpha = p->alpha_mult < 0;
    const int32_t alpha_mult = negative_alpha ? -p->alpha_mult : p->alpha_mult;
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = (int32_t)input[i] - p->in_zp;
        int32_t y;
        if (x >= 0) {
            y = en_requant(x, p->id_mult, p->id_shift);
        } else {
            const int32_t scaled = en_requant(x, alpha_mult, p->alpha_shift);
            y = negative_alpha ? -scaled : scaled;
        }
        output[i] = en_clamp_s16(p->out_zp + y, -32768, 32767);
    }
}

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
