"""GATHER and EMBEDDING_LOOKUP: slices of the input picked by int32 indices, int8 and float32
(TFLM's types).

Spec (TFLM ``gather.cc``): with ``axis`` (plus the input's rank if negative) and ``batch_dims``
(plus the indices' rank if negative), TFLM's Prepare requires int32 indices, an int8 or float32
input, ``0 <= axis < rank``, ``batch_dims <= axis``, ``0 <= batch_dims < rank``, ``batch_dims <=
rank(indices)`` and the first ``batch_dims`` dimensions of input and indices equal; the output
shape is ``input[:axis] + indices[batch_dims:] + input[axis+1:]``. Then, with ``batch`` /
``outer`` / ``inner`` the products of the input's dimensions before ``batch_dims``, from
``batch_dims`` to ``axis`` and after ``axis``, and ``coords`` the product of the indices'
dimensions from ``batch_dims``: for each batch b, outer o and coordinate c, the ``inner`` elements
at input index ``idx = indices[b, c]`` on ``axis`` are copied to output row ``(b * outer + o) *
coords + c``. An index outside ``[0, axis size)`` fails TFLM's Invoke.

edgeneuro requires the model's output shape to be the one TFLM computes and the input and output
quantized alike (a byte copy). Constant indices (the common case) are checked at compile time: one
out of range is rejected. Indices computed by the model are read at run time; where TFLM's Invoke
fails on an index out of range, edgeneuro's kernel (which cannot fail) writes zero bytes to that
output row instead.

EMBEDDING_LOOKUP (TFLM ``embedding_lookup.cc``; inputs: 1-D int32 ``lookup``, ``value`` of rank
>= 2) is GATHER on axis 0: output row i = value row ``lookup[i]``, a byte copy for float32 and
int8 (TFLM copies int8 rows whatever the quantization; edgeneuro requires equal quantization). An
int8 value with a float32 output is TFLM's hybrid form: TFLM's Prepare requires the value's zero
point 0 and each element becomes ``float(q) * scale`` (a float32 product, exact in the double
arithmetic TFLM may use, so one rounding either way). TFLM's Invoke fails on a row out of range,
as GATHER's; edgeneuro treats it the same way (zeros, 0.0 in the hybrid form).
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, check_shape, copy_operands, unsupported

KINDS = ("GATHER", "EMBEDDING_LOOKUP")
C_FILE = "gather"
MAX_VERSION = {"GATHER": 7, "EMBEDDING_LOOKUP": 3}  # newest TFLite op versions handled (newer ones add types)


def _embedding_lookup(op: Op, g: Graph) -> Kernel:
    idx, x, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    if idx.dtype != "int32" or len(idx.shape) != 1:
        raise unsupported(g, op, f"lookup '{idx.name}' is {idx.dtype} {list(idx.shape)}; TFLM takes a 1-D int32")
    if len(x.shape) < 2:
        raise unsupported(g, op, f"value '{x.name}' is {len(x.shape)}-D; TFLM takes 2-D or more")
    hybrid = x.dtype == "int8" and y.dtype == "float32"
    if hybrid:
        if x.quant is None or x.quant.per_channel or x.zero_point != 0:
            raise unsupported(g, op, "an int8 value read as float32 must be quantized per tensor with zero point 0")
        esize = 1
    else:
        esize = copy_operands(g, op, [x], [y], ("int8", "float32"))
    check_shape(g, op, y, (idx.shape[0], *x.shape[1:]))
    _check_indices(g, op, idx, x.shape[0])
    params = {"batch": 1, "outer": 1, "axis_size": x.shape[0], "coords": idx.shape[0]}
    params["inner"] = int(np.prod(x.shape[1:], dtype=np.int64)) * esize
    if hybrid:
        params["scale"] = float(np.float32(x.scale))
    return Kernel(
        op=op,
        fn="en_embedding_lookup_s8_f32" if hybrid else "en_gather",
        params=params,
        inputs=(x.name, idx.name),
        outputs=(y.name,),
        summary="int8 rows as float32" if hybrid else "rows",
    )


def _check_indices(g: Graph, op: Op, idx, size: int) -> None:
    if idx.data is not None:
        bad = np.asarray(idx.data)[(idx.data < 0) | (idx.data >= size)]
        if bad.size:
            raise unsupported(g, op, f"index {int(bad[0])} outside [0, {size}): TFLM's Invoke fails")


def lower(op: Op, g: Graph) -> Kernel:
    if op.kind == "EMBEDDING_LOOKUP":
        return _embedding_lookup(op, g)
    x, idx, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    esize = copy_operands(g, op, [x], [y], ("int8", "float32"))
    if idx.dtype != "int32":
        raise unsupported(g, op, f"indices '{idx.name}' are {idx.dtype}; TFLM gathers with int32 indices")
    rank, irank = len(x.shape), len(idx.shape)
    axis, batch_dims = int(op.attrs.get("axis", 0)), int(op.attrs.get("batch_dims", 0))
    axis = axis + rank if axis < 0 else axis
    batch_dims = batch_dims + irank if batch_dims < 0 else batch_dims
    if not (0 <= axis < rank and batch_dims <= axis and 0 <= batch_dims < rank and batch_dims <= irank):
        raise unsupported(g, op, f"axis {axis}, batch_dims {batch_dims} for input rank {rank}, indices rank {irank}")
    if list(x.shape[:batch_dims]) != list(idx.shape[:batch_dims]):
        raise unsupported(g, op, f"input {list(x.shape)} and indices {list(idx.shape)} differ in the batch dimensions")
    check_shape(g, op, y, (*x.shape[:axis], *idx.shape[batch_dims:], *x.shape[axis + 1 :]))
    _check_indices(g, op, idx, x.shape[axis])
    prod = lambda dims: int(np.prod(dims, dtype=np.int64))  # noqa: E731
    params = {
        "batch": prod(x.shape[:batch_dims]),
        "outer": prod(x.shape[batch_dims:axis]),
        "axis_size": x.shape[axis],
        "coords": prod(idx.shape[batch_dims:]),
        "inner": prod(x.shape[axis + 1 :]) * esize,
    }
    return Kernel(
        op=op,
        fn="en_gather",
        params=params,
        inputs=(x.name, idx.name),
        outputs=(y.name,),
        summary=f"axis {axis}, batch_dims {batch_dims}",
    )


def reference(k: Kernel, x: np.ndarray, indices: np.ndarray) -> np.ndarray:
    p = k.params
    src = np.ascontiguousarray(x).reshape(-1).view(np.uint8)
    src = src.reshape(p["batch"], p["outer"], p["axis_size"], p["inner"])
    idx = np.asarray(indices, np.int64).reshape(p["batch"], p["coords"])
    ok = (idx >= 0) & (idx < p["axis_size"])
    out = np.zeros((p["batch"], p["outer"], p["coords"], p["inner"]), np.uint8)
    for b in range(p["batch"]):
        picked = src[b][:, np.where(ok[b], idx[b], 0)]
        out[b] = np.where(ok[b][None, :, None], picked, 0)
    if "scale" in p:  # EMBEDDING_LOOKUP's hybrid form: int8 rows as float32
        return out.reshape(-1).view(np.int8).astype(np.float32) * np.float32(p["scale"])
    return out.reshape(-1).view(x.dtype)
