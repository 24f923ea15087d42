"""GATHER_ND: slices of the input addressed by int32 index tuples, int8 and float32 (TFLM's types).

Spec (TFLM ``gather_nd.cc``): ``params`` of rank >= 1, int32 ``indices`` of rank >= 1 whose last
dimension ``nd`` is at most the params' rank and at most 5. The output shape is
``indices.shape[:-1] + params.shape[nd:]``; for each of the ``n = prod(indices.shape[:-1])``
index tuples ``(i_0 .. i_{nd-1})``, the ``slice = prod(params.shape[nd:])`` elements at flat offset
``sum(i_j * stride_j)`` of the params (``stride_j`` the row-major stride of dimension j) are
copied to output slice ``n``. TFLM does not check the indices: one outside its dimension reads
another slice or outside the tensor.

edgeneuro requires the output shape TFLM computes and equal input/output quantization (a byte
copy). Constant indices are checked at compile time (a component outside ``[0, dim)`` is
rejected). Indices computed by the model are read at run time; a tuple with a component outside
its dimension (where TFLM reads whatever lies there) gives zero bytes.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, check_shape, copy_operands, unsupported

KINDS = ("GATHER_ND",)
C_FILE = "gather_nd"
MAX_VERSION = {"GATHER_ND": 5}  # newest TFLite op versions handled (newer ones add types)
MAX_ND = 5  # TFLM's MAX_INDICES_ND


def lower(op: Op, g: Graph) -> Kernel:
    x, idx, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    esize = copy_operands(g, op, [x], [y], ("int8", "float32"))
    if idx.dtype != "int32":
        raise unsupported(g, op, f"indices '{idx.name}' are {idx.dtype}; TFLM gathers with int32 indices")
    rank, irank = len(x.shape), len(idx.shape)
    if rank < 1 or irank < 1:
        raise unsupported(g, op, "params and indices must be at least vectors")
    nd = idx.shape[-1]
    if not 1 <= nd <= min(rank, MAX_ND):
        raise unsupported(g, op, f"index tuples of {nd}; TFLM takes 1 to min(params rank {rank}, {MAX_ND})")
    check_shape(g, op, y, (*idx.shape[:-1], *x.shape[nd:]))
    if idx.data is not None:
        bad = (idx.data < 0) | (idx.data >= np.array(x.shape[:nd]))
        if bad.any():
            at = tuple(int(v) for v in np.argwhere(bad)[0])
            raise unsupported(g, op, f"index {int(idx.data[at])} at {list(at)} is outside dimension {at[-1]}")
    dims = [0] * MAX_ND
    dims[:nd] = x.shape[:nd]
    params = {"n": int(np.prod(idx.shape[:-1], dtype=np.int64)), "nd": nd}
    params |= {f"dim{j}": dims[j] for j in range(MAX_ND)}
    params["slice"] = int(np.prod(x.shape[nd:], dtype=np.int64)) * esize
    return Kernel(
        op=op, fn="en_gather_nd", params=params, inputs=(x.name, idx.name), outputs=(y.name,), summary=f"{nd}-tuples"
    )


def reference(k: Kernel, x: np.ndarray, indices: np.ndarray) -> np.ndarray:
    p = k.params
    nd = p["nd"]
    dims = np.array([p[f"dim{j}"] for j in range(nd)], np.int64)
    src = np.ascontiguousarray(x).reshape(-1).view(np.uint8).reshape(-1, p["slice"])
    tuples = np.asarray(indices, np.int64).reshape(p["n"], nd)
    ok = ((tuples >= 0) & (tuples < dims)).all(axis=1)
    rows = np.ravel_multi_index(tuple(np.where(ok[:, None], tuples, 0).T), tuple(dims.tolist()))
    return np.where(ok[:, None], src[rows], 0).astype(np.uint8).reshape(-1).view(x.dtype)
