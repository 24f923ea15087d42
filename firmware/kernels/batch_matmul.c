/* BATCH_MATMUL: int8, 16x8 and float32. Spec: edgeneuro/ops/batch_matmul.py. */
#include "batch_matmul.h"

#include "en_fixedpoint.h"

/* The loop nest of the three variants: for each batch and output element (m, n), acc sums
 * TERM(lhs[m, k], rhs[k, n]) over k ascending (each operand read through its adjoint flag), then
 * FINISH(acc) is stored; the output is row-major [batch..., rows, cols]. */
#define EN_BMM_LOOPS(T, ACC_T, TERM, FINISH)                                                          \
    const int32_t lhs_row = p->adj_x ? 1 : p->depth, lhs_k = p->adj_x ? p->rows : 1;                   \
    const int32_t rhs_col = p->adj_y ? p->depth : 1, rhs_k = p->adj_y ? 1 : p->cols;                   \
    for (int32_t b0 = 0; b0 < p->batch0; ++b0) {                                                      \
        for (int32_t b1 = 0; b1 < p->batch1; ++b1) {                                                  \
            for (int32_t b2 = 0; b2 < p->batch2; ++b2) {                                              \
                const T *a = lhs + b0 * p->lhs_s0 + b1 * p->lhs_s1 + b2 * p->lhs_s2;                  \
                const T *b = rhs + b0 * p->rhs_s0 + b1 * p->rhs_s1 + b2 * p->rhs_s2;                  \
                for (int32_t m = 0; m < p->rows; ++m) {                                               \
                    for (int32_t n = 0; n < p->cols; ++n) {                                           \
                        const T *l = a + m * lhs_row, *r = b + n * rhs_col;                           \
                        ACC_T acc = 0;                                                                \
                        for (int32_t k = 0; k < p->depth; ++k) {                                      \
                            acc += TERM(l[k * lhs_k], r[k * rhs_k]);                                  \
                        }                                                                             \
                        *output++ = FINISH(acc);                                                      \
                    }                                                                                 \
                }                                                                                     \
            }                                                                                         \
        }                                                                                             \
    }

#define EN_BMM_TERM_INT(l, r) (((int32_t)(l) - p->lhs_zp) * ((int32_t)(r) - p->rhs_zp))
#define EN_BMM_FINISH_S8(acc) en_clamp_s8(en_requant((acc), p->mult, p->shift) + p->out_zp, p->act_min, p->act_max)
#define EN_BMM_FINISH_S16(acc) en_clamp_s16(en_requant64((acc), p->mult, p->shift), p->act_min, p->act_max)
#define EN_BMM_TERM_F32(l, r) ((l) * (r))
#define EN_BMM_FINISH_F32(acc) (acc)

void en_batch_matmul_s8(const en_batch_matmul_s8_params *p, const int8_t *lhs, const int8_t *rhs, int8_t *output)
{
    EN_BMM_LOOPS(int8_t, int32_t, EN_BMM_TERM_INT, EN_BMM_FINISH_S8)
}

void en_batch_matmul_s16(const en_batch_matmul_s16_params *p, const int16_t *lhs, const int16_t *rhs,
                         int16_t *output)
{
    EN_BMM_LOOPS(int16_t, int64_t, EN_BMM_TERM_INT, EN_BMM_FINISH_S16)
}

void en_batch_matmul_f32(const en_batch_matmul_f32_params *p, const float *lhs, const float *rhs, float *output)
{
    EN_BMM_LOOPS(float, float, EN_BMM_TERM_F32, EN_BMM_FINISH_F32)
}
