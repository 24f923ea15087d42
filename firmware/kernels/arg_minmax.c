/* ARG_MAX and ARG_MIN. Spec: edgeneuro/ops/arg_minmax.py. */
#include "arg_minmax.h"

#define EN_ARG_LOOPS(T)                                                                  \
    for (int32_t o = 0; o < p->outer; ++o) {                                             \
        for (int32_t j = 0; j < p->inner; ++j) {                                         \
            const T *v = input + o * p->axis_size * p->inner + j;                        \
            T best = v[0];                                                               \
            int32_t index = 0;                                                           \
            for (int32_t i = 1; i < p->axis_size; ++i) {                                 \
                const T x = v[i * p->inner];                                             \
                if (p->op == 0 ? x > best : x < best) {                                  \
                    best = x;                                                            \
                    index = i;                                                           \
                }                                                                        \
            }                                                                            \
            *output++ = index;                                                           \
        }                                                                                \
    }

void en_arg_minmax_f32(const en_arg_minmax_f32_params *p, const float *input, int32_t *output)
{
    EN_ARG_LOOPS(float)
}

void en_arg_minmax_s8(const en_arg_minmax_s8_params *p, const int8_t *input, int32_t *output)
{
    EN_ARG_LOOPS(int8_t)
}
