"""The project's own intermediate representation: tensors, operators, graphs."""

from edgeneuro.ir.graph import Graph, Op, QuantParams, Tensor

__all__ = ["Graph", "Op", "QuantParams", "Tensor"]
