/* FLOOR_DIV and FLOOR_MOD. Spec: edgeneuro/ops/floor_div.py. */
#include "floor_div.h"

#include <math.h>

static inline float floor_div(float a, float b)
{
    return (float)floor((double)a / (double)b);
}

static inline float floor_mod(float a, float b)
{
    const float m = fmodf(a, b);
    return (m != 0.0f && ((b < 0.0f) != (m < 0.0f))) ? m + b : m;
}

void en_floor_div_f32(const en_floor_div_f32_params *p, const float *a, const float *b, float *output)
{
    if (p->op == 0) {
        EN_BROADCAST_LOOPS(float, float, floor_div)
    } else {
        EN_BROADCAST_LOOPS(float, float, floor_mod)
    }
}
