"""SQUARED_DIFFERENCE with broadcasting (up to 4-D, 5-D for inputs of one shape): int8, int16,
int32 and float32.

Spec (TFLM ``squared_difference.cc``):

- float32: ``d = a - b``, ``d * d``; int32: the same, wrapping on overflow.
- int8 (``L = 7``) and int16 (``L = 0``, zero points 0): ``twice_max = 2 * double(max(s_a, s_b))``;
  each input is rescaled, ``s_i = MultiplyByQuantizedMultiplierSmallerThanOneExp((x_i - zp_i) <<
  L, m_i, shift_i)`` with ``QuantizeMultiplierSmallerThanOneExp(double(s_i) / twice_max)``; then
  ``d = s_a - s_b`` and ``y = MBQM(d * d, m, shift) + zp_out`` clamped to the type's range, with
  ``QuantizeMultiplier(twice_max^2 / double((1 << 2L) * s_out))`` (the last product in float32,
  exact: a power of two). There is no fused activation. edgeneuro refuses an output scale so small
  that the multiplier exceeds 1 (``d * d`` shifted left could leave int32).
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.quant import multiply_by_quantized_multiplier, quantize_multiplier, rounding_divide_by_pot
from edgeneuro.ir.quant import saturating_rounding_doubling_high_mul as srdhm
from edgeneuro.ops.base import (
    Kernel,
    broadcast,
    broadcast_inputs,
    check_accumulator,
    deviation,
    requant_limit,
    same_types,
    unsupported,
)
from edgeneuro.ops.minmax import SUFFIX

KINDS = ("SQUARED_DIFFERENCE",)
C_FILE = "squared_difference"
MAX_VERSION = {"SQUARED_DIFFERENCE": 2}  # newest TFLite op versions handled (2: int8)
LEFT_SHIFT = {"int8": 7, "int16": 0}
RANGE = {"int8": (-128, 127), "int16": (-32768, 32767)}


def lower(op: Op, g: Graph) -> Kernel:
    a, b, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    dtype = same_types(g, op, ("int8", "int16", "int32", "float32"), a, b, y)
    params = broadcast(g, op, a, b, y, max_rank=5 if a.shape == b.shape else 4)
    if dtype in LEFT_SHIFT:
        if any(t.quant is None or t.quant.per_channel for t in (a, b, y)):
            raise unsupported(g, op, f"{dtype} tensors must be quantized per tensor")
        if dtype == "int16" and any(t.zero_point != 0 for t in (a, b, y)):
            raise unsupported(g, op, "int16 tensors must have zero point 0")
        left = LEFT_SHIFT[dtype]
        twice_max = 2.0 * max(float(a.scale), float(b.scale))
        (am, ash), (bm, bsh) = (quantize_multiplier(float(t.scale) / twice_max) for t in (a, b))
        out_real = twice_max * twice_max / float(np.float32((1 << 2 * left) * np.float32(y.scale)))
        om, osh = quantize_multiplier(out_real)
        if osh > 0:
            raise unsupported(g, op, f"output scale {y.scale} is too small for the input scales")
        params.update(a_zp=a.zero_point, b_zp=b.zero_point, out_zp=y.zero_point, left_shift=left)
        params.update(a_mult=am, a_shift=ash, b_mult=bm, b_shift=bsh, out_mult=om, out_shift=osh)
        params.update(zip(("qmin", "qmax"), RANGE[dtype], strict=True))
        _check_intermediates(g, op, (a, b), y, params)
    return Kernel(
        op=op,
        fn=f"en_squared_difference_{SUFFIX[dtype]}",
        params=params,
        inputs=(a.name, b.name),
        outputs=(y.name,),
        inplace=tuple(i for i, t in enumerate((a, b)) if t.size == y.size),
        summary=f"({list(a.shape)} - {list(b.shape)})^2",
    )


def _check_intermediates(g: Graph, op: Op, ab, y, p: dict) -> None:
    """squared_difference.c's int32 ``(x - zp) << L`` per input, ``d = s_a - s_b`` and ``d * d``
    (then en_requant: no left shift, the multiplier is below 1; ``+ zp_out``): exact, the rescaling
    being monotone, so its extremes are at the inputs' extremes. Never above int32 for int8 / int16
    (|d| <= 2^15 at most), checked all the same."""
    left = p["left_shift"]
    ends = []
    for t, m, s in zip(ab, (p["a_mult"], p["b_mult"]), (p["a_shift"], p["b_shift"]), strict=True):
        dev = deviation(t)
        check_accumulator(g, op, dev, f"input '{t.name}' - zp (<= {dev})", left_shift=left)
        ends.append(int(np.abs(multiply_by_quantized_multiplier(np.array([dev << left, -(dev << left)]), m, s)).max()))
    d = ends[0] + ends[1]
    check_accumulator(g, op, d * d, f"squared difference (|d| <= {ends[0]:,} + {ends[1]:,})",
                      left_shift=p["out_shift"], limit=requant_limit(y.zero_point))  # fmt: skip


def reference(k: Kernel, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    p = k.params
    fa, fb = broadcast_inputs(p, a, b)
    if k.fn.endswith("f32"):
        d = fa.astype(np.float32) - fb.astype(np.float32)
        return (d * d).astype(np.float32).reshape(-1)
    if k.fn.endswith("s32"):
        d = fa.astype(np.int64) - fb.astype(np.int64)
        return (d * d).astype(np.int32).reshape(-1)  # wraps as the C kernel's unsigned arithmetic
    sa = rounding_divide_by_pot(srdhm((fa.astype(np.int64) - p["a_zp"]) << p["left_shift"], p["a_mult"]), -p["a_shift"])
    sb = rounding_divide_by_pot(srdhm((fb.astype(np.int64) - p["b_zp"]) << p["left_shift"], p["b_mult"]), -p["b_shift"])
    d = sa - sb
    out = multiply_by_quantized_multiplier(d * d, p["out_mult"], p["out_shift"]) + p["out_zp"]
    return np.clip(out, p["qmin"], p["qmax"]).astype(a.dtype).reshape(-1)
