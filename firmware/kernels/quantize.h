/* QUANTIZE (float32 -> int8/int16, int8/int16 -> int8/int16) and DEQUANTIZE (int8/int16 -> float32).
 * Spec: the numpy reference in edgeneuro/ops/quantize.py. */
#ifndef EN_QUANTIZE_H
#define EN_QUANTIZE_H

#include <stdint.h>

typedef struct {
    int32_t size, out_zp, act_min, act_max;
    float scale;
} en_quantize_f32_params;

typedef struct {
    int32_t size, in_zp, out_zp, mult, shift, act_min, act_max;
} en_requantize_params;

typedef struct {
    int32_t size, in_zp;
    float scale;
} en_dequantize_params;

typedef en_quantize_f32_params en_quantize_f32_s8_params;
typedef en_quantize_f32_params en_quantize_f32_s16_params;
typedef en_requantize_params en_quantize_s8_s8_params;
typedef en_requantize_params en_quantize_s8_s16_params;
typedef en_requantize_params en_quantize_s16_s8_params;
typedef en_requantize_params en_quantize_s16_s16_params;
typedef en_dequantize_params en_dequantize_s8_f32_params;
typedef en_dequantize_params en_dequantize_s16_f32_params;
typedef en_dequantize_params en_dequantize_s32_f32_params;

void en_quantize_f32_s8(const en_quantize_f32_params *p, const float *input, int8_t *output);
void en_quantize_f32_s16(const en_quantize_f32_params *p, const float *input, int16_t *output);
void en_quantize_s8_s8(const en_requantize_params *p, const int8_t *input, int8_t *output);
void en_quantize_s8_s16(const en_requantize_params *p, const int8_t *input, int16_t *output);
void en_quantize_s16_s8(const en_requantize_params *p, const int16_t *input, int8_t *output);
void en_quantize_s16_s16(const en_requantize_params *p, const int16_t *input, int16_t *output);
void en_dequantize_s8_f32(const en_dequantize_params *p, const int8_t *input, float *output);
void en_dequantize_s16_f32(const en_dequantize_params *p, const int16_t *input, float *output);
void en_dequantize_s32_f32(const en_dequantize_params *p, const int32_t *input, float *output);

#endif
