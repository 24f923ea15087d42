"""Training and evaluating seizure detectors on EEG recordings (EDF+ with SzCORE or CHB-MIT
annotations), split by subject so that no subject is both trained and tested on."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from edgeneuro.data.dataset import class_weights, discover, training_windows
from edgeneuro.data.edf import read_edf
from edgeneuro.data.meta import Meta
from edgeneuro.errors import InputError
from edgeneuro.evaluate import predictor
from edgeneuro.metrics.seizures import combine, evaluate


def train(
    data: Path,
    family: str,
    out: Path,
    window: float = 4.0,
    stride: float = 2.0,
    epochs: int = 20,
    test_subjects: tuple[str, ...] = (),
    fs: float | None = None,
    channels: tuple[str, ...] | None = None,
    labels: str = "binary",
    seed: int = 0,
    verbose: int = 2,
) -> dict[str, Any]:
    """Train ``family`` on every subject but the test subjects (default: the last subject), with
    balanced class weights and early stopping on a validation split; save ``model.keras``,
    ``meta.json`` and ``calibration.npy`` in ``out``; evaluate on the test subjects."""
    import tensorflow as tf

    from edgeneuro import models

    items = discover(data)
    subjects = sorted({i.subject for i in items})
    if len(subjects) < 2:
        raise InputError(f"{data}: one subject ({subjects[0]}); a subject-wise split needs two or more")
    test = tuple(test_subjects) or (subjects[-1],)
    unknown = set(test) - set(subjects)
    if unknown:
        raise InputError(f"{data}: no subject {', '.join(sorted(unknown))} (has {', '.join(subjects)})")
    first = read_edf(items[0].edf)
    meta = Meta(family, window, stride, fs or first.fs, tuple(channels or first.channels), labels, 100.0,
                tuple(s for s in subjects if s not in test), test, str(Path(data).resolve()))  # fmt: skip
    x, y = training_windows(items, meta)
    classes = 3 if labels == "ictal" else 2
    counts = np.bincount(y, minlength=classes)
    weights = class_weights(y, classes)
    if family == "snn":
        return _train_snn(items, meta, x, y, classes, weights, Path(out), epochs, seed, verbose)
    tf.keras.utils.set_random_seed(seed)
    model = models.build(family, x.shape[1], x.shape[2], classes)
    order = np.random.default_rng(seed).permutation(len(y))
    split = int(len(order) * 0.85)
    stop = tf.keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)
    model.fit(x[order[:split]], y[order[:split]], validation_data=(x[order[split:]], y[order[split:]]),
              epochs=epochs, batch_size=64, class_weight=weights, callbacks=[stop], verbose=verbose)  # fmt: skip
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    meta.save(out)
    rng = np.random.default_rng(seed)
    np.save(out / "calibration.npy", x[rng.choice(len(x), min(300, len(x)), replace=False)])
    test_items = [i for i in items if i.subject in test]
    scores = evaluate(lambda v: model.predict(v, verbose=0).argmax(1), test_items, meta)
    report = {"model": str(out / "model.keras"), "train_windows": int(len(y)), "class_counts": counts.tolist(),
              "test_subjects": list(test), **scores}  # fmt: skip
    (out / "train_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


SNN_POOL_S = 1 / 16  # the snn family's time step: 16 steps per second


def _train_snn(items, meta: Meta, x, y, classes: int, weights, out: Path, epochs: int, seed: int,
               verbose: int) -> dict[str, Any]:  # fmt: skip
    """The spiking family: features, surrogate-gradient training, ``model.nir`` (what edgeneuro
    compiles), scored on the test subjects with edgeneuro's fixed-point reference (what the chip
    computes) and, for comparison, the float network."""
    from edgeneuro.models import snn

    meta = Meta(**{**asdict(meta), "pool": max(1, round(meta.fs * SNN_POOL_S))})
    fx = snn.features(x, meta.pool)
    params = snn.train_snn(fx, y, classes, epochs=epochs, seed=seed, class_weight=weights, verbose=verbose)
    out.mkdir(parents=True, exist_ok=True)
    model = snn.save(params, meta.dt, out / "model.nir")
    meta.save(out)
    rng = np.random.default_rng(seed)
    np.save(out / "calibration.npy", fx[rng.choice(len(fx), min(300, len(fx)), replace=False)])
    test_items = [i for i in items if i.subject in meta.test_subjects]
    scores = evaluate(predictor(model), test_items, meta)
    float_scores = evaluate(lambda v: snn.predict_float(params, snn.features(v, meta.pool))[0], test_items, meta)
    report = {"model": str(model), "train_windows": int(len(y)), "class_counts": np.bincount(y, minlength=classes)
              .tolist(), "test_subjects": list(meta.test_subjects), "time_steps": int(fx.shape[1]), "dt_s": meta.dt,
              **scores, "float": {k: float_scores[k] for k in ("event", "window")}}  # fmt: skip
    (out / "train_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def leave_one_subject_out(data: Path, family: str, out: Path, **options: Any) -> dict[str, Any]:
    """One model per subject, trained on all the others and tested on it (``out/<subject>/``);
    the folds' scores pooled."""
    subjects = sorted({i.subject for i in discover(data)})
    folds = {s: train(data, family, Path(out) / s, test_subjects=(s,), **options) for s in subjects}
    report = {"family": family, "folds": {s: {k: f[k] for k in ("event", "window")} for s, f in folds.items()},
              **combine(list(folds.values()))}  # fmt: skip
    (Path(out) / "loso_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
