"""ARG_MAX and ARG_MIN along one constant axis: float32 or int8 in, int32 out.

Spec (TFLM ``arg_min_max.cc``, ``reference_ops::ArgMinMax``): along the axis (negative counts from
the end), the index of the first element that no later one beats: starting from index 0, element
``i`` replaces the current one where ``x[i] > current`` (ARG_MAX) or ``x[i] < current`` (ARG_MIN),
so ties keep the first index. int8 compares the raw values (the quantization does not matter).
TFLM also gives int64 outputs; edgeneuro refuses them. (Inputs with NaN are not tested: TFLM's
comparator for them has changed between versions.)
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, unsupported

KINDS = ("ARG_MAX", "ARG_MIN")
C_FILE = "arg_minmax"
MAX_VERSION = {"ARG_MAX": 2, "ARG_MIN": 2}  # newest TFLite op versions handled (2: int8)


def lower(op: Op, g: Graph) -> Kernel:
    x, axis_t, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    if x.dtype not in ("float32", "int8"):
        raise unsupported(g, op, f"input '{x.name}' is {x.dtype}; TFLM's {op.kind} takes float32 or int8")
    if y.dtype != "int32":
        raise unsupported(g, op, f"output '{y.name}' is {y.dtype}; edgeneuro gives int32 indices")
    if axis_t.data is None or axis_t.dtype != "int32":
        raise unsupported(g, op, "the axis must be a constant int32 tensor")
    rank = len(x.shape)
    axis = int(np.atleast_1d(axis_t.data).reshape(-1)[0])
    if not -rank <= axis < rank:
        raise unsupported(g, op, f"axis {axis} is outside the input's rank {rank}")
    axis %= rank
    outer = int(np.prod(x.shape[:axis], dtype=np.int64))
    inner = int(np.prod(x.shape[axis + 1 :], dtype=np.int64))
    if y.size != outer * inner:
        raise unsupported(g, op, f"output '{y.name}' has {y.size} elements, expected {outer * inner}")
    params = dict(outer=outer, axis_size=x.shape[axis], inner=inner, op=KINDS.index(op.kind))
    return Kernel(op=op, fn=f"en_arg_minmax_{'f32' if x.dtype == 'float32' else 's8'}", params=params,
                  inputs=(x.name,), outputs=(y.name,), summary=f"{op.kind.lower()} axis {axis}")  # fmt: skip


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    p = k.params
    v = x.reshape(p["outer"], p["axis_size"], p["inner"])
    best, index = v[:, 0, :].copy(), np.zeros((p["outer"], p["inner"]), np.int32)
    for i in range(1, p["axis_size"]):
        beats = v[:, i, :] > best if p["op"] == 0 else v[:, i, :] < best
        best = np.where(beats, v[:, i, :], best)
        index = np.where(beats, i, index)
    return index.astype(np.int32).reshape(-1)
