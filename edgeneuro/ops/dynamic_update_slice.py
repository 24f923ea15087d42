"""DYNAMIC_UPDATE_SLICE: the operand with a box overwritten by the update, at start indices that may
be computed at run time: float32, int8, int16 and int32 (TFLM ``dynamic_update_slice.cc``).

Spec: inputs ``operand``, ``update`` (the operand's rank, each dimension at most the operand's) and
``start`` (int32 or int64, one per axis); the output is the operand's shape and type. Per axis the
start is clamped, ``s_i = min(max(start[i], 0), operand_dim[i] - update_dim[i])`` (so the box
always fits), and ``output[s + j] = update[j]`` for every index ``j`` of the update, the rest
``output = operand``. A pure copy of element bytes, so edgeneuro requires one per-tensor scale and
zero point on the operand, the update and the output, if quantized. Rank up to 5.

C: ``en_dynamic_update_slice(params, operand, update, start, output)``; elements of ``esize``
bytes, shapes padded to 5-D in front, ``start`` read as int32 or int64 (``idx64``) when it runs.
The output may be the operand's own bytes (it is copied first, element for element).
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, copy_operands, unsupported

KINDS = ("DYNAMIC_UPDATE_SLICE",)
C_FILE = "dynamic_update_slice"
MAX_VERSION = {"DYNAMIC_UPDATE_SLICE": 1}
RANK = 5
DTYPES = ("int8", "int16", "int32", "float32")


def lower(op: Op, g: Graph) -> Kernel:
    x, u, s, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.inputs[2]), g.t(op.outputs[0])
    esize = copy_operands(g, op, [x, u], [y], DTYPES)
    rank = len(x.shape)
    if not 1 <= rank <= RANK or len(u.shape) != rank:
        raise unsupported(g, op, f"operand {list(x.shape)}, update {list(u.shape)}: one rank of 1 to {RANK}")
    if any(du > dx for du, dx in zip(u.shape, x.shape, strict=True)):
        raise unsupported(g, op, f"update {list(u.shape)} is larger than the operand {list(x.shape)}")
    if s.dtype not in ("int32", "int64") or s.size != rank:
        raise unsupported(g, op, f"start indices '{s.name}' must be int32 or int64 [{rank}], not {s.dtype}")
    if tuple(y.shape) != tuple(x.shape):
        raise unsupported(g, op, f"output '{y.name}' has shape {list(y.shape)}, the operand {list(x.shape)}")
    lead = RANK - rank
    dims, udims = [1] * lead + list(x.shape), [1] * lead + list(u.shape)
    params = {f"d{i}": dims[i] for i in range(RANK)}
    params |= {f"u{i}": udims[i] for i in range(RANK)}
    params.update(rank=rank, esize=esize, idx64=int(s.dtype == "int64"))
    return Kernel(op=op, fn="en_dynamic_update_slice", params=params, inputs=(x.name, u.name, s.name),
                  outputs=(y.name,), inplace=(0,), summary=f"{list(u.shape)} into {list(x.shape)}")  # fmt: skip


def reference(k: Kernel, x: np.ndarray, u: np.ndarray, start: np.ndarray) -> np.ndarray:
    p = k.params
    dims = [p[f"d{i}"] for i in range(RANK)]
    udims = [p[f"u{i}"] for i in range(RANK)]
    lead = RANK - p["rank"]
    starts = [0] * lead + [int(v) for v in np.asarray(start).reshape(-1)]
    starts = [min(max(v, 0), d - n) for v, d, n in zip(starts, dims, udims, strict=True)]
    out = np.array(x).reshape(dims).copy()
    out[tuple(slice(v, v + n) for v, n in zip(starts, udims, strict=True))] = np.asarray(u).reshape(udims)
    return out.reshape(-1)
