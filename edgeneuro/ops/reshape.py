"""RESHAPE, EXPAND_DIMS, SQUEEZE: views. No code runs; the output shares the input's bytes."""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, unsupported

KINDS = ("RESHAPE", "EXPAND_DIMS", "SQUEEZE")
C_FILE = None
VIEW = True  # trait (edgeneuro/ops/__init__.py): the output aliases the input's bytes
MAX_VERSION = {"RESHAPE": 1, "EXPAND_DIMS": 1, "SQUEEZE": 2}  # newest TFLite op versions handled


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    if x.size != y.size or x.dtype != y.dtype:
        raise unsupported(g, op, f"{list(x.shape)} {x.dtype} cannot be viewed as {list(y.shape)} {y.dtype}")
    if x.quant != y.quant:
        raise unsupported(g, op, "input and output quantization differ")
    return Kernel(op=op, fn=None, inputs=(x.name,), outputs=(y.name,), summary="view")


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    return x.reshape(-1)
