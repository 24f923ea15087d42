"""A whole seizure detector on the chip: ADC samples in, one at a time; events and an alarm out.

A trained detector (a model with its meta.json) becomes a fixed-point chain that the generated
``detector.c`` runs on the board and ``edgeneuro.detector.chain`` runs in numpy, integer for integer:

1. **ADC samples.** ``en_detector_push`` takes one int16 sample per channel, in the montage order of
   meta.json. A count is ``lsb_uv`` microvolts (``--adc-lsb-uv``); an ADC of ``adc_bits`` bits gives
   counts in ``[-2^(bits-1), 2^(bits-1) - 1]``, and a count outside is clipped to that range and
   counted (``en_detector_status``), never wrapped.
2. **Filters** (optional): a cascade of biquads designed with SciPy (a Butterworth band-pass, a
   notch, and, when the ADC runs faster than the model, a Butterworth low-pass against aliasing),
   run at the ADC rate in fixed point: coefficients Q3.28 (``COEF_BITS``), samples between sections
   int32 with ``SIGNAL_BITS`` fraction bits, products summed exactly in int64 and rounded once per
   section (half up), each section's output saturated to ``SIGNAL_LIMIT``.
3. **Decimation** by the integer factor ``adc_fs / fs``: every ``decimate``-th filtered sample
   (the first one included) goes into a ring buffer of one window per channel. The int8 families
   (dnn, cnn, lstm) scale it first to the model input's quantization with an integer multiplier and
   shift (TFLite's ``MultiplyByQuantizedMultiplier``, as the kernels requantize), so that their ring
   holds int8 and a window costs two copies; the snn family keeps the filtered counts (int16).
4. **A window every stride** (``step`` samples at the model's rate, once ``size`` are in): the
   int8 families run the model once on the ring's window; the snn family computes its features
   (per channel and time step the sum of ``pool`` samples and of their magnitudes, each times one
   float32 constant: the network's input is float32, which its first operator quantizes; this is
   how ``stream --edf`` and ``eval`` feed it, not the spike encoder of ``--encode``, which the snn
   family was not trained with) and runs the network for the window's time steps
   from the reset state. The window's class is the argmax of the model's output (the snn family:
   of the output summed over the time steps, in float32).
5. **Post-processing, as ``eval`` does it** (edgeneuro.metrics.events): the window decisions are
   smoothed by a centred majority vote over ``vote`` windows (``smooth``: a window's vote is final
   one stride after the next window; at the end of a recording ``en_detector_finish`` decides the
   last ones with the windows there are, as ``np.convolve(mode="same")`` does), and a run of
   positive smoothed windows is one event from the start of its first window to the end of its last
   (``to_events``). The host post-processing has no minimum event duration, so neither has this.
   The alarm goes on when an event's first positive vote is final and off when the event ends.

Time on the chip is counted in ADC samples: an event's onset is the ADC sample where its first
window starts, its offset the sample after its last window's end."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgeneuro.data.meta import META, Meta
from edgeneuro.errors import InputError

COEF_BITS = 28  # biquad coefficients: Q3.28 in int32, |c| < 8
SIGNAL_BITS = 8  # fraction bits of the samples between biquad sections
SIGNAL_LIMIT = (1 << 27) - 1  # |sample| between sections (2^19 counts): the int64 sums cannot overflow
DEFAULT_LSB_UV = 0.1  # microvolts per ADC count: int16 spans +-3.3 mV
ANTI_ALIAS = 0.4  # the decimation low-pass's cut-off, as a fraction of the model's rate
NOTCH_Q = 30.0
VOTE = 3  # windows in eval's majority vote (edgeneuro.metrics.seizures.evaluate)


@dataclass(frozen=True)
class Detector:
    """Everything the detector computes with, as the C gets it: the montage, rates, window, the
    filters (``sos``: SciPy's float design, ``sos_q``: its Q3.28 coefficients b0 b1 b2 a1 a2 per
    section), the input scaling of the int8 families (``in_mult``, ``in_shift``, ``in_zp``) or the
    feature scale of the snn family, and the post-processing."""

    family: str
    channels: tuple[str, ...]
    adc_fs: float
    fs: float
    decimate: int
    size: int  # window, samples at the model's rate
    step: int  # stride, samples at the model's rate
    lsb_uv: float
    adc_bits: int
    filters: tuple[str, ...]
    sos: np.ndarray = field(repr=False)
    sos_q: np.ndarray = field(repr=False)
    classes: int
    seizure: int
    vote: int = VOTE
    in_mult: int = 0
    in_shift: int = 0
    in_zp: int = 0
    pool: int = 0  # snn: samples per time step
    feature_scale: float = 0.0  # snn: float32 features per count summed
    output_dtype: str = "int8"

    @property
    def adc_min(self) -> int:
        return -(1 << (self.adc_bits - 1))

    @property
    def adc_max(self) -> int:
        return (1 << (self.adc_bits - 1)) - 1

    @property
    def steps(self) -> int:
        """Time steps per window of the snn family."""
        return self.size // self.pool if self.pool else 0

    def to_json(self) -> dict:
        return {"family": self.family, "channels": list(self.channels), "adc_fs": self.adc_fs, "fs": self.fs,
                "decimate": self.decimate, "window_samples": self.size, "stride_samples": self.step,
                "lsb_uv": self.lsb_uv, "adc_bits": self.adc_bits, "filters": list(self.filters),
                "vote": self.vote}  # fmt: skip


def parse_band(text: str | None) -> tuple[float, float] | None:
    """``--bandpass LO,HI`` (Hz)."""
    if not text:
        return None
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--bandpass {text!r}: give LO,HI in Hz, e.g. 0.5,40") from None
    if not 0 < lo < hi:
        raise InputError(f"--bandpass {text!r}: need 0 < LO < HI")
    return lo, hi


def quantize_sos(sos: np.ndarray) -> np.ndarray:
    """SciPy's second-order sections [S, 6] (a0 = 1) -> int64 [S, 5] Q3.28: b0 b1 b2 a1 a2."""
    sos = np.asarray(sos, np.float64).reshape(-1, 6)
    coefs = sos[:, [0, 1, 2, 4, 5]]
    if sos.size and np.max(np.abs(coefs)) >= 8:
        raise InputError(f"a filter section has a coefficient of {np.max(np.abs(coefs)):g}; Q3.28 holds |c| < 8")
    return np.round(coefs * (1 << COEF_BITS)).astype(np.int64)


