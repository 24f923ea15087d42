"""``--encode``: a spike encoder (edgeneuro/ops/encode.py) at the input of a fixed-point NIR graph."""

from __future__ import annotations

import dataclasses

from edgeneuro.data.encode import Encoder
from edgeneuro.errors import ModelError
from edgeneuro.ir import Graph, Op, QuantParams, Tensor
from edgeneuro.ops.encode import raw_samples
from edgeneuro.options import CompileOptions


def applies(graph: Graph, options: CompileOptions) -> bool:
    return options.encode is not None


def run(graph: Graph, options: CompileOptions) -> Graph:
    """A spike encoder at the input (--encode): the graph takes int16 EEG samples per time step."""
    return insert(graph, options.encoder, options.calibration)


def insert(graph: Graph, encoder: Encoder, calibration=None) -> Graph:
    """``graph`` (from the NIR front end, float32 input quantized to int8) with ``encoder`` at its
    input: the graph takes int16 samples ``[1, channels]`` per step. The NIR input's size must be
    ``2 * channels`` (delta) or ``channels`` (rate). ``calibration`` (``--calibrate``), if given, is
    checked as raw samples (``raw_samples``); it sets nothing here (the input scale of the spikes
    is fixed), edgeneuro/passes/synapse_kernels.py measures spike rates on it."""
    src = graph.source
    (raw,) = graph.inputs
    quantize = [op for op in graph.ops if op.kind == "QUANTIZE" and op.inputs == (raw,)]
    if len(quantize) != 1:
        raise ModelError(f"{src}: --encode needs a NIR graph whose input is quantized once (found {len(quantize)})")
    (q_op,) = quantize
    spikes = graph.t(q_op.outputs[0])
    node = q_op.attrs.get("node", spikes.name)
    size, per = spikes.size, encoder.per_channel
    shape = list(spikes.shape[1:])
    what = {"delta": "delta modulation gives 2 spike channels (up, down) per EEG channel",
            "rate": "rate coding gives 1 spike channel per EEG channel"}[encoder.rule]  # fmt: skip
    if encoder.channels is not None and encoder.channels * per != size:
        raise ModelError(f"{src}: --encode {encoder.spec()} gives {per} x {encoder.channels} = "
                         f"{per * encoder.channels} spike channels but the NIR Input node '{node}' takes {size} "
                         f"values (shape {shape}); {what}")  # fmt: skip
    if size % per:
        raise ModelError(f"{src}: the NIR Input node '{node}' takes {size} values (shape {shape}), an odd number: "
                         f"{what}, so it must take 2 x channels")  # fmt: skip
    channels = size // per
    if calibration is not None:
        raw_samples(calibration, channels, f"{src} (--encode {encoder.spec()}, {channels} channels)", encoder.scale)
    quant = QuantParams((float(encoder.scale),), (0,)) if encoder.scale else None
    name = f"{node}:samples"
    tensors = {k: v for k, v in graph.tensors.items() if k != raw}
    tensors[name] = Tensor(name, (1, channels), "int16", quant)
    attrs = {"node": node, "rule": encoder.rule, "value": encoder.value}
    enc = Op("ENCODE", (name,), q_op.outputs, attrs, q_op.index)
    return dataclasses.replace(
        graph, tensors=tensors, ops=tuple(enc if op is q_op else op for op in graph.ops), inputs=(name,)
    )
