"""REVERSE_V2, int8, int16 and float32 (the types edgeneuro moves), any rank, constant axes.

Spec (TFLM ``reverse.cc``, ``reference_ops::Reverse``): ``output = np.flip(input, axes)``, a pure
copy. The axes are a constant 1-D int32 tensor (negative axes count from the end); TFLM refuses
axes that are not contiguous once sorted (``Non-contiguous `axes` not supported``), and so does
edgeneuro. Reversing the contiguous axes ``a..b`` together is reversing their flattened product, so
the kernel sees ``[outer, mid, inner]`` and copies row ``mid - 1 - m`` of ``inner`` elements to row
``m``. The converter emits it for a tf_keras ``LSTM(go_backwards=True)`` and the backward half of
``Bidirectional`` (REVERSE_V2 on the time axis before and, with ``return_sequences``, after the
UNIDIRECTIONAL_SEQUENCE_LSTM). TFLM copies the bytes whatever the two tensors' quantizations say,
and so does edgeneuro: the converter gives the REVERSE_V2 after a backward LSTM an output
quantization other than its input's (the LSTM's output tensor is labelled with one quantization
while its bytes are in its hidden state's), and TFLM's result is the byte copy.
"""

from __future__ import annotations

import math

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.graph import DTYPE_BYTES
from edgeneuro.ops.base import COPY_DTYPES, Kernel, check_shape, unsupported

KINDS = ("REVERSE_V2",)
C_FILE = "reverse"
MAX_VERSION = {"REVERSE_V2": 3}  # 2: int8/uint8, 3: int16


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    if x.dtype != y.dtype or x.dtype not in COPY_DTYPES or (x.quant is None) != (y.quant is None):
        raise unsupported(g, op, f"{x.dtype} in, {y.dtype} out; edgeneuro reverses {', '.join(COPY_DTYPES)}")
    if x.quant is not None and (x.quant.per_channel or y.quant.per_channel):
        raise unsupported(g, op, "per-channel quantized activations")
    esize = DTYPE_BYTES[x.dtype]
    check_shape(g, op, y, tuple(x.shape))
    at = g.t(op.inputs[1])
    if at.data is None or at.dtype != "int32" or len(at.shape) != 1:
        raise unsupported(g, op, f"axes '{at.name}' must be a constant 1-D int32 tensor (TFLM's)")
    rank = len(x.shape)
    raw = [int(a) for a in np.asarray(at.data).reshape(-1)]
    if len(raw) > rank or any(not -rank <= a < rank for a in raw):
        raise unsupported(g, op, f"axes {raw} for a tensor of rank {rank}")
    axes = sorted(a + rank if a < 0 else a for a in raw)
    if any(b != a + 1 for a, b in zip(axes, axes[1:], strict=False)):
        raise unsupported(g, op, f"axes {raw} are not contiguous (TFLM refuses them too)")
    if axes:
        outer = math.prod(x.shape[: axes[0]])
        mid = math.prod(x.shape[axes[0] : axes[-1] + 1])
        inner = math.prod(x.shape[axes[-1] + 1 :])
    else:
        outer, mid, inner = 1, 1, math.prod(x.shape)
    return Kernel(
        op=op,
        fn="en_reverse",
        params=dict(outer=outer, mid=mid, inner_bytes=inner * esize),
        inputs=(x.name,),
        outputs=(y.name,),
        summary=f"axes {axes}",
    )


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    p = k.params
    rows = np.asarray(x).reshape(-1).view(np.uint8).reshape(p["outer"], p["mid"], p["inner_bytes"])
    return np.ascontiguousarray(rows[:, ::-1]).reshape(-1).view(np.asarray(x).dtype)
