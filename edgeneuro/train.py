"""Training and evaluating seizure detectors on EEG recordings (EDF+ with SzCORE or CHB-MIT
annotations), split by subject so that no subject is both trained and tested on."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeneuro.data.annotations import Seizures, read_chbmit_summary, read_events_tsv
from edgeneuro.data.edf import read_edf
from edgeneuro.data.windows import ICTAL, cut
from edgeneuro.errors import InputError, UnsupportedOperator
from edgeneuro.metrics.events import score, smooth, to_events

META = "meta.json"


@dataclass(frozen=True)
class Item:
    subject: str
    edf: Path
    seizures: Seizures


@dataclass(frozen=True)
class Meta:
    """What a model expects of its input: written beside every trained or compressed model."""

    family: str
    window: float
    stride: float
    fs: float
    channels: tuple[str, ...]
    labels: str
    input_scale_uv: float  # window values are microvolts / this
    train_subjects: tuple[str, ...]
    test_subjects: tuple[str, ...]
    data: str = ""  # the folder the model was trained on
    pool: int = 0  # the snn family: samples per time step (edgeneuro.models.snn.features); dt = pool / fs

    @property
    def dt(self) -> float:
        """The time step of a spiking model (seconds)."""
        return self.pool / self.fs

    def save(self, folder: Path) -> Path:
        path = Path(folder) / META
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @staticmethod
    def load(model: Path) -> Meta:
        path = Path(model).parent / META
        if not path.is_file():
            raise InputError(f"{model}: no {META} beside the model (written by `edgeneuro train`)")
        d = json.loads(path.read_text())
        return Meta(**{**d, "channels": tuple(d["channels"]), "train_subjects": tuple(d["train_subjects"]),
                       "test_subjects": tuple(d["test_subjects"])})  # fmt: skip


def discover(data: Path) -> list[Item]:
    """Every EDF under ``data`` with its seizures: a sibling ``<stem>_events.tsv`` (SzCORE/BIDS) or
    the folder's CHB-MIT ``chbNN-summary.txt``. The subject is the folder name (``chbNN``) or the
    BIDS ``sub-XX`` label."""
    data = Path(data)
    edfs = sorted(data.rglob("*.edf"))
    if not edfs:
        raise InputError(f"{data}: no .edf recordings")
    summaries: dict[Path, dict] = {}
    return [item_of(edf, summaries) for edf in edfs]


def item_of(edf: Path, summaries: dict[Path, dict] | None = None) -> Item:
    """One recording with its seizures, by ``discover``'s rules (``summaries`` caches the CHB-MIT
    summaries already read)."""
    edf = Path(edf)
    if not edf.is_file():
        raise InputError(f"{edf}: no such EDF file")
    summaries = {} if summaries is None else summaries
    m = re.match(r"(sub-[^_]+)", edf.name)
    subject = m.group(1) if m else edf.parent.name
    tsv = edf.with_name(edf.stem.removesuffix("_eeg") + "_events.tsv")
    if tsv.is_file():
        seizures = read_events_tsv(tsv)
    else:
        summary = next(edf.parent.glob("*-summary.txt"), None)
        if summary is None:
            raise InputError(f"{edf}: no {tsv.name} and no CHB-MIT summary beside it")
        table = summaries.setdefault(summary, read_chbmit_summary(summary))
        if edf.name not in table:
            raise InputError(f"{summary}: no entry for {edf.name}")
        seizures = Seizures(table[edf.name], read_edf(edf).duration, str(summary)).check()
    return Item(subject, edf, seizures)


def windows_of(item: Item, meta: Meta):
    rec = read_edf(item.edf).select(meta.channels).resample(meta.fs)
    w = cut(rec, item.seizures, meta.window, meta.stride, labels=meta.labels)
    return w, w.x / np.float32(meta.input_scale_uv)


def seizure_class(meta: Meta) -> int:
    return ICTAL if meta.labels == "ictal" else 1


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


def training_windows(items: list[Item], meta: Meta) -> tuple[np.ndarray, np.ndarray]:
    """All windows and labels of the model's training subjects."""
    parts = [windows_of(i, meta) for i in items if i.subject in meta.train_subjects]
    if not parts:
        raise InputError(f"no recordings of the training subjects {', '.join(meta.train_subjects)}")
    return np.concatenate([x for _, x in parts]), np.concatenate([w.y for w, _ in parts])


def class_weights(y: np.ndarray, classes: int) -> dict[int, float]:
    """Balanced weights: the rare ictal class counts as much as the rest."""
    counts = np.bincount(y, minlength=classes)
    return {c: (len(y) / (classes * counts[c]) if counts[c] else 0.0) for c in range(classes)}


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


