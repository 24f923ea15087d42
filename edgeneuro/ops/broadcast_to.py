"""BROADCAST_TO (any element type TFLM copies: float32, int8, int16, int32, bool), and
BROADCAST_ARGS, which edgeneuro computes at compile time (its inputs must be constants).

Spec (TFLM ``broadcast_to.cc``, ``broadcast_args.cc``):

- BROADCAST_TO: the input repeated to the shape held by input 1 (int32 or int64, constant), numpy's
  broadcasting rules (the input's axes aligned to the right; an input axis is 1 or the output's),
  output rank at most 5; a pure copy, element bytes unchanged (so edgeneuro requires one
  per-tensor scale and zero point on both sides, if quantized).
- BROADCAST_ARGS: the broadcast shape of two 1-D shape vectors (int32 or int64, the output of the
  same type): aligned to the right, the missing axes of the shorter are 1, then per axis ``b`` if
  ``a == 1``, ``a`` if ``b == 1``, else they must be equal. The fold-constants pass computes it;
  with shapes known only at run time (which a model compiled by edgeneuro never has, as every
  shape is static) it is refused.

C: ``en_broadcast_to`` copies ``esize``-byte elements over the output shape padded to 5-D, the
input indexed through its element strides (0 on broadcast axes).
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import BROADCAST_RANK, Kernel, broadcast_strides, check_shape, copy_operands, unsupported

KINDS = ("BROADCAST_TO", "BROADCAST_ARGS")
C_FILE = "broadcast_to"
MAX_VERSION = {"BROADCAST_TO": 3, "BROADCAST_ARGS": 1}  # newest TFLite op versions handled
RANK = BROADCAST_RANK
DTYPES = ("int8", "int16", "int32", "float32", "bool")


def _shape_vector(g: Graph, op: Op, index: int) -> list[int]:
    t = g.t(op.inputs[index])
    if t.data is None:
        why = "a shape computed at run time" if op.kind == "BROADCAST_TO" else "shapes computed at run time"
        raise unsupported(g, op, f"{why} ('{t.name}'); edgeneuro compiles static shapes only")
    if t.dtype not in ("int32", "int64") or len(t.shape) != 1:
        raise unsupported(g, op, f"shape '{t.name}' must be a 1-D int32 or int64 vector, not {t.dtype} {list(t.shape)}")
    return [int(v) for v in np.asarray(t.data).reshape(-1)]


def _lower_args(op: Op, g: Graph) -> Kernel:
    a, b = _shape_vector(g, op, 0), _shape_vector(g, op, 1)
    y = g.t(op.outputs[0])
    if y.dtype != g.t(op.inputs[0]).dtype or y.dtype != g.t(op.inputs[1]).dtype:
        raise unsupported(g, op, "the shapes and the output must have one type")
    n = max(len(a), len(b))
    a, b = [1] * (n - len(a)) + a, [1] * (n - len(b)) + b
    out = []
    for i, (u, v) in enumerate(zip(a, b, strict=True)):
        if u != 1 and v != 1 and u != v:
            raise unsupported(g, op, f"axis {i}: {u} and {v} do not broadcast")
        out.append(v if u == 1 else u)
    check_shape(g, op, y, (n,))
    return Kernel(op=op, fn=None, params={}, inputs=tuple(op.inputs), outputs=(y.name,),
                  consts=(("shape", np.array(out, y.dtype)),), summary=f"{out}")  # fmt: skip


def lower(op: Op, g: Graph) -> Kernel:
    if op.kind == "BROADCAST_ARGS":
        return _lower_args(op, g)
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    esize = copy_operands(g, op, [x], [y], DTYPES)
    shape = _shape_vector(g, op, 1)
    if len(shape) > RANK or len(x.shape) > len(shape):
        raise unsupported(g, op, f"input rank {len(x.shape)} to shape {shape}; TFLM broadcasts up to {RANK}-D")
    lead = len(shape) - len(x.shape)
    for i, d in enumerate(x.shape):
        if d != 1 and d != shape[lead + i]:
            raise unsupported(g, op, f"input {list(x.shape)} does not broadcast to {shape}")
    check_shape(g, op, y, tuple(shape))
    out = [1] * (RANK - len(shape)) + shape
    strides = broadcast_strides(tuple(x.shape), tuple(out))
    params = {f"d{i}": out[i] for i in range(RANK)}
    params |= {f"s{i}": strides[i] for i in range(RANK)}
    params["esize"] = esize
    return Kernel(op=op, fn="en_broadcast_to", params=params, inputs=(x.name,), outputs=(y.name,),
                  summary=f"{list(x.shape)} to {shape}")  # fmt: skip


def reference(k: Kernel, *arrays: np.ndarray) -> np.ndarray:
    if k.op.kind == "BROADCAST_ARGS":
        return arrays[-1]  # the shape, computed in lower
    x = arrays[0]
    p = k.params
    out = tuple(p[f"d{i}"] for i in range(RANK))
    src = np.asarray(x).reshape(-1)
    index = sum(np.arange(out[i]).reshape([-1 if j == i else 1 for j in range(RANK)]) * p[f"s{i}"] for i in range(RANK))
    return src[np.broadcast_to(index, out).reshape(-1)]
