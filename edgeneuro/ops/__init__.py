"""One module per operator: shape rules, compile-time parameters (``lower``) and the numpy
reference (``reference``), which is the spec the generated C and TFLite are tested against.

Every module in this package except ``base`` is an operator module and is found by itself: it
defines ``KINDS`` (the operator names it handles), ``MAX_VERSION`` (per kind, the newest TFLite
operator version whose semantics it implements), ``C_FILE`` (its kernel in firmware/kernels/,
``<C_FILE>.c`` and ``<C_FILE>.h``; None for views), ``lower`` and ``reference``. Adding an
operator means adding a module here and its C twin there, nothing else."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, unsupported


def _discover() -> dict[str, ModuleType]:
    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for kind in module.KINDS:
            assert kind not in found, f"{kind} is claimed by {found[kind].__name__} and {module.__name__}"
            found[kind] = module
    return found


MODULES: dict[str, ModuleType] = _discover()
SUPPORTED = tuple(sorted(MODULES))


def lower(op: Op, graph: Graph) -> Kernel:
    module = MODULES.get(op.kind)
    if module is None:
        raise unsupported(graph, op, f"edgeneuro compiles {', '.join(SUPPORTED)}")
    newest = getattr(module, "MAX_VERSION", {}).get(op.kind)
    version = op.attrs.get("version", 1)
    if newest is not None and version > newest:
        raise unsupported(
            graph,
            op,
            f"version {version} is newer than edgeneuro knows (1 to {newest}); convert with an older converter",
        )
    return module.lower(op, graph)


def reference(kernel: Kernel, *arrays):
    return MODULES[kernel.op.kind].reference(kernel, *arrays)


def c_header(kernel: Kernel) -> str | None:
    c_file = MODULES[kernel.op.kind].C_FILE
    return f"{c_file}.h" if c_file else None


__all__ = ["Kernel", "MODULES", "SUPPORTED", "c_header", "lower", "reference"]