def design_filters(adc_fs: float, fs: float, bandpass: tuple[float, float] | None, notch: float | None):
    """The biquad cascade at the ADC rate: (descriptions, float sos [S, 6])."""
    from scipy import signal

    names, parts = [], []
    nyquist = adc_fs / 2
    if bandpass is not None:
        lo, hi = bandpass
        if hi >= min(nyquist, fs / 2):
            raise InputError(f"--bandpass {lo:g},{hi:g}: {hi:g} Hz is not below the model's Nyquist {fs / 2:g} Hz")
        parts.append(signal.butter(2, [lo, hi], btype="bandpass", fs=adc_fs, output="sos"))
        names.append(f"band-pass {lo:g}-{hi:g} Hz (Butterworth, order 2 per edge)")
    if notch is not None:
        if not 0 < notch < nyquist:
            raise InputError(f"--notch {notch:g}: give a frequency between 0 and {nyquist:g} Hz")
        b, a = signal.iirnotch(notch, NOTCH_Q, fs=adc_fs)
        parts.append(signal.tf2sos(b, a))
        names.append(f"notch {notch:g} Hz (Q {NOTCH_Q:g})")
    if adc_fs > fs:
        cut = ANTI_ALIAS * fs
        parts.append(signal.butter(4, cut, btype="lowpass", fs=adc_fs, output="sos"))
        names.append(f"low-pass {cut:g} Hz against aliasing (Butterworth, order 4)")
    sos = np.concatenate(parts) if parts else np.zeros((0, 6))
    return tuple(names), sos


