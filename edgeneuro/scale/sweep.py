"""`edgeneuro sweep CONFIG.yaml`: a design sweep over detector family, training, pruning,
quantization, sparse kernels and board. Each trial trains (or takes the config's model),
compresses, compiles, runs every test window on the simulated board and scores the seizures; the
trials run as Ray tasks or on the process pool (edgeneuro.scale.run).

Finished trials are appended to ``trials.jsonl`` in the output folder, one complete line each,
flushed and synced before the next is written, keyed by a hash of everything that decides the
trial's result (its parameters, the data folder, the given model's SHA-256). Running the sweep
again therefore runs only the trials without a line: an interrupted sweep (Ctrl-C, a killed
machine) resumes where it stopped, and a changed grid reuses the trials it shares with the old
one. A trial that raises, runs past its time or whose firmware hangs gets a line too, with its
status ``failed`` and the reason, and the sweep goes on.

The result is the table of the trials and their Pareto front: the trials that no other trial
beats on all of event F1 (higher), false positives per hour, instructions per window, flash and RAM
(lower)."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import shutil
import sys
import time
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from edgeneuro import boards, progress, scale
from edgeneuro.errors import EdgeNeuroError, InputError

STORE = "trials.jsonl"
FAMILIES = ("dnn", "cnn", "lstm", "snn")
# every trial parameter, its default and type; the grid gives each one a value or a list of values
PARAMS: dict[str, tuple[Any, type]] = {
    "family": ("cnn", str),  # dnn, cnn, lstm, snn (trained by `edgeneuro train`)
    "epochs": (3, int),  # training epochs
    "window": (4.0, float),  # window length, s
    "stride": (2.0, float),  # window stride, s
    "seed": (0, int),  # training seed
    "prune": (0.0, float),  # fraction of weights zeroed (compress --prune); 0: none
    "pattern": ("unstructured", str),  # compress --prune-pattern
    "quantize": ("int8", str),  # int8 or int8w4
    "finetune_epochs": (1, int),  # compress --epochs: fine-tuning while pruning
    "sparse": ("auto", str),  # compile --sparse: auto or off
    "board": ("mps2-an386", str),
}
TRAINING = ("family", "epochs", "window", "stride", "seed")
COMPRESSION = ("prune", "pattern", "quantize", "finetune_epochs")
SETTINGS = ("data", "model", "grid", "random", "random_seed", "timeout", "board_timeout")
# the Pareto front's objectives: (name in a trial's record, +1 higher is better / -1 lower is better)
OBJECTIVES = (("f1", 1), ("fp_per_hour", -1), ("instructions", -1), ("flash_bytes", -1), ("ram_bytes", -1))


@dataclass(frozen=True)
class Trial:
    """One point of the grid, as a worker runs it."""

    key: str
    params: dict[str, Any]
    data: str
    model: str | None  # the config's model: no training (a .keras), or no compression either (.tflite, .nir)
    out: str
    board_timeout: float


@dataclass(frozen=True)
class Config:
    trials: list[Trial]
    timeout: float | None  # seconds per trial
    path: Path


def load_config(path: Path, out: Path) -> Config:
    """The trials of a sweep's YAML config (its paths relative to the config's folder), each
    parameter checked, in grid order (or ``random: K`` of them, drawn with ``random_seed``)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as e:
        raise InputError(f"{path}: cannot read the sweep config ({e.strerror})") from e
    except yaml.YAMLError as e:
        raise InputError(f"{path}: not YAML ({str(e).splitlines()[0]})") from e
    if not isinstance(raw, dict) or "data" not in raw:
        raise InputError(f"{path}: give at least `data: FOLDER` (EEG recordings) and a `grid:` of parameters")
    unknown = set(raw) - set(SETTINGS)
    if unknown:
        raise InputError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}; the settings are "
                         f"{', '.join(SETTINGS)}")  # fmt: skip
    grid = raw.get("grid") or {}
    if not isinstance(grid, dict):
        raise InputError(f"{path}: `grid:` maps parameters to a value or a list of values")
    unknown = set(grid) - set(PARAMS)
    if unknown:
        raise InputError(f"{path}: unknown grid parameter(s) {', '.join(sorted(unknown))}; the parameters are "
                         f"{', '.join(PARAMS)}")  # fmt: skip
    base = path.parent
    data = (base / str(raw["data"])).resolve()
    if not data.is_dir():
        raise InputError(f"{path}: data {data}: no such folder")
    model = (base / str(raw["model"])).resolve() if raw.get("model") else None
    if model is not None and not model.is_file():
        raise InputError(f"{path}: model {model}: no such file")
    values = {name: _values(path, name, grid.get(name, default), kind) for name, (default, kind) in PARAMS.items()}
    model_sha = hashlib.sha256(model.read_bytes()).hexdigest() if model else None
    trials: dict[str, Trial] = {}
    for combo in itertools.product(*values.values()):
        params = _normalize(path, dict(zip(values, combo, strict=True)), model)
        key = _key(params, data, model_sha)
        trials.setdefault(key, Trial(key, params, str(data), str(model) if model else None, str(Path(out).resolve()),
                                     float(raw.get("board_timeout", 300))))  # fmt: skip
    chosen = list(trials.values())
    if raw.get("random") is not None:
        k = raw["random"]
        if not isinstance(k, int) or k < 1:
            raise InputError(f"{path}: random: {k!r}: give the number of trials to draw from the grid")
        chosen = random.Random(raw.get("random_seed", 0)).sample(chosen, min(k, len(chosen)))
    timeout = raw.get("timeout")
    if timeout is not None and (not isinstance(timeout, int | float) or timeout <= 0):
        raise InputError(f"{path}: timeout: {timeout!r}: give the seconds one trial may take")
    return Config(chosen, float(timeout) if timeout else None, path)


