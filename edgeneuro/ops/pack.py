"""PACK: several inputs of one shape stacked along a new axis, int8, int16, int32 and float32 (TFLM
also packs int64).

Spec (TFLM ``pack.cc``): a pure copy. With ``outer`` the product of the output's dimensions before
``axis`` and ``copy`` the product after it, input i's row k (``copy`` elements) goes to output
elements ``(k * values_count + i) * copy``: ``np.stack(inputs, axis)``. TFLM adds the output's rank
to a negative ``axis`` and copies ``values_count`` inputs, with the output shape the model gives;
edgeneuro requires ``values_count`` = the number of inputs, every input of the output's shape
without ``axis``, and (quantized) one per-tensor scale and zero point on every tensor.

C calling convention: the inputs are as many as the model says, so the kernels are variadic, one
per element type: ``en_pack_<s8|s16|s32|f32>(params, input0, ..., input<n-1>, output)``, the inputs in
the model's order (constant inputs are constant operands, in flash).
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, copy_operands, unsupported

KINDS = ("PACK",)
C_FILE = "pack"
MAX_VERSION = {"PACK": 4}  # newest TFLite op versions handled (newer ones add types)
SUFFIX = {"int8": "s8", "int16": "s16", "int32": "s32", "float32": "f32"}


def lower(op: Op, g: Graph) -> Kernel:
    xs, y = [g.t(n) for n in op.inputs], g.t(op.outputs[0])
    esize = copy_operands(g, op, xs, [y], tuple(SUFFIX))
    n, rank = len(xs), len(y.shape)
    if int(op.attrs.get("values_count", 0)) != n:
        raise unsupported(g, op, f"values_count {op.attrs.get('values_count')} for {n} inputs")
    axis = int(op.attrs.get("axis", 0))
    if not -rank <= axis < rank:
        raise unsupported(g, op, f"axis {axis} for a {rank}-D output")
    axis %= rank
    want = [d for i, d in enumerate(y.shape) if i != axis]
    if y.shape[axis] != n or any(list(x.shape) != want for x in xs):
        raise unsupported(
            g, op, f"inputs {[list(x.shape) for x in xs]} do not stack into {list(y.shape)} on axis {axis}"
        )
    outer = int(np.prod(y.shape[:axis], dtype=np.int64))
    copy = int(np.prod(y.shape[axis + 1 :], dtype=np.int64))
    return Kernel(
        op=op,
        fn=f"en_pack_{SUFFIX[y.dtype]}",
        params={"n": n, "outer": outer, "chunk": copy * esize},
        inputs=tuple(op.inputs),
        outputs=(y.name,),
        summary=f"{n} inputs on axis {axis}",
    )


def reference(k: Kernel, *xs: np.ndarray) -> np.ndarray:
    p = k.params
    rows = [np.ascontiguousarray(x).reshape(-1).view(np.uint8).reshape(p["outer"], p["chunk"]) for x in xs]
    return np.stack(rows, axis=1).reshape(-1).view(xs[0].dtype)
