/* ADD_N: the sum of n inputs of one shape, float32 and int8. Variadic: after the parameters come
 * the n input pointers, then the output pointer. Spec: edgeneuro/ops/add_n.py. */
#ifndef EN_ADD_N_H
#define EN_ADD_N_H

#include <stdint.h>

#define EN_ADD_N_MAX 32

typedef struct {
    int32_t n, size;
} en_add_n_f32_params;

typedef struct {
    int32_t n, size, in_zp, out_zp, m_in, e_in, m_out, e_out;
} en_add_n_s8_params;

void en_add_n_f32(const en_add_n_f32_params *p, ...);
void en_add_n_s8(const en_add_n_s8_params *p, ...);

#endif
