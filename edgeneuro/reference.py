"""Run a lowered graph with the numpy reference kernels: the spec every other backend must equal."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgeneuro import ops
from edgeneuro.ir import Graph
from edgeneuro.ops import Kernel


def run(graph: Graph, kernels: Sequence[Kernel], inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """One inference. ``inputs`` are arrays of the graph inputs' full shapes (batch included)."""
    values: dict[str, np.ndarray] = {n: t.data for n, t in graph.tensors.items() if t.is_const}
    for name, arr in zip(graph.inputs, inputs, strict=True):
        t = graph.t(name)
        values[name] = np.asarray(arr).reshape(t.shape)
    for k in kernels:
        args = [values[n] for n in k.inputs] + [a for _, a in k.consts]
        out = ops.reference(k, *args)
        y = graph.t(k.outputs[0])
        values[y.name] = np.asarray(out).reshape(y.shape)
    return [values[n] for n in graph.outputs]


def run_batch(graph: Graph, kernels: Sequence[Kernel], samples: np.ndarray) -> np.ndarray:
    """Run N samples shaped [N, *input sample_shape]; returns [N, *output sample_shape]."""
    y = graph.t(graph.outputs[0])
    return np.stack([run(graph, kernels, [s])[0].reshape(y.sample_shape) for s in samples])
