"""SLICE: a box of the input, constant begin and size, 1-D to 5-D: float32, int8, int16, int32 and
bool (TFLM ``slice.cc``).

Spec: ``begin`` and ``size`` are int32 or int64 vectors of the input's rank; on axis i the output
takes the input elements ``begin[i] .. begin[i] + size[i] - 1``, where a size of -1 means "to the
end" (``dim[i] - begin[i]``); a pure copy in row-major order. TFLM does not check the box against
the input (it reads outside it); edgeneuro refuses a begin outside ``[0, dim)`` or a box past the
end, and an output shape that is not the box's. TFLM copies bytes whatever the quantization, so
edgeneuro requires one per-tensor scale and zero point on both sides. Begin and size computed at
run time (not constants) are refused.

C: one kernel for every element type (``esize`` bytes an element), the shapes extended to 5-D with
leading 1s, the innermost run copied with ``memcpy``.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, check_shape, copy_operands, unsupported

KINDS = ("SLICE",)
C_FILE = "slice"
MAX_VERSION = {"SLICE": 6}  # newest TFLite op versions handled (2: int8, 4: int16, 5: int64 begin)
RANK = 5
DTYPES = ("int8", "int16", "int32", "float32", "bool")


def const_vector(g: Graph, op: Op, index: int, what: str, n: int) -> list[int]:
    """A constant int32 / int64 vector of ``n`` values (input ``index``)."""
    t = g.t(op.inputs[index])
    if t.data is None:
        raise unsupported(g, op, f"the {what} must be a constant tensor")
    if t.dtype not in ("int32", "int64") or t.size != n:
        raise unsupported(g, op, f"{what} '{t.name}' must be int32 or int64 [{n}], not {t.dtype} {list(t.shape)}")
    return [int(v) for v in np.asarray(t.data).reshape(-1)]


def box(g: Graph, op: Op, shape: tuple[int, ...], begin: list[int], size: list[int]) -> list[int]:
    """The sizes of the box, -1 resolved; refuses boxes outside the input."""
    sizes = []
    for i, (n, b, s) in enumerate(zip(shape, begin, size, strict=True)):
        s = n - b if s == -1 else s
        if not 0 <= b < n or s < 1 or b + s > n:
            raise unsupported(g, op, f"axis {i}: begin {b}, size {size[i]} outside the input's {n} elements")
        sizes.append(s)
    return sizes


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    esize = copy_operands(g, op, [x], [y], DTYPES)
    rank = len(x.shape)
    if not 1 <= rank <= RANK:
        raise unsupported(g, op, f"input rank {rank}; TFLM slices 1-D to {RANK}-D tensors")
    begin = const_vector(g, op, 1, "begin", rank)
    size = const_vector(g, op, 2, "size", rank)
    sizes = box(g, op, x.shape, begin, size)
    check_shape(g, op, y, tuple(sizes))
    lead = RANK - rank
    dims, begin, sizes = [1] * lead + list(x.shape), [0] * lead + begin, [1] * lead + sizes
    params = {f"d{i}": dims[i] for i in range(RANK)}
    params |= {f"b{i}": begin[i] for i in range(RANK)}
    params |= {f"s{i}": sizes[i] for i in range(RANK)}
    params["esize"] = esize
    return Kernel(op=op, fn="en_slice", params=params, inputs=(x.name,), outputs=(y.name,),
                  summary=f"begin {begin[lead:]} size {sizes[lead:]}")  # fmt: skip


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    p = k.params
    dims = [p[f"d{i}"] for i in range(RANK)]
    index = tuple(slice(p[f"b{i}"], p[f"b{i}"] + p[f"s{i}"]) for i in range(RANK))
    return np.ascontiguousarray(np.asarray(x).reshape(dims)[index]).reshape(-1)
