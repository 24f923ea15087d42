"""Window decisions → seizure events → SzCORE event-based scores (the ``timescoring`` library with
SzCORE's defaults: 30 s before / 60 s after tolerance, events closer than 90 s merged, events
longer than 300 s split)."""

from __future__ import annotations

from typing import Any

import numpy as np

from edgeneuro.data.annotations import Seizures

SZCORE = dict(toleranceStart=30, toleranceEnd=60, minOverlap=0, maxEventDuration=300, minDurationBetweenEvents=90)


def smooth(decisions: np.ndarray, width: int = 5, weights: np.ndarray | None = None) -> np.ndarray:
    """Sliding (weighted) majority vote over ``width`` consecutive window decisions (centred)."""
    d = np.asarray(decisions, float)
    w = np.ones(width) if weights is None else np.asarray(weights, float)
    votes = np.convolve(d, w, mode="same")
    total = np.convolve(np.ones_like(d), w, mode="same")
    return (votes > total / 2).astype(np.int64)


def to_events(decisions: np.ndarray, starts: np.ndarray, window: float, duration: float, source: str = "") -> Seizures:
    """Runs of positive windows → (start, end) events, each window covering [start, start + window)."""
    events = []
    run_start = None
    for i, d in enumerate(np.asarray(decisions)):
        if d and run_start is None:
            run_start = starts[i]
        if run_start is not None and (not d or i == len(decisions) - 1):
            end = starts[i] + window if d else starts[i - 1] + window
            events.append((float(run_start), float(min(end, duration))))
            run_start = None
    return Seizures(tuple(events), duration, source)


def score(ref: Seizures, hyp: Seizures) -> dict[str, Any]:
    """SzCORE event scoring of ``hyp`` against ``ref`` (same recording), plus detection latency."""
    from timescoring import scoring
    from timescoring.annotations import Annotation

    fs = 10
    n = int(round(ref.duration * fs))
    r = Annotation(list(ref.events), fs, n)
    h = Annotation([(a, min(b, ref.duration)) for a, b in hyp.events], fs, n)
    s = scoring.EventScoring(r, h, scoring.EventScoring.Parameters(**SZCORE))
    latencies = []
    for a, b in ref.events:  # first detection overlapping the tolerance window of each seizure
        hits = [ha for ha, hb in hyp.events if hb >= a - SZCORE["toleranceStart"] and ha <= b + SZCORE["toleranceEnd"]]
        if hits:
            latencies.append(min(hits) - a)
    hours = ref.duration / 3600

    def num(v: float) -> float | None:
        return None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)

    return {
        "sensitivity": num(s.sensitivity),
        "precision": num(s.precision),
        "f1": num(s.f1),
        "fp_per_hour": s.fp / hours if hours else None,
        "fp_per_day": num(s.fpRate),
        "true_positives": int(s.tp),
        "false_positives": int(s.fp),
        "reference_events": int(s.refTrue),
        "latency_s": latencies,
        "mean_latency_s": float(np.mean(latencies)) if latencies else None,
        "hours": hours,
    }