def _values(path: Path, name: str, given: Any, kind: type) -> list[Any]:
    values = given if isinstance(given, list) else [given]
    out = []
    for v in values:
        if kind is str and isinstance(v, bool):  # YAML 1.1 reads a bare off/on as false/true
            v = "on" if v else "off"
        if kind is float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if not isinstance(v, kind) or isinstance(v, bool):
            raise InputError(f"{path}: grid {name}: {v!r} is not a {kind.__name__}")
        out.append(v)
    if not out:
        raise InputError(f"{path}: grid {name}: an empty list")
    return out


def _normalize(path: Path, p: dict[str, Any], model: Path | None) -> dict[str, Any]:
    """The parameters that decide a trial's result, checked. Those that cannot matter are dropped,
    so that two grid points that differ only there are one trial: the training ones with a given
    model, the compression ones with a given .tflite or .nir and for the snn family (its NIR front
    end quantizes it when it compiles)."""
    if p["family"] not in FAMILIES:
        raise InputError(f"{path}: grid family: {p['family']!r}; give {', '.join(FAMILIES)}")
    if p["quantize"] not in ("int8", "int8w4"):
        raise InputError(f"{path}: grid quantize: {p['quantize']!r}; give int8 or int8w4")
    if p["sparse"] not in ("auto", "off"):
        raise InputError(f"{path}: grid sparse: {p['sparse']!r}; give auto or off")
    if not 0.0 <= p["prune"] < 1.0:
        raise InputError(f"{path}: grid prune: {p['prune']}; give a fraction in [0, 1)")
    if min(p["epochs"], p["finetune_epochs"]) < 1:
        raise InputError(f"{path}: grid epochs and finetune_epochs: give at least 1")
    if p["board"] not in boards.available():
        raise InputError(f"{path}: grid board: {p['board']!r}; `edgeneuro boards` lists the boards")
    from edgeneuro.compress.patterns import parse_pattern, structure

    try:
        nm = structure(p["pattern"], "pattern").kind == "n:m"  # N:M prunes by itself: 1 - N/M
        if p["prune"] or nm:
            parse_pattern(p["pattern"], p["prune"] or None, "pattern")
    except EdgeNeuroError as e:
        raise InputError(f"{path}: grid {e}") from e
    drop: set[str] = set()
    if model is not None:
        drop |= set(TRAINING)
    if (model is not None and model.suffix.lower() != ".keras") or (model is None and p["family"] == "snn"):
        drop |= set(COMPRESSION)
    if p["prune"] == 0.0 and not nm:  # no pruning: the pattern does not matter
        drop.add("pattern")
    return {k: v for k, v in p.items() if k not in drop}


