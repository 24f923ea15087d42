"""SHAPE: the input's shape as an int32 (or int64) vector, computed at compile time.

Spec (TFLM ``shape.cc``): the output holds the input's dimensions (``out_type`` int32 or int64).
They are known when edgeneuro compiles, so the fold-constants pass replaces the operator by a
constant (the ``SHAPE_ONLY`` trait): no code runs and no C kernel exists.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, check_shape, unsupported

KINDS = ("SHAPE",)
C_FILE = None
MAX_VERSION = {"SHAPE": 1}
SHAPE_ONLY = True  # trait (edgeneuro/ops/__init__.py): folded whatever its input's values


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    if y.dtype not in ("int32", "int64"):
        raise unsupported(g, op, f"output '{y.name}' is {y.dtype}; TFLM gives int32 or int64 shapes")
    check_shape(g, op, y, (len(x.shape),))
    params = {"rank": len(x.shape)} | {f"dim{i}": d for i, d in enumerate(x.shape)}
    # no inputs: the fold-constants pass computes it from the parameters alone
    return Kernel(op=op, fn=None, params=params, outputs=(y.name,), summary=f"{list(x.shape)}")


def reference(k: Kernel) -> np.ndarray:
    return np.array([k.params[f"dim{i}"] for i in range(k.params["rank"])], np.int64)
