/* MAX_POOL_2D and AVERAGE_POOL_2D int8 for cores with Helium (MVE): the same parameters and bits as
 * pool.h's int8 kernels, 16 channels per vector. Spec: edgeneuro/ops/pool.py. */
#ifndef EN_POOL_MVE_H
#define EN_POOL_MVE_H

#include <stdint.h>

#include "pool.h"

typedef en_pool2d_s8_params en_max_pool2d_s8_mve_params;
typedef en_pool2d_s8_params en_avg_pool2d_s8_mve_params;

void en_max_pool2d_s8_mve(const en_max_pool2d_s8_mve_params *p, const int8_t *input, int8_t *output);

/* The window holds at most 255 values, so a channel's sum fits int16. */
void en_avg_pool2d_s8_mve(const en_avg_pool2d_s8_mve_params *p, const int8_t *input, int8_t *output);

#endif
