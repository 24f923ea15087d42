"""Seizure-detection scores of a predictor over recordings: window predictions → smoothed
decisions → events, scored with SzCORE's rules and summed over recordings (and over folds)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from edgeneuro.data.dataset import Item, seizure_class, windows_of
from edgeneuro.data.meta import Meta
from edgeneuro.metrics.events import score, smooth, to_events


def evaluate(predict: Callable[[np.ndarray], np.ndarray], items: list[Item], meta: Meta, vote: int = 3) -> dict:
    """Window predictions → smoothed decisions → events, scored per recording with SzCORE's rules
    and summed over recordings; plus sample-based (window) sensitivity, specificity, accuracy."""
    tp = fp = ref_events = 0
    hours = 0.0
    correct = total = ictal_hit = ictal = inter_ok = inter = 0
    latencies: list[float] = []
    per_recording = []
    sz = seizure_class(meta)
    for item in items:
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
        hyp = to_events(smooth(said, vote), w.start, meta.window, item.seizures.duration)
        r = score(item.seizures, hyp)
        tp, fp, ref_events, hours = tp + r["true_positives"], fp + r["false_positives"], ref_events + r[
            "reference_events"], hours + r["hours"]  # fmt: skip
        latencies += r["latency_s"]
        per_recording.append({"recording": str(item.edf), **{k: r[k] for k in ("sensitivity", "false_positives")}})
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
