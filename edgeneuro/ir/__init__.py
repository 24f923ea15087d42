"""The project's own intermediate representation: tensors, operators, graphs, and their rules."""

from edgeneuro.ir.graph import Graph, Op, QuantParams, Tensor
from edgeneuro.ir.verify import verify

__all__ = ["Graph", "Op", "QuantParams", "Tensor", "verify"]
