/* BATCH_MATMUL kernels: int8, 16x8 (int16) and float32, batch axes extended to 3 (stride 0 where an
 * operand broadcasts). Spec: the numpy reference in edgeneuro/ops/batch_matmul.py. */
#ifndef EN_BATCH_MATMUL_H
#define EN_BATCH_MATMUL_H

#include <stdint.h>

typedef struct {
    int32_t batch0, batch1, batch2, lhs_s0, lhs_s1, lhs_s2, rhs_s0, rhs_s1, rhs_s2;
    int32_t rows, cols, depth, adj_x, adj_y;
    int32_t lhs_zp, rhs_zp, out_zp, mult, shift, act_min, act_max;
} en_batch_matmul_s8_params;

void en_batch_matmul_s8(const en_batch_matmul_s8_params *p, const int8_t *lhs, const int8_t *rhs, int8_t *output);

/* 16x8: int16 operands and output (zero points 0), int64 sums. */
typedef en_batch_matmul_s8_params en_batch_matmul_s16_params;

void en_batch_matmul_s16(const en_batch_matmul_s16_params *p, const int16_t *lhs, const int16_t *rhs,
                         int16_t *output);

typedef struct {
    int32_t batch0, batch1, batch2, lhs_s0, lhs_s1, lhs_s2, rhs_s0, rhs_s1, rhs_s2;
    int32_t rows, cols, depth, adj_x, adj_y;
} en_batch_matmul_f32_params;

void en_batch_matmul_f32(const en_batch_matmul_f32_params *p, const float *lhs, const float *rhs, float *output);

#endif
