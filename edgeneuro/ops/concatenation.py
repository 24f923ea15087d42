"""CONCATENATION, int8, any axis, 1 to 10 inputs (activations and/or constants).

Spec (TFLM ``concatenation.cc``): a pure copy. TFLM's Prepare requires every input to have the
output's scale and zero point (compared exactly) and no fused activation, and takes at most
``kMaxInputNum = 10`` inputs; within those limits the int8 kernel is ``reference_ops::Concatenation``,
which copies, for each of the ``outer = prod(shape[:axis])`` rows, the ``shape_i[axis] * inner``
bytes of input i in input order. Nothing is requantized, so the reference is ``np.concatenate``.

C calling convention: the number of arguments depends on the number of inputs, so there is one
entry point per count, ``en_concatenation_s8_<n>(params, activations..., constants..., output)``.
Constant inputs are passed after the activations (as every kernel's constants are);
``src<i>`` gives, for input i in the model's order, its position in that argument list, and
``chunk<i>`` its bytes per row.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, activation, require_int8, same_quant, unsupported

KINDS = ("CONCATENATION",)
C_FILE = "concatenation_s8"
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
        if len(x.shape) != rank or any(a != b for i, (a, b) in enumerate(zip(x.shape, y.shape)) if i != axis):
            raise unsupported(
                g, op, f"input '{x.name}' {list(x.shape)} does not fit output {list(y.shape)} on axis {axis}"
            )
    if sum(x.shape[axis] for x in xs) != y.shape[axis]:
        raise unsupported(
            g, op, f"inputs add up to {sum(x.shape[axis] for x in xs)} on axis {axis}, output has {y.shape[axis]}"
        )
    if all(x.is_const for x in xs):
        raise unsupported(g, op, "every input is a constant (fold it when converting)")

    outer = int(np.prod(y.shape[:axis], dtype=np.int64))
    inner = int(np.prod(y.shape[axis + 1 :], dtype=np.int64))
    acts = [x for x in xs if not x.is_const]
    # Argument slot of each input: activations first (in order), then constants (in order).
    slot, next_act, next_const = [], 0, len(acts)
    for x in xs:
        if x.is_const:
            slot.append(next_const)
            next_const += 1
        else:
            slot.append(next_act)
            next_act += 1
    params = {"n": len(xs), "outer": outer}
    for i in range(MAX_INPUTS):
        params[f"chunk{i}"] = xs[i].shape[axis] * inner if i < len(xs) else 0
    for i in range(MAX_INPUTS):
        params[f"src{i}"] = slot[i] if i < len(xs) else 0
    const_arrays = tuple(
        (f"in{i}", np.ascontiguousarray(x.data, dtype=np.int8)) for i, x in enumerate(xs) if x.is_const
    )
    return Kernel(
        op=op,
        fn=f"en_concatenation_s8_{len(xs)}",
        params=params,
        inputs=tuple(x.name for x in acts),
        consts=const_arrays,
        outputs=(y.name,),
        summary=f"axis {axis}, {len(xs)} inputs",
    )


def reference(k: Kernel, *arrays: np.ndarray) -> np.ndarray:
    p = k.params
    n, outer = p["n"], p["outer"]
    args = [np.asarray(a, np.int8).reshape(outer, -1) for a in arrays]
    parts = [args[p[f"src{i}"]] for i in range(n)]
    for i, part in enumerate(parts):
        assert part.shape[1] == p[f"chunk{i}"]
    return np.concatenate(parts, axis=1).reshape(-1)
