"""EDF/EDF+ recordings, read and written with pyedflib."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeneuro.errors import InputError


@dataclass(frozen=True)
class Recording:
    """Signals in microvolts, [channels, samples], all at one sampling rate."""

    signals: np.ndarray
    fs: float
    channels: tuple[str, ...]
    source: str = ""

    @property
    def duration(self) -> float:
        return self.signals.shape[1] / self.fs

    def select(self, channels: list[str] | tuple[str, ...]) -> Recording:
        """The given channels, in that order (a montage); a missing channel is an error."""
        missing = [c for c in channels if c not in self.channels]
        if missing:
            raise InputError(f"{self.source}: no channel {', '.join(missing)} (it has {', '.join(self.channels)})")
        idx = [self.channels.index(c) for c in channels]
        return Recording(self.signals[idx], self.fs, tuple(channels), self.source)

    def resample(self, fs: float) -> Recording:
        """FFT resampling to ``fs`` (band-limited; the anti-aliasing is the spectrum truncation)."""
        if fs == self.fs:
            return self
        n_out = int(round(self.signals.shape[1] * fs / self.fs))
        spec = np.fft.rfft(self.signals, axis=1)
        keep = min(spec.shape[1], n_out // 2 + 1)
        out_spec = np.zeros((spec.shape[0], n_out // 2 + 1), complex)
        out_spec[:, :keep] = spec[:, :keep]
        out = np.fft.irfft(out_spec, n=n_out, axis=1) * (n_out / self.signals.shape[1])
        return Recording(out.astype(np.float32), float(fs), self.channels, self.source)


def read_edf(path: str | Path) -> Recording:
    """All signals of an EDF/EDF+ file; they must share one sampling rate (EEG channels do)."""
    import pyedflib

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such EDF file")
    try:
        reader = pyedflib.EdfReader(str(path))
    except OSError as e:
        raise InputError(f"{path}: not a readable EDF/EDF+ file ({e})") from e
    try:
        names = tuple(reader.getSignalLabels())
        rates = [float(reader.getSampleFrequency(i)) for i in range(reader.signals_in_file)]
        if not names:
            raise InputError(f"{path}: the file holds no signals")
        if len(set(rates)) != 1:
            detail = ", ".join(f"{n} {r:g} Hz" for n, r in zip(names, rates, strict=True))
            raise InputError(f"{path}: channels have different sampling rates ({detail})")
        signals = np.stack([reader.readSignal(i) for i in range(reader.signals_in_file)]).astype(np.float32)
    finally:
        reader.close()
    return Recording(signals, rates[0], names, str(path))


def write_edf(path: str | Path, rec: Recording, annotations: list[tuple[float, float, str]] = ()) -> Path:
    """Write an EDF+ file; ``annotations`` are (onset s, duration s, text) written as EDF+ events."""
    import pyedflib

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = pyedflib.EdfWriter(str(path), len(rec.channels), file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        lo = float(np.floor(min(rec.signals.min(), -1.0)))
        hi = float(np.ceil(max(rec.signals.max(), 1.0)))
        headers = [
            {"label": name, "dimension": "uV", "sample_frequency": rec.fs, "physical_min": lo, "physical_max": hi,
             "digital_min": -32768, "digital_max": 32767, "transducer": "", "prefilter": ""}
            for name in rec.channels
        ]  # fmt: skip
        writer.setSignalHeaders(headers)
        for onset, duration, text in annotations:
            writer.writeAnnotation(onset, duration, text)
        writer.writeSamples(list(rec.signals.astype(np.float64)))
    finally:
        writer.close()
    return path
