"""Kernel variants (``--kernels``): each operator whose module offers a faster kernel for the target
core's features (``dsp``: Armv7E-M SIMD32 on Cortex-M4/M7/M33/M55; ``mve``: Helium on the M55) gets
it where its shapes allow. The op module decides (``variant(op, graph, features)``, edgeneuro/ops/
__init__.py) and its ``lower`` reads the choice from ``op.attrs["variant"]``: the variant's C
function, its constants laid out for it at compile time (weights interleaved, zero-point terms
folded into the bias) and its scratch memory in the arena. The portable kernel stays the spec:
every variant computes the same bits (tests/opcheck.py checks every operator case both ways).

A variant must not cost RAM: the pass plans the arena with the variants and with the portable
kernels, and while the variants' arena is larger it gives up the variant with the most scratch
memory among those alive at the arena's peak (its op records why in ``attrs["variant_dropped"]``).
A module may name a variant to try instead, e.g. one without scratch memory
(``variant_fallback(op, graph, variant) -> str | None``; conv2d.py: ``dsp`` -> ``dsp_noscratch``);
without one, or once the op has tried it, the op takes the portable kernel.

With ``--sparse auto`` (options.sparse) a module's ``sparse_variant(op, graph, features)`` is asked
first: a variant that stores and multiplies only the weights' non-zero blocks, where the layer's
weights are sparse enough that it saves both bytes and instructions (fully_connected.py)."""

from __future__ import annotations

import dataclasses

from edgeneuro import ops
from edgeneuro.ir import Graph
from edgeneuro.options import CompileOptions
from edgeneuro.plan import plan_memory


def _chooser(kind: str):
    module = ops.MODULES.get(kind)
    return getattr(module, "variant", None) if module is not None else None


def _sparse_chooser(kind: str):
    module = ops.MODULES.get(kind)
    return getattr(module, "sparse_variant", None) if module is not None else None


def _fallback(kind: str):
    module = ops.MODULES.get(kind)
    return getattr(module, "variant_fallback", None) if module is not None else None


def applies(graph: Graph, options: CompileOptions) -> bool:
    return options.kernels == "auto" and bool(options.features) and any(_chooser(op.kind) for op in graph.ops)


def run(graph: Graph, options: CompileOptions) -> Graph:
    """Each layer's fastest kernel for the core's features (--kernels auto), unless its scratch
    memory would grow the arena. The portable kernels are the spec; a variant computes the same bits."""
    chosen = []
    for op in graph.ops:
        choose, sparse = _chooser(op.kind), _sparse_chooser(op.kind)
        variant = sparse(op, graph, options.features) if sparse and options.sparse == "auto" else None
        variant = variant or (choose(op, graph, options.features) if choose else None)
        chosen.append(dataclasses.replace(op, attrs=_with(op.attrs, variant=variant)) if variant else op)
    return _within_portable_arena(graph, dataclasses.replace(graph, ops=tuple(chosen)))


def _with(attrs: dict, **more) -> dict:
    """``attrs`` with ``more`` set, of the same class (a TFLite operator's options name their file
    and operator when a field is missing: frontends/tflite.py ``Options``)."""
    out = attrs.copy()
    out.update(more)
    return out


def _plan(graph: Graph):
    kernels = [ops.lower(op, graph) for op in graph.ops]
    return kernels, plan_memory(graph, kernels)


def _within_portable_arena(portable: Graph, graph: Graph) -> Graph:
    _, limit = _plan(portable)
    tried: dict[int, set[str]] = {}  # step -> the variants given up there
    while True:
        kernels, plan = _plan(graph)
        if plan.arena_bytes <= limit.arena_bytes:
            return graph
        peak = _peak_steps(plan)
        candidates = [(k.scratch, s) for s, k in enumerate(kernels) if k.scratch and graph.ops[s].attrs.get("variant")]
        at_peak = [c for c in candidates if c[1] in peak] or candidates
        if not at_peak:
            return graph
        _, step = max(at_peak)
        op = graph.ops[step]
        why = (f"its {kernels[step].scratch:,} B of scratch would grow the arena from {limit.arena_bytes:,} to "
               f"{plan.arena_bytes:,} B")  # fmt: skip
        attrs = {a: v for a, v in op.attrs.items() if a != "variant"}
        record = {"variant": op.attrs["variant"], "why": why}
        if "variant_dropped" in op.attrs:  # a fallback dropped in turn
            record["earlier"] = op.attrs["variant_dropped"]
        tried.setdefault(step, set()).add(op.attrs["variant"])
        fallback = _fallback(op.kind)
        instead = fallback(op, graph, op.attrs["variant"]) if fallback else None
        if instead is not None and instead not in tried[step]:
            attrs["variant"] = record["instead"] = instead
        attrs["variant_dropped"] = record
        ops_ = list(graph.ops)
        ops_[step] = dataclasses.replace(op, attrs=attrs)
        graph = dataclasses.replace(graph, ops=tuple(ops_))


def _peak_steps(plan) -> set[int]:
    """The steps at which the buffers alive end highest in the arena."""
    top: dict[int, int] = {}
    for b in plan.buffers:
        for step in range(b.first, b.last + 1):
            top[step] = max(top.get(step, 0), b.offset + b.nbytes)
    high = max(top.values(), default=0)
    return {s for s, t in top.items() if t == high}
