/* LOG_SOFTMAX over the last axis: float32, int8. Spec: edgeneuro/ops/log_softmax.py. */
#ifndef EN_LOG_SOFTMAX_H
#define EN_LOG_SOFTMAX_H

#include <stdint.h>

typedef struct {
    int32_t rows, depth;
} en_log_softmax_f32_params;

typedef struct {
    int32_t rows, depth, mult, left_shift, rev_mult, rev_shift, diff_min;
} en_log_softmax_s8_params;

void en_log_softmax_f32(const en_log_softmax_f32_params *p, const float *input, float *output);
void en_log_softmax_s8(const en_log_softmax_s8_params *p, const int8_t *input, int8_t *output);

#endif
