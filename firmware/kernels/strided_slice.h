/* STRIDED_SLICE kernels (int8, int16, int32, float32, bool) (shapes extended to 4-D with leading 1s): output[i0..i3] =
 * input[begin_k + i_k * stride_k], i_k < count_k; begin/stride/count resolved at compile time.
 * Spec: the numpy reference in edgeneuro/ops/strided_slice.py. */
#ifndef EN_STRIDED_SLICE_H
#define EN_STRIDED_SLICE_H

#include <stdint.h>

typedef struct {
    int32_t dim0, dim1, dim2, dim3;
    int32_t begin0, begin1, begin2, begin3;
    int32_t stride0, stride1, stride2, stride3;
    int32_t count0, count1, count2, count3;
} en_strided_slice_s8_params;

typedef en_strided_slice_s8_params en_strided_slice_s16_params;
typedef en_strided_slice_s8_params en_strided_slice_s32_params;
typedef en_strided_slice_s8_params en_strided_slice_f32_params;
typedef en_strided_slice_s8_params en_strided_slice_b_params;

void en_strided_slice_s8(const en_strided_slice_s8_params *p, const int8_t *input, int8_t *output);
void en_strided_slice_s16(const en_strided_slice_s16_params *p, const int16_t *input, int16_t *output);
void en_strided_slice_s32(const en_strided_slice_s32_params *p, const int32_t *input, int32_t *output);
void en_strided_slice_f32(const en_strided_slice_f32_params *p, const float *input, float *output);
void en_strided_slice_b(const en_strided_slice_b_params *p, const uint8_t *input, uint8_t *output);

#endif
