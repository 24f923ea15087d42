/* ADD_N. Spec: edgeneuro/ops/add_n.py. */
#include "add_n.h"

#include <stdarg.h>

#include "en_fixedpoint.h"

/* The n input pointers and the output pointer after them. An input is read as `const T *` whether
 * the call passes an arena `T *` or a constant operand's `const T *` (C99 6.2.5p26). */
#define EN_ADD_N_ARGS(T)                                \
    const T *in[EN_ADD_N_MAX];                          \
    va_list args;                                       \
    va_start(args, p);                                  \
    for (int32_t j = 0; j < p->n; ++j) {                \
        in[j] = va_arg(args, const T *);                \
    }                                                   \
    T *output = va_arg(args, T *);                      \
    va_end(args)

void en_add_n_f32(const en_add_n_f32_params *p, ...)
{
    EN_ADD_N_ARGS(float);
    for (int32_t i = 0; i < p->size; ++i) {
        float x = 0.0f;
        for (int32_t j = 0; j < p->n; ++j) {
            x += in[j][i];
        }
        output[i] = x;
    }
}

void en_add_n_s8(const en_add_n_s8_params *p, ...)
{
    EN_ADD_N_ARGS(int8_t);
    const int32_t start = en_requant((int32_t)((uint32_t)(-p->in_zp) << 20), p->m_in, p->e_in);
    for (int32_t i = 0; i < p->size; ++i) {
        uint32_t acc = (uint32_t)start; /* wraps as TFLM's int32 would */
        for (int32_t j = 0; j < p->n; ++j) {
            acc += (uint32_t)en_requant((int32_t)((uint32_t)(in[j][i] - p->in_zp) << 20), p->m_in, p->e_in);
        }
        /* + out_zp unsigned too (it stays in int32: acc is a multiple of 2^19, the multiplier below 1) */
        const uint32_t y = (uint32_t)en_requant((int32_t)acc, p->m_out, p->e_out) + (uint32_t)p->out_zp;
        output[i] = en_clamp_s8((int32_t)y, -128, 127);
    }
}
