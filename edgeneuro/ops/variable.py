"""READ_VARIABLE and ASSIGN_VARIABLE: a resource variable's value copied out of, or into, the
model's persistent state.

Spec (TFLM ``read_variable.cc``, ``assign_variable.cc``): a variable (made by VAR_HANDLE, set first
by the subgraph CALL_ONCE runs) keeps its value from one Invoke to the next; READ_VARIABLE copies
it into its output, ASSIGN_VARIABLE copies its input into it, bytes as they are. The
``inline-subgraphs`` pass (edgeneuro/passes/subgraphs.py) makes each variable a state tensor of
the graph, so here READ_VARIABLE reads that tensor and ASSIGN_VARIABLE writes it.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, unsupported

KINDS = ("READ_VARIABLE", "ASSIGN_VARIABLE")
C_FILE = "variable"
MAX_VERSION = {"READ_VARIABLE": 1, "ASSIGN_VARIABLE": 1}


def lower(op: Op, g: Graph) -> Kernel:
    if len(op.inputs) != 1 or len(op.outputs) != 1:
        raise unsupported(g, op, "its variable was not resolved (VAR_HANDLE and CALL_ONCE are read by the "
                                 "inline-subgraphs pass)")  # fmt: skip
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    if x.dtype != y.dtype or x.size != y.size:
        raise unsupported(g, op, f"the variable is {y.dtype if op.kind == 'ASSIGN_VARIABLE' else x.dtype} "
                                 f"{list((y if op.kind == 'ASSIGN_VARIABLE' else x).shape)} but the value "
                                 f"{list((x if op.kind == 'ASSIGN_VARIABLE' else y).shape)}")  # fmt: skip
    return Kernel(op=op, fn="en_copy_bytes", params={"nbytes": y.nbytes}, inputs=(x.name,), outputs=(y.name,),
                  summary=f"{y.dtype} {list(y.shape)}")  # fmt: skip


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    return np.array(x, copy=True).reshape(-1)