def predictor(model: Path) -> Callable[[np.ndarray], np.ndarray]:
    """Class predictions of a model file for float windows: a tf_keras model (.keras, .h5), an
    ONNX model (onnxruntime), or a .tflite model run by edgeneuro's own reference kernels (int8
    inputs quantized first), which compute what the generated C computes on the chip."""
    model = Path(model)
    if not model.exists():
        raise InputError(f"{model}: no such model")
    if model.suffix == ".nir":
        return _nir_predictor(model)
    if model.suffix == ".tflite":
        from edgeneuro import frontends, reference
        from edgeneuro.compiler import prepare
        from edgeneuro.compress.quantize import quantize_input

        graph = frontends.load(model)
        t = graph.t(graph.inputs[0])

        def prepare_input(x: np.ndarray) -> np.ndarray:
            return quantize_input(x, t.scale, t.zero_point) if t.dtype == "int8" else x.astype(np.float32)

        try:
            graph, kernels = prepare(graph)
        except UnsupportedOperator:  # an operator edgeneuro cannot compile yet: TFLM runs the model
            return _tflm_predictor(model, prepare_input)

        def run(x: np.ndarray) -> np.ndarray:
            return reference.run_batch(graph, kernels, prepare_input(x)).reshape(len(x), -1).argmax(1)

        run.runtime = "edgeneuro reference kernels"  # type: ignore[attr-defined]
        return run
    if model.suffix == ".onnx":
        import onnxruntime as ort

        sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name

        def run_onnx(x: np.ndarray) -> np.ndarray:
            return np.concatenate([sess.run(None, {name: s[None].astype(np.float32)})[0] for s in x]).argmax(1)

        run_onnx.runtime = "onnxruntime"  # type: ignore[attr-defined]
        return run_onnx
    from edgeneuro import models

    try:
        net = models.keras().models.load_model(model)
    except (OSError, ValueError) as e:
        raise InputError(f"{model}: not a tf_keras model ({e})") from e

    def run_keras(x: np.ndarray) -> np.ndarray:
        return net.predict(x, verbose=0).argmax(1)

    run_keras.runtime = "tf_keras"  # type: ignore[attr-defined]
    return run_keras


def _nir_predictor(model: Path) -> Callable[[np.ndarray], np.ndarray]:
    """A spiking model of the snn family: its features, edgeneuro's fixed-point reference over the
    window's time steps (what the chip computes), the class of the mean output."""
    from edgeneuro import frontends, reference
    from edgeneuro.compiler import prepare
    from edgeneuro.models import snn

    meta = Meta.load(model)
    if not meta.pool:
        raise InputError(f"{model}: its {META} has no time step (pool); train it with `edgeneuro train --family snn`")
    cal = model.parent / "calibration.npy"
    graph, kernels = prepare(frontends.load(model, dt=meta.dt, calibration=np.load(cal) if cal.is_file() else None))

    def run(x: np.ndarray) -> np.ndarray:
        return snn.decide(reference.run_batch(graph, kernels, snn.features(x, meta.pool)))

    run.runtime = "edgeneuro reference kernels"  # type: ignore[attr-defined]
    return run


def _tflm_predictor(model: Path, prepare_input: Callable[[np.ndarray], np.ndarray]) -> Callable:
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError as e:
        raise InputError(f"{model}: edgeneuro cannot run it yet and tflite-micro is not installed") from e
    interp = runtime.Interpreter.from_file(str(model))

    def run(x: np.ndarray) -> np.ndarray:
        out = []
        for s in prepare_input(x):
            interp.reset()  # every window from the reset state (TFLM keeps recurrent state between calls)
            interp.set_input(s[None], 0)
            interp.invoke()
            out.append(int(np.argmax(interp.get_output(0))))
        return np.array(out)

    run.runtime = "tflite-micro"  # type: ignore[attr-defined]
    return run


def evaluate_model(model: Path, data: Path, subjects: tuple[str, ...] = ()) -> dict[str, Any]:
    """Scores of ``model`` on the recordings of ``subjects`` under ``data`` (default: the model's
    test subjects)."""
    meta = Meta.load(model)
    items = discover(data)
    chosen = set(subjects or meta.test_subjects)
    picked = [i for i in items if i.subject in chosen]
    if not picked:
        raise InputError(f"{data}: no recordings of subject(s) {', '.join(sorted(chosen))}")
    predict = predictor(model)
    return {
        "model": str(model),
        "runtime": predict.runtime,
        "subjects": sorted(chosen),
        **evaluate(predict, picked, meta),
    }