def _key(params: dict[str, Any], data: Path, model_sha256: str | None) -> str:
    """The trial's identity: a hash of what decides its result."""
    what = {"params": params, "data": str(data), "model": model_sha256}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


def run_trial(t: Trial) -> dict[str, Any]:
    """Train (unless the config gives a model), compress, compile, run on the simulated board and
    score one trial (a worker's task); its files stay in ``OUT/trials/KEY/``."""
    from edgeneuro.compress.quiet import native_stderr_quiet
    from edgeneuro.scale.board_eval import evaluate_on_board

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    started = time.time()
    p = t.params
    work = Path(t.out) / "trials" / t.key
    shutil.rmtree(work, ignore_errors=True)  # what a failed or interrupted run of this trial left
    work.mkdir(parents=True)
    model = Path(t.model) if t.model else None
    record: dict[str, Any] = {}
    # TensorFlow's and the converter's log lines: Python's on stdout (which may be --json), C++'s on fd 2
    with redirect_stdout(sys.stderr), native_stderr_quiet():
        if model is None:
            from edgeneuro.train import train

            trained = train(Path(t.data), p["family"], work / "float", p["window"], p["stride"], p["epochs"],
                            seed=p["seed"], verbose=0)  # fmt: skip
            model = Path(trained["model"])
            record["train_window_accuracy"] = trained["window"]["accuracy"]
        if "quantize" in p:
            from edgeneuro.compress.compress import compress

            out = work / "int8" / "model.tflite"
            compress(model, out, prune_to=p["prune"] or None, quantize=p["quantize"], epochs=p["finetune_epochs"],
                     pattern=p.get("pattern", "unstructured"))  # fmt: skip
            model = out
    r = evaluate_on_board(model, Path(t.data), p["board"], sparse=p["sparse"], timeout=t.board_timeout)
    (work / "eval.json").write_text(json.dumps(r, indent=2) + "\n")
    b, e, w = r["on_board"], r["event"], r["window"]
    return {
        **record,
        "f1": e["f1"], "sensitivity": e["sensitivity"], "precision": e["precision"], "fp_per_hour": e["fp_per_hour"],
        "window_accuracy": w["accuracy"], "windows": w["windows"],
        **{k: b[k] for k in ("instructions", "flash_bytes", "ram_bytes", "weights_bytes", "outputs_equal_reference",
                             "outputs_compared")},
        "model": str(model), "seconds": round(time.time() - started, 2),
    }  # fmt: skip


def read_store(out: Path) -> dict[str, dict[str, Any]]:
    """The stored trials by key (a later line of a key replaces an earlier one: a retried trial).
    A last line cut short (the machine died inside a write) is skipped: the trial runs again."""
    path = Path(out) / STORE
    if not path.is_file():
        return {}
    records = {}
    for line in path.read_text().splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue
        records[r["key"]] = r
    return records


