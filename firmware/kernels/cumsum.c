/* CUMSUM. Spec: edgeneuro/ops/cumsum.py. */
#include "cumsum.h"

#include "en_fixedpoint.h"

/* For each (before, after) position, the elements along the axis in order (reversed on request):
 * ACC_T acc = INIT; then per element at `index`: TERM(x), stored as STORE(acc). */
#define EN_CUMSUM_LOOPS(ACC_T, INIT, TERM, ADD, STORE)                                   \
    for (int32_t o = 0; o < p->before; ++o) {                                            \
        for (int32_t j = 0; j < p->after; ++j) {                                         \
            ACC_T acc = INIT;                                                            \
            for (int32_t k = 0; k < p->depth; ++k) {                                     \
                const int32_t i = p->reverse ? p->depth - 1 - k : k;                     \
                const int32_t index = (o * p->depth + i) * p->after + j;                 \
                const ACC_T term = TERM(input[index]);                                   \
                if (p->exclusive) {                                                      \
                    output[index] = STORE(acc);                                          \
                    acc = ADD(acc, term);                                                \
                } else {                                                                 \
                    acc = ADD(acc, term);                                                \
                    output[index] = STORE(acc);                                          \
                }                                                                        \
            }                                                                            \
        }                                                                                \
    }

#define EN_SAME(v) (v)
#define EN_FADD(a, b) ((a) + (b))

void en_cumsum_f32(const en_cumsum_f32_params *p, const float *input, float *output)
{
    EN_CUMSUM_LOOPS(float, 0.0f, EN_SAME, EN_FADD, EN_SAME)
}

static inline int32_t scale_in(const en_cumsum_s8_params *p, int32_t v)
{
    return en_rdbpot(en_srdhm(v * (1 << 20), p->in_mult), -p->in_shift);
}

void en_cumsum_s8(const en_cumsum_s8_params *p, const int8_t *input, int8_t *output)
{
#define TERM(x) scale_in(p, (int32_t)(x) - p->in_zp)
#define ADD(a, b) ((int32_t)((uint32_t)(a) + (uint32_t)(b))) /* wraps, as TFLM's int32 += does */
#define STORE(acc) en_clamp_s8(ADD(en_rdbpot(en_srdhm(acc, p->out_mult), -p->out_shift), p->out_zp), -128, 127)
    EN_CUMSUM_LOOPS(int32_t, scale_in(p, -p->in_zp), TERM, ADD, STORE)
#undef TERM
#undef ADD
#undef STORE
}
