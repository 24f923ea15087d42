"""The detector's chain in numpy, integer for integer what the generated detector.c computes (see
edgeneuro/detector/__init__.py for the rules): the spec the board's events must equal, sample for
sample, and the way to run a detector on any EDF recording on the host."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgeneuro.detector import COEF_BITS, SIGNAL_BITS, SIGNAL_LIMIT, Detector
from edgeneuro.ir.quant import multiply_by_quantized_multiplier, shift_round


@dataclass(frozen=True)
class Run:
    """What the detector did over a recording: per window its model outputs (int8 families: the
    model's output; snn: the output summed over the time steps) and class, the smoothed votes,
    the events (onset, offset) and the alarms (on, ADC samples pushed when it changed), in ADC
    samples; and how many samples were clipped to the ADC's range."""

    outputs: np.ndarray  # [windows, classes]
    decisions: np.ndarray  # [windows] class indices
    votes: np.ndarray  # [windows] 0/1 smoothed
    events: list[tuple[int, int]]
    alarms: list[tuple[int, int]]
    clipped: int
    samples: int


def filter_counts(det: Detector, counts: np.ndarray) -> np.ndarray:
    """The biquad cascade over int16 counts [samples, channels] -> int16 [samples, channels]."""
    x = counts.astype(np.int64) << SIGNAL_BITS
    for b0, b1, b2, a1, a2 in det.sos_q.tolist():
        y = np.empty_like(x)
        x1 = x2 = y1 = y2 = np.zeros(x.shape[1], np.int64)
        for t in range(len(x)):
            acc = b0 * x[t] + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
            out = np.clip(shift_round(acc, COEF_BITS), -SIGNAL_LIMIT, SIGNAL_LIMIT)
            x2, x1, y2, y1 = x1, x[t], y1, out
            y[t] = out
        x = y
    return np.clip(shift_round(x, SIGNAL_BITS), -32768, 32767).astype(np.int16)


def model_inputs(det: Detector, window: np.ndarray) -> np.ndarray:
    """One window of filtered counts [size, channels] as the model takes it: int8 [1, size, C], or
    for the snn family float32 features [steps, 2C] (sums times ``feature_scale`` in float32)."""
    if det.pool:
        blocks = window[: det.steps * det.pool].astype(np.int32).reshape(det.steps, det.pool, -1)
        sums = np.concatenate([blocks.sum(axis=1), np.abs(blocks).sum(axis=1)], axis=1)
        return sums.astype(np.float32) * np.float32(det.feature_scale)
    q = multiply_by_quantized_multiplier(window.astype(np.int64), det.in_mult, det.in_shift) + det.in_zp
    return np.clip(q, -128, 127).astype(np.int8)[None]


def window_outputs(det: Detector, graph, kernels, window: np.ndarray) -> np.ndarray:
    """The model's output for one window (snn: summed over its time steps, in float32 in order)."""
    from edgeneuro import reference

    x = model_inputs(det, window)
    if det.pool:
        y = reference.run_steps(graph, kernels, x[:, None])[0].reshape(det.steps, -1)
        return np.cumsum(y.astype(np.float32), axis=0, dtype=np.float32)[-1]
    return reference.run(graph, kernels, [x])[0].reshape(-1)


def post_process(det: Detector, decisions: np.ndarray, pushed: int) -> tuple[np.ndarray, list, list]:
    """Window classes -> smoothed votes, events and alarms, as the chip decides them: window k's
    vote is final when window k + vote // 2 is in (or at the end, ``pushed`` samples), an event is
    a run of positive votes from its first window's start to its last window's end."""
    half = det.vote // 2
    said = (np.asarray(decisions) == det.seizure).astype(np.int64)
    n = len(said)
    votes = np.zeros(n, np.int64)
    events, alarms = [], []
    onset = None
    for k in range(n):
        near = said[max(0, k - half) : k + half + 1]
        votes[k] = int(2 * near.sum() > len(near))
        last = k + half  # the window whose arrival makes the vote final; past the end: the end
        at = ((last * det.step + det.size - 1) * det.decimate + 1) if last < n else pushed
        if votes[k] and onset is None:
            onset = k * det.step * det.decimate
            alarms.append((1, at))
        elif not votes[k] and onset is not None:
            events.append((onset, ((k - 1) * det.step + det.size) * det.decimate))
            alarms.append((0, at))
            onset = None
    if onset is not None:  # an event still on at the end of the recording: it ends with its last window
        events.append((onset, ((n - 1) * det.step + det.size) * det.decimate))
        alarms.append((0, pushed))
    return votes, events, alarms


def run(det: Detector, graph, kernels, counts: np.ndarray) -> Run:
    """The detector over int16 ADC counts [samples, channels] (montage order)."""
    counts = np.asarray(counts)
    clipped = int(np.sum((counts < det.adc_min) | (counts > det.adc_max)))
    x = filter_counts(det, np.clip(counts, det.adc_min, det.adc_max))[:: det.decimate]
    starts = range(0, len(x) - det.size + 1, det.step)
    outputs = [window_outputs(det, graph, kernels, x[s : s + det.size]) for s in starts]
    y = np.stack(outputs) if outputs else np.zeros((0, det.classes), np.dtype(det.output_dtype))
    decisions = y.argmax(axis=1) if len(y) else np.zeros(0, np.int64)
    votes, events, alarms = post_process(det, decisions, len(counts))
    return Run(y, decisions, votes, events, alarms, clipped, len(counts))
