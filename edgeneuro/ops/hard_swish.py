"""HARD_SWISH, int8 in, int8 out, elementwise: ``x * relu6(x + 3) / 6`` in 16-bit fixed point.

Spec (TFLM ``hard_swish_common.cc`` and ``reference_ops::HardSwish``, from TFLite's kernel):

* Prepare, in float32: ``hires = (1.0f / 128.0f) * s_in``; ``reluish_scale = 3.0f / 32768.0f``;
  ``output = double(hires / s_out)`` and ``reluish = double(hires / reluish_scale)`` (float32
  divisions), each through ``QuantizeMultiplier`` to (int32 multiplier, exponent), then
  ``DownScaleInt32ToInt16Multiplier``: ``m >= INT32_MAX - 2^15 ? 32767 : (m + 2^15) >> 16``.
  TFLM refuses an output exponent > 0 (``s_in / s_out >= ~64``); so does edgeneuro.
* Eval, all in int16 (gemmlowp's int16 ``SaturatingRoundingDoublingHighMul`` and
  ``RoundingDivideByPOT``): ``v = (x - in_zp) * 128``; ``pre = SRDHM16(v, out_m16)``;
  ``r = v``, if the reluish exponent e > 0: ``r = sat16(r << (e - 1))``, ``r = SRDHM16(r, rel_m16)``,
  ``r = sat16(r << 1)``; if e < 0: ``r = SRDHM16(r, rel_m16)``, ``r = RDBPOT16(r, -e)``;
  ``r = (r + 2^15) >> 1`` (the [-1, 1] relu-ish value moved to [0, 1]);
  ``y = RDBPOT16(SaturatingDoublingHighMul(r, pre), -out_exp) + out_zp`` clamped to int8, where
  ``SaturatingDoublingHighMul(a, b) = (a * b) / 2^15`` truncates toward zero.
* ``RDBPOT16`` is gemmlowp's ``RoundingDivideByPOT<int16_t>`` literally: its mask
  ``(int16_t)((1ll << e) - 1)`` wraps to -1 for e >= 16, and then the result is
  ``(x >> e) + (x > -1 + (x < 0))``, i.e. 1 for x >= 0 and -1 for x < 0 (not 0). That happens for
  a tiny input scale (``s_in < ~1.8e-7``, on the reluish path) or when ``s_out > ~512 * s_in``
  (on the output path).
* ``y + out_zp`` cannot leave int16: ``|pre| <= 32639``.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.quant import quantize_multiplier
from edgeneuro.ops.base import Kernel, require_int8, unsupported

KINDS = ("HARD_SWISH",)
C_FILE = "hard_swish"
MAX_VERSION = {"HARD_SWISH": 1}  # newest TFLite op versions handled
INT16_MIN, INT16_MAX = -(2**15), 2**15 - 1


def downscale_int32_to_int16_multiplier(m: int) -> int:
    """TFLite ``DownScaleInt32ToInt16Multiplier``."""
    if m >= (2**31 - 1) - (1 << 15):
        return INT16_MAX
    return (m + (1 << 15)) >> 16


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    require_int8(g, op, x, y)
    if x.size != y.size:
        raise unsupported(g, op, f"output '{y.name}' has {y.size} elements, input {x.size}")
    hires = np.float32(1.0 / 128.0) * np.float32(x.scale)
    reluish_scale = np.float32(3.0) / np.float32(32768.0)
    out_m32, out_exp = quantize_multiplier(float(hires / np.float32(y.scale)))
    rel_m32, rel_exp = quantize_multiplier(float(hires / reluish_scale))
    if out_exp > 0:
        raise unsupported(
            g, op, f"input scale {x.scale} / output scale {y.scale} is too large (TFLM requires a multiplier below 1/2)"
        )
    if rel_exp > 31:  # TFLM's SaturatingLeftShift computes 1 << (rel_exp - 1) in int
        raise unsupported(g, op, f"input scale {x.scale} is too large")
    return Kernel(
        op=op,
        fn="en_hard_swish_s8",
        params=dict(
            size=x.size,
            in_zp=x.zero_point,
            out_zp=y.zero_point,
            out_mult=downscale_int32_to_int16_multiplier(out_m32),
            out_exp=out_exp,
            rel_mult=downscale_int32_to_int16_multiplier(rel_m32),
            rel_exp=rel_exp,
        ),
        inputs=(x.name,),
        outputs=(y.name,),
        inplace=(0,),
    )


def srdhm16(a, b):
    """gemmlowp ``SaturatingRoundingDoublingHighMul<int16_t>``."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    ab = a * b
    s = ab + np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    q = np.where(s >= 0, s >> 15, -((-s) >> 15))  # C division truncates toward zero
    return np.where((a == INT16_MIN) & (b == INT16_MIN), INT16_MAX, q)


def sdhm16(a, b):
    """TFLite ``SaturatingDoublingHighMul`` (int16, truncating toward zero)."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    ab = a * b
    q = np.where(ab >= 0, ab >> 15, -((-ab) >> 15))
    return np.where((a == INT16_MIN) & (b == INT16_MIN), INT16_MAX, q)


def rdbpot16(x, exponent: int):
    """gemmlowp ``RoundingDivideByPOT<int16_t>`` for 0 <= exponent <= 31, including its int16 mask."""
    x = np.asarray(x, np.int64)
    mask = (1 << exponent) - 1 if exponent <= 15 else -1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def sat_shl16(x, amount: int):
    """TFLite ``SaturatingLeftShift`` (int16)."""
    return np.clip(np.asarray(x, np.int64) << amount, INT16_MIN, INT16_MAX)


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    p = k.params
    v = (x.reshape(-1).astype(np.int64) - p["in_zp"]) * 128
    pre = srdhm16(v, p["out_mult"])
    r = v
    if p["rel_exp"] > 0:
        r = sat_shl16(r, p["rel_exp"] - 1)
    r = srdhm16(r, p["rel_mult"])
    if p["rel_exp"] > 0:
        r = sat_shl16(r, 1)
    if p["rel_exp"] < 0:
        r = rdbpot16(r, -p["rel_exp"])
    r = (r + (1 << 15)) >> 1
    y = rdbpot16(sdhm16(r, pre), -p["out_exp"]) + p["out_zp"]
    return np.clip(y, -128, 127).astype(np.int8)
