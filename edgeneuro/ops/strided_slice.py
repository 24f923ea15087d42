"""STRIDED_SLICE, int8, int16, int32, float32 and bool, 1-D to 4-D, constant begin/end/strides.

Spec (TFLM ``strided_slice.cc`` / ``strided_slice_common.cc`` with ``StridedSliceStartForAxis`` /
``StridedSliceEndForAxis`` of ``strided_slice_logic.h``), per axis of size ``n``:

* start: ``b = begin[i]``, ``+n`` if negative, clamped to ``[0, n]`` (stride > 0) or ``[-1, n-1]``
  (stride < 0); ``begin_mask`` bit set: ``0`` (stride > 0) or ``n-1`` (stride < 0).
* stop: on a ``shrink_axis_mask`` axis ``start + 1`` (``start`` if ``start >= n``); otherwise
  ``e = end[i]``, ``+n`` if negative, clamped the same way; ``end_mask`` bit set: ``n`` or ``-1``.
* the elements ``start, start + stride, ...`` while ``< stop`` (stride > 0) or ``> stop`` (stride < 0),
  written in row-major order; shrunk axes are dropped from the output shape.

TFLM takes at most 4 dimensions, needs nonzero strides, and *ignores* ``ellipsis_mask``,
``new_axis_mask`` and ``offset`` (it builds its parameters with them zeroed), so edgeneuro rejects
models that set them rather than give them a meaning TFLM does not. A shrunk axis whose slice is
empty in TFLM (negative stride, or a start at or past the end) leaves the output unwritten there and
is rejected too, as are empty outputs and differing input/output quantization (TFLM copies bytes).
Shapes are extended to 4-D with leading 1s for the C kernel, which has one entry per element type
(``en_strided_slice_<s8|s16|s32|f32|b>``), the same loop nest.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, check_shape, copy_operands, unsupported

KINDS = ("STRIDED_SLICE",)
C_FILE = "strided_slice"
MAX_VERSION = {"STRIDED_SLICE": 8}  # newest TFLite op versions handled (6: masks, 8: offset, rejected)
MAX_RANK = 4
SUFFIX = {"int8": "s8", "int16": "s16", "int32": "s32", "float32": "f32", "bool": "b"}  # TFLM's types here


def _clamp(v: int, lo: int, hi: int) -> int:
    return hi if v > hi else lo if v < lo else v


def _count(start: int, stop: int, stride: int) -> int:
    """Iterations of ``for (i = start; stride > 0 ? i < stop : i > stop; i += stride)``."""
    span = stop - start if stride > 0 else start - stop
    step = abs(stride)
    return max(0, (span + step - 1) // step)


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    copy_operands(g, op, [x], [y], tuple(SUFFIX))
    if not 1 <= len(x.shape) <= MAX_RANK:
        raise unsupported(g, op, f"input rank {len(x.shape)}; TFLM takes 1-D to {MAX_RANK}-D tensors here")
    a = op.attrs
    for name in ("ellipsis_mask", "new_axis_mask"):
        if a.get(name, 0):
            raise unsupported(g, op, f"{name} {a[name]}: TFLM ignores it (it zeroes the mask), so edgeneuro rejects it")
    if a.get("offset", False):
        raise unsupported(g, op, "offset=true: TFLM ignores StridedSliceOptions.offset, so edgeneuro rejects it")
    rank = len(x.shape)
    vectors = []
    for role, name in zip(("begin", "end", "strides"), op.inputs[1:4], strict=True):
        t = g.t(name)
        if t.data is None:
            raise unsupported(g, op, f"the {role} tensor must be constant")
        if t.dtype != "int32" or t.size != rank:
            raise unsupported(g, op, f"{role} '{t.name}' must be int32 [{rank}], not {t.dtype} {list(t.shape)}")
        vectors.append([int(v) for v in np.asarray(t.data).reshape(-1)])
    begin, end, strides = vectors
    begin_mask, end_mask, shrink_mask = (int(a.get(k, 0)) for k in ("begin_mask", "end_mask", "shrink_axis_mask"))

    starts, counts, out_shape = [], [], []
    for i, n in enumerate(x.shape):
        stride = strides[i]
        if stride == 0:
            raise unsupported(g, op, f"stride 0 on axis {i}")
        start = begin[i] + n if begin[i] < 0 else begin[i]
        start = _clamp(start, 0, n) if stride > 0 else _clamp(start, -1, n - 1)
        if begin_mask >> i & 1:
            start = 0 if stride > 0 else n - 1
        shrink = bool(shrink_mask >> i & 1)
        if shrink:
            if stride < 0 or start >= n:
                raise unsupported(
                    g, op, f"shrunk axis {i} with begin {begin[i]}, stride {stride}: TFLM writes no element there"
                )
            stop = start + 1
        else:
            stop = end[i] + n if end[i] < 0 else end[i]
            stop = _clamp(stop, 0, n) if stride > 0 else _clamp(stop, -1, n - 1)
            if end_mask >> i & 1:
                stop = n if stride > 0 else -1
        count = _count(start, stop, stride)
        starts.append(start)
        counts.append(count)
        if not shrink:
            out_shape.append(count)
    if 0 in counts:
        raise unsupported(g, op, "the slice is empty")
    check_shape(g, op, y, tuple(out_shape))

    lead = MAX_RANK - rank
    dims = [1] * lead + list(x.shape)
    starts = [0] * lead + starts
    strides = [1] * lead + strides
    counts = [1] * lead + counts
    params = {f"dim{i}": dims[i] for i in range(MAX_RANK)}
    params |= {f"begin{i}": starts[i] for i in range(MAX_RANK)}
    params |= {f"stride{i}": strides[i] for i in range(MAX_RANK)}
    params |= {f"count{i}": counts[i] for i in range(MAX_RANK)}
    return Kernel(
        op=op,
        fn=f"en_strided_slice_{SUFFIX[x.dtype]}",
        params=params,
        inputs=(x.name,),
        outputs=(y.name,),
        summary=f"begin {begin} end {end} strides {vectors[2]} masks b{begin_mask} e{end_mask} s{shrink_mask}",
    )


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    p = k.params
    dims = [p[f"dim{i}"] for i in range(MAX_RANK)]
    index = tuple(p[f"begin{i}"] + p[f"stride{i}"] * np.arange(p[f"count{i}"]) for i in range(MAX_RANK))
    return np.asarray(x).reshape(dims)[np.ix_(*index)].reshape(-1)
