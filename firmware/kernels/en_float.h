/* float32 helpers of TFLM's float kernels, shared by the kernels that use them.
 * Spec: edgeneuro/ops/base.py (sigmoid_f32). */
#ifndef EN_FLOAT_H
#define EN_FLOAT_H

#include <float.h>
#include <math.h>

/* std::min(std::max(v, -FLT_MAX), FLT_MAX): TFLite's ActivationFunctionWithMinMax without activation. */
static inline float en_clamp_f32(float v)
{
    v = v < -FLT_MAX ? -FLT_MAX : v;
    return FLT_MAX < v ? FLT_MAX : v;
}

/* reference_ops::Logistic: 1 above 16.619047164916992188f, expf(v) below -9, else 1 / (1 + expf(-v)). */
static inline float en_sigmoid_f32(float v)
{
    if (v > 16.619047164916992188f) {
        return 1.0f;
    }
    if (v < -9.0f) {
        return expf(v);
    }
    return 1.0f / (1.0f + expf(-v));
}

#endif
