"""MIRROR_PAD, int8 and float32 (TFLM's types), 1-D to 5-D, constant paddings.

Spec (TFLM ``mirror_pad.cc``): ``paddings`` is a [rank, 2] int32 or int64 matrix of (before, after)
counts; ``mode`` REFLECT (the edge element is not repeated, ``offset = 1``) or SYMMETRIC (it is,
``offset = 0``). Output element ``o`` on an axis of input size ``n`` with ``before = L`` reads input
index ``L - o - 1 + offset`` for ``o < L`` (the mirror of the start), ``o - L`` inside, and
``n - 1 - offset - (o - L - n)`` past the end: ``np.pad(x, paddings, mode)`` with numpy's
``reflect`` / ``symmetric``. TFLM's Prepare checks only the paddings' shape and takes the output
size from the model; for pads larger than ``n - offset`` it would read outside the input, so
edgeneuro requires ``0 <= before, after <= n - offset`` (what TensorFlow itself requires), the
output shape ``n + before + after`` per axis, and equal input/output quantization (a byte copy).
Shapes are extended to 5-D with leading 1s for the C kernel.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, check_shape, copy_operands, unsupported

KINDS = ("MIRROR_PAD",)
C_FILE = "mirror_pad"
MAX_VERSION = {"MIRROR_PAD": 3}  # newest TFLite op versions handled (newer ones add types)
MAX_RANK = 5


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    esize = copy_operands(g, op, [x], [y], ("int8", "float32"))
    rank = len(x.shape)
    if not 1 <= rank <= MAX_RANK:
        raise unsupported(g, op, f"input rank {rank}; edgeneuro pads 1-D to {MAX_RANK}-D tensors")
    pt = g.t(op.inputs[1])
    if pt.data is None or pt.dtype not in ("int32", "int64") or list(pt.shape) != [rank, 2]:
        raise unsupported(g, op, f"paddings '{pt.name}' must be a constant int32/int64 [{rank}, 2] tensor")
    pads = np.asarray(pt.data).reshape(rank, 2).tolist()
    mode = op.attrs.get("mode", 0)
    reflect = mode in (0, "REFLECT")  # MirrorPadMode REFLECT = 0, SYMMETRIC = 1
    offset = 1 if reflect else 0
    for i, ((before, after), n) in enumerate(zip(pads, x.shape, strict=True)):
        if min(before, after) < 0 or max(before, after) > n - offset:
            raise unsupported(
                g, op, f"paddings {[before, after]} on axis {i} of size {n}: each must be 0 to {n - offset}"
            )
    check_shape(g, op, y, tuple(n + b + a for (b, a), n in zip(pads, x.shape, strict=True)))
    lead = MAX_RANK - rank
    dims = [1] * lead + list(x.shape)
    befores = [0] * lead + [b for b, _ in pads]
    outs = [1] * lead + list(y.shape)
    params = {f"dim{i}": dims[i] for i in range(MAX_RANK)}
    params |= {f"out{i}": outs[i] for i in range(MAX_RANK)}
    params |= {f"before{i}": befores[i] for i in range(MAX_RANK)}
    params |= {"offset": offset, "esize": esize}
    return Kernel(
        op=op,
        fn="en_mirror_pad",
        params=params,
        inputs=(x.name,),
        outputs=(y.name,),
        summary=f"{'REFLECT' if reflect else 'SYMMETRIC'} {pads}",
    )


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    p = k.params
    dims = [p[f"dim{i}"] for i in range(MAX_RANK)]
    pads = [(p[f"before{i}"], p[f"out{i}"] - p[f"dim{i}"] - p[f"before{i}"]) for i in range(MAX_RANK)]
    mode = "reflect" if p["offset"] else "symmetric"
    return np.pad(np.asarray(x).reshape(dims), pads, mode=mode).reshape(-1)
