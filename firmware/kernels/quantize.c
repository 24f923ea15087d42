/* QUANTIZE / DEQUANTIZE. Spec: edgeneuro/ops/quantize.py. */
#include "en_fixedpoint.h"
#include "quantize.h"

static int32_t en_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* TfLiteRound (roundf: halves away from zero) of x / scale, in float32, then + zero point and
 * clamped. |x / scale| >= 65536 saturates (TFLM's int32 cast is undefined there), NaN gives 0. */
static int32_t en_quantize_value(float x, float scale, const en_quantize_f32_params *p)
{
    const float v = x / scale;
    int32_t q;
    if (v != v) {
        q = 0;
    } else if (v >= 65536.0f) {
        q = 65536;
    } else if (v <= -65536.0f) {
        q = -65536;
    } else {
        q = (int32_t)v; /* truncation toward zero; exact, |v| < 2^16 */
        const float frac = v - (float)q; /* exact */
        if (frac >= 0.5f) {
            q += 1;
        } else if (frac <= -0.5f) {
            q -= 1;
        }
    }
    return en_clamp(q + p->out_zp, p->act_min, p->act_max);
}

void en_quantize_f32_s8(const en_quantize_f32_params *p, const float *input, int8_t *output)
{
    const float scale = p->scale;
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int8_t)en_quantize_value(input[i], scale, p);
    }
}

void en_quantize_f32_s16(const en_quantize_f32_params *p, const float *input, int16_t *output)
{
    const float scale = p->scale;
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int16_t)en_quantize_value(input[i], scale, p);
    }
}

static int32_t en_requantize_value(int32_t x, const en_requantize_params *p)
{
    return en_clamp(en_requant(x - p->in_zp, p->mult, p->shift) + p->out_zp, p->act_min, p->act_max);
}

void en_quantize_s8_s8(const en_requantize_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int8_t)en_requantize_value(input[i], p);
    }
}

void en_quantize_s8_s16(const en_requantize_params *p, const int8_t *input, int16_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int16_t)en_requantize_value(input[i], p);
    }
}

void en_quantize_s16_s8(const en_requantize_params *p, const int16_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int8_t)en_requantize_value(input[i], p);
    }
}

void en_quantize_s16_s16(const en_requantize_params *p, const int16_t *input, int16_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int16_t)en_requantize_value(input[i], p);
    }
}

void en_dequantize_s8_f32(const en_dequantize_params *p, const int8_t *input, float *output)
{
    const float scale = p->scale;
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = scale * (float)(input[i] - p->in_zp);
    }
}

void en_dequantize_s16_f32(const en_dequantize_params *p, const int16_t *input, float *output)
{
    const float scale = p->scale;
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = scale * (float)(input[i] - p->in_zp);
    }
}

void en_dequantize_s32_f32(const en_dequantize_params *p, const int32_t *input, float *output)
{
    const float scale = p->scale;
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = scale * (float)((int64_t)input[i] - p->in_zp);
    }
}
