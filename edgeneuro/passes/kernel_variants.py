"""Kernel variants (``--kernels``): each operator whose module offers a faster kernel for the target
core's features (``dsp``: Armv7E-M SIMD32 on Cortex-M4/M7/M33/M55; ``mve``: Helium on the M55) gets
it where its shapes allow. The op module decides (``variant(op, graph, features)``, edgeneuro/ops/
__init__.py) and its ``lower`` reads the choice from ``op.attrs["variant"]``: the variant's C
function, its constants laid out for it at compile time (weights interleaved, zero-point terms
folded into the bias) and its scratch memory in the arena. The portable kernel stays the spec:
every variant computes the same bits (tests/test_kernel_variants.py)."""

from __future__ import annotations

import dataclasses

from edgeneuro import ops
from edgeneuro.ir import Graph
from edgeneuro.options import CompileOptions


def _chooser(kind: str):
    module = ops.MODULES.get(kind)
    return getattr(module, "variant", None) if module is not None else None


def applies(graph: Graph, options: CompileOptions) -> bool:
    return options.kernels == "auto" and bool(options.features) and any(_chooser(op.kind) for op in graph.ops)


def run(graph: Graph, options: CompileOptions) -> Graph:
    """Each layer's fastest kernel for the core's features (--kernels auto). The portable kernels are
    the spec; a variant computes the same bits."""
    chosen = []
    for op in graph.ops:
        choose = _chooser(op.kind)
        variant = choose(op, graph, options.features) if choose else None
        chosen.append(dataclasses.replace(op, attrs={**op.attrs, "variant": variant}) if variant else op)
    return dataclasses.replace(graph, ops=tuple(chosen))
