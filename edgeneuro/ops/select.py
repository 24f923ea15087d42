"""SELECT_V2: ``condition ? x : y`` element by element, with broadcasting up to 5-D, for int8,
int16 and float32 (TFLM's types) and a bool condition.

Spec (TFLM ``select.cc``, ``reference_ops::Select`` / ``BroadcastSelect5DSlow``): the condition
is bool, ``x`` and ``y`` of one type; the output takes ``x``'s type and the broadcast shape of the
three (numpy's rules, at most 5 dimensions); ``out = np.where(condition, x, y)``. Values are
copied raw, so edgeneuro requires quantized ``x``, ``y`` and output to share scale and zero point
(per tensor). Shapes are extended to 5-D with leading 1s for the C kernel, which walks the output
with a stride per operand (0 on a broadcast dimension).
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, check_shape, copy_operands, unsupported

KINDS = ("SELECT_V2",)
C_FILE = "select"
MAX_VERSION = {"SELECT_V2": 2}  # newest TFLite op versions handled (newer ones add types)
MAX_RANK = 5
OPERANDS = ("c", "x", "y")


def lower(op: Op, g: Graph) -> Kernel:
    c, x, y = (g.t(n) for n in op.inputs)
    out = g.t(op.outputs[0])
    if c.dtype != "bool":
        raise unsupported(g, op, f"condition '{c.name}' is {c.dtype}; TFLM selects on bool")
    esize = copy_operands(g, op, [x, y], [out])
    shapes = [tuple(t.shape) for t in (c, x, y)]
    if max(len(s) for s in shapes) > MAX_RANK:
        raise unsupported(g, op, f"shapes {shapes}: TFLM broadcasts up to {MAX_RANK}-D")
    try:
        full = np.broadcast_shapes(*shapes)
    except ValueError:
        raise unsupported(g, op, f"shapes {[list(s) for s in shapes]} do not broadcast") from None
    check_shape(g, op, out, full)
    dims = [1] * (MAX_RANK - len(full)) + list(full)
    params = {f"dim{i}": dims[i] for i in range(MAX_RANK)}
    for tag, s in zip(OPERANDS, shapes, strict=True):
        padded = [1] * (MAX_RANK - len(s)) + list(s)
        stride, acc = [0] * MAX_RANK, 1
        for i in reversed(range(MAX_RANK)):
            stride[i] = acc if padded[i] != 1 else 0
            acc *= padded[i]
        params |= {f"{tag}_shape{i}": padded[i] for i in range(MAX_RANK)}
        params |= {f"{tag}_stride{i}": stride[i] for i in range(MAX_RANK)}
    params["esize"] = esize
    return Kernel(
        op=op, fn="en_select_v2", params=params, inputs=tuple(op.inputs), outputs=(out.name,), summary=f"{list(full)}"
    )


def reference(k: Kernel, c: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    p = k.params

    def shaped(tag: str, a: np.ndarray) -> np.ndarray:
        return np.asarray(a).reshape([p[f"{tag}_shape{i}"] for i in range(MAX_RANK)])

    return np.where(shaped("c", c).astype(bool), shaped("x", x), shaped("y", y)).reshape(-1)
