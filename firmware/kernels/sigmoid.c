/* LOGISTIC and TANH on int8 in gemmlowp fixed point, as TFLM's reference_integer_ops.
 * Spec: edgeneuro/ops/sigmoid.py. */
#include "en_fixedpoint.h"
#include "en_float.h"
#include "sigmoid.h"

/* gemmlowp logistic of a Q4.27 value, Q0.31 result. */
static int32_t logistic_q4(int32_t a)
{
    if (a == 0) {
        return 1 << 30;
    }
    const int32_t abs_a = a > 0 ? a : -a;
    const int32_t if_positive = en_sat_shl(en_reciprocal_one_plus_x(en_exp_on_negative_values(-abs_a, 4)), 1);
    return a > 0 ? if_positive : INT32_MAX - if_positive;
}

/* gemmlowp tanh of a Q4.27 value, Q0.31 result: exp(-2|a|) is the raw value read as Q5.26. */
static int32_t tanh_q4(int32_t a)
{
    if (a == 0) {
        return 0;
    }
    const int32_t n = a < 0 ? a : -a;
    const int32_t t = en_sat_shl(en_reciprocal_one_plus_x(en_exp_on_negative_values(n, 5)) - (1 << 29), 2);
    return a < 0 ? -t : t;
}

/* Shared by both kernels: inputs beyond +-radius saturate; the rest go through f in Q4.27, and
 * the Q0.31 result is rounded down by `rshift` bits and offset into int8. */
static void activate(const en_sigmoid_s8_params *p, const int8_t *input, int8_t *output, int32_t (*f)(int32_t),
                     int rshift, int32_t offset)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t v = (int32_t)input[i] - p->in_zp;
        if (v <= -p->radius) {
            output[i] = -128;
        } else if (v >= p->radius) {
            output[i] = 127;
        } else {
            const int32_t a = en_requant(v, p->mult, p->shift);
            output[i] = en_clamp_s8(en_rdbpot(f(a), rshift) + offset, -128, 127);
        }
    }
}

void en_logistic_s8(const en_logistic_s8_params *p, const int8_t *input, int8_t *output)
{
    activate(p, input, output, logistic_q4, 23, -128); /* output scale 1/256, zero point -128 */
}

void en_tanh_s8(const en_tanh_s8_params *p, const int8_t *input, int8_t *output)
{
    activate(p, input, output, tanh_q4, 24, 0); /* output scale 1/128, zero point 0 */
}

void en_logistic_f32(const en_logistic_f32_params *p, const float *input, float *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = en_sigmoid_f32(input[i]);
    }
}

void en_tanh_f32(const en_tanh_f32_params *p, const float *input, float *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = tanhf(input[i]);
    }
}
