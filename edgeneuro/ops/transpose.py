"""TRANSPOSE, int8, 1-D to 5-D.

Spec (TFLM ``transpose.cc`` / ``transpose_common.cc``, ``reference_ops::Transpose``):
``output = input.transpose(perm)``, a pure copy. TFLM's Prepare requires a constant 1-D int32
``perm`` of the input's rank with entries in range and at most 5 dimensions. edgeneuro also requires
a true permutation, the output shape ``in[perm[i]]``, and equal input/output quantization (TFLM
copies the bytes unchanged, whatever the quantization). Shapes are extended to 5-D with leading 1s
(``perm`` shifted accordingly) so one C loop nest serves every rank.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, byte_copy_operands, check_shape, const_operand, unsupported

KINDS = ("TRANSPOSE",)
C_FILE = "transpose"
MAX_VERSION = {"TRANSPOSE": 6}  # newest TFLite op versions handled (4: 5-D; 5, 6: int16, 6-D, rejected)
MAX_RANK = 5


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    is_float = x.dtype == y.dtype == "float32"
    if not is_float:
        x, y = byte_copy_operands(g, op, MAX_RANK)
    elif not 1 <= len(x.shape) <= MAX_RANK:
        raise unsupported(g, op, f"input rank {len(x.shape)}; TFLM takes 1-D to {MAX_RANK}-D tensors here")
    rank = len(x.shape)
    pt = const_operand(g, op, 1, "permutation")
    if len(pt.shape) != 1 or pt.size != rank:
        raise unsupported(g, op, f"perm '{pt.name}' must be int32 [{rank}], not {pt.dtype} {list(pt.shape)}")
    perm = [int(v) for v in np.asarray(pt.data).reshape(-1)]
    if sorted(perm) != list(range(rank)):
        raise unsupported(g, op, f"perm {perm} is not a permutation of 0..{rank - 1}")
    check_shape(g, op, y, tuple(x.shape[i] for i in perm))

    lead = MAX_RANK - rank
    dims = [1] * lead + list(x.shape)
    full = list(range(lead)) + [lead + i for i in perm]
    params = {f"dim{i}": dims[i] for i in range(MAX_RANK)}
    params |= {f"perm{i}": full[i] for i in range(MAX_RANK)}
    return Kernel(
        op=op,
        fn="en_transpose_f32" if is_float else "en_transpose_s8",
        params=params,
        inputs=(x.name,),
        outputs=(y.name,),
        summary=f"perm {perm}",
    )


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    p = k.params
    dims = [p[f"dim{i}"] for i in range(MAX_RANK)]
    perm = [p[f"perm{i}"] for i in range(MAX_RANK)]
    return np.asarray(x).reshape(dims).transpose(perm).reshape(-1)
