"""LOGISTIC and TANH, int8 in, int8 out, elementwise, in gemmlowp fixed point (no lookup table).

Spec (TFLM ``logistic_common.cc``, ``tanh.cc`` and ``reference_integer_ops::Logistic`` / ``Tanh``):

* Prepare: ``real = double(s_in) * double(1 << 27)`` (4 integer bits);
  ``q, shift = frexp(real)``; ``mult = (int32)TfLiteRound(q * 2^31)`` (round half away from zero;
  no QuantizeMultiplier, no renormalisation); ``radius = floor(15 * 2^27 / 2^shift)``
  (``CalculateInputRadius(4, shift, 31)`` in double).
* Eval, per element, ``v = x - in_zp``: ``v <= -radius`` gives -128, else ``v >= radius`` gives 127
  (so a radius of 0, i.e. a huge input scale, sends even ``x == in_zp`` to -128), else
  ``a = MultiplyByQuantizedMultiplier(v, mult, shift)`` is a Q4.27 value and
  LOGISTIC: ``clamp(RoundingDivideByPOT(gemmlowp::logistic(a), 23) - 128, -128, 127)``;
  TANH: ``clamp(RoundingDivideByPOT(gemmlowp::tanh(a), 24), -128, 127)``.
* ``gemmlowp::logistic`` = ``1 / (1 + exp(-|a|))`` via ``exp_on_negative_values`` (Q4.27 in) and the
  Newton-Raphson ``one_over_one_plus_x_for_x_in_0_1``; ``1 - that`` for a < 0; exactly 1/2 at 0.
  ``gemmlowp::tanh`` = ``(1 - e) / (1 + e)`` with ``e = exp(-2|a|)``, i.e. ``exp_on_negative_values``
  of the same raw value read as Q5.26 (``ExactMulByPot<1>``), negated for a < 0, 0 at 0.
* The output quantization is fixed by TFLite: LOGISTIC 1/256 and -128, TANH 1/128 and 0. TFLM only
  checks LOGISTIC's zero point and never reads the output scale; edgeneuro refuses other values.

float32 (``reference_ops::Logistic`` / ``Tanh``): LOGISTIC is 1 above 16.619047164916992188f,
``expf(x)`` below -9, else ``1.f / (1.f + expf(-x))``; TANH is ``tanhf(x)``. ``expf`` and ``tanhf``
are the C library's (``base.libm_f32``): bit for bit with TFLM on the host, on the board newlib's
may differ in the last bit.
"""

from __future__ import annotations

import math

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.gemmlowp import exp_on_negative_values, reciprocal_one_plus_x, sat_shl
from edgeneuro.ir.quant import INT32_MAX, multiply_by_quantized_multiplier, round_half_away
from edgeneuro.ir.quant import rounding_divide_by_pot as rdbpot
from edgeneuro.ops.base import Kernel, libm_f32, require_int8, sigmoid_f32, unsupported

KINDS = ("LOGISTIC", "TANH")
C_FILE = "sigmoid"
MAX_VERSION = {"LOGISTIC": 3, "TANH": 3}  # newest TFLite op versions handled (3: int16, rejected by type)
INPUT_INTEGER_BITS = 4
OUTPUT_QUANT = {"LOGISTIC": (1 / 256, -128), "TANH": (1 / 128, 0)}


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    if x.dtype == y.dtype == "float32":
        if x.size != y.size:
            raise unsupported(g, op, f"output '{y.name}' has {y.size} elements, input {x.size}")
        return Kernel(
            op=op,
            fn="en_logistic_f32" if op.kind == "LOGISTIC" else "en_tanh_f32",
            params=dict(size=x.size),
            inputs=(x.name,),
            outputs=(y.name,),
            inplace=(0,),
            summary="float32",
        )
    require_int8(g, op, x, y)
    if x.size != y.size:
        raise unsupported(g, op, f"output '{y.name}' has {y.size} elements, input {x.size}")
    scale, zp = OUTPUT_QUANT[op.kind]
    if y.zero_point != zp or abs(y.scale - scale) > 1e-3 * scale:
        raise unsupported(
            g,
            op,
            f"int8 output must have scale 1/{round(1 / scale)} and zero point {zp} (has {y.scale}, {y.zero_point})",
        )
    real = float(x.scale) * float(1 << (31 - INPUT_INTEGER_BITS))
    q, shift = math.frexp(real)
    mult = round_half_away(q * (1 << 31))
    # shift < 0 makes TFLM's CalculateInputRadius shift by a negative count (undefined), and
    # shift > 62 overflows its 1ll << shift; mult == 2^31 cannot come from a float32 scale.
    if not 0 <= shift <= 62 or mult >= 1 << 31:
        raise unsupported(g, op, f"input scale {x.scale} is outside what TFLM's {op.kind} can prepare")
    radius = math.floor(((1 << INPUT_INTEGER_BITS) - 1) * (1 << (31 - INPUT_INTEGER_BITS)) / (1 << shift))
    return Kernel(
        op=op,
        fn="en_logistic_s8" if op.kind == "LOGISTIC" else "en_tanh_s8",
        params=dict(size=x.size, in_zp=x.zero_point, mult=mult, shift=shift, radius=radius),
        inputs=(x.name,),
        outputs=(y.name,),
        inplace=(0,),
        summary=f"radius {radius}",
    )


def logistic(a):
    """gemmlowp ``logistic`` of a Q4.27 value, Q0.31 result."""
    a = np.asarray(a, np.int64)
    abs_a = np.where(a > 0, a, -a)
    if_positive = sat_shl(reciprocal_one_plus_x(exp_on_negative_values(-abs_a, 4)), 1)
    return np.where(a == 0, 1 << 30, np.where(a > 0, if_positive, INT32_MAX - if_positive))


def tanh(a):
    """gemmlowp ``tanh`` of a Q4.27 value, Q0.31 result."""
    a = np.asarray(a, np.int64)
    n = np.where(a < 0, a, -a)
    t = sat_shl(reciprocal_one_plus_x(exp_on_negative_values(n, 5)) - (1 << 29), 2)
    return np.where(a == 0, 0, np.where(a < 0, -t, t))


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    p = k.params
    if k.fn.endswith("_f32"):
        v = np.asarray(x, np.float32).reshape(-1)
        return sigmoid_f32(v) if k.op.kind == "LOGISTIC" else libm_f32("tanhf", v)
    v = x.reshape(-1).astype(np.int64) - p["in_zp"]
    inside = (v > -p["radius"]) & (v < p["radius"])
    a = multiply_by_quantized_multiplier(np.where(inside, v, 0), p["mult"], p["shift"])
    if k.op.kind == "LOGISTIC":
        y = np.clip(rdbpot(logistic(a), 23) - 128, -128, 127)
    else:
        y = np.clip(rdbpot(tanh(a), 24), -128, 127)
    y = np.where(v <= -p["radius"], -128, np.where(v >= p["radius"], 127, y))
    return y.astype(np.int8)
