"""SPLIT, SPLIT_V, UNPACK: one input cut along one axis into several outputs, int8, int16, int32
and float32 (TFLM's types).

Spec (TFLM ``split.cc``, ``split_v.cc``, ``unpack.cc``): a pure copy. With ``outer`` the product of
the input's dimensions before ``axis`` and ``inner`` the product after it, output ``i`` receives,
for each of the ``outer`` rows in order, the next ``d_i * inner`` elements of the input, where
``d_i`` is output i's size on ``axis``: ``np.split`` along the axis.

* SPLIT (inputs: axis, input; ``num_splits``): TFLM's Prepare requires a constant axis tensor; Eval
  adds the input's rank to a negative axis and fails outside ``[0, rank)``. It takes the sizes
  from the output tensors (``d_i = output0's dim``, asserted to be ``input dim / num_splits`` in
  debug builds only). edgeneuro requires ``num_splits`` outputs of exactly that shape.
* SPLIT_V (inputs: input, size_splits, axis): the same with one size per output. TFLM Micro never
  reads ``size_splits``: the outputs' shapes decide, so edgeneuro requires outputs whose sizes on
  the axis add up to the input's and whose other dimensions equal the input's.
* UNPACK (``num``, ``axis``): ``num`` outputs of the input's shape without ``axis``, output i the
  index i on that axis; TFLM writes ``num`` outputs, so edgeneuro requires ``num`` = the number of
  outputs = the input's size on the axis.

Quantized tensors must all share one per-tensor scale and zero point (TFLM copies bytes).

C calling convention: the outputs are as many as the model says, so the kernels are variadic,
one per element type (their pointer arguments are read with their own type):
``en_split_<s8|s16|s32|f32>(params, input, chunks, out0, out1, ...)``, ``chunks`` the constant int32
array of each output's bytes per row.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, copy_operands, unsupported

KINDS = ("SPLIT", "SPLIT_V", "UNPACK")
C_FILE = "split"
MAX_VERSION = {"SPLIT": 4, "SPLIT_V": 2, "UNPACK": 4}  # newest TFLite op versions handled (newer ones add types)
SUFFIX = {"int8": "s8", "int16": "s16", "int32": "s32", "float32": "f32"}


def _const_axis(g: Graph, op: Op, name: str, rank: int) -> int:
    t = g.t(name)
    if t.data is None:
        raise unsupported(g, op, "the axis must be a constant tensor (TFLM Micro has no dynamic output shapes)")
    if t.dtype != "int32" or t.size != 1:
        raise unsupported(g, op, f"axis '{t.name}' must be one int32, not {t.dtype} {list(t.shape)}")
    return int(np.asarray(t.data).reshape(-1)[0])


def lower(op: Op, g: Graph) -> Kernel:
    if op.kind == "SPLIT":
        x_name, axis_name = op.inputs[1], op.inputs[0]
    elif op.kind == "SPLIT_V":
        x_name, axis_name = op.inputs[0], op.inputs[2]
    else:
        x_name, axis_name = op.inputs[0], None
    x, ys = g.t(x_name), [g.t(n) for n in op.outputs]
    esize = copy_operands(g, op, [x], ys, tuple(SUFFIX))
    rank = len(x.shape)
    if rank == 0:
        raise unsupported(g, op, "scalar input")
    axis = _const_axis(g, op, axis_name, rank) if axis_name else int(op.attrs.get("axis", 0))
    if not -rank <= axis < rank:
        raise unsupported(g, op, f"axis {axis} for a {rank}-D input")
    axis %= rank
    n = len(ys)
    if op.kind == "SPLIT":
        num = int(op.attrs.get("num_splits", 0))
        if num != n or x.shape[axis] % n:
            raise unsupported(
                g, op, f"num_splits {num}, {n} outputs: TFLM splits dimension {x.shape[axis]} into equal parts"
            )
        sizes = [x.shape[axis] // n] * n
    elif op.kind == "SPLIT_V":
        sizes = [y.shape[axis] if len(y.shape) == rank else -1 for y in ys]
        if sum(sizes) != x.shape[axis] or min(sizes) < 0:
            raise unsupported(
                g, op, f"outputs of {[list(y.shape) for y in ys]} do not split {list(x.shape)} on axis {axis}"
            )
    else:
        num = int(op.attrs.get("num", 0))
        if num != n or x.shape[axis] != n:
            raise unsupported(g, op, f"num {num}, {n} outputs, input dimension {x.shape[axis]}: they must be equal")
        sizes = [1] * n
    for y, d in zip(ys, sizes, strict=True):
        want = list(x.shape)
        if op.kind == "UNPACK":
            del want[axis]
        else:
            want[axis] = d
        if list(y.shape) != want:
            raise unsupported(g, op, f"output '{y.name}' has shape {list(y.shape)}, expected {want}")
    outer = int(np.prod(x.shape[:axis], dtype=np.int64))
    inner = int(np.prod(x.shape[axis + 1 :], dtype=np.int64))
    chunks = np.array([d * inner * esize for d in sizes], np.int32)
    return Kernel(
        op=op,
        fn=f"en_split_{SUFFIX[x.dtype]}",
        params={"n": n, "outer": outer, "row": int(chunks.sum())},
        inputs=(x.name,),
        consts=(("chunks", chunks),),
        outputs=tuple(op.outputs),
        summary=f"axis {axis} into {sizes}",
    )


def reference(k: Kernel, x: np.ndarray, chunks: np.ndarray) -> list[np.ndarray]:
    p = k.params
    rows = np.ascontiguousarray(x).reshape(-1).view(np.uint8).reshape(p["outer"], p["row"])
    ends = np.cumsum(chunks)
    parts = [rows[:, e - c : e] for c, e in zip(chunks.tolist(), ends.tolist(), strict=True)]
    return [np.ascontiguousarray(part).reshape(-1).view(x.dtype) for part in parts]
