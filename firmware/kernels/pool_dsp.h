/* MAX_POOL_2D and AVERAGE_POOL_2D int8 for cores with the DSP extension (SIMD32): the same
 * parameters and bits as pool.h's int8 kernels, four channels per word. Spec: edgeneuro/ops/pool.py. */
#ifndef EN_POOL_DSP_H
#define EN_POOL_DSP_H

#include <stdint.h>

#include "pool.h"

typedef en_pool2d_s8_params en_max_pool2d_s8_dsp_params;
typedef en_pool2d_s8_params en_avg_pool2d_s8_dsp_params;

void en_max_pool2d_s8_dsp(const en_max_pool2d_s8_dsp_params *p, const int8_t *input, int8_t *output);

/* The window holds at most 255 values, so a channel's sum fits a halfword. */
void en_avg_pool2d_s8_dsp(const en_avg_pool2d_s8_dsp_params *p, const int8_t *input, int8_t *output);
/* The same for a time series' pool (one column, no padding, channels % 4 == 0), chosen at compile
 * time: without and with a fused activation's clamp. */
void en_avg_pool2d_s8_dsp_column(const en_avg_pool2d_s8_dsp_params *p, const int8_t *input, int8_t *output);
void en_avg_pool2d_s8_dsp_column_clamp(const en_avg_pool2d_s8_dsp_params *p, const int8_t *input, int8_t *output);

#endif
