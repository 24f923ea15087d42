"""Constant folding: an operator whose inputs are all constants is computed at compile time with
its numpy reference, and its output becomes a constant (in flash) instead of a layer."""

from __future__ import annotations

import dataclasses

import numpy as np

from edgeneuro import ops
from edgeneuro.errors import ModelError
from edgeneuro.ir import Graph, Op, Tensor
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
        fold_op(op, graph, tensors)
    return dataclasses.replace(graph, tensors=tensors, ops=tuple(kept))


def fold_op(op: Op, graph: Graph, tensors: dict[str, Tensor]) -> None:
    """Compute ``op`` (whose inputs are in ``tensors`` as constants) with its numpy reference; its
    outputs become constants in ``tensors``."""
    k = ops.lower(op, dataclasses.replace(graph, tensors=tensors))
    out = ops.reference(k, *[tensors[n].data for n in k.inputs], *[a for _, a in k.consts])
    for name, o in zip(k.outputs, out if len(k.outputs) > 1 else (out,), strict=True):  # one array per output
        y, o = tensors[name], np.asarray(o)
        if o.size != y.size:
            raise ModelError(f"{graph.source}: operator {op.label()} computes {o.size} values for '{name}', "
                             f"declared {list(y.shape)} ({y.size}); the file is corrupt")  # fmt: skip
        tensors[name] = dataclasses.replace(y, data=o.reshape(y.shape).astype(y.dtype))


def run(graph: Graph, options: CompileOptions) -> Graph:
    """Operators with only constant inputs computed at compile time, their outputs into flash."""
    return fold_constants(graph)
