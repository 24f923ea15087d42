/* SELECT_V2 kernel (shapes extended to 5-D; element type agnostic: `esize` bytes per element):
 * out[i] = cond[i] ? x[i] : y[i] over the output dim0..dim4, each operand read at its own element
 * strides (0 on a broadcast dimension). Spec: the numpy reference in edgeneuro/ops/select.py. */
#ifndef EN_SELECT_H
#define EN_SELECT_H

#include <stdint.h>

typedef struct {
    int32_t dim0, dim1, dim2, dim3, dim4;
    int32_t c_shape0, c_shape1, c_shape2, c_shape3, c_shape4;
    int32_t c_stride0, c_stride1, c_stride2, c_stride3, c_stride4;
    int32_t x_shape0, x_shape1, x_shape2, x_shape3, x_shape4;
    int32_t x_stride0, x_stride1, x_stride2, x_stride3, x_stride4;
    int32_t y_shape0, y_shape1, y_shape2, y_shape3, y_shape4;
    int32_t y_stride0, y_stride1, y_stride2, y_stride3, y_stride4;
    int32_t esize;
} en_select_v2_params;

void en_select_v2(const en_select_v2_params *p, const uint8_t *condition, const void *x, const void *y, void *output);

#endif
