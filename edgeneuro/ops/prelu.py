"""PRELU (``x >= 0 ? x : alpha * x``, alpha broadcast against x, up to 4-D): int8, int16 (with
int8 alpha) and float32.

Spec (TFLM ``prelu.cc`` / ``prelu_common.cc``, ``reference_ops::Prelu`` /
``BroadcastPrelu4DSlow``):

- float32: ``x >= 0.0f ? x : x * alpha``.
- int8 / int16: ``v = x - zp_in``; ``v >= 0`` gives ``MultiplyByQuantizedMultiplier(v, m1,
  shift1)``, else ``MBQM(v * (alpha - zp_alpha), m2, shift2)``; plus ``zp_out``, clamped to the
  type's range; ``QuantizeMultiplier(double(s_in) / double(s_out))`` and
  ``QuantizeMultiplier(double(s_in) * double(s_alpha) / double(s_out))``.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.quant import multiply_by_quantized_multiplier, quantize_multiplier
from edgeneuro.ops.base import (
    Kernel,
    broadcast,
    broadcast_inputs,
    check_accumulator,
    deviation,
    requant_limit,
    unsupported,
)

KINDS = ("PRELU",)
C_FILE = "prelu"
MAX_VERSION = {"PRELU": 1}  # newest TFLite op versions handled
RANGE = {"int8": (-128, 127), "int16": (-32768, 32767)}


def lower(op: Op, g: Graph) -> Kernel:
    x, alpha, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    types = (x.dtype, alpha.dtype, y.dtype)
    if types not in (("float32",) * 3, ("int8",) * 3, ("int16", "int8", "int16")):
        raise unsupported(g, op, f"types {types}; TFLM's PRELU takes float32, int8, or int16 with int8 alpha")
    params = broadcast(g, op, x, alpha, y, max_rank=4)
    if x.dtype != "float32":
        if any(t.quant is None or t.quant.per_channel for t in (x, alpha, y)):
            raise unsupported(g, op, "the input, alpha and output must be quantized per tensor")
        m1, s1 = quantize_multiplier(float(x.scale) / float(y.scale))
        m2, s2 = quantize_multiplier(float(x.scale) * float(alpha.scale) / float(y.scale))
        params.update(in_zp=x.zero_point, alpha_zp=alpha.zero_point, out_zp=y.zero_point)
        params.update(mult1=m1, shift1=s1, mult2=m2, shift2=s2)
        params.update(zip(("qmin", "qmax"), RANGE[x.dtype], strict=True))
        _check_intermediates(g, op, x, alpha, y, s1, s2)
    fn = {"float32": "en_prelu_f32", "int8": "en_prelu_s8", "int16": "en_prelu_s16"}[x.dtype]
    return Kernel(op=op, fn=fn, params=params, inputs=(x.name, alpha.name), outputs=(y.name,),
                  inplace=(0,) if x.size == y.size else (), summary=f"alpha {list(alpha.shape)}")  # fmt: skip


def _check_intermediates(g: Graph, op: Op, x, alpha, y, s1: int, s2: int) -> None:
    """prelu.c's int32 ``v`` (``x - zp_in >= 0``) and ``v * (alpha - zp_alpha)`` (``v < 0``), each
    shifted left by its multiplier's shift in en_requant, then ``+ zp_out``: exact, from the input's
    range and alpha's values where constant (TFLM computes the same in int32)."""
    lo, hi = RANGE[x.dtype]
    pos, neg = max(hi - x.zero_point, 0), max(x.zero_point - lo, 0)
    if alpha.data is not None:
        da = int(np.abs(alpha.data.astype(np.int64) - alpha.zero_point).max(initial=0))
    else:
        da = deviation(alpha)
    limit = requant_limit(y.zero_point)
    fix = f"scales {float(x.scale):g} (x), {float(alpha.scale):g} (alpha), {float(y.scale):g} (output) are far apart"
    check_accumulator(g, op, pos, f"x - zp (<= {pos})", left_shift=s1, limit=limit, fix=fix)
    check_accumulator(g, op, neg * da, f"product (|x - zp| <= {neg}, |alpha - zp| <= {da})", left_shift=s2,
                      limit=limit, fix=fix)  # fmt: skip


def reference(k: Kernel, x: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    p = k.params
    fx, fa = broadcast_inputs(p, x, alpha)
    if k.fn == "en_prelu_f32":
        fx, fa = fx.astype(np.float32), fa.astype(np.float32)
        return np.where(fx >= 0, fx, fx * fa).astype(np.float32).reshape(-1)
    v = fx.astype(np.int64) - p["in_zp"]
    pos = multiply_by_quantized_multiplier(np.maximum(v, 0), p["mult1"], p["shift1"])
    neg = multiply_by_quantized_multiplier(np.minimum(v, 0) * (fa.astype(np.int64) - p["alpha_zp"]),
                                           p["mult2"], p["shift2"])  # fmt: skip
    out = np.where(v >= 0, pos, neg) + p["out_zp"]
    return np.clip(out, p["qmin"], p["qmax"]).astype(x.dtype).reshape(-1)
