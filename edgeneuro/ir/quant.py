"""The integer arithmetic spec: how real multipliers become (int32, shift) pairs and how
accumulators are requantized.

edgeneuro matches TensorFlow Lite Micro, the reference on microcontrollers: requantization is
gemmlowp-style *double rounding* (``SaturatingRoundingDoublingHighMul`` followed by
``RoundingDivideByPOT``). The LiteRT desktop interpreter rounds once and can differ by 1-2 LSB.

All functions take numpy integer arrays (or Python ints) and compute in int64 so that the
intermediate products are exact; results are int32 values.
"""

from __future__ import annotations

import math

import numpy as np

from edgeneuro.errors import ModelError

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

# The shifts the kernels apply (firmware/kernels/en_fixedpoint.h ``en_requant``): a left shift as
# ``x * (int32_t)(1u << left)``, defined for left <= 30 (and only while the shifted value fits
# int32, which the accumulator bounds of edgeneuro/ops/base.py check), a right shift
# (``en_rdbpot``) of at most 31 bits. ``quantize_multiplier`` flushes multipliers below 2^-32 to
# zero (TFLite does the same), so only the left side needs a limit.
MAX_LEFT_SHIFT = 30
# ``en_requant64`` (the 16x8 kernels) shifts right by ``15 - shift`` bits, which must be >= 1.
MAX_LEFT_SHIFT_64 = 14


class QuantRangeError(ModelError):
    """A quantization parameter the integer kernels cannot apply without undefined behaviour (a
    multiplier needing a shift of 31 bits or more, a scale that is not a finite number). The
    operator modules' ``lower`` add the operator and its tensors' scales (edgeneuro/ops/__init__.py)."""


def round_half_away(x: float) -> int:
    """C's ``std::round``: halves round away from zero (``TfLiteRound``)."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def quantize_multiplier(real: float, max_shift: int = MAX_LEFT_SHIFT) -> tuple[int, int]:
    """TFLite's ``QuantizeMultiplier``: real = q * 2**(shift - 31), q in [2**30, 2**31).

    Raises QuantRangeError where the kernels could not apply the result: ``real`` not a finite
    number, or a left shift above ``max_shift`` (by default ``MAX_LEFT_SHIFT``, a multiplier of 2^30
    or more: some scale of the operator is far out of range; TFLite would shift by that many bits,
    undefined in C). SOFTMAX and LOG_SOFTMAX take 31: they shift only a difference of 0 that far."""
    real = float(real)
    if real == 0.0:
        return 0, 0
    if not math.isfinite(real):
        raise QuantRangeError(f"requantization multiplier {real} is not a finite number (a scale is 0, inf or NaN)")
    frac, shift = math.frexp(real)
    q = round_half_away(frac * (1 << 31))
    if q == (1 << 31):
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > max_shift:
        raise QuantRangeError(
            f"requantization multiplier {real:.6g} needs a left shift of {shift} bits; the kernels shift by at "
            f"most {max_shift} (multipliers below 2^{max_shift}): a scale is out of range"
        )
    return int(q), int(shift)


def quantize_multiplier_greater_than_one(real: float, max_shift: int = MAX_LEFT_SHIFT) -> tuple[int, int]:
    q, shift = quantize_multiplier(real, max_shift)
    if shift < 0:
        raise QuantRangeError(f"multiplier {real:.6g} is below one (a scale is out of range)")
    return q, shift


def saturating_rounding_doubling_high_mul(a, b):
    """gemmlowp ``SaturatingRoundingDoublingHighMul`` on int32 values (vectorized)."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    s = ab + nudge
    # C integer division truncates toward zero.
    q = np.where(s >= 0, s >> 31, -((-s) >> 31))
    return np.where(overflow, INT32_MAX, q).astype(np.int64)


def rounding_divide_by_pot(x, exponent):
    """gemmlowp ``RoundingDivideByPOT``: divide by 2**exponent, rounding half away from zero."""
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0).astype(np.int64)
    return (x >> exponent) + (remainder > threshold).astype(np.int64)


def multiply_by_quantized_multiplier(x, multiplier, shift):
    """TFLite ``MultiplyByQuantizedMultiplier`` (double rounding), vectorized over x."""
    x = np.asarray(x, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    # x * (1 << left) wraps in int32 in C; inputs here never overflow (the C kernel asserts the
    # same ranges), so the product is kept exact.
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x << left, multiplier), right)


def quantize_value(f: float, scale: float, zero_point: int) -> int:
    """TFLite ``Quantize`` of a float constant in float32 arithmetic (activation bounds)."""
    return int(zero_point) + round_half_away(float(np.float32(f) / np.float32(scale)))


