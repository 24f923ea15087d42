"""EEG samples -> spike trains, by integer rules that the chip runs too (the ENCODE op,
edgeneuro/ops/encode.py and firmware/kernels/encode.c, calls the same step functions as its spec).

**Integer samples.** The encoders take int16 samples ``q`` [T, channels]. Float samples ``x`` in the
model's units (e.g. microvolts / ``Meta.input_scale_uv``) become ``q = quantize(x, scale)``:
``q = clip(round(x / scale), -32768, 32767)``, rounded half away from zero in float64; ``scale``
is the model units per count (an ADC's LSB). Thresholds are given in the same int16 counts, so the
spikes depend on ``q`` and integers only: host numpy and C give the same spikes, bit for bit.

**Delta modulation** (``delta:THRESHOLD``, ``1 <= THRESHOLD <= 65535`` counts). One int32 reference
``r[c]`` per channel, set to the channel's *first sample* at the first step (so that a DC offset
gives no burst of spikes). At every step, with ``d = q[t, c] - r[c]``:

* ``d > THRESHOLD``: an UP spike, ``r[c] += THRESHOLD``;
* ``d < -THRESHOLD``: a DOWN spike, ``r[c] -= THRESHOLD``;
* otherwise no spike.

At most one spike per channel per step (classical delta modulation): UP and DOWN never fire
together, and ``r`` tracks a signal whose change per step is at most ``THRESHOLD`` to within
``THRESHOLD``; a steeper signal is followed at ``THRESHOLD`` per step until it is caught up (slope
overload: the error obeys ``|e[t]| <= max(T, |e[t-1]| + |q[t] - q[t-1]| - T)``). ``r`` stays in the
int16 range (it moves only toward ``q``), so nothing saturates. The output has ``2 * channels``
spike channels, the UPs first: ``[up_0 .. up_{C-1}, down_0 .. down_{C-1}]`` (row-major ``[2, C]``).
``reconstruct`` gives ``r`` back from the spikes.

**Rate coding** (``rate:FULL``, ``1 <= FULL <= 32768`` counts): a sigma-delta accumulator per
channel, ``a[c]`` starting at 0. At every step ``a[c] += min(|q[t, c]|, FULL)``; if ``a[c] >= FULL``
a spike, and ``a[c] -= FULL``. So ``0 <= a < FULL`` always, a channel fires at the rate
``min(|q|, FULL) / FULL`` per step (``|q| >= FULL``: every step), and the count over T steps is
exactly ``floor(sum_t min(|q[t]|, FULL) / FULL)``. Deterministic, no random numbers; the output
has ``channels`` spike channels.

Spikes are int8 0 / 1 here. On the chip the ENCODE op writes them at its output's scale (the NIR
front end's input scale, ``1 / 127``: a spike is 127, i.e. 1.0), exactly what the graph's QUANTIZE
makes of float 0 / 1 spikes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgeneuro.errors import InputError

RULES = ("delta", "rate")
LIMITS = {"delta": (1, 65535), "rate": (1, 32768)}  # THRESHOLD, FULL (int16 counts)
INT16_MIN, INT16_MAX = -32768, 32767


def quantize(x: np.ndarray, scale: float) -> np.ndarray:
    """Float samples (model units) -> int16 counts: ``clip(round(x / scale))``, halves away from zero."""
    if not (np.isfinite(scale) and scale > 0):
        raise InputError(f"the sample scale must be a positive number, not {scale!r}")
    v = np.asarray(x, np.float64) / float(scale)
    if not np.all(np.isfinite(v)):
        raise InputError("the samples hold NaN or infinite values")
    r = np.sign(v) * np.floor(np.abs(v) + 0.5)
    return np.clip(r, INT16_MIN, INT16_MAX).astype(np.int16)


def state_words(rule: str, channels: int) -> int:
    """int32 words of state per encoder: delta ``r[C]`` and a started flag, rate ``a[C]``."""
    return channels + 1 if rule == "delta" else channels


def delta_step(q: np.ndarray, threshold: int, state: np.ndarray) -> np.ndarray:
    """One step of delta modulation: ``q`` [C] int16, ``state`` int32 [C + 1] (``r``, then the
    started flag; zero is the reset state), updated in place. Returns [2C] int8 spikes (UPs, DOWNs)."""
    c = q.size
    q = q.reshape(-1).astype(np.int64)
    if state[c] == 0:  # the first step: the reference starts at the first sample
        state[:c] = q
        state[c] = 1
    r = state[:c].astype(np.int64)
    d = q - r
    up, down = d > threshold, d < -threshold
    state[:c] = r + threshold * up.astype(np.int64) - threshold * down.astype(np.int64)
    return np.concatenate([up, down]).astype(np.int8)


def rate_step(q: np.ndarray, full: int, state: np.ndarray) -> np.ndarray:
    """One step of rate coding: ``q`` [C] int16, ``state`` int32 [C] (the accumulators, zero at
    reset), updated in place. Returns [C] int8 spikes."""
    a = state.astype(np.int64) + np.minimum(np.abs(q.reshape(-1).astype(np.int64)), full)
    z = a >= full
    state[:] = a - full * z.astype(np.int64)
    return z.astype(np.int8)


def _check(q: np.ndarray, rule: str, value: int) -> np.ndarray:
    q = np.asarray(q)
    if q.ndim != 2 or q.dtype != np.int16:
        raise InputError(f"the encoders take int16 samples [T, channels], not {q.dtype} {list(q.shape)}; "
                         "quantize float samples with edgeneuro.data.encode.quantize")  # fmt: skip
    lo, hi = LIMITS[rule]
    if not (isinstance(value, (int, np.integer)) and lo <= value <= hi):
        raise InputError(f"{rule}: {value!r} is not an integer in [{lo}, {hi}] (int16 counts)")
    return q


def delta(q: np.ndarray, threshold: int) -> np.ndarray:
    """Delta modulation of a whole recording ``q`` [T, C] int16 -> [T, 2C] int8 spikes."""
    q = _check(q, "delta", threshold)
    state = np.zeros(state_words("delta", q.shape[1]), np.int32)
    out = np.zeros((q.shape[0], 2 * q.shape[1]), np.int8)
    for t in range(q.shape[0]):
        out[t] = delta_step(q[t], int(threshold), state)
    return out


def rate(q: np.ndarray, full: int) -> np.ndarray:
    """Rate coding of a whole recording ``q`` [T, C] int16 -> [T, C] int8 spikes."""
    q = _check(q, "rate", full)
    state = np.zeros(state_words("rate", q.shape[1]), np.int32)
    out = np.zeros(q.shape, np.int8)
    for t in range(q.shape[0]):
        out[t] = rate_step(q[t], int(full), state)
    return out


def reconstruct(spikes: np.ndarray, threshold: int, start: np.ndarray) -> np.ndarray:
    """The delta encoder's reference ``r`` after each step, from its spikes [T, 2C] and the first
    sample ``start`` [C]: ``start + threshold * (UPs - DOWNs so far)``, int64 [T, C]."""
    c = spikes.shape[1] // 2
    steps = spikes[:, :c].astype(np.int64) - spikes[:, c:].astype(np.int64)
    return np.asarray(start, np.int64)[None, :] + threshold * np.cumsum(steps, axis=0)


@dataclass(frozen=True)
class Encoder:
    """An encoder at a spiking network's input (``--encode RULE:VALUE[,channels=N][,scale=S]``)."""

    rule: str  # delta | rate
    value: int  # THRESHOLD (delta) or FULL (rate), int16 counts
    channels: int | None = None  # EEG channels; None: from the network's input size
    scale: float | None = None  # model units per count of the int16 samples (recorded on the input)

    @property
    def per_channel(self) -> int:
        """Spike channels per EEG channel."""
        return 2 if self.rule == "delta" else 1

    def __call__(self, q: np.ndarray) -> np.ndarray:
        """The spikes of one recording ``q`` [T, channels] int16."""
        return delta(q, self.value) if self.rule == "delta" else rate(q, self.value)

    def spec(self) -> str:
        extra = f",channels={self.channels}" if self.channels else ""
        return f"{self.rule}:{self.value}{extra}" + (f",scale={self.scale:g}" if self.scale else "")


