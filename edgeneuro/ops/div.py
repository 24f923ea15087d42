"""DIV with broadcasting (up to 5-D): int8, int32 and float32, with a fused activation.

Spec (TFLM ``div.cc``, ``reference_ops::DivElementwise`` / ``BroadcastDivSlow``):

- float32: ``a / b`` clamped to the activation's range; int32: C's truncating ``a / b``, clamped
  to ``CalculateActivationRange<int32>`` (NONE: all of int32, RELU: ``[0, max]``, RELU6 ``[0, 6]``,
  RELU_N1_TO_1 ``[-1, 1]``). A zero int32 divisor is undefined in TFLM; edgeneuro divides by 1
  there, and computes the quotient in int64 (``INT32_MIN / -1`` clamps to ``INT32_MAX``).
- int8: ``(m, shift) = QuantizeMultiplier(double(s_a / (s_b * s_out)))``, the quotient in float32.
  Per element ``u = a - zp_a``, ``v = b - zp_b`` (TFLM requires ``v != 0``; edgeneuro's kernel
  gives ``zp_out`` clamped there), both negated where ``v < 0``; ``GetReciprocal(v, 31)``:
  ``c = clz(v)``, ``r = one_over_one_plus_x_for_x_in_0_1((v << c) - 2^31)`` (gemmlowp, Q0.31),
  ``recip_shift = 31 - c``; ``h = CountLeadingSignBits(u)`` (31 for 0 and -1);
  ``q = SaturatingRoundingDoublingHighMul(u << h, r)``; ``y = zp_out + RoundingDivideByPOT(
  SaturatingRoundingDoublingHighMul(q, m), h + recip_shift - shift)``, clamped to the activation
  range. The rounding exponent ``e`` exceeds 31 for small ``|u|`` (up to 38 + 24): TFLM's int32
  ``RoundingDivideByPOT`` is then outside its contract (undefined behaviour). The pinned TFLM
  (an x86-64 build) computes the mask ``(int32)((1ll << e) - 1) = -1`` and shifts by ``e mod 32``,
  which gives -128 / 127 / ``zp_out + 1`` for those elements; edgeneuro reproduces that on every
  target (``_wide_rdbpot``, spelled out in the C kernel), so its output equals the pinned TFLM's
  (a TFLM built for Arm, whose shifts by 32 or more give 0 or -1, would differ there). edgeneuro
  refuses multipliers whose shift leaves -24..23 (exponents beyond 63). No int32 intermediate
  can overflow (issue 15, item 4): ``|u|, |v| <= 255``, ``|u << h| <= 2^31``, and the two doubling
  high multiplies do not grow it; the exponent is ``>= 1`` unless ``h == 23`` (8 significant bits,
  ``|u << h| <= 255 << 23``), ``v == 1`` and ``shift == 23``, so ``zp_out + ...`` stays within
  ``2^30 + 1 + 128`` or ``(255 << 23) + 128``, below 2^31.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.gemmlowp import one_over_one_plus_x
from edgeneuro.ir.quant import activation_range, quantize_multiplier
from edgeneuro.ir.quant import saturating_rounding_doubling_high_mul as srdhm
from edgeneuro.ops.base import (
    Kernel,
    activation,
    broadcast,
    broadcast_inputs,
    float_activation_range,
    float_clamp,
    same_types,
    unsupported,
)
from edgeneuro.ops.minmax import SUFFIX

KINDS = ("DIV",)
C_FILE = "div"
MAX_VERSION = {"DIV": 2}  # newest TFLite op versions handled (2: int8)
INT32_ACT = {"NONE": (-(2**31), 2**31 - 1), "RELU": (0, 2**31 - 1), "RELU6": (0, 6), "RELU_N1_TO_1": (-1, 1)}


def lower(op: Op, g: Graph) -> Kernel:
    a, b, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    dtype = same_types(g, op, ("int8", "int32", "float32"), a, b, y)
    params = broadcast(g, op, a, b, y)
    act = activation(op)
    if dtype == "float32":
        params.update(zip(("act_min", "act_max"), float_activation_range(op), strict=True))
    elif dtype == "int32":
        if any(t.quant is not None for t in (a, b)):
            raise unsupported(g, op, "TFLM divides int32 tensors only without quantization")
        params.update(zip(("act_min", "act_max"), INT32_ACT[act], strict=True))
    else:
        if any(t.quant is None or t.quant.per_channel for t in (a, b, y)):
            raise unsupported(g, op, "int8 tensors must be quantized per tensor")
        real = np.float32(a.scale) / (np.float32(b.scale) * np.float32(y.scale))
        mult, shift = quantize_multiplier(float(real))
        if not -24 <= shift <= 23:  # the rounding exponent must stay within 0..63
            raise unsupported(g, op, f"scales give a multiplier of {float(real):g}, too large for TFLM's DIV")
        act_min, act_max = activation_range(act, y.scale, y.zero_point)
        params.update(a_zp=a.zero_point, b_zp=b.zero_point, out_zp=y.zero_point, mult=mult, shift=shift)
        params.update(act_min=act_min, act_max=act_max)
    return Kernel(
        op=op,
        fn=f"en_div_{SUFFIX[dtype]}",
        params=params,
        inputs=(a.name, b.name),
        outputs=(y.name,),
        inplace=tuple(i for i, t in enumerate((a, b)) if t.size == y.size),
        summary=f"{list(a.shape)} / {list(b.shape)}" + ("" if act == "NONE" else f" {act}"),
    )


def _clz32(v: np.ndarray) -> np.ndarray:
    """Leading zeros of non-negative int32 values (32 for 0)."""
    v = np.asarray(v, np.int64)
    out = np.full(v.shape, 32, np.int64)
    for bit in range(31, -1, -1):
        out = np.where((out == 32) & ((v >> bit) & 1).astype(bool), 31 - bit, out)
    return out


def _wide_rdbpot(x: np.ndarray, e: np.ndarray) -> np.ndarray:
    """TFLM's int32 ``RoundingDivideByPOT(x, e)`` as the pinned (x86-64) build computes it, also for
    exponents 32..63 outside its contract: the mask ``(int32)((1ll << e) - 1)`` is then -1 and the
    shift ``x >> e`` shifts by ``e mod 32`` (the x86 shift instruction's count)."""
    x, e = np.asarray(x, np.int64), np.asarray(e, np.int64)
    wide = e >= 32
    mask = np.where(wide, -1, (np.int64(1) << np.minimum(e, 31)) - 1)
    threshold = (mask >> 1) + (x < 0)
    return (x >> np.where(wide, e & 31, e)) + ((x & mask) > threshold)


def divide_s8(p: dict, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    u = a.astype(np.int64) - p["a_zp"]
    v = b.astype(np.int64) - p["b_zp"]
    neg = v < 0
    u, v = np.where(neg, -u, u), np.where(neg, -v, v)
    zero = v == 0
    v = np.where(zero, 1, v)
    c = _clz32(v)
    recip = one_over_one_plus_x((v << c) - (1 << 31))
    recip_shift = 31 - c
    h = np.where(u >= 0, _clz32(u), _clz32(~u)) - 1
    q = srdhm(u << h, recip)
    y = p["out_zp"] + _wide_rdbpot(srdhm(q, p["mult"]), h + recip_shift - p["shift"])
    y = np.where(zero, p["out_zp"], y)
    return np.clip(y, p["act_min"], p["act_max"]).astype(np.int8)


def reference(k: Kernel, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    p = k.params
    fa, fb = broadcast_inputs(p, a, b)
    if k.fn == "en_div_f32":
        with np.errstate(all="ignore"):
            q = fa.astype(np.float32) / fb.astype(np.float32)
        return float_clamp(q, p["act_min"], p["act_max"]).reshape(-1)
    if k.fn == "en_div_s32":
        x, d = fa.astype(np.int64), fb.astype(np.int64)
        d = np.where(d == 0, 1, d)
        q = np.abs(x) // np.abs(d) * np.sign(x) * np.sign(d)  # truncating
        return np.clip(q, p["act_min"], p["act_max"]).astype(np.int32).reshape(-1)
    return divide_s8(p, fa, fb).reshape(-1)
