"""Constant folding: an operator whose inputs are all constants is computed at compile time with
its numpy reference, and its output becomes a constant (in flash) instead of a layer."""

from __future__ import annotations

import dataclasses

import numpy as np

from edgeneuro import ops
from edgeneuro.ir import Graph
from edgeneuro.options import CompileOptions


def fold_constants(graph: Graph) -> Graph:
    tensors = dict(graph.tensors)
    kept = []
    for op in graph.ops:
        ins = [tensors[n] for n in op.inputs if n]
        # SHAPE_ONLY (SHAPE): the output is the input's shape, known at compile time whatever its values
        const = all(t.is_const for t in ins) or ops.trait(op.kind, "SHAPE_ONLY")
        if not ins or not const or op.kind not in ops.MODULES:
            kept.append(op)
            continue
        g = dataclasses.replace(graph, tensors=tensors)
        k = ops.lower(op, g)
        out = ops.reference(k, *[tensors[n].data for n in k.inputs], *[a for _, a in k.consts])
        for name, o in zip(k.outputs, out if len(k.outputs) > 1 else (out,), strict=True):  # one array per output
            y = tensors[name]
            tensors[name] = dataclasses.replace(y, data=np.asarray(o).reshape(y.shape).astype(y.dtype))
    return dataclasses.replace(graph, tensors=tensors, ops=tuple(kept))


def run(graph: Graph, options: CompileOptions) -> Graph:
    """Operators with only constant inputs computed at compile time, their outputs into flash."""
    return fold_constants(graph)
