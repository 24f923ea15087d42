"""Static memory plan: every activation tensor gets an offset in one arena, decided from tensor
lifetimes at compile time (greedy by size, first fit among lifetime conflicts). View operators
(reshape and friends) share their input's bytes; a kernel's scratch memory is a buffer alive only
during its own step, named ``scratch_buffer(step)``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgeneuro.ir import Graph
from edgeneuro.ops import Kernel

ALIGN = 8


def scratch_buffer(step: int) -> str:
    """The plan's name for the working memory of the kernel at ``step``."""
    return f"scratch:{step}"


def state_buffer(step: int) -> str:
    """The plan's name for the persistent state of the kernel at ``step`` (outside the arena)."""
    return f"state:{step}"


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


@dataclass(frozen=True)
class Buffer:
    id: int
    nbytes: int
    first: int  # step that writes it (-1: a graph input, written before the first step)
    last: int  # last step that reads it (len(steps): a graph output, read after the last)
    offset: int
    tensors: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    arena_bytes: int
    lower_bound_bytes: int
    weights_bytes: int
    buffers: tuple[Buffer, ...]
    offsets: dict[str, int] = field(repr=False)
    layers: tuple[dict[str, Any], ...] = field(repr=False)
    # Persistent state (a temporal graph's state tensors, then kernels' state), outside the arena:
    # it survives between invocations and en_model_reset() zeroes it.
    state_bytes: int = 0
    state_offsets: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def total_macs(self) -> int:
        return sum(layer["macs"] for layer in self.layers)

    def to_json(self) -> dict[str, Any]:
        return {
            "arena_bytes": self.arena_bytes,
            "arena_lower_bound_bytes": self.lower_bound_bytes,
            "weights_bytes": self.weights_bytes,
            "total_macs": self.total_macs,
            "state_bytes": self.state_bytes,
            "state": [{"offset": o, "name": n} for n, o in self.state_offsets.items()],
            "layers": list(self.layers),
            "buffers": [
                {"offset": b.offset, "bytes": b.nbytes, "live": [b.first, b.last], "tensors": list(b.tensors)}
                for b in self.buffers
            ],
        }


def _first_fit(
    order: list[str], sizes: dict[str, int], first: dict[str, int], last: dict[str, int]
) -> tuple[dict[str, int], int]:
    """Place buffers in ``order``, each at the lowest aligned offset that overlaps no placed
    buffer alive at the same time. Returns offsets and the arena size."""
    placed: list[tuple[int, int, int, int]] = []  # (offset, end, first, last)
    offsets: dict[str, int] = {}
    for r in order:
        conflicts = sorted((o, e) for o, e, f, l in placed if not (l < first[r] or last[r] < f))
        offset = 0
        for o, e in conflicts:
            if offset + sizes[r] <= o:
                break
            offset = max(offset, _align(e))
        offsets[r] = offset
        placed.append((offset, offset + sizes[r], first[r], last[r]))
    return offsets, _align(max((e for _, e, _, _ in placed), default=0))


def const_operands(graph: Graph, kernels: list[Kernel]) -> list[str]:
    """Constant tensors that kernels take as operands (not as weights), each once."""
    return list(dict.fromkeys(n for k in kernels for n in k.inputs if graph.t(n).is_const))


def const_copies(kernels: list[Kernel]) -> dict[tuple[int, str], tuple[int, str]]:
    """Layer constants equal to an earlier layer's, byte for byte and of one type: (step, name) ->
    the (step, name) of the first. They are stored once (an unrolled loop's steps share their
    packed weights)."""
    first: dict[tuple[str, int, bytes], tuple[int, str]] = {}
    copies = {}
    for s, k in enumerate(kernels):
        for name, a in k.consts:
            key = (str(a.dtype), int(a.size), a.tobytes())
            if key in first:
                copies[(s, name)] = first[key]
            else:
                first[key] = (s, name)
    return copies


def _const_bytes(s: int, k: Kernel, copies: dict[tuple[int, str], tuple[int, str]]) -> int:
    return sum(int(a.nbytes) for n, a in k.consts if (s, n) not in copies)