def activation_range(activation: str, scale: float, zero_point: int, dtype: str = "int8") -> tuple[int, int]:
    """TFLite ``CalculateActivationRangeQuantized`` for a fused activation."""
    qmin, qmax = {"int8": (-128, 127), "int16": (-32768, 32767)}[dtype]
    if activation == "NONE":
        return qmin, qmax
    if activation == "RELU":
        return max(qmin, quantize_value(0.0, scale, zero_point)), qmax
    if activation == "RELU6":
        return (
            max(qmin, quantize_value(0.0, scale, zero_point)),
            min(qmax, quantize_value(6.0, scale, zero_point)),
        )
    if activation == "RELU_N1_TO_1":
        return (
            max(qmin, quantize_value(-1.0, scale, zero_point)),
            min(qmax, quantize_value(1.0, scale, zero_point)),
        )
    raise ValueError(f"fused activation {activation}")


def multiply_by_quantized_multiplier_int64(x, multiplier, shift):
    """TFLite ``MultiplyByQuantizedMultiplier(int64_t x, ...)`` of the 16x8 kernels: the multiplier
    is reduced to 16 bits (rounded), then one rounding right shift by ``15 - shift``."""
    x = np.asarray(x, dtype=np.int64)
    multiplier = np.asarray(multiplier, dtype=np.int64)
    reduced = np.where(multiplier < 0x7FFF0000, (multiplier + (1 << 15)) >> 16, 0x7FFF)
    total = 15 - np.asarray(shift, dtype=np.int64)
    return (x * reduced + (np.int64(1) << (total - 1))) >> total


# The spiking kernels' fixed point (edgeneuro/ops/synapse.py, edgeneuro/ops/lif.py; C twins in
# firmware/kernels/en_fixedpoint.h). One rounding everywhere: ``x * m / 2^n`` rounded half up
# (toward +infinity, ``floor(x * m / 2^n + 1/2)``), the product exact in int64, results saturated
# to int32 where they are stored.


def mul_round(x, m, n):
    """``(x * m + 2^(n-1)) >> n`` in int64 with an arithmetic shift, n >= 1. Callers keep
    ``|x * m| < 2^62`` (|x| < 2^31 and |m| < 2^31, or |x| <= 2^32 and |m| <= 2^30)."""
    x = np.asarray(x, dtype=np.int64)
    m = np.asarray(m, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    return (x * m + (np.int64(1) << (n - 1))) >> n


def shift_round(x, n):
    """``x / 2^n`` rounded half up for n >= 0 (``x`` itself for n = 0)."""
    x = np.asarray(x, dtype=np.int64)
    return x if int(n) == 0 else (x + (np.int64(1) << (int(n) - 1))) >> int(n)


def sat32(v):
    return np.clip(np.asarray(v, dtype=np.int64), INT32_MIN, INT32_MAX)


def snn_multiplier(real: float) -> tuple[int, int]:
    """A real multiplier as ``m * 2^-n``: ``|m|`` in [2^30, 2^31) (31 significant bits, rounded half
    away from zero), ``n`` in [1, 62]. Zero and magnitudes below 2^-32 give (0, 1); magnitudes of
    2^30 and more cannot be represented and raise ValueError."""
    if real == 0.0 or abs(real) < 2.0**-32:
        return 0, 1
    frac, e = math.frexp(abs(real))
    m = round_half_away(frac * (1 << 31))
    n = 31 - e
    if m == 1 << 31:
        m //= 2
        n -= 1
    if n < 1:
        raise ValueError(f"multiplier {real:g} is 2^30 or more")
    return (m if real > 0 else -m), n


def quantize_input(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Float samples → int8 with the model input's quantization (round half away from zero)."""
    q = np.floor(np.abs(x / scale) + 0.5) * np.sign(x) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def unpack_int4(packed: np.ndarray, count: int) -> np.ndarray:
    """TFLite INT4 tensor data (TFLM ``tensor_utils::UnpackDenseInt4IntoInt8``): the ``count``
    values of the flat tensor two per byte, element ``2i`` in the low nibble of byte ``i`` and
    ``2i + 1`` in its high nibble, each a two's-complement value in [-8, 7]; an odd count leaves
    the last byte's high nibble unused. Returns int8 [count]."""
    b = np.asarray(packed, np.uint8).reshape(-1)
    lo = ((b & 0x0F).astype(np.int16) ^ 8) - 8
    hi = ((b >> 4).astype(np.int16) ^ 8) - 8
    return np.stack([lo, hi], axis=1).reshape(-1)[:count].astype(np.int8)


def pack_int4(values: np.ndarray) -> np.ndarray:
    """``unpack_int4`` undone: int values in [-8, 7] (flattened) -> uint8 [ceil(n / 2)], the last
    high nibble 0 when n is odd."""
    v = np.asarray(values, np.int64).reshape(-1)
    if v.size and (v.min() < -8 or v.max() > 7):
        raise ValueError(f"int4 values must lie in [-8, 7], got [{v.min()}, {v.max()}]")
    v = np.concatenate([v, np.zeros(v.size % 2, np.int64)]) & 0x0F
    return (v[0::2] | (v[1::2] << 4)).astype(np.uint8)
