"""SUM, REDUCE_MAX and REDUCE_MIN over a constant set of axes (input rank up to 5): float32 and
int8, SUM also int16. ``keep_dims`` only changes the output's shape.

Spec (TFLM ``reduce_common.cc``, ``reference_ops::ReduceGeneric`` / ``QuantizedMeanOrSum``): the
axes are resolved (negative ones counted from the end, duplicates dropped); every output element
starts at an initial value and takes the reduced input elements in row-major order.

- float32 SUM: ``acc = acc + x`` from 0.0f. REDUCE_MAX: ``x > acc ? x : acc`` from ``-FLT_MAX``
  (so NaNs are skipped and a row of -inf gives -FLT_MAX); REDUCE_MIN: ``x < acc ? x : acc`` from
  ``FLT_MAX``.
- int8 REDUCE_MAX / REDUCE_MIN: the same on the raw values from -128 / 127; TFLM requires the
  input and output quantization to be equal (edgeneuro refuses others too).
- int8 / int16 SUM: ``MultiplyByQuantizedMultiplier(sum(x) - zp_in * count, m, shift) + zp_out``
  clamped to the type's range, ``(m, shift) = QuantizeMultiplier(double(s_in) / double(s_out))``,
  ``count`` the number of reduced elements (MEAN's arithmetic without the 1/count).
  TFLM's SUM keeps the resolved axes in a two-element array: more than two axes would overflow it,
  and edgeneuro refuses them.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.quant import multiply_by_quantized_multiplier, quantize_multiplier
from edgeneuro.ops.base import (
    FLT_MAX,
    Kernel,
    check_accumulator,
    input_deviation,
    requant_limit,
    same_quant,
    unsupported,
)

KINDS = ("SUM", "REDUCE_MAX", "REDUCE_MIN")
C_FILE = "reduce"
MAX_VERSION = {"SUM": 2, "REDUCE_MAX": 3, "REDUCE_MIN": 3}  # newest TFLite op versions handled
RANK = 5
TYPES = {"SUM": ("float32", "int8", "int16"), "REDUCE_MAX": ("float32", "int8"), "REDUCE_MIN": ("float32", "int8")}
RANGE = {"int8": (-128, 127), "int16": (-32768, 32767)}


def resolve_axes(g: Graph, op: Op, rank: int) -> list[int]:
    """The constant axes tensor (input 1), resolved as TFLM's ``ResolveAxis``: sorted here, as the
    order does not change the row-major visit."""
    t = g.t(op.inputs[1])
    if t.data is None:
        raise unsupported(g, op, "the axes must be constant")
    if t.dtype != "int32":
        raise unsupported(g, op, f"the axes '{t.name}' must be int32, not {t.dtype}")
    axes = []
    for a in np.atleast_1d(t.data).reshape(-1).tolist():
        if not -rank <= a < rank:
            raise unsupported(g, op, f"axis {a} is outside the input's rank {rank}")
        if a % rank not in axes:
            axes.append(a % rank)
    return axes


def reduce_dims(g: Graph, op: Op, shape: tuple[int, ...], axes: list[int]) -> dict[str, int]:
    """``d0..d4`` (the input shape padded to 5-D in front) and ``r0..r4`` (1 on reduced axes)."""
    rank = len(shape)
    dims = [1] * (RANK - rank) + list(shape)
    red = [0] * (RANK - rank) + [int(i in axes) for i in range(rank)]
    return {**{f"d{i}": dims[i] for i in range(RANK)}, **{f"r{i}": red[i] for i in range(RANK)}}


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    types = TYPES[op.kind]
    if x.dtype != y.dtype or x.dtype not in types:
        raise unsupported(g, op, f"{x.dtype} in, {y.dtype} out; TFLM's {op.kind} takes {', '.join(types)}")
    rank = len(x.shape)
    if not 1 <= rank <= RANK:
        raise unsupported(g, op, f"input rank {rank}; TFLM takes 1-D to {RANK}-D tensors here")
    axes = resolve_axes(g, op, rank)
    if op.kind == "SUM" and len(axes) > 2:
        raise unsupported(g, op, f"{len(axes)} axes; TFLM's SUM reduces at most 2")
    params = reduce_dims(g, op, x.shape, axes)
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    if y.size * count != x.size:
        raise unsupported(g, op, f"output '{y.name}' has {y.size} elements, expected {x.size // max(count, 1)}")
    params["op"] = KINDS.index(op.kind)  # 0 SUM, 1 REDUCE_MAX, 2 REDUCE_MIN
    suffix = {"float32": "f32", "int8": "s8", "int16": "s16"}[x.dtype]
    if x.dtype != "float32":
        if x.quant is None or y.quant is None or x.quant.per_channel or y.quant.per_channel:
            raise unsupported(g, op, f"{x.dtype} input and output must be quantized per tensor")
        if op.kind == "SUM":
            mult, shift = quantize_multiplier(float(x.scale) / float(y.scale))
            dev = input_deviation(x)  # the int32 sum and ``sum - in_zp * count`` (reduce.c), shifted
            what = f"of a sum over {count:,} elements ({dev} x {count:,})"
            check_accumulator(g, op, dev * count, what, left_shift=shift, limit=requant_limit(y.zero_point))
            params.update(count=count, in_zp=x.zero_point, out_zp=y.zero_point, mult=mult, shift=shift)
            params.update(zip(("qmin", "qmax"), RANGE[x.dtype], strict=True))
            suffix = f"sum_{suffix}"
        elif not same_quant(x, y):
            raise unsupported(g, op, "input and output quantization differ (TFLM requires them equal)")
    return Kernel(op=op, fn=f"en_reduce_{suffix}", params=params, inputs=(x.name,), outputs=(y.name,),
                  summary=f"{op.kind.lower()} axes {axes}")  # fmt: skip


def reduced_last(p: dict, x: np.ndarray) -> np.ndarray:
    """``x`` as [kept elements (row-major), reduced elements (row-major)]."""
    dims = [p[f"d{i}"] for i in range(RANK)]
    red = [i for i in range(RANK) if p[f"r{i}"]]
    xr = np.moveaxis(x.reshape(dims), red, range(RANK - len(red), RANK))
    return xr.reshape(int(np.prod([dims[i] for i in range(RANK) if i not in red], dtype=np.int64)), -1)


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    p = k.params
    flat = reduced_last(p, x)
    kind = KINDS[p["op"]]
    if k.fn.startswith("en_reduce_sum"):
        s = flat.astype(np.int64).sum(axis=1)
        out = multiply_by_quantized_multiplier(s - p["in_zp"] * p["count"], p["mult"], p["shift"]) + p["out_zp"]
        return np.clip(out, p["qmin"], p["qmax"]).astype(x.dtype)
    if x.dtype == np.float32:
        init = {"SUM": 0.0, "REDUCE_MAX": -FLT_MAX, "REDUCE_MIN": FLT_MAX}[kind]
    else:
        init = {"REDUCE_MAX": -128, "REDUCE_MIN": 127}[kind]
    acc = np.full(flat.shape[0], init, x.dtype)
    for i in range(flat.shape[1]):
        v = flat[:, i]
        if kind == "SUM":
            acc = (acc + v).astype(np.float32)
        elif kind == "REDUCE_MAX":
            acc = np.where(v > acc, v, acc)
        else:
            acc = np.where(v < acc, v, acc)
    return acc