def plan_memory(graph: Graph, kernels: list[Kernel]) -> Plan:
    # Union views with their inputs: one buffer per group of aliasing tensors.
    root: dict[str, str] = {}

    def find(n: str) -> str:
        while root.get(n, n) != n:
            n = root[n]
        return n

    for k in kernels:
        if k.fn is None:
            root[k.outputs[0]] = find(k.inputs[0])

    steps = len(kernels)
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    members: dict[str, list[str]] = {}

    persistent = set(graph.state)  # planned outside the arena, below

    def touch(name: str, step: int) -> None:
        if name in persistent:
            return
        r = find(name)
        first[r] = min(first.get(r, step), step)
        last[r] = max(last.get(r, step), step)
        if name not in members.setdefault(r, []):
            members[r].append(name)

    for n in graph.inputs:
        touch(n, -1)
    for s, k in enumerate(kernels):
        for n in k.inputs:
            if not graph.t(n).is_const:  # constant operands live in flash, not in the arena
                touch(n, s)
        for n in k.outputs:
            touch(n, s)
    for n in graph.outputs:
        touch(n, steps)
    scratch = {scratch_buffer(s): k.scratch for s, k in enumerate(kernels) if k.scratch}
    for s, k in enumerate(kernels):
        if k.scratch:
            touch(scratch_buffer(s), s)

    # In place: an element-wise kernel may write its output over an input read for the last time.
    for s, k in enumerate(kernels):
        for i in k.inplace:
            name, out = k.inputs[i], k.outputs[0]
            if graph.t(name).is_const or name in persistent or out in persistent:
                continue
            r_in, r_out = find(name), find(out)
            if r_in != r_out and last[r_in] == s and first[r_out] == s and graph.t(name).nbytes == graph.t(out).nbytes:
                root[r_out] = r_in
                last[r_in] = last.pop(r_out)
                first.pop(r_out)
                members[r_in] += members.pop(r_out)
                break

    sizes = {r: max(scratch[m] if m in scratch else graph.t(m).nbytes for m in ms) for r, ms in members.items()}
    orders = (  # packing heuristics; the smallest arena wins
        sorted(members, key=lambda r: (-sizes[r], first[r])),
        sorted(members, key=lambda r: (-(last[r] - first[r]), -sizes[r])),
        sorted(members, key=lambda r: (-sizes[r] * (last[r] - first[r] + 1), first[r])),
        sorted(members, key=lambda r: (first[r], -sizes[r])),
    )
    offsets_by_root, arena = min((_first_fit(order, sizes, first, last) for order in orders), key=lambda p: p[1])
    lower = max(
        (sum(sizes[r] for r in members if first[r] <= s <= last[r]) for s in range(-1, steps + 1)),
        default=0,
    )
    buffers = tuple(
        Buffer(
            id=i, nbytes=sizes[r], first=first[r], last=last[r], offset=offsets_by_root[r], tensors=tuple(members[r])
        )
        for i, r in enumerate(sorted(members, key=lambda r: offsets_by_root[r]))
    )
    offsets = {m: offsets_by_root[r] for r, ms in members.items() for m in ms}
    copies = const_copies(kernels)
    first_use: dict[int, list[str]] = {}  # constant operands, counted at the first layer that reads them
    for n in const_operands(graph, kernels):
        first_use.setdefault(next(s for s, k in enumerate(kernels) if n in k.inputs), []).append(n)
    layers = tuple(
        {
            "step": s,
            "op": k.op.kind,
            "source_index": k.op.index,
            "kernel": k.fn or "view",
            "input_shapes": [list(graph.t(n).shape) for n in k.inputs],
            "output_shape": list(graph.t(k.outputs[0]).shape),
            **({"output_shapes": [list(graph.t(n).shape) for n in k.outputs]} if len(k.outputs) > 1 else {}),
            "macs": k.macs,
            "weights_bytes": _const_bytes(s, k, copies) + sum(graph.t(n).nbytes for n in first_use.get(s, ())),
            # a spiking network's synapse: dense or event-driven, and why (edgeneuro/passes/synapse_kernels.py)
            **({"kernel_choice": k.op.attrs["kernel_choice"]} if "kernel_choice" in k.op.attrs else {}),
            **({"variant_dropped": k.op.attrs["variant_dropped"]} if "variant_dropped" in k.op.attrs else {}),
        }
        for s, k in enumerate(kernels)
    )
    state_offsets: dict[str, int] = {}
    state_end = 0
    for name, nbytes in [(n, graph.t(n).nbytes) for n in graph.state] + [
        (state_buffer(s), k.state) for s, k in enumerate(kernels) if k.state
    ]:
        state_offsets[name] = state_end
        state_end = _align(state_end + nbytes)
    return Plan(
        state_bytes=state_end,
        state_offsets=state_offsets,
        arena_bytes=arena,
        lower_bound_bytes=lower,
        weights_bytes=sum(_const_bytes(s, k, copies) for s, k in enumerate(kernels))
        + sum(graph.t(n).nbytes for n in const_operands(graph, kernels)),
        buffers=buffers,
        offsets=offsets,
        layers=layers,
    )
