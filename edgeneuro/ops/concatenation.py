"""CONCATENATION, int8, any axis, 1 to 10 inputs (activations and/or constants).

Spec (TFLM ``concatenation.cc``): a pure copy. TFLM's Prepare requires every input to have the
output's scale and zero point (compared exactly) and no fused activation, and takes at most
``kMaxInputNum = 10`` inputs; within those limits the int8 kernel is ``reference_ops::Concatenation``,
which copies, for each of the ``outer = prod(shape[:axis])`` rows, the ``shape_i[axis] * inner``
bytes of input i in input order. Nothing is requantized, so the reference is ``np.concatenate``.

C calling convention: the number of arguments depends on the number of inputs, so there is one
entry point per count, ``en_concatenation_s8_<n>(params, input0, ..., input<n-1>, output)``, the
inputs in the model's order (constant inputs are constant operands, in flash); ``chunk<i>`` is
input i's bytes per row.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, activation, require_int8, same_quant, unsupported

KINDS = ("CONCATENATION",)
C_FILE = "concatenation"
MAX_VERSION = {"CONCATENATION": 4}  # newest TFLite op versions handled (2: int8; 3, 4: int16, uint32, rejected by type)
MAX_INPUTS = 10  # TFLM kMaxInputNum


def lower(op: Op, g: Graph) -> Kernel:
    xs = [g.t(n) for n in op.inputs]
    y = g.t(op.outputs[0])
    require_int8(g, op, *xs, y)
    if not 1 <= len(xs) <= MAX_INPUTS:
        raise unsupported(g, op, f"{len(xs)} inputs; TFLM concatenates 1 to {MAX_INPUTS}")
    if activation(op) != "NONE":
        raise unsupported(g, op, f"fused activation {activation(op)}; TFLM concatenates with NONE only")
    for x in xs:
        if not same_quant(x, y) or x.quant.per_channel or y.quant.per_channel:
            raise unsupported(
                g,
                op,
                f"input '{x.name}' and the output are quantized differently; TFLM requires equal scale and zero point",
            )
    rank = len(y.shape)
    if rank == 0:
        raise unsupported(g, op, "scalar output")
    axis = int(op.attrs.get("axis", 0))
    if not -rank <= axis < rank:
        raise unsupported(g, op, f"axis {axis} for rank {rank}")
    axis %= rank
    for x in xs:
        if len(x.shape) != rank or any(x.shape[i] != y.shape[i] for i in range(rank) if i != axis):
            raise unsupported(
                g, op, f"input '{x.name}' {list(x.shape)} does not fit output {list(y.shape)} on axis {axis}"
            )
    if sum(x.shape[axis] for x in xs) != y.shape[axis]:
        raise unsupported(
            g, op, f"inputs add up to {sum(x.shape[axis] for x in xs)} on axis {axis}, output has {y.shape[axis]}"
        )
    outer = int(np.prod(y.shape[:axis], dtype=np.int64))
    inner = int(np.prod(y.shape[axis + 1 :], dtype=np.int64))
    params = {"n": len(xs), "outer": outer}
    params |= {f"chunk{i}": xs[i].shape[axis] * inner if i < len(xs) else 0 for i in range(MAX_INPUTS)}
    return Kernel(
        op=op,
        fn=f"en_concatenation_s8_{len(xs)}",
        params=params,
        inputs=tuple(op.inputs),
        outputs=(y.name,),
        summary=f"axis {axis}, {len(xs)} inputs",
    )


def reference(k: Kernel, *arrays: np.ndarray) -> np.ndarray:
    p = k.params
    parts = [np.asarray(a, np.int8).reshape(p["outer"], p[f"chunk{i}"]) for i, a in enumerate(arrays)]
    return np.concatenate(parts, axis=1).reshape(-1)
