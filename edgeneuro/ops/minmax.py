"""MAXIMUM and MINIMUM with broadcasting (up to 5-D): int8, int16, int32 and float32.

Spec (TFLM ``maximum_minimum.cc``, ``reference_ops::MaximumMinimumBroadcastSlow``): the raw values
are compared, ``a > b ? a : b`` (MAXIMUM) and ``a < b ? a : b`` (MINIMUM); TFLM reads no
quantization parameters, so neither does edgeneuro (the converter gives both inputs and the output
the same). For float32 a NaN in ``a`` gives ``b`` and a NaN in ``b`` gives ``b``, as in C.

Broadcasting: ``base.broadcast`` and ``base.broadcast_inputs``, shared with the other binary
elementwise operators; their C loop nest is firmware/kernels/en_broadcast.h.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, broadcast, broadcast_inputs, same_types

KINDS = ("MAXIMUM", "MINIMUM")
C_FILE = "minmax"
MAX_VERSION = {"MAXIMUM": 4, "MINIMUM": 4}  # newest TFLite op versions handled (4: int16)
SUFFIX = {"int8": "s8", "int16": "s16", "int32": "s32", "float32": "f32", "bool": "b"}


def lower(op: Op, g: Graph) -> Kernel:
    a, b, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    dtype = same_types(g, op, ("int8", "int16", "int32", "float32"), a, b, y)
    params = broadcast(g, op, a, b, y)
    params["op"] = KINDS.index(op.kind)  # 0 MAXIMUM, 1 MINIMUM
    return Kernel(
        op=op,
        fn=f"en_minmax_{SUFFIX[dtype]}",
        params=params,
        inputs=(a.name, b.name),
        outputs=(y.name,),
        inplace=tuple(i for i, t in enumerate((a, b)) if t.size == y.size),
        summary=f"{list(a.shape)} {op.kind.lower()} {list(b.shape)}",
    )


def reference(k: Kernel, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    fa, fb = broadcast_inputs(k.params, a, b)
    if k.params["op"] == 0:
        y = np.where(fa > fb, fa, fb)
    else:
        y = np.where(fa < fb, fa, fb)
    return y.astype(a.dtype).reshape(-1)
