"""The IR's rules, checked after the front end and after every pass (``compiler.prepare``): a graph
that breaks one is refused with a line that names the file, the tensor or operator and the rule,
before any code is generated."""

from __future__ import annotations

import math

from edgeneuro.errors import ModelError
from edgeneuro.ir.graph import DTYPE_BYTES, Graph

INT_RANGE = {"int8": (-128, 127), "int16": (-32768, 32767)}
MAX_DIM = 1 << 24  # one dimension
MAX_ELEMENTS = 1 << 28  # one tensor


def verify(graph: Graph, after: str) -> None:
    """Raise ModelError unless ``graph`` keeps the IR's rules; ``after`` names what made it (the
    front end or a pass), for the message."""

    def bad(what: str) -> ModelError:
        return ModelError(f"{graph.source}: {what} (the IR after {after})")

    used = {*graph.inputs, *graph.outputs, *graph.state, *(n for op in graph.ops for n in (*op.inputs, *op.outputs))}
    for name, t in graph.tensors.items():
        if name not in used:
            continue  # e.g. a TFLite LSTM's intermediates, which no operator names
        if t.name != name:
            raise bad(f"tensor '{name}' is stored under another name '{t.name}'")
        # a VAR_HANDLE's "resource" handle, which the inline-subgraphs pass turns into a state tensor
        if t.dtype not in DTYPE_BYTES and t.dtype != "resource":
            raise bad(f"tensor '{name}' has an unknown type {t.dtype!r}")
        if any(not isinstance(d, int) or d < 1 or d > MAX_DIM for d in t.shape) or t.size > MAX_ELEMENTS:
            raise bad(f"tensor '{name}' has shape {list(t.shape)}: every dimension must be a positive integer "
                      f"(at most {MAX_DIM:,}, {MAX_ELEMENTS:,} elements in all)")  # fmt: skip
        if t.is_const and t.data.size != t.size:
            raise bad(f"constant '{name}' holds {t.data.size} values for shape {list(t.shape)}")
        if t.quant is not None and not t.is_const:
            if any(not (math.isfinite(s) and s > 0) for s in t.quant.scale):
                raise bad(f"tensor '{name}' has scale {list(t.quant.scale)}: a scale must be finite and positive")
            lo, hi = INT_RANGE.get(t.dtype, (-(2**31), 2**31 - 1))
            if any(not lo <= z <= hi for z in t.quant.zero_point):
                zp = list(t.quant.zero_point)
                raise bad(f"tensor '{name}' ({t.dtype}) has zero point {zp}, outside [{lo}, {hi}]")

    def known(name: str, role: str) -> None:
        if name not in graph.tensors:
            raise bad(f"{role} names no tensor '{name}'")

    for name in (*graph.inputs, *graph.outputs, *graph.state):
        known(name, "the graph")
    if not graph.inputs:
        raise bad("the model has no inputs")
    if not graph.outputs:
        raise bad("the model has no outputs")
    if graph.state and not graph.temporal:
        raise bad("a graph with state must be temporal (one time step per call)")
    for name in graph.inputs:
        if graph.t(name).is_const:
            raise bad(f"input '{name}' is a constant")
    written = set(graph.inputs)
    for op in graph.ops:
        for name in op.inputs:
            if not name:
                continue  # an optional input left out
            known(name, f"operator {op.label()}")
            t = graph.t(name)
            if not (t.is_const or t.variable or name in written or name in graph.state):
                raise bad(f"operator {op.label()} reads '{name}' before any operator writes it (operators out of "
                          "order, or its producer missing)")  # fmt: skip
        for name in op.outputs:
            known(name, f"operator {op.label()}")
            if graph.t(name).is_const or name in written:
                what = "a constant" if graph.t(name).is_const else "a tensor already written"
                raise bad(f"operator {op.label()} writes '{name}', {what}")
            written.add(name)
    for name in graph.outputs:
        if name not in written:
            what = "a constant" if graph.t(name).is_const else "never written"
            raise bad(f"output '{name}' is {what}: no operator computes it")
    for name in graph.state:
        if name not in written:
            raise bad(f"state '{name}' is never written")