def parse(spec: str) -> Encoder:
    """``delta:THRESHOLD`` or ``rate:FULL`` (int16 counts), optionally ``,channels=N`` (checked
    against the network's input) and ``,scale=S`` (model units per count, recorded on the input)."""
    usage = "give --encode delta:THRESHOLD or rate:FULL (int16 counts), optionally ,channels=N and ,scale=S"
    head, *extras = str(spec).split(",")
    rule, sep, value = head.partition(":")
    rule = rule.strip().lower()
    if rule not in RULES or not sep:
        raise InputError(f"--encode {spec!r}: {usage}")
    lo, hi = LIMITS[rule]
    try:
        n = int(value)
    except ValueError:
        raise InputError(f"--encode {spec!r}: {value!r} is not an integer number of int16 counts") from None
    if not lo <= n <= hi:
        raise InputError(f"--encode {spec!r}: {'THRESHOLD' if rule == 'delta' else 'FULL'} must lie in [{lo}, {hi}]")
    opts: dict = {}
    for e in extras:
        key, eq, v = e.partition("=")
        key = key.strip()
        try:
            if not eq or key not in ("channels", "scale") or key in opts:
                raise ValueError
            opts[key] = int(v) if key == "channels" else float(v)
            if not (opts[key] > 0 and np.isfinite(opts[key])):
                raise ValueError
        except ValueError:
            raise InputError(f"--encode {spec!r}: bad option {e!r}; {usage}") from None
    return Encoder(rule, n, opts.get("channels"), opts.get("scale"))
