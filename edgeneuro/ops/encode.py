"""ENCODE: raw EEG samples -> spikes at a spiking network's input, one time step per call.

The rules are edgeneuro/data/encode.py's (delta modulation and sigma-delta rate coding on int16
samples, integer thresholds); this module's reference calls the same step functions. Input: int16
``[1, C]`` samples of one time step (the graph's input). Output: int8 spikes at the output's scale
``s_y``: a spike is ``round(1 / s_y)`` (127 at the NIR front end's input scale 1 / 127, i.e. 1.0),
no spike 0; delta gives ``2C`` values (UPs then DOWNs), rate ``C``. State (int32, outside the arena,
zeroed by ``en_model_reset()``): delta the references ``r[C]`` then the started flag, rate the
accumulators ``a[C]``.

The pass edgeneuro/passes/encoder.py puts the op at the input of a NIR graph: the float32 input
and its QUANTIZE are replaced by an int16 input and ENCODE, which writes the tensor the QUANTIZE
wrote. So the network with its encoder computes exactly what the network without it computes on
the host encoder's spikes given as float 0 / 1.

Calibration samples (``--calibrate X.npy`` with ``--encode``) are raw samples as the encoded network
takes them, ``[samples, T, channels]`` int16 (the layout of ``edgeneuro run --input``; integer
values of another dtype are taken too), checked by ``raw_samples``. They set no scale (the
network's input is spikes): edgeneuro/passes/synapse_kernels.py runs them through the fixed-point
reference, ENCODE included, to measure each synapse's input spike rate.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.data import encode as rules
from edgeneuro.errors import InputError
from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, unsupported

KINDS = ("ENCODE",)
C_FILE = "encode"
SPIKES = True  # trait (edgeneuro/ops/__init__.py): the int8 output is 0 or one spike value


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    rule, value = op.attrs["rule"], op.attrs["value"]
    channels = x.size
    if x.dtype != "int16" or y.dtype != "int8" or y.quant is None:
        raise unsupported(g, op, f"takes int16 samples and gives int8 spikes ({x.dtype} -> {y.dtype})")
    if rule not in rules.RULES:
        raise unsupported(g, op, f"rule {rule!r}; edgeneuro encodes with {', '.join(rules.RULES)}")
    lo, hi = rules.LIMITS[rule]
    if not lo <= int(value) <= hi:
        raise unsupported(g, op, f"{rule} value {value} outside [{lo}, {hi}]")
    per = 2 if rule == "delta" else 1
    if y.size != per * channels:
        raise unsupported(g, op, f"{rule} gives {per * channels} spikes for {channels} channels, not {y.size}")
    spike = round(1.0 / y.scale)
    if y.zero_point != 0 or not 1 <= spike <= 127 or abs(spike * y.scale - 1.0) > 1e-9:
        raise unsupported(g, op, f"a spike (1.0) is not an int8 value at the output's scale {y.scale:g}")
    name = "threshold" if rule == "delta" else "full"
    return Kernel(
        op=op,
        fn=f"en_encode_{rule}_s16",
        params={"channels": channels, name: int(value), "spike": spike},
        inputs=(x.name,),
        outputs=(y.name,),
        summary=f"{rule} {name} {value} counts, {channels} channels -> {y.size} spikes",
        state=4 * rules.state_words(rule, channels),
    )


def reference(k: Kernel, x: np.ndarray, state: np.ndarray) -> np.ndarray:
    """One time step; ``state`` (uint8 bytes) is updated in place."""
    p = k.params
    words = state.view(np.int32)
    q = np.asarray(x).reshape(-1).astype(np.int16)
    if k.op.attrs["rule"] == "delta":
        z = rules.delta_step(q, p["threshold"], words)
    else:
        z = rules.rate_step(q, p["full"], words)
    return (z * p["spike"]).astype(np.int8)


def raw_samples(calibration, channels: int | None, where: str, scale: float | None = None) -> np.ndarray:
    """``--calibrate`` samples with ``--encode``, as int16 ``[samples, T, channels]``: raw samples
    as the encoded network takes them (``edgeneuro run --input``). Any integer or float array whose
    values are integers in the int16 range is taken; ``channels`` None: any number of channels.
    Anything else is an InputError that starts with ``where`` and says what to give."""
    c = np.asarray(calibration)
    want = f"[samples, T, {channels if channels else 'channels'}]"
    what = (f"with --encode, --calibrate takes raw int16 samples {want}, as `edgeneuro run --input` takes them "
            "(they are encoded to spikes to measure the synapses' input spike rates)")  # fmt: skip
    to_int16 = f"edgeneuro.data.encode.quantize(x, {f'{scale:g}' if scale else 'SCALE'})"
    if c.dtype.kind not in "biuf":
        raise InputError(f"{where}: --calibrate samples of dtype {c.dtype}: {what}")
    if c.ndim != 3 or 0 in c.shape or (channels and c.shape[2] != channels):
        raise InputError(f"{where}: --calibrate samples of shape {list(c.shape)}: {what}")
    if c.dtype.kind == "f":
        bad = ~np.isfinite(c) | (c != np.round(c))
        if bad.any():
            raise InputError(f"{where}: --calibrate samples hold {c[bad][0].item()!r}, not an integer: {what}; "
                             f"quantize float samples to int16 counts first ({to_int16})")  # fmt: skip
    lo, hi = c.min(), c.max()
    if lo < rules.INT16_MIN or hi > rules.INT16_MAX:
        v = (lo if lo < rules.INT16_MIN else hi).item()
        raise InputError(f"{where}: --calibrate samples hold {v!r}, outside the int16 range "
                         f"[{rules.INT16_MIN}, {rules.INT16_MAX}]: {what}")  # fmt: skip
    return c.astype(np.int16)
