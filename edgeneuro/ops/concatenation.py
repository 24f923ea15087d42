"""CONCATENATION, int8 (and int16, int32, float32, bool), any axis, 1 to 10 inputs (activations
and/or constants).

Spec (TFLM ``concatenation.cc``): a pure copy. TFLM's Prepare requires every input to have the
output's scale and zero point (compared exactly) and no fused activation, and takes at most
``kMaxInputNum = 10`` inputs; within those limits the int8 kernel is ``reference_ops::Concatenation``,
which copies, for each of the ``outer = prod(shape[:axis])`` rows, the ``shape_i[axis] * inner``
bytes of input i in input order. Nothing is requantized, so the reference is ``np.concatenate``.

C calling convention: the number of arguments depends on the number of inputs, so there is one
entry point per count, ``en_concatenation_s8_<n>(params, input0, ..., input<n-1>, output)``, the
inputs in the model's order (constant inputs are constant operands, in flash); ``chunk<i>`` is
input i's bytes per row. The other element types (TFLM's float32, int16, int32 and bool; a copy
too, every input quantized as the output if quantized at all) take one variadic entry per type,
``en_concatenation_<s16|s32|f32|b>(params, input0, ..., output)``, with the same byte chunks.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.graph import DTYPE_BYTES
from edgeneuro.ops.base import Kernel, activation, copy_operands, require_int8, same_quant, unsupported

KINDS = ("CONCATENATION",)
C_FILE = "concatenation"
MAX_VERSION = {"CONCATENATION": 4}  # newest TFLite op versions handled (2: int8; 3, 4: int16, uint32, rejected by type)
MAX_INPUTS = 10  # TFLM kMaxInputNum
SUFFIX = {"int16": "s16", "int32": "s32", "float32": "f32", "bool": "b"}  # the copies of other types


def lower(op: Op, g: Graph) -> Kernel:
    xs = [g.t(n) for n in op.inputs]
    y = g.t(op.outputs[0])
    if y.dtype in SUFFIX:
        copy_operands(g, op, xs, [y], tuple(SUFFIX))
    else:
        require_int8(g, op, *xs, y)
    if not 1 <= len(xs) <= MAX_INPUTS:
        raise unsupported(g, op, f"{len(xs)} inputs; TFLM concatenates 1 to {MAX_INPUTS}")
    if activation(op) != "NONE":
        raise unsupported(g, op, f"fused activation {activation(op)}; TFLM concatenates with NONE only")
    for x in xs if y.dtype == "int8" else ():
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
    inner = int(np.prod(y.shape[axis + 1 :], dtype=np.int64)) * DTYPE_BYTES[y.dtype]  # bytes
    params = {"n": len(xs), "outer": outer}
    params |= {f"chunk{i}": xs[i].shape[axis] * inner if i < len(xs) else 0 for i in range(MAX_INPUTS)}
    return Kernel(
        op=op,
        fn=f"en_concatenation_{SUFFIX[y.dtype]}" if y.dtype in SUFFIX else f"en_concatenation_s8_{len(xs)}",
        params=params,
        inputs=tuple(op.inputs),
        outputs=(y.name,),
        summary=f"axis {axis}, {len(xs)} inputs",
    )


def reference(k: Kernel, *arrays: np.ndarray) -> np.ndarray:
    p = k.params
    dtype = np.asarray(arrays[0]).dtype
    parts = [np.ascontiguousarray(a).view(np.uint8).reshape(p["outer"], p[f"chunk{i}"]) for i, a in enumerate(arrays)]
    return np.concatenate(parts, axis=1).reshape(-1).view(dtype)
