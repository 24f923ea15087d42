"""One module per operator: shape rules, compile-time parameters (``lower``) and the numpy
reference (``reference``), which is the spec the generated C and TFLite are tested against."""

from __future__ import annotations

from types import ModuleType

from edgeneuro.ir import Graph, Op
from edgeneuro.ops import conv2d, fully_connected, mean, pool, reshape, softmax
from edgeneuro.ops.base import Kernel, unsupported

MODULES: dict[str, ModuleType] = {
    kind: m for m in (conv2d, fully_connected, pool, mean, reshape, softmax) for kind in m.KINDS
}
SUPPORTED = tuple(sorted(MODULES))


def lower(op: Op, graph: Graph) -> Kernel:
    module = MODULES.get(op.kind)
    if module is None:
        raise unsupported(graph, op, f"edgeneuro compiles {', '.join(SUPPORTED)}")
    return module.lower(op, graph)


def reference(kernel: Kernel, *arrays):
    return MODULES[kernel.op.kind].reference(kernel, *arrays)


__all__ = ["Kernel", "MODULES", "SUPPORTED", "lower", "reference"]
