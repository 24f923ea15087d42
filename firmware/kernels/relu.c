/* RELU (requantizing), RELU6 (a clamp in the input's quantization, as TFLM) and LEAKY_RELU (two
 * multipliers) on int8. Spec: edgeneuro/ops/relu.py. */
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
