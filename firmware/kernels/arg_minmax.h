/* ARG_MAX and ARG_MIN along one axis: float32 or int8 in, int32 out. Spec: edgeneuro/ops/arg_minmax.py. */
#ifndef EN_ARG_MINMAX_H
#define EN_ARG_MINMAX_H

#include <stdint.h>

typedef struct {
    int32_t outer, axis_size, inner;
    int32_t op; /* 0 ARG_MAX, 1 ARG_MIN */
} en_arg_minmax_f32_params;

typedef en_arg_minmax_f32_params en_arg_minmax_s8_params;

void en_arg_minmax_f32(const en_arg_minmax_f32_params *p, const float *input, int32_t *output);
void en_arg_minmax_s8(const en_arg_minmax_s8_params *p, const int8_t *input, int32_t *output);

#endif
