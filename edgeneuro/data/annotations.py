"""Seizure annotations: SzCORE/BIDS ``*_events.tsv`` files and CHB-MIT ``chbNN-summary.txt``.

SzCORE's format (one row per event): ``onset`` and ``duration`` in seconds, ``eventType`` (``sz``
or ``sz_...`` for a seizure, ``bckg`` for a recording without one), ``confidence``, ``channels``,
``dateTime`` and ``recordingDuration`` (seconds)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from edgeneuro.errors import InputError

COLUMNS = ("onset", "duration", "eventType", "confidence", "channels", "dateTime", "recordingDuration")


@dataclass(frozen=True)
class Seizures:
    """The seizures of one recording, as (start, end) seconds, and the recording's length."""

    events: tuple[tuple[float, float], ...]
    duration: float
    source: str = ""

    def check(self) -> Seizures:
        for start, end in self.events:
            if not 0 <= start < end <= self.duration + 1e-6:
                raise InputError(
                    f"{self.source}: seizure {start:g}-{end:g} s lies outside the recording (0-{self.duration:g} s)"
                )
        return self


def read_events_tsv(path: str | Path, duration: float | None = None) -> Seizures:
    """Seizure events of a SzCORE/BIDS events file. ``duration`` overrides ``recordingDuration``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such annotation file")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if rows and not {"onset", "duration", "eventType"} <= set(rows[0]):
        raise InputError(f"{path}: not a SzCORE/BIDS events file (needs onset, duration and eventType columns)")
    try:
        events = tuple(
            (float(r["onset"]), round(float(r["onset"]) + float(r["duration"]), 6))
            for r in rows
            if r["eventType"].strip().lower().startswith("sz")
        )
        if duration is None:
            found = {float(r["recordingDuration"]) for r in rows if r.get("recordingDuration", "n/a") != "n/a"}
            if len(found) != 1:
                raise InputError(f"{path}: no single recordingDuration column value; give the recording length")
            duration = found.pop()
    except (KeyError, ValueError) as e:
        raise InputError(f"{path}: unreadable row ({e})") from e
    return Seizures(tuple(sorted(events)), float(duration), str(path)).check()


def write_events_tsv(path: str | Path, seizures: Seizures, date_time: str = "n/a") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(COLUMNS)
        rows = [(s, e - s, "sz") for s, e in seizures.events] or [(0.0, seizures.duration, "bckg")]
        for onset, dur, kind in rows:
            w.writerow([f"{onset:.2f}", f"{dur:.2f}", kind, "n/a", "n/a", date_time, f"{seizures.duration:.2f}"])
    return path


def read_chbmit_summary(path: str | Path) -> dict[str, tuple[tuple[float, float], ...]]:
    """``chbNN-summary.txt`` → seizures per EDF file name. Both of CHB-MIT's spellings are read:
    ``Seizure Start Time: 2996 seconds`` and ``Seizure 1 Start Time: 2996 seconds``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such CHB-MIT summary file")
    out: dict[str, list[tuple[float, float]]] = {}
    current = None
    start = None
    for line in path.read_text(errors="replace").splitlines():
        if m := re.match(r"\s*File Name:\s*(\S+)", line):
            current = m.group(1)
            out[current] = []
        elif m := re.match(r"\s*Seizure(?: \d+)? Start Time:\s*([\d.]+)", line):
            start = float(m.group(1))
        elif (m := re.match(r"\s*Seizure(?: \d+)? End Time:\s*([\d.]+)", line)) and current and start is not None:
            out[current].append((start, float(m.group(1))))
            start = None
    if not out:
        raise InputError(f"{path}: no 'File Name:' entries; is it a CHB-MIT chbNN-summary.txt?")
    return {k: tuple(v) for k, v in out.items()}
