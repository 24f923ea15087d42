"""Labelled windows cut from a recording, for training and evaluating window classifiers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgeneuro.data.annotations import Seizures
from edgeneuro.data.edf import Recording
from edgeneuro.errors import InputError

INTERICTAL, PREICTAL, ICTAL = 0, 1, 2


@dataclass(frozen=True)
class Windows:
    x: np.ndarray  # [N, samples, channels], float32
    y: np.ndarray  # [N] labels
    start: np.ndarray  # [N] start time of each window, seconds
    window: float
    stride: float


def cut(
    rec: Recording,
    seizures: Seizures,
    window: float,
    stride: float,
    labels: str = "binary",
    preictal: float = 300.0,
    min_ictal: float = 0.5,
) -> Windows:
    """Windows of ``window`` seconds every ``stride`` seconds, as [N, samples, channels].

    ``labels="binary"``: 1 if at least ``min_ictal`` of the window lies in a seizure, else 0.
    ``labels="ictal"``: 2 ictal (as above), 1 pre-ictal (ends within ``preictal`` seconds before
    an onset), 0 interictal."""
    if labels not in ("binary", "ictal"):
        raise InputError(f"labels '{labels}': choose binary or ictal")
    size, step = int(round(window * rec.fs)), int(round(stride * rec.fs))
    n = rec.signals.shape[1]
    if size < 1 or step < 1:
        raise InputError(f"window {window} s / stride {stride} s is shorter than one sample at {rec.fs:g} Hz")
    if n < size:
        raise InputError(f"{rec.source}: {rec.duration:.1f} s is shorter than one {window:g} s window")
    if abs(seizures.duration - rec.duration) > 1.0:
        raise InputError(
            f"{seizures.source}: annotations for {seizures.duration:g} s but {rec.source} lasts {rec.duration:.1f} s"
        )
    starts = np.arange(0, n - size + 1, step)
    x = np.stack([rec.signals[:, s : s + size].T for s in starts]).astype(np.float32)
    t0 = starts / rec.fs
    t1 = t0 + window
    ictal_time = np.zeros(len(starts))
    for a, b in seizures.events:
        ictal_time += np.clip(np.minimum(t1, b) - np.maximum(t0, a), 0, None)
    is_ictal = ictal_time >= min_ictal * window
    if labels == "binary":
        y = is_ictal.astype(np.int64)
    else:
        y = np.where(is_ictal, ICTAL, INTERICTAL)
        for a, _ in seizures.events:
            y = np.where(~is_ictal & (t1 <= a) & (t1 > a - preictal), PREICTAL, y)
    return Windows(x, y.astype(np.int64), t0, window, stride)
