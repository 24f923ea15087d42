"""Dense or event-driven kernels for the synapses of a spiking network (``--synapse-kernels``).

Only a synapse whose input is a **spike train** can be event-driven (edgeneuro/ops/synapse_event.py):
the int8 output of a spiking neuron (LIF, IF, CubaLIF) or of a Threshold, through Flatten (their
values are 0 / 1), of a spike encoder (ENCODE, ``--encode``: 0 / 127), or the network's input when
every value of the calibration samples is 0 or 1 (its int8 code is then 0 or 127); and an int8
SumPool2d / AvgPool2d of one (spike counts, zero where no input spiked: the event-driven kernels
multiply each listed input by its value). Other synapses stay dense.

* ``dense``: every synapse dense.
* ``event``: every synapse with a spike-train input event-driven.
* ``auto`` (the default): with calibration samples (``--calibrate X.npy``), the fixed-point
  reference runs over them (each from the reset state; at most MAX_CALIBRATION_STEPS time steps)
  and counts, for each synapse, the fraction of its input values that are spikes (non-zero), over
  all samples and time steps; the synapse is event-driven when that rate is below the break-even
  rate of its kind (its op module's ``BREAK_EVEN`` trait, edgeneuro/ops/synapse.py). Without
  calibration samples: dense. With ``--encode`` the samples are the raw int16 samples the encoder
  takes (edgeneuro/ops/encode.py ``raw_samples``), so the rates are those of the ENCODE op's spikes
  and of everything downstream.

The choice, the reason and the measured rate go into the op's attributes (``kernel_choice``), and
from there into plan.json and ``edgeneuro inspect`` per layer.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from edgeneuro import ops, reference
from edgeneuro.ir import Graph, Op
from edgeneuro.ops.synapse_event import MAX_INPUTS
from edgeneuro.options import CompileOptions
from edgeneuro.passes.fold import fold_constants

# The categories of kinds this pass uses are traits of the op modules (edgeneuro/ops/__init__.py):
# SPIKES, VIEW, COUNTS, EVENT_VARIANT and BREAK_EVEN (its numbers and where they were measured:
# edgeneuro/ops/synapse.py).
MAX_CALIBRATION_STEPS = 20_000  # time steps of the calibration samples the rate is measured over


def spike_trains(graph: Graph, binary_input: bool) -> set[str]:
    """The int8 tensors of ``graph`` that hold spike trains (or int8 pools of them)."""
    producer = {n: op for op in graph.ops for n in op.outputs}
    views, counts, sources = ops.kinds_with("VIEW"), ops.kinds_with("COUNTS"), ops.kinds_with("SPIKES")

    def train(name: str) -> bool:
        while name in producer and producer[name].kind in views:
            name = producer[name].inputs[0]
        op = producer.get(name)
        if op is None:
            return False
        if op.kind in counts:  # int8 spike counts: as sparse as the spikes they count
            return graph.t(name).dtype == "int8" and train(op.inputs[0])
        return op.kind in sources or (binary_input and op.kind == "QUANTIZE" and op.inputs[0] in graph.inputs)

    return {name for name in graph.tensors if train(name)}


def _samples(graph: Graph, calibration: np.ndarray) -> np.ndarray:
    """Calibration samples as [samples, T, *input sample shape], at most MAX_CALIBRATION_STEPS steps,
    in the input's dtype: float32, or int16 raw samples for a graph with an encoder (``--encode``)."""
    t = graph.t(graph.inputs[0])
    shape = t.sample_shape
    if t.dtype == "int16":  # ENCODE at the input: [samples, T, channels] of integers in the int16 range
        from edgeneuro.ops.encode import raw_samples

        scale = t.quant.scale[0] if t.quant is not None else None
        c = raw_samples(calibration, t.size, f"{graph.source} (--encode, {t.size} channels)", scale)
    else:
        c = np.asarray(calibration, np.float32)
        c = c.reshape(-1, *c.shape[-len(shape) - 1 :]) if c.ndim > len(shape) else c.reshape(1, 1, *shape)
    return c[: max(1, MAX_CALIBRATION_STEPS // c.shape[1])]


def input_rates(graph: Graph, calibration: np.ndarray, tensors: list[str]) -> dict[str, float]:
    """The fraction of non-zero values of each of ``tensors``, over the calibration samples run
    through the fixed-point reference (each sample from the reset state)."""
    if not tensors:
        return {}
    g = fold_constants(graph)
    watched = dataclasses.replace(g, outputs=(*g.outputs, *tensors))
    kernels = [ops.lower(op, watched) for op in watched.ops]
    nonzero = np.zeros(len(tensors), np.int64)
    total = np.zeros(len(tensors), np.int64)
    for s in _samples(graph, calibration):
        ys = reference.run_steps(watched, kernels, s)[len(g.outputs) :]
        nonzero += [int(np.count_nonzero(y)) for y in ys]
        total += [y.size for y in ys]
    return {t: float(n / max(d, 1)) for t, n, d in zip(tensors, nonzero, total, strict=True)}


def applies(graph: Graph, options: CompileOptions) -> bool:
    return any(ops.trait(op.kind, "EVENT_VARIANT") for op in graph.ops)


def run(graph: Graph, options: CompileOptions) -> Graph:
    """Each spike-fed synapse dense or event-driven (--synapse-kernels). ``auto`` decides by the
    spike rates of the ``--calibrate`` samples."""
    return choose(graph, options.synapse_kernels, options.calibration)


def choose(graph: Graph, mode: str = "auto", calibration: np.ndarray | None = None) -> Graph:
    """``graph`` with each NIR_AFFINE / NIR_CONV1D / NIR_CONV2D made event-driven or left dense, by
    ``mode`` (edgeneuro/options.py SYNAPSE_KERNELS)."""
    binary = calibration is not None and bool(np.isin(np.asarray(calibration), (0, 1)).all())
    spikes = spike_trains(graph, binary)
    synapses = [op for op in graph.ops if ops.trait(op.kind, "EVENT_VARIANT")]
    watch = list(dict.fromkeys(op.inputs[0] for op in synapses if op.inputs[0] in spikes))
    rates = input_rates(graph, calibration, watch) if calibration is not None else {}
    return dataclasses.replace(graph, ops=tuple(_choose(op, graph, mode, spikes, rates) for op in graph.ops))


def _choose(op: Op, graph: Graph, mode: str, spikes: set[str], rates: dict[str, float]) -> Op:
    variant = ops.trait(op.kind, "EVENT_VARIANT")
    if not variant:
        return op
    x = op.inputs[0]
    rate = rates.get(x)
    limit = ops.trait(op.kind, "BREAK_EVEN")
    if x not in spikes:
        event, why = False, ("the input is not a spike train (the network's input is one only when every "
                             "calibration value is 0 or 1)")  # fmt: skip
    elif graph.t(x).size > MAX_INPUTS:
        event, why = False, f"more than {MAX_INPUTS:,} inputs"
    elif mode != "auto":
        event, why = mode == "event", f"--synapse-kernels {mode}"
    elif rate is None:
        event, why = False, "no calibration samples (--calibrate) to measure the input spike rate"
    else:
        event = rate < limit
        why = f"input spike rate {100 * rate:.2f} % {'<' if event else '>='} break-even {100 * limit:.0f} %"
    choice = {"kernel": "event" if event else "dense", "input_spike_rate": None if rate is None else round(rate, 5),
              "break_even": limit, "why": why}  # fmt: skip
    return dataclasses.replace(op, kind=variant if event else op.kind,
                               attrs={**op.attrs, "kernel_choice": choice})  # fmt: skip
