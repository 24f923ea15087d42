"""One module per operator: shape rules, compile-time parameters (``lower``) and the numpy
reference (``reference``), which is the spec the generated C and TFLite are tested against.

Every module in this package except ``base`` is an operator module and is found by itself: it
defines ``KINDS`` (the operator names it handles), ``MAX_VERSION`` (per kind, the newest TFLite
operator version whose semantics it implements), ``C_FILE`` (its kernel in firmware/kernels/,
``<C_FILE>.c`` and ``<C_FILE>.h``; None for views), ``lower`` and ``reference``. Adding an
operator means adding a module here and its C twin there, nothing else.

Kernel variants. A module may also define ``variant(op, graph, features) -> str | None``: the name
of a faster kernel for a core with ``features`` (``dsp``, ``mve``) when the op's shapes suit it, or
None. The pass edgeneuro/passes/kernel_variants.py stores the choice in ``op.attrs["variant"]``;
``lower`` then returns that kernel (its C function in ``<C_FILE>_<variant>.c``, named by
``Kernel.c_file``) with constants laid out for it, and ``reference`` computes it from those
constants. The portable kernel stays the spec: each variant must give the same bits. An optional
``variant_fallback(op, graph, variant) -> str | None`` names the variant to try when the chosen
one's scratch memory would grow the arena (e.g. a form that reads its input in place).

Traits. What the passes need to know about a kind beyond lowering it is an attribute of its module,
queried with ``trait(kind, NAME)`` and ``kinds_with(NAME)``, never a list of kind names kept elsewhere.
The attribute is either one value for all the module's kinds (e.g. ``VIEW = True``), or a dict keyed
by kind (kinds it leaves out have no value), or a set / frozenset of the kinds that have it (``True``
for those). The known traits (``TRAITS``):

* ``SPIKES``: the int8 output holds only 0 or one spike value (spiking neurons, Threshold, ENCODE).
* ``VIEW``: the output aliases the input's bytes, no code runs (the kernel's ``fn`` is None).
* ``COUNTS``: an int8 output is the exact window sum of the input, so a pool of spikes (spike
  counts) stays as sparse as the spikes (NIR SumPool2d, AvgPool2d).
* ``EVENT_VARIANT``: dense kind -> its event-driven kind (edgeneuro/ops/synapse_event.py), which
  computes the same output visiting only the non-zero inputs.
* ``BREAK_EVEN``: the input spike rate below which the event-driven variant takes fewer
  instructions per time step (edgeneuro/passes/synapse_kernels.py; measured by
  bench/snn_event_breakeven.py, see edgeneuro/ops/synapse.py).
* ``SHAPE_ONLY``: the output depends on the input's shape only, never its values (SHAPE): the
  fold-constants pass computes it at compile time even when the input is an activation."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.quant import QuantRangeError
from edgeneuro.ops.base import Kernel, check_zero_points, scales_note, unsupported

TRAITS = ("SPIKES", "VIEW", "COUNTS", "EVENT_VARIANT", "BREAK_EVEN", "SHAPE_ONLY")


def _discover() -> dict[str, ModuleType]:
    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for kind in module.KINDS:
            assert kind not in found, f"{kind} is claimed by {found[kind].__name__} and {module.__name__}"
            found[kind] = module
        for name in TRAITS:  # a per-kind trait names only the module's own kinds
            value = getattr(module, name, None)
            if isinstance(value, (Mapping, set, frozenset)):
                stray = set(value) - set(module.KINDS)
                assert not stray, f"{module.__name__}.{name} names {sorted(stray)}, not in its KINDS"
    return found


MODULES: dict[str, ModuleType] = _discover()
# Control flow and resource variables that the ``inline-subgraphs`` pass (edgeneuro/passes/subgraphs.py)
# turns into the graph's own operators and state: supported, with no kernel of their own
INLINED = ("CALL_ONCE", "IF", "VAR_HANDLE", "WHILE")
SUPPORTED = tuple(sorted((*MODULES, *INLINED)))


def trait(kind: str, name: str, default: Any = None) -> Any:
    """The trait ``name`` (see ``TRAITS``) of the operator ``kind``: its module's attribute ``name``,
    looked up by kind when it is a dict or a set; ``default`` when the module or the kind has none."""
    module = MODULES.get(kind)
    if module is None or not hasattr(module, name):
        return default
    value = getattr(module, name)
    if isinstance(value, Mapping):
        return value.get(kind, default)
    if isinstance(value, (set, frozenset)):
        return True if kind in value else default
    return value


def kinds_with(name: str) -> tuple[str, ...]:
    """The kinds whose trait ``name`` is truthy, sorted."""
    return tuple(kind for kind in SUPPORTED if trait(kind, name))


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
    check_zero_points(graph, op)
    try:
        return module.lower(op, graph)
    except QuantRangeError as e:  # a multiplier the kernels cannot apply: name the op and its scales
        raise unsupported(graph, op, f"{e} ({scales_note(graph, op)})") from e


def reference(kernel: Kernel, *arrays):
    return MODULES[kernel.op.kind].reference(kernel, *arrays)


def c_header(kernel: Kernel) -> str | None:
    c_file = kernel.c_file or MODULES[kernel.op.kind].C_FILE
    return f"{c_file}.h" if c_file else None


__all__ = ["INLINED", "Kernel", "MODULES", "SUPPORTED", "TRAITS", "c_header", "kinds_with", "lower", "reference",
           "trait"]  # fmt: skip
