"""REDUCE_ALL: logical AND over a constant set of axes, bool in, bool out, input rank up to 5
(TFLM ``reduce.cc``, ``ReduceGeneric`` with ``true`` as the initial value). The axes are resolved
as for SUM (edgeneuro/ops/reduce.py: negative ones from the end, duplicates dropped);
``keep_dims`` only changes the output's shape. An output element is 1 when every reduced input
element is non-zero (the order does not matter for AND).
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, unsupported
from edgeneuro.ops.reduce import RANK, reduce_dims, reduced_last, resolve_axes

KINDS = ("REDUCE_ALL",)
C_FILE = "reduce_all"
MAX_VERSION = {"REDUCE_ALL": 1}


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    if x.dtype != "bool" or y.dtype != "bool":
        raise unsupported(g, op, f"{x.dtype} in, {y.dtype} out; TFLM's REDUCE_ALL takes bool")
    rank = len(x.shape)
    if not 1 <= rank <= RANK:
        raise unsupported(g, op, f"input rank {rank}; TFLM takes 1-D to {RANK}-D tensors here")
    axes = resolve_axes(g, op, rank)
    params = reduce_dims(g, op, x.shape, axes)
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    if y.size * count != x.size:
        raise unsupported(g, op, f"output '{y.name}' has {y.size} elements, expected {x.size // max(count, 1)}")
    params["out_size"] = y.size
    return Kernel(op=op, fn="en_reduce_all", params=params, inputs=(x.name,), outputs=(y.name,),
                  summary=f"all over axes {axes}")  # fmt: skip


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    return np.all(reduced_last(k.params, np.asarray(x).astype(bool)), axis=1)
