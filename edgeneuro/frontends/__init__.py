"""Front ends: model files in, ``ir.Graph`` out."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeneuro.errors import ModelError
from edgeneuro.ir import Graph


def load(
    path: str | Path,
    shapes: dict[str, tuple[int, ...]] | None = None,
    dt: float | None = None,
    calibration: np.ndarray | None = None,
    encoder=None,
    synapse_kernels: str = "auto",
    synapse_weights: str = "auto",
) -> Graph:
    """Read a model file. ``shapes`` binds dynamic input dimensions (ONNX); ``dt`` is the time step
    of a NIR graph (seconds, required there) and ``calibration`` its input samples (with an
    ``encoder``, ``--encode``: raw int16 samples [samples, T, channels], which set no scale and
    only give the spike rates); ``synapse_kernels`` (dense, event, auto) picks its synapses'
    kernels (passes/synapse_kernels.py, from the spike rates measured on ``calibration``) and
    ``synapse_weights`` (auto, int8, int16) their weights' width (frontends/nir.py)."""
    p = Path(path)
    if not p.exists():
        raise ModelError(f"{p}: no such file")
    if not p.is_file():
        raise ModelError(f"{p}: not a file")
    if p.suffix.lower() == ".tflite":
        from edgeneuro.frontends import tflite

        return tflite.load(p)
    if p.suffix.lower() == ".onnx":
        from edgeneuro.frontends import onnx

        return onnx.load(p, shapes)
    if p.suffix.lower() == ".nir":
        from edgeneuro.frontends import nir
        from edgeneuro.passes.synapse_kernels import choose

        graph = nir.load(p, dt, calibration, encoder, synapse_weights)  # encoder: --encode (ops/encode.py)
        return choose(graph, synapse_kernels, calibration)  # dense or event-driven synapses
    raise ModelError(f"{p}: unknown model format '{p.suffix}'; edgeneuro reads .tflite, .onnx and .nir models")
