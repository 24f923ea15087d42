"""Run a lowered graph with the numpy reference kernels: the spec every other backend must equal."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgeneuro import ops, progress
from edgeneuro.errors import ModelError
from edgeneuro.ir import Graph
from edgeneuro.ops import Kernel
from edgeneuro.plan import state_buffer


def reset_state(graph: Graph, kernels: Sequence[Kernel]) -> dict[str, np.ndarray]:
    """The persistent memory of a temporal graph after ``en_model_reset()``: its state tensors and
    each kernel's state (uint8 bytes, by the plan's name), all zero."""
    memory = {n: np.zeros(graph.t(n).shape, np.dtype(graph.t(n).dtype)) for n in graph.state}
    memory.update({state_buffer(s): np.zeros(k.state, np.uint8) for s, k in enumerate(kernels) if k.state})
    return memory


def run(
    graph: Graph,
    kernels: Sequence[Kernel],
    inputs: Sequence[np.ndarray],
    memory: dict[str, np.ndarray] | None = None,
) -> list[np.ndarray]:
    """One inference (of a temporal graph: one time step). ``inputs`` are arrays of the graph
    inputs' full shapes (batch included); ``memory`` (``reset_state``) is the persistent state,
    updated in place."""
    memory = reset_state(graph, kernels) if memory is None else memory
    values: dict[str, np.ndarray] = {n: t.data for n, t in graph.tensors.items() if t.is_const}
    values.update({n: memory[n] for n in graph.state})  # the previous step's values
    for name, arr in zip(graph.inputs, inputs, strict=True):
        t = graph.t(name)
        values[name] = np.asarray(arr).reshape(t.shape)
    for s, k in enumerate(kernels):
        args = [values[n] for n in k.inputs] + [a for _, a in k.consts]
        if k.state:
            args.append(memory[state_buffer(s)])
        out = ops.reference(k, *args)
        outs = out if len(k.outputs) > 1 else (out,)  # a kernel with several outputs returns one array each
        for i, (name, o) in enumerate(zip(k.outputs, outs, strict=True)):
            y, o = graph.t(name), np.asarray(o)
            if o.size != y.size:  # compiler.check_output_sizes relies on this
                raise ModelError(
                    f"{graph.source}: operator {k.op.label()} declares output {i} '{name}' of shape "
                    f"{list(y.shape)} ({y.size} values) but computes {o.size} values {list(o.shape)} from its "
                    "inputs' shapes and options"
                )
            values[name] = o.reshape(y.shape)
            if name in memory:
                memory[name] = values[name]
    return [values[n] for n in graph.outputs]


def split_sample(sample: np.ndarray, graph: Graph) -> list[np.ndarray]:
    """One sample (or time step) as the list of the graph inputs' arrays: a model with several
    inputs takes records with one field per input (runner.input_records)."""
    if sample.dtype.names is None:
        return [sample]
    return [np.asarray(sample[n]) for n in graph.inputs]


def run_steps(graph: Graph, kernels: Sequence[Kernel], steps: np.ndarray) -> list[np.ndarray]:
    """A temporal graph over one sample [T, *input sample_shape] from the reset state: per output,
    [T, *output sample_shape]."""
    memory = reset_state(graph, kernels)
    ys = [run(graph, kernels, split_sample(x, graph), memory) for x in steps]
    return [
        np.stack([y[i].reshape(graph.t(n).sample_shape) for y in ys]) if ys else np.zeros((0,))
        for i, n in enumerate(graph.outputs)
    ]


def run_batch(graph: Graph, kernels: Sequence[Kernel], samples: np.ndarray) -> np.ndarray:
    """Run N samples shaped [N, *input sample_shape] ([N, T, *input sample_shape] for a temporal
    graph, each sample from the reset state); returns [N, *output sample_shape] ([N, T, ...])."""
    y = graph.t(graph.outputs[0])
    out = []
    with progress.bar("reference kernels (host)", len(samples), "samples") as bar:
        for s in samples:
            if graph.temporal:
                out.append(run_steps(graph, kernels, s)[0])
            else:
                out.append(run(graph, kernels, split_sample(s, graph))[0].reshape(y.sample_shape))
            bar.update(1)
    return np.stack(out)


def run_sequence(
    graph: Graph, kernels: Sequence[Kernel], samples: np.ndarray, feedback: Sequence[tuple[int, int, int]] = ()
) -> dict[str, np.ndarray]:
    """N samples (records for several inputs) run one after the other, each output [N, *sample
    shape] by name; ``feedback`` (output index, input index, bytes: runner.parse_feedback) gives
    sample i > 0 the previous sample's output for that input, as the harness does."""
    ys: list[list[np.ndarray]] = []
    for s in samples:
        xs = split_sample(s, graph)
        if ys:
            for o, i, _ in feedback:
                xs[i] = ys[-1][o]
        ys.append(run(graph, kernels, xs))
    return {n: np.stack([y[j].reshape(graph.t(n).sample_shape) for y in ys]) for j, n in enumerate(graph.outputs)}
