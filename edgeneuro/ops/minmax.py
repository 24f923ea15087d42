"""MAXIMUM and MINIMUM with broadcasting (up to 5-D): int8, int16, int32 and float32.

Spec (TFLM ``maximum_minimum.cc``, ``reference_ops::MaximumMinimumBroadcastSlow``): the raw values
are compared, ``a > b ? a : b`` (MAXIMUM) and ``a < b ? a : b`` (MINIMUM); TFLM reads no
quantization parameters, so neither does edgeneuro (the converter gives both inputs and the output
the same). For float32 a NaN in ``a`` gives ``b`` and a NaN in ``b`` gives ``b``, as in C.

The broadcasting helpers here (``broadcast``, ``broadcast_inputs``) serve the other binary
elementwise operators too (comparisons, SQUARED_DIFFERENCE, DIV, PRELU); their C loop nest is
firmware/kernels/en_broadcast.h.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op, Tensor
from edgeneuro.ops.base import Kernel, unsupported

KINDS = ("MAXIMUM", "MINIMUM")
C_FILE = "minmax"
MAX_VERSION = {"MAXIMUM": 4, "MINIMUM": 4}  # newest TFLite op versions handled (4: int16)
RANK = 5
SUFFIX = {"int8": "s8", "int16": "s16", "int32": "s32", "float32": "f32", "bool": "b"}


def _strides(shape: tuple[int, ...], out: tuple[int, ...]) -> list[int]:
    """Element strides of ``shape`` broadcast to ``out`` (both padded to RANK); 0 where broadcast."""
    shape = (1,) * (RANK - len(shape)) + tuple(shape)
    strides, step = [0] * RANK, 1
    for i in reversed(range(RANK)):
        strides[i] = step if shape[i] == out[i] else 0
        step *= shape[i]
    return strides


def broadcast(g: Graph, op: Op, a: Tensor, b: Tensor, y: Tensor, max_rank: int = RANK) -> dict[str, int]:
    """The output shape padded to 5-D (``d0..d4``) and each input's element strides (``a0..a4``,
    ``b0..b4``, 0 along a broadcast axis), numpy's broadcasting rules; ``max_rank`` is TFLM's limit
    for the operator."""
    try:
        shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except ValueError as e:
        raise unsupported(g, op, f"shapes {list(a.shape)} and {list(b.shape)} do not broadcast") from e
    if int(np.prod(shape, dtype=np.int64)) != y.size:
        raise unsupported(g, op, f"output '{y.name}' has shape {list(y.shape)}, expected {list(shape)}")
    if len(shape) > max_rank:
        raise unsupported(g, op, f"rank {len(shape)} above {max_rank} (TFLM's limit for {op.kind})")
    out = (1,) * (RANK - len(shape)) + tuple(shape)
    params = {f"d{i}": out[i] for i in range(RANK)}
    params.update({f"a{i}": s for i, s in enumerate(_strides(a.shape, out))})
    params.update({f"b{i}": s for i, s in enumerate(_strides(b.shape, out))})
    return params


def broadcast_inputs(p: dict, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both inputs broadcast to the padded 5-D output shape of ``broadcast``'s parameters."""
    out = tuple(p[f"d{i}"] for i in range(RANK))
    fa = np.broadcast_to(a.reshape((1,) * (RANK - a.ndim) + a.shape), out)
    fb = np.broadcast_to(b.reshape((1,) * (RANK - b.ndim) + b.shape), out)
    return fa, fb


def same_types(g: Graph, op: Op, types: tuple[str, ...], *tensors: Tensor) -> str:
    """The one dtype of ``tensors``, which must be among ``types``."""
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) != 1 or next(iter(dtypes)) not in types:
        names = ", ".join(f"'{t.name}' {t.dtype}" for t in tensors)
        raise unsupported(g, op, f"tensors {names}; TFLM's {op.kind} takes one type of {', '.join(types)}")
    return next(iter(dtypes))


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
