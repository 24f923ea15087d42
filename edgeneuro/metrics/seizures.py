"""Seizure-detection scores of a predictor over recordings: window predictions → smoothed
decisions → events, scored with SzCORE's rules and summed over recordings (and over folds)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from edgeneuro import progress
from edgeneuro.data.dataset import Item, eeg_excerpt, seizure_class, windows_of
from edgeneuro.data.meta import Meta
from edgeneuro.metrics.events import score, smooth, to_events


def evaluate(
    predict: Callable[[np.ndarray], np.ndarray], items: list[Item], meta: Meta, vote: int = 3, eeg: bool = False
) -> dict:
    """Window predictions → smoothed decisions → events, scored per recording with SzCORE's rules
    and summed over recordings; plus sample-based (window) sensitivity, specificity, accuracy.

    Each recording's entry also keeps what the scores came from, compactly, so that a report can
    draw it on one time axis: the windows' start times, predictions and smoothed decisions, the
    detected events and the reference seizures; ``eeg`` adds a decimated strip of the recording
    (``eeg_excerpt``), which costs a second read of the EDF."""
    tp = fp = ref_events = 0
    hours = 0.0
    correct = total = ictal_hit = ictal = inter_ok = inter = 0
    latencies: list[float] = []
    per_recording = []
    sz = seizure_class(meta)
    with progress.bar("scoring recordings", len(items), "recordings") as bar:
        for item in items:
            bar.update(note=item.edf.name)
            w, x = windows_of(item, meta)
            pred = np.asarray(predict(x))
            is_sz = w.y == sz
            said = pred == sz
            correct += int(np.sum(pred == w.y))
            total += len(pred)
            ictal += int(is_sz.sum())
            ictal_hit += int((said & is_sz).sum())
            inter += int((~is_sz).sum())
            inter_ok += int((~said & ~is_sz).sum())
            decided = smooth(said, vote)
            hyp = to_events(decided, w.start, meta.window, item.seizures.duration)
            r = score(item.seizures, hyp)
            tp, fp, ref_events, hours = tp + r["true_positives"], fp + r["false_positives"], ref_events + r[
                "reference_events"], hours + r["hours"]  # fmt: skip
            latencies += r["latency_s"]
            per_recording.append({
                "recording": str(item.edf), **{k: r[k] for k in ("sensitivity", "false_positives")},
                "duration_s": item.seizures.duration, "window_s": meta.window,
                "reference": [list(e) for e in item.seizures.events], "events": [list(e) for e in hyp.events],
                "window_start_s": [round(float(t), 3) for t in w.start], "predictions": pred.astype(int).tolist(),
                "decisions": decided.tolist(),
                **({"eeg": eeg_excerpt(item, meta.channels[:3])} if eeg else {}),
            })  # fmt: skip
            bar.update(1)
    scores = combine_counts(tp, fp, ref_events, hours, correct, total, ictal_hit, ictal, inter_ok, inter)
    scores["event"]["mean_latency_s"] = float(np.mean(latencies)) if latencies else None
    return {**scores, "latency_s": latencies, "recordings": per_recording}


def combine_counts(tp, fp, ref_events, hours, correct, total, ictal_hit, ictal, inter_ok, inter) -> dict:
    """Scores from counts summed over recordings (SzCORE sums events before dividing)."""
    return {
        "event": {
            "sensitivity": tp / ref_events if ref_events else None,
            "precision": tp / (tp + fp) if tp + fp else None,
            "f1": 2 * tp / (2 * tp + fp + (ref_events - tp)) if ref_events + fp else None,
            "fp_per_hour": fp / hours if hours else None,
            "fp_per_day": fp / hours * 24 if hours else None,
            "true_positives": tp, "false_positives": fp, "reference_events": ref_events, "hours": hours,
        },
        "window": {
            "accuracy": correct / total if total else None,
            "sensitivity": ictal_hit / ictal if ictal else None,
            "specificity": inter_ok / inter if inter else None,
            "windows": total, "correct": correct, "ictal": ictal, "ictal_detected": ictal_hit,
            "interictal": inter, "interictal_correct": inter_ok,
        },
    }  # fmt: skip


def combine(reports: list[dict]) -> dict:
    """Scores of several evaluations (e.g. cross-validation folds) pooled as one."""
    e = [r["event"] for r in reports]
    w = [r["window"] for r in reports]
    latencies = [v for r in reports for v in r.get("latency_s", [])]
    pooled = combine_counts(*(sum(x[k] for x in e) for k in ("true_positives", "false_positives", "reference_events",
                                                               "hours")),
                            *(sum(x[k] for x in w) for k in ("correct", "windows", "ictal_detected", "ictal",
                                                             "interictal_correct", "interictal")))  # fmt: skip
    pooled["event"]["mean_latency_s"] = float(np.mean(latencies)) if latencies else None
    return pooled
