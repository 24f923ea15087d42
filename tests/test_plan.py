"""The memory planner: tensors live at the same time never share bytes, views share their input's
bytes, the arena is at least the lower bound, and offsets are aligned."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeneuro.ir import Graph, Op, Tensor
from edgeneuro.ops import Kernel
from edgeneuro.plan import ALIGN, plan_memory


@st.composite
def dags(draw):
    """Random straight-line programs: each step reads one or two earlier tensors and writes a new
    one; some steps are views (reshape) of their input."""
    n = draw(st.integers(1, 14))
    tensors = {"in": Tensor("in", (draw(st.integers(1, 300)),), "int8")}
    names = ["in"]
    kernels = []
    for s in range(n):
        view = draw(st.booleans()) and s > 0
        reads = [draw(st.sampled_from(names))]
        if not view and draw(st.booleans()):
            reads.append(draw(st.sampled_from(names)))
        out = f"t{s}"
        elementwise = not view and draw(st.booleans())
        same = view or elementwise
        size = tensors[reads[0]].shape[0] if same else draw(st.integers(1, 300))
        tensors[out] = Tensor(out, (size,), "int8")
        op = Op("RESHAPE" if view else "ADD", tuple(reads), (out,), {}, s)
        inplace = (0,) if elementwise else ()
        kernels.append(Kernel(op=op, fn=None if view else "k", inputs=tuple(reads), outputs=(out,), inplace=inplace))
        names.append(out)
    outputs = (names[-1],)
    g = Graph("g", "test", tensors, tuple(k.op for k in kernels), ("in",), outputs)
    return g, kernels


@given(dags())
@settings(max_examples=200)
def test_plan_is_sound(case):
    g, kernels = case
    plan = plan_memory(g, kernels)
    for b in plan.buffers:
        assert b.offset % ALIGN == 0
        assert b.offset + b.nbytes <= plan.arena_bytes
    for i, a in enumerate(plan.buffers):
        for b in plan.buffers[i + 1 :]:
            live_together = not (a.last < b.first or b.last < a.first)
            disjoint = a.offset + a.nbytes <= b.offset or b.offset + b.nbytes <= a.offset
            assert disjoint or not live_together, (a, b)
    for k in kernels:
        if k.fn is None:
            assert plan.offsets[k.outputs[0]] == plan.offsets[k.inputs[0]]
    assert plan.lower_bound_bytes <= plan.arena_bytes
    simulate(g, kernels, plan)
    # never worse than giving every buffer its own aligned slot (in-place merges only shrink it)
    assert plan.arena_bytes <= sum(b.nbytes for b in plan.buffers) + ALIGN * len(plan.buffers)


def simulate(g: Graph, kernels: list[Kernel], plan) -> None:
    """Run the program over the arena, tracking which tensor's value each byte holds: every read
    must find its tensor intact (an in-place kernel reads before it writes)."""
    holder = np.full(plan.arena_bytes, "", dtype=object)

    def span(name: str) -> slice:
        return slice(plan.offsets[name], plan.offsets[name] + g.t(name).nbytes)

    value_of = {}  # a view's value is its source's value

    def source(name: str) -> str:
        while name in value_of:
            name = value_of[name]
        return name

    for n in g.inputs:
        holder[span(n)] = n
    for k in kernels:
        for n in k.inputs:
            assert (holder[span(n)] == source(n)).all(), f"{n} was overwritten before step {k.op.index} read it"
        if k.fn is None:
            value_of[k.outputs[0]] = k.inputs[0]
        else:
            holder[span(k.outputs[0])] = k.outputs[0]
    for n in g.outputs:
        assert (holder[span(n)] == source(n)).all()


def test_chain_reuses_memory():
    """In a chain a -> b -> c -> d, a and c (and b and d) can share: two buffers suffice."""
    sizes = {"a": 100, "b": 60, "c": 100, "d": 60}
    tensors = {n: Tensor(n, (s,), "int8") for n, s in sizes.items()}
    kernels = [
        Kernel(op=Op("FULLY_CONNECTED", (i,), (o,), {}, s), fn="k", inputs=(i,), outputs=(o,))
        for s, (i, o) in enumerate([("a", "b"), ("b", "c"), ("c", "d")])
    ]
    g = Graph("g", "test", tensors, tuple(k.op for k in kernels), ("a",), ("d",))
    plan = plan_memory(g, kernels)
    assert plan.lower_bound_bytes == 160
    assert plan.offsets["a"] == plan.offsets["c"] == 0
    assert plan.offsets["b"] == plan.offsets["d"] == 104  # 100 rounded up to the 8-byte alignment
    assert plan.arena_bytes == 168
