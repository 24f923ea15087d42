"""CAST between int8, int16, int32 and float32 (and from bool), element by element.

Spec (TFLM ``cast.cc``): ``out[i] = static_cast<To>(in[i])`` on the raw values; quantization
parameters are ignored (a cast of an int8 tensor gives its integers, not the real numbers they
stand for). Hence: integer to a wider integer or to float32 is exact (int32 to float32 rounds to
nearest even); integer to a narrower integer keeps the low bits (two's complement wrap, what GCC
and Clang define); bool gives 0 or 1. float32 to an integer truncates toward zero; C++ leaves a
value outside the target's range (and NaN) undefined, and TFLM's result then depends on the
machine, so edgeneuro defines it: saturated to the target's limits, NaN to 0. The tests draw
floats in range.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, check_shape, unsupported

KINDS = ("CAST",)
C_FILE = "cast"
MAX_VERSION = {"CAST": 7}  # newest TFLite op versions handled (newer ones add types)
SUFFIX = {"bool": "b", "int8": "s8", "int16": "s16", "int32": "s32", "float32": "f32"}
TARGETS = ("int8", "int16", "int32", "float32")
DTYPE = {v: k for k, v in SUFFIX.items()}


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    if x.dtype not in SUFFIX or y.dtype not in TARGETS or x.dtype == y.dtype:
        raise unsupported(
            g, op, f"{x.dtype} to {y.dtype}; edgeneuro casts {', '.join(SUFFIX)} to another of {', '.join(TARGETS)}"
        )
    check_shape(g, op, y, tuple(x.shape))
    return Kernel(
        op=op,
        fn=f"en_cast_{SUFFIX[x.dtype]}_{SUFFIX[y.dtype]}",
        params={"size": x.size},
        inputs=(x.name,),
        outputs=(y.name,),
        summary=f"{x.dtype} -> {y.dtype}",
    )


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    to = np.dtype(DTYPE[k.fn.rsplit("_", 1)[1]])
    x = np.asarray(x).reshape(-1)
    if x.dtype == np.float32 and to.kind == "i":
        info = np.iinfo(to)
        t = np.trunc(np.nan_to_num(x, nan=0.0, posinf=info.max, neginf=info.min).astype(np.float64))
        return np.clip(t, info.min, info.max).astype(to)
    return x.astype(to)