def _append(path: Path, record: dict[str, Any]) -> None:
    """One trial's line, whole: a single append of the complete line, flushed and synced, so that a
    Ctrl-C or a crash leaves the lines before it readable."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def sweep(
    config: Path,
    out: Path,
    *,
    workers: int | None = None,
    address: str | None = None,
    backend: str = "auto",
    retry_failed: bool = False,
    max_trials: int | None = None,
) -> dict[str, Any]:
    """Run the trials of ``config`` not yet stored in ``out`` (and the failed ones with
    ``retry_failed``; at most ``max_trials`` of them this time), then return every trial of the
    config with the Pareto front."""
    out = Path(out)
    cfg = load_config(config, out)
    how = scale.choose(workers, address, backend)
    out.mkdir(parents=True, exist_ok=True)
    stored = read_store(out)
    todo = [t for t in cfg.trials
            if t.key not in stored or (retry_failed and stored[t.key]["status"] != "ok")]  # fmt: skip
    todo = todo[:max_trials] if max_trials is not None else todo
    start = time.monotonic()
    with progress.bar("sweep trials", len(todo), "trials") as bar:
        for o in scale.run(run_trial, todo, workers=workers, address=address, backend=how, timeout=cfg.timeout):
            t = todo[o.index]
            record = {"key": t.key, "params": t.params, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            if o.error is None:
                record.update(status="ok", **o.value)
            else:
                record.update(status="failed", reason=o.error)
            _append(out / STORE, record)
            stored[t.key] = record
            bar.update(1, note=f"{t.key}: {record['status']}")
    trials = [stored[t.key] for t in cfg.trials if t.key in stored]
    front = pareto(trials)
    for r in trials:
        r["pareto"] = r["key"] in front
    return {
        "kind": "sweep",
        "config": str(config),
        "out": str(out),
        "store": str(out / STORE),
        "trials": trials,
        "pareto": [r["key"] for r in trials if r["pareto"]],
        "objectives": {name: "higher" if sign > 0 else "lower" for name, sign in OBJECTIVES},
        "counts": {
            "config": len(cfg.trials),
            "ran": len(todo),
            "ok": sum(r["status"] == "ok" for r in trials),
            "failed": sum(r["status"] != "ok" for r in trials),
            "not_run": len(cfg.trials) - len(trials),
        },  # fmt: skip
        "timing": {"seconds": round(time.monotonic() - start, 3), "workers": workers or 1, "backend": how},
    }


def pareto(trials: list[dict[str, Any]]) -> set[str]:
    """The keys of the finished trials that no other finished trial dominates (at least as good on
    every objective and better on one). A trial without an F1 (no seizure and no detection) counts
    as F1 0."""
    ok = [r for r in trials if r["status"] == "ok"]

    def point(r: dict[str, Any]) -> tuple[float, ...]:
        return tuple(sign * (r[name] if r[name] is not None else 0.0) for name, sign in OBJECTIVES)

    points = {r["key"]: point(r) for r in ok}
    return {k for k, a in points.items()
            if not any(all(x >= y for x, y in zip(b, a, strict=True)) and b != a for b in points.values())}  # fmt: skip


def table(result: dict[str, Any]) -> str:
    """The trials as a text table, the Pareto front marked with *."""
    shown = [p for p in PARAMS if any(p in r["params"] for r in result["trials"])]
    head = ("", "trial", *shown, "status", "F1", "FP/h", "sens", "instructions", "flash B", "RAM B", "s")
    rows = [head]
    for r in result["trials"]:
        params = tuple(_cell(r["params"].get(p, "-")) for p in shown)
        if r["status"] != "ok":
            rows.append(("", r["key"][:8], *params, "failed", r["reason"]))
            continue
        rows.append(("*" if r["pareto"] else "", r["key"][:8], *params, "ok", _cell(r["f1"]), _cell(r["fp_per_hour"]),
                     _cell(r["sensitivity"]), f"{r['instructions']:,}", f"{r['flash_bytes']:,}",
                     f"{r['ram_bytes']:,}", f"{r['seconds']:.0f}"))  # fmt: skip
    full = [r for r in rows if len(r) == len(head)]
    widths = [max(len(r[i]) for r in full) for i in range(len(head))]
    lines = ["  ".join(c.ljust(n) for c, n in zip(r, widths, strict=False)).rstrip() for r in rows]
    c = result["counts"]
    lines.append(f"{c['ok']} ok, {c['failed']} failed, {c['not_run']} not run of {c['config']} trials "
                 f"({c['ran']} run now); * the Pareto front: F1 up, FP/h, instructions, flash, RAM down; "
                 f"results in {result['store']}")  # fmt: skip
    return "\n".join(lines)


def _cell(v: Any) -> str:
    if v is None:
        return "n/a"
    return f"{v:.3f}" if isinstance(v, float) else str(v)
