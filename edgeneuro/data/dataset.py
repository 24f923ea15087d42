"""Recordings on disk: every EDF with its seizures (SzCORE/BIDS ``_events.tsv`` or a CHB-MIT
summary), its subject, and its windows as a model of a given ``Meta`` takes them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeneuro.data.annotations import Seizures, read_chbmit_summary, read_events_tsv
from edgeneuro.data.edf import read_edf
from edgeneuro.data.meta import Meta
from edgeneuro.data.windows import ICTAL, cut
from edgeneuro.errors import InputError


@dataclass(frozen=True)
class Item:
    subject: str
    edf: Path
    seizures: Seizures


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


def eeg_excerpt(item: Item, channels: tuple[str, ...] = (), points: int = 3000) -> dict:
    """A recording small enough to embed in a JSON report and draw: ``channels`` (default: the
    first three) decimated to at most ``points`` values each. Each bin of samples keeps its minimum
    and its maximum (placed at the bin's start and middle), so a seizure's large swings survive as
    an envelope where plain subsampling would skip them; microvolts to 0.1 uV."""
    rec = read_edf(item.edf)
    rec = rec.select(channels or rec.channels[:3])
    x = rec.signals.astype(np.float64)  # rounds to short decimals in JSON (float32 values do not)
    n = x.shape[1]
    starts = np.linspace(0, n, max(1, min(n, points // 2)) + 1).astype(int)
    lo = np.minimum.reduceat(x, starts[:-1], axis=1)
    hi = np.maximum.reduceat(x, starts[:-1], axis=1)
    t = np.stack([starts[:-1], (starts[:-1] + starts[1:]) / 2], -1) / rec.fs
    return {"channels": list(rec.channels), "fs": rec.fs, "time_s": np.round(t.reshape(-1), 3).tolist(),
            "uv": np.round(np.stack([lo, hi], -1).reshape(len(rec.channels), -1), 1).tolist()}  # fmt: skip


def seizure_class(meta: Meta) -> int:
    return ICTAL if meta.labels == "ictal" else 1


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
