"""FLOOR_DIV and FLOOR_MOD with broadcasting (up to 4-D): float32, as TFLM has them
(``floor_div.cc``, ``floor_mod.cc``; TFLM refuses the integer types).

Spec, per element pair ``(a, b)``:

- FLOOR_DIV: ``(float)floor((double)a / (double)b)`` (the quotient in double precision, floored,
  then rounded to float32). TFLM fails the inference when the divisor holds a zero; edgeneuro
  refuses a constant divisor with a zero, and for a divisor computed at run time its kernel gives
  what the formula gives (an infinity or NaN).
- FLOOR_MOD: ``m = fmodf(a, b)`` (exact), then ``m + b`` where ``m != 0`` and ``m`` and ``b``
  differ in sign (``b < 0 != m < 0``), else ``m``.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, broadcast, broadcast_inputs, same_types, unsupported

KINDS = ("FLOOR_DIV", "FLOOR_MOD")
C_FILE = "floor_div"
MAX_VERSION = {"FLOOR_DIV": 2, "FLOOR_MOD": 2}  # newest TFLite op versions handled (2: float32)
MAX_RANK = 4  # TFLM's BroadcastBinaryFunction4DSlow


def lower(op: Op, g: Graph) -> Kernel:
    a, b, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    same_types(g, op, ("float32",), a, b, y)
    if op.kind == "FLOOR_DIV" and b.data is not None and np.any(b.data == 0):
        raise unsupported(g, op, f"the divisor '{b.name}' holds a zero (TFLM fails the inference)")
    params = broadcast(g, op, a, b, y, MAX_RANK)
    params["op"] = KINDS.index(op.kind)  # 0 FLOOR_DIV, 1 FLOOR_MOD
    return Kernel(op=op, fn="en_floor_div_f32", params=params, inputs=(a.name, b.name), outputs=(y.name,),
                  summary=f"{list(a.shape)} {op.kind.lower()} {list(b.shape)}")  # fmt: skip


def reference(k: Kernel, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    fa, fb = broadcast_inputs(k.params, a.astype(np.float32), b.astype(np.float32))
    with np.errstate(all="ignore"):
        if k.params["op"] == 0:
            y = np.floor(fa.astype(np.float64) / fb.astype(np.float64)).astype(np.float32)
        else:
            m = np.fmod(fa, fb)
            y = np.where((m != 0) & ((fb < 0) != (m < 0)), (m + fb).astype(np.float32), m)
    return y.astype(np.float32).reshape(-1)
