"""The Delay node of a spiking network imported from NIR (edgeneuro/frontends/nir.py): each value
comes out a whole number of time steps after it went in.

Spec. Element ``i`` has a delay of ``k[i] >= 0`` steps (NIR's ``delay`` in seconds over ``--dt``;
the front end refuses delays that are not whole steps): ``y_t[i] = x_{t - k[i]}[i]``, zero while
``t < k[i]``, for int8 values (spikes, the quantized input) and int32 values (currents,
membranes) alike; the output has the input's type and scale, so nothing rounds.

State (outside the arena, zeroed by ``en_model_reset()``): an int32 ``head`` then ``depth = max(1,
max k)`` rows of ``size`` values, a ring of the last ``depth`` inputs. Each step reads, for every
element, row ``(head - k[i]) mod depth`` (the input of ``k[i]`` steps ago; ``k[i] = 0`` reads the
input itself), then writes the input into row ``head`` and advances ``head`` by one, modulo ``depth``.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel
from edgeneuro.ops.synapse import node_unsupported

KINDS = ("NIR_DELAY",)
C_FILE = "snn_delay"
WIDTH = {"int8": 1, "int32": 4}


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    steps = np.asarray(op.attrs["steps"], np.int64).reshape(-1)
    if x.dtype not in WIDTH or y.dtype != x.dtype or x.size != y.size or x.quant != y.quant:
        raise node_unsupported(g, op, f"delays int8 or int32 values unchanged ({x.dtype} -> {y.dtype})")
    if steps.size != x.size or np.any(steps < 0) or np.any(steps > 2**31 - 1):
        raise node_unsupported(g, op, f"{steps.size} delays of 0 to 2^31 - 1 steps for {x.size} values")
    depth = max(1, int(steps.max(initial=0)))
    width = WIDTH[x.dtype]
    return Kernel(
        op=op,
        fn=f"en_snn_delay_{'s8' if width == 1 else 's32'}",
        params=dict(size=x.size, depth=depth),
        inputs=(x.name,),
        consts=(("steps", steps.astype(np.int32)),),
        outputs=(y.name,),
        summary=f"{x.size} {x.dtype} values, {int(steps.min(initial=0))}..{int(steps.max(initial=0))} steps",
        state=4 + depth * x.size * width,
    )


def reference(k: Kernel, x: np.ndarray, steps: np.ndarray, state: np.ndarray) -> np.ndarray:
    """One time step; ``state`` (uint8 bytes) is updated in place."""
    size, depth = k.params["size"], k.params["depth"]
    x = x.reshape(-1)
    head = int(state[:4].view(np.int32)[0])
    rows = state[4 : 4 + depth * size * x.itemsize].view(x.dtype).reshape(depth, size)
    at = (head - steps.astype(np.int64)) % depth
    y = np.where(steps == 0, x, rows[at, np.arange(size)])
    rows[head] = x
    state[:4].view(np.int32)[0] = (head + 1) % depth
    return y.astype(x.dtype)
