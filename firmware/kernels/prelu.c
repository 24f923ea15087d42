/* PRELU with broadcasting. Spec: edgeneuro/ops/prelu.py. */
#include "prelu.h"

#include "en_fixedpoint.h"

static inline int32_t prelu_q(const en_prelu_s8_params *p, int32_t x, int32_t alpha)
{
    const int32_t v = x - p->in_zp;
    const int32_t y = v >= 0 ? en_requant(v, p->mult1, p->shift1)
                             : en_requant(v * (alpha - p->alpha_zp), p->mult2, p->shift2);
    const int32_t o = y + p->out_zp;
    return o < p->qmin ? p->qmin : (o > p->qmax ? p->qmax : o);
}

void en_prelu_s8(const en_prelu_s8_params *p, const int8_t *a, const int8_t *b, int8_t *output)
{
#define OUT(x, alpha) ((int8_t)prelu_q(p, x, alpha))
    EN_BROADCAST_LOOPS(int8_t, int8_t, OUT)
#undef OUT
}

void en_prelu_s16(const en_prelu_s16_params *p, const int16_t *a, const int8_t *b, int16_t *output)
{
#define OUT(x, alpha) ((int16_t)prelu_q(p, x, alpha))
    EN_BROADCAST_LOOPS(int16_t, int8_t, OUT)
#undef OUT
}

void en_prelu_f32(const en_prelu_f32_params *p, const float *a, const float *b, float *output)
{
#define OUT(x, alpha) ((x) >= 0.0f ? (x) : (x) * (alpha))
    EN_BROADCAST_LOOPS(float, float, OUT)
#undef OUT
}
