"""MEAN over any set of axes, int8.

float32: the sum in row-major order of the reduced elements, divided by their count.

int8 spec (TFLM ``QuantizedMeanOrSum``, which TFLM uses for every int8 MEAN, equal input and output
quantization included): ``MBQM(sum - in_zp*count, mult', shift') + out_zp`` where the 1/count
factor is folded into the multiplier of ``s_in/s_out`` as TFLite does
(``s = min(floor(log2(count)), 32, 31 + shift)``, ``mult' = (mult << s) / count``, ``shift' = shift - s``).
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.quant import quantize_multiplier
from edgeneuro.ops.base import Kernel, check_accumulator, input_deviation, requant_limit, require_int8, unsupported

KINDS = ("MEAN",)
C_FILE = "mean"
MAX_VERSION = {"MEAN": 3}  # newest TFLite op versions handled
MAX_RANK = 4


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    axes_t = g.t(op.inputs[1])
    is_float = x.dtype == "float32" and y.dtype == "float32"
    if not is_float:
        require_int8(g, op, x, y)
    if axes_t.data is None:
        raise unsupported(g, op, "the axes must be constant")
    rank = len(x.shape)
    if rank > MAX_RANK:
        raise unsupported(g, op, f"input rank {rank} above {MAX_RANK}")
    axes = sorted({int(a) % rank for a in np.atleast_1d(axes_t.data)})
    dims = [1] * (MAX_RANK - rank) + list(x.shape)
    reduce = [0] * (MAX_RANK - rank) + [int(i in axes) for i in range(rank)]
    count = int(np.prod([d for d, r in zip(dims, reduce, strict=True) if r], dtype=np.int64))
    if y.size * count != x.size:
        raise unsupported(g, op, f"output '{y.name}' has {y.size} elements, expected {x.size // max(count, 1)}")
    params = dict(
        d0=dims[0],
        d1=dims[1],
        d2=dims[2],
        d3=dims[3],
        r0=reduce[0],
        r1=reduce[1],
        r2=reduce[2],
        r3=reduce[3],
        count=count,
    )
    if not is_float:
        mult, shift = quantize_multiplier(x.scale / y.scale)
        # the int32 sum of ``count`` inputs and ``sum - in_zp * count`` (mean.c), before the shift
        s = min(count.bit_length() - 1, 32, 31 + shift)
        dev = input_deviation(x)
        what = f"of a sum over {count:,} elements ({dev} x {count:,})"
        check_accumulator(g, op, dev * count, what, left_shift=shift - s, limit=requant_limit(y.zero_point))
        params.update(mult=int((mult << s) // count), shift=shift - s, in_zp=x.zero_point, out_zp=y.zero_point)
    fn = "en_mean_f32" if is_float else "en_mean_s8"
    return Kernel(op=op, fn=fn, params=params, inputs=(x.name,), outputs=(y.name,), summary=f"axes {axes}")


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    from edgeneuro.ir.quant import multiply_by_quantized_multiplier

    p = k.params
    dims = [p[f"d{i}"] for i in range(MAX_RANK)]
    axes = tuple(i for i in range(MAX_RANK) if p[f"r{i}"])
    if k.fn == "en_mean_f32":  # float32: sum in row-major order of the reduced axes, then divide
        xr = np.moveaxis(x.reshape(dims).astype(np.float32), axes, range(MAX_RANK - len(axes), MAX_RANK))
        flat = xr.reshape(*xr.shape[: MAX_RANK - len(axes)], -1)
        total = np.zeros(flat.shape[:-1], np.float32)
        for i in range(flat.shape[-1]):
            total = total + flat[..., i]
        return (total / np.float32(p["count"])).astype(np.float32).reshape(-1)
    s = x.reshape(dims).astype(np.int64).sum(axis=axes)
    out = multiply_by_quantized_multiplier(s - p["in_zp"] * p["count"], p["mult"], p["shift"]) + p["out_zp"]
    return np.clip(out, -128, 127).astype(np.int8).reshape(-1)
