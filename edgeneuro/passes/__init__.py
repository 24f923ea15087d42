"""Graph -> Graph passes: every rewrite between the front end and the kernels, each a pure function
``run(graph, options) -> Graph`` of the graph and the compile options (edgeneuro/options.py) in a
module of its own, with ``applies(graph, options)`` saying whether the graph needs it.

``PIPELINE`` is the order ``compiler.prepare`` runs them in, checking the IR after each
(``ir.verify``); ``edgeneuro compile --debug`` and ``edgeneuro inspect --passes`` print what ran."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edgeneuro.ir import Graph
from edgeneuro.options import CompileOptions
from edgeneuro.passes import encoder, fold, kernel_variants, nir_fixed_point, subgraphs, synapse_kernels


@dataclass(frozen=True)
class Pass:
    name: str
    run: Callable[[Graph, CompileOptions], Graph]
    applies: Callable[[Graph, CompileOptions], bool]

    @property
    def doc(self) -> str:
        """The first sentence of what the pass does (its ``run``'s docstring)."""
        return " ".join((self.run.__doc__ or "").split()).split(". ")[0].rstrip(".")


def _always(graph: Graph, options: CompileOptions) -> bool:
    return True


PIPELINE: tuple[Pass, ...] = (
    Pass("inline-subgraphs", subgraphs.run, subgraphs.applies),
    Pass("nir-fixed-point", nir_fixed_point.run, nir_fixed_point.applies),
    Pass("insert-encoder", encoder.run, encoder.applies),
    Pass("fold-constants", fold.run, _always),
    Pass("choose-synapse-kernels", synapse_kernels.run, synapse_kernels.applies),
    Pass("choose-kernel-variants", kernel_variants.run, kernel_variants.applies),
)