def design(model: Path, graph, adc_fs: float | None = None, lsb_uv: float = DEFAULT_LSB_UV, adc_bits: int = 16,
           bandpass: tuple[float, float] | None = None, notch: float | None = None) -> Detector:  # fmt: skip
    """The detector of ``model`` (its meta.json beside it; ``graph``: the prepared model's graph)
    for an ADC of ``adc_bits`` bits at ``adc_fs`` Hz (default: the model's rate) whose count is
    ``lsb_uv`` microvolts."""
    from edgeneuro.data.dataset import seizure_class
    from edgeneuro.ir.quant import QuantRangeError, quantize_multiplier

    meta = Meta.load(model)
    adc_fs = float(adc_fs or meta.fs)
    ratio = adc_fs / meta.fs
    if ratio < 1 or abs(ratio - round(ratio)) > 1e-9:
        raise InputError(f"--adc-fs {adc_fs:g} Hz: the model takes {meta.fs:g} Hz ({META}); the ADC rate must be "
                         "an integer multiple of it")  # fmt: skip
    if not 8 <= adc_bits <= 16:
        raise InputError(f"--adc-bits {adc_bits}: give 8 to 16 (samples are int16)")
    if not (np.isfinite(lsb_uv) and lsb_uv > 0):
        raise InputError(f"--adc-lsb-uv {lsb_uv}: give a positive number of microvolts")
    size, step = int(round(meta.window * meta.fs)), int(round(meta.stride * meta.fs))
    names, sos = design_filters(adc_fs, meta.fs, bandpass, notch)
    x, y = graph.t(graph.inputs[0]), graph.t(graph.outputs[0])
    channels = len(meta.channels)
    common = dict(family=meta.family, channels=meta.channels, adc_fs=adc_fs, fs=meta.fs,
                  decimate=int(round(ratio)), size=size, step=step, lsb_uv=float(lsb_uv), adc_bits=adc_bits,
                  filters=names, sos=sos, sos_q=quantize_sos(sos), classes=y.size, seizure=seizure_class(meta),
                  output_dtype=y.dtype)  # fmt: skip
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise InputError(f"{model}: a detector model has one input and one output")
    if meta.pool:  # the snn family: float32 features per time step, as `stream --edf` feeds it
        if not graph.temporal or x.dtype != "float32" or x.size != 2 * channels or y.dtype != "float32":
            raise InputError(f"{model}: the snn family's detector takes the network of `train --family snn` "
                             f"(float32 features [{2 * channels}] per time step, float32 output), not one built "
                             "with --encode")  # fmt: skip
        scale = float(np.float32(lsb_uv / meta.input_scale_uv / meta.pool))
        return Detector(**common, pool=meta.pool, feature_scale=scale)
    if graph.temporal or x.dtype != "int8" or tuple(x.shape) != (1, size, channels):
        raise InputError(f"{model}: the detector feeds int8 windows [1, {size}, {channels}] ({META}: {meta.window:g} s "
                         f"at {meta.fs:g} Hz, {channels} channels), but the model takes {x.dtype} {list(x.shape)}; "
                         "give the int8 model of `edgeneuro compress`")  # fmt: skip
    try:
        mult, shift = quantize_multiplier(lsb_uv / meta.input_scale_uv / x.scale)
    except QuantRangeError as e:
        raise InputError(f"--adc-lsb-uv {lsb_uv}: {e}") from e
    if shift > 15:  # en_requant shifts the int16 count left by `shift` in int32
        raise InputError(f"--adc-lsb-uv {lsb_uv}: one count is {2**shift} model input steps or more; use a finer ADC")
    return Detector(**common, in_mult=mult, in_shift=shift, in_zp=x.zero_point)


def check_recording(rec, det: Detector, where: str) -> None:
    """A recording the detector can take: its rate is the ADC's and it has the montage's channels."""
    if abs(rec.fs - det.adc_fs) > 1e-6:
        raise InputError(f"{where}: sampled at {rec.fs:g} Hz but the detector's ADC runs at {det.adc_fs:g} Hz "
                         f"(model {det.fs:g} Hz); build it with --adc-fs {rec.fs:g} if that is a multiple of "
                         f"{det.fs:g}")  # fmt: skip
    missing = [c for c in det.channels if c not in rec.channels]
    if missing:
        raise InputError(f"{where}: no channel {', '.join(missing)} of the detector's montage "
                         f"{', '.join(det.channels)} (it has {', '.join(rec.channels)})")  # fmt: skip


def to_counts(rec, det: Detector) -> tuple[np.ndarray, int]:
    """A recording (microvolts) as the ADC would give it: [samples, channels] int16 counts in the
    montage's order, rounded half away from zero, and how many values fell outside the ADC's range
    (clipped to it)."""
    x = rec.select(det.channels).signals.T.astype(np.float64) / det.lsb_uv
    q = np.sign(x) * np.floor(np.abs(x) + 0.5)
    outside = int(np.sum((q < det.adc_min) | (q > det.adc_max)))
    return np.clip(q, det.adc_min, det.adc_max).astype(np.int16), outside


@dataclass(frozen=True)
class Recording:
    """What `detect` and `stream --continuous` start from: the model's meta.json and prepared graph,
    its detector for the board, the recording (its annotations) and its samples as ADC counts."""

    meta: Meta
    prepared: object  # compiler.Prepared
    det: Detector
    item: object  # data.dataset.Item
    counts: np.ndarray  # int16 [samples, channels], the detector's montage order
    outside: int  # samples that were outside the ADC's range (clipped)


def load_recording(model: Path, edf: Path, board, adc_fs: float | None = None, lsb_uv: float | None = None,
                   adc_bits: int = 16, bandpass=None, notch: float | None = None) -> Recording:  # fmt: skip
    """The detector of ``model`` for ``board`` and the samples of ``edf`` it takes (checked against
    its rate and channels), as `design` and `to_counts` make them."""
    from edgeneuro import compiler
    from edgeneuro.data.dataset import item_of
    from edgeneuro.data.edf import read_edf
    from edgeneuro.options import from_cli

    model, edf = Path(model), Path(edf)
    meta = Meta.load(model)
    prepared = compiler.load(model, from_cli(model, board=board))
    det = design(model, prepared.graph, adc_fs, lsb_uv or DEFAULT_LSB_UV, adc_bits, bandpass, notch)
    item = item_of(edf)
    rec = read_edf(edf)
    check_recording(rec, det, str(edf))
    counts, outside = to_counts(rec, det)
    return Recording(meta, prepared, det, item, counts, outside)
