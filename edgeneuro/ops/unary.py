"""The unary elementwise operators ABS, NEG, RSQRT, SQRT, EXP, LOG, LOGICAL_NOT, CEIL, FLOOR, ROUND,
SIN, COS and SQUARE, and L2_NORMALIZATION (which shares RSQRT's integer 1/sqrt).

Spec (TFLM ``elementwise.cc``, ``neg.cc``, ``exp.cc``), input and output of one type and size:

- float32, all but LOGICAL_NOT: ``fabsf(x)``, ``-x``, ``1.f / sqrtf(x)``, ``sqrtf(x)``,
  ``expf(x)``, ``logf(x)``. ABS, NEG, SQRT and RSQRT are exact IEEE operations, bit for bit
  everywhere; EXP and LOG are the C library's, which differ between libraries in the last bit now
  and then (the numpy reference rounds the double-precision value to float32, which is what a
  correctly rounded ``expf`` / ``logf`` gives).
- CEIL, FLOOR, ROUND, SIN, COS, SQUARE (TFLM ``ceil.cc``, ``floor.cc``, ``round.cc``,
  ``elementwise.cc``; float32 only): ``ceilf(x)``, ``floorf(x)``, ``x * x`` (exact everywhere);
  ROUND is TFLM's ``RoundToNearest``: ``f = floorf(x)``, ``d = x - f``, ``f`` if ``d < 0.5f`` or
  (``d == 0.5f`` and ``(int)f`` is even), else ``f + 1.0f`` (halves to even, and -0.4 or -0.5
  give +0.0, not ``rintf``'s -0.0); SIN and COS are the C library's ``sinf`` / ``cosf``, which
  differ between libraries in the last bit now and then (the numpy reference rounds the
  double-precision value to float32, which is what a correctly rounded ``sinf`` gives).
- LOGICAL_NOT: bool, ``!x``.
- ABS int8 (and int16 with zero points 0): ``v = |x - zp_in|``; where the input and output
  scales are equal (as float32) ``v + zp_out``, else ``MultiplyByQuantizedMultiplier(v, m, shift) +
  zp_out`` with ``QuantizeMultiplier(double(s_in) / double(s_out))``; clamped to the type's range.
  int16 without quantization: ``abs`` of the raw value (-32768 stays -32768).
- RSQRT int8: ``v = x - zp_in``; ``v == 0`` gives 127; else ``(inv, e) =
  GetInvSqrtQuantizedMultiplierExp(v, -1)`` (gemmlowp's Newton-Raphson 1/sqrt, ``inv_sqrt``),
  ``d = MBQM(1, inv, e + 20)``, ``y = MBQM(d, m, shift - 20) + zp_out`` clamped to int8, with
  ``(m, shift) = QuantizeMultiplier(1 / (sqrt(double(s_in)) * double(s_out)))``. TFLM fails the
  inference on an input below the zero point (RSQRT of a negative number); edgeneuro's kernel gives
  127 there, as for zero.

TFLM has no integer NEG, SQRT, EXP or LOG (edgeneuro refuses them by type).

L2_NORMALIZATION over the last axis (TFLM ``l2norm.cc``; input rank up to 4, no fused activation):

- float32: ``n = sqrtf(sum x*x)`` (summed in order), ``n = max(n, 1e-6f)``, ``x / n``.
- int8 (output scale 1/128 and zero point 0, as the converter gives; TFLM never reads them,
  edgeneuro refuses others): ``v = x - zp_in``, ``acc = sum v*v`` (int32),
  ``(inv, e) = GetInvSqrtQuantizedMultiplierExp(acc, -1)``, ``y = MBQM(v, inv, e + 7)`` clamped to
  int8.
"""

from __future__ import annotations

import math

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.gemmlowp import sat_shl
from edgeneuro.ir.quant import INT32_MAX, multiply_by_quantized_multiplier, quantize_multiplier
from edgeneuro.ir.quant import rounding_divide_by_pot as rdbpot
from edgeneuro.ir.quant import saturating_rounding_doubling_high_mul as srdhm
from edgeneuro.ops.base import Kernel, activation, check_accumulator, deviation, requant_limit, unsupported

KINDS = ("ABS", "NEG", "RSQRT", "SQRT", "EXP", "LOG", "LOGICAL_NOT", "L2_NORMALIZATION", "CEIL", "FLOOR", "ROUND",
         "SIN", "COS", "SQUARE")  # fmt: skip
C_FILE = "unary"
# newest TFLite op versions handled (ABS 2: int8, 3 and 4: int16; RSQRT 2: int8, 3: int16, refused by type)
MAX_VERSION = {"ABS": 4, "NEG": 2, "RSQRT": 3, "SQRT": 1, "EXP": 2, "LOG": 1, "LOGICAL_NOT": 1, "L2_NORMALIZATION": 2,
               "CEIL": 1, "FLOOR": 1, "ROUND": 1, "SIN": 1, "COS": 1, "SQUARE": 1}  # fmt: skip
TYPES = {"ABS": ("float32", "int8", "int16"), "RSQRT": ("float32", "int8"), "LOGICAL_NOT": ("bool",)}
RSQRT_SHIFT = 20  # TFLM's kShift, which keeps the intermediate 1/sqrt an integer


def _lower_l2norm(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    if x.dtype != y.dtype or x.dtype not in ("float32", "int8"):
        raise unsupported(g, op, f"{x.dtype} in, {y.dtype} out; TFLM's L2_NORMALIZATION takes float32 or int8")
    if not 1 <= len(x.shape) <= 4 or tuple(x.shape) != tuple(y.shape):
        raise unsupported(g, op, f"shapes {list(x.shape)} -> {list(y.shape)}; TFLM takes one shape of rank 1 to 4")
    if activation(op) != "NONE":
        raise unsupported(g, op, f"fused {activation(op)}; TFLM's L2_NORMALIZATION takes none")
    depth = x.shape[-1]
    params = dict(outer=x.size // depth, depth=depth)
    if x.dtype == "int8":
        if x.quant is None or y.quant is None or x.quant.per_channel:
            raise unsupported(g, op, "int8 input and output must be quantized per tensor")
        if y.zero_point != 0 or abs(y.scale - 1 / 128) > 1e-3 / 128:
            raise unsupported(
                g, op, f"int8 output must have scale 1/128 and zero point 0 (has {y.scale}, {y.zero_point})"
            )
        params["in_zp"] = x.zero_point
        dev = deviation(x)  # en_l2norm_s8's int32 ``acc += v * v`` over a row (TFLM's int32 too)
        check_accumulator(g, op, dev * dev * depth, f"sum of a row's squares ({depth:,} x {dev}^2)",
                          fix="TFLM's int32 sum overflows too; split the axis or use float32")  # fmt: skip
    return Kernel(op=op, fn=f"en_l2norm_{'f32' if x.dtype == 'float32' else 's8'}", params=params,
                  inputs=(x.name,), outputs=(y.name,), summary=f"rows of {depth}")  # fmt: skip


def _l2norm(k: Kernel, x: np.ndarray) -> np.ndarray:
    p = k.params
    rows = x.reshape(p["outer"], p["depth"])
    if k.fn == "en_l2norm_f32":
        f = rows.astype(np.float32)
        total = np.zeros(p["outer"], np.float32)
        for c in range(p["depth"]):
            total = (total + f[:, c] * f[:, c]).astype(np.float32)
        norm = np.maximum(np.sqrt(total), np.float32(1e-6))
        return (f / norm[:, None]).astype(np.float32).reshape(-1)
    v = rows.astype(np.int64) - p["in_zp"]
    out = np.empty(v.shape, np.int64)
    for r, row in enumerate(v):
        inv, e = inv_sqrt(int((row * row).sum()))
        out[r] = multiply_by_quantized_multiplier(row, inv, e + 7)
    return np.clip(out, -128, 127).astype(np.int8).reshape(-1)


def lower(op: Op, g: Graph) -> Kernel:
    if op.kind == "L2_NORMALIZATION":
        return _lower_l2norm(op, g)
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    types = TYPES.get(op.kind, ("float32",))
    if x.dtype != y.dtype or x.dtype not in types:
        raise unsupported(g, op, f"{x.dtype} in, {y.dtype} out; TFLM's {op.kind} takes {', '.join(types)}")
    if x.size != y.size:
        raise unsupported(g, op, f"output '{y.name}' has {y.size} elements, input {x.size}")
    params: dict = dict(size=x.size)
    if x.dtype == "float32":
        params["op"] = KINDS.index(op.kind)
        fn = "en_unary_f32"
    elif x.dtype == "bool":
        fn = "en_logical_not"
    elif x.quant is None and y.quant is None and x.dtype == "int16":  # ABS of raw int16
        fn = "en_abs_s16_raw"
    else:
        if x.quant is None or y.quant is None or x.quant.per_channel or y.quant.per_channel:
            raise unsupported(g, op, f"{x.dtype} input and output must be quantized per tensor")
        if x.dtype == "int16" and (x.zero_point != 0 or y.zero_point != 0):
            raise unsupported(g, op, "int16 input and output must have zero point 0")
        params.update(in_zp=x.zero_point, out_zp=y.zero_point)
        s_in, s_out = float(x.scale), float(y.scale)
        if op.kind == "ABS":
            rescale = np.float32(s_in) != np.float32(s_out)
            m, e = quantize_multiplier(s_in / s_out) if rescale else (0, 0)
            params.update(rescale=int(rescale), mult=m, shift=e)
            if rescale:  # ``|x - zp_in|`` shifted left by the multiplier's shift (en_requant), + zp_out
                dev = deviation(x)
                check_accumulator(g, op, dev, f"|x - zp| (<= {dev})", left_shift=e, limit=requant_limit(y.zero_point),
                                  fix=f"the output scale {s_out:g} is far below the input's {s_in:g}")  # fmt: skip
            fn = f"en_abs_{'s8' if x.dtype == 'int8' else 's16'}"
        else:  # RSQRT int8
            m, e = quantize_multiplier(1.0 / (math.sqrt(s_in) * s_out))
            if not -31 <= e - RSQRT_SHIFT <= 0:
                raise unsupported(g, op, f"scales {s_in}, {s_out} are outside what TFLM's RSQRT computes")
            params.update(mult=m, shift=e - RSQRT_SHIFT)
            fn = "en_rsqrt_s8"
    return Kernel(op=op, fn=fn, params=params, inputs=(x.name,), outputs=(y.name,), inplace=(0,),
                  summary=f"{op.kind.lower()} {x.dtype}")  # fmt: skip


def inv_sqrt(v: int) -> tuple[int, int]:
    """TFLite ``GetInvSqrtQuantizedMultiplierExp(v, kReverseShift = -1)`` for one int32 ``v >= 0``:
    a multiplier and a (left) shift with ``mult * 2^(shift - 31) ~ 1 / sqrt(v)``, from five
    Newton-Raphson steps in gemmlowp fixed point (Q3.28)."""
    if v <= 1:
        return INT32_MAX, 0
    shift = 11
    while v >= 1 << 29:
        v //= 4
        shift += 1
    pairs = (32 - v.bit_length() - 1) // 2 - 1
    shift -= pairs
    v <<= 2 * pairs
    half_input = int(rdbpot(v >> 1, 1))
    half_three = (1 << 28) + (1 << 27)
    x = 1 << 28  # F3 one
    for _ in range(5):
        x3 = int(sat_shl(srdhm(srdhm(x, x), x), 6))
        x = int(sat_shl(int(srdhm(half_three, x)) - int(srdhm(half_input, x3)), 3))
    x = int(srdhm(x, 1518500250))  # times sqrt(2) / 2 in Q0.31
    if shift < 0:
        x = (x << -shift) & 0xFFFFFFFF
        x = x - (1 << 32) if x >= 1 << 31 else x
        shift = 0
    return x, -shift


def round_to_nearest(f: np.ndarray) -> np.ndarray:
    """TFLM's ``RoundToNearest`` on float32 (see the module docstring)."""
    fl = np.floor(f)
    d = (f - fl).astype(np.float32)
    even = np.zeros(f.shape, bool)
    half = d == np.float32(0.5)  # only where |x| < 2^23, so (int)f is defined
    even[half] = fl[half].astype(np.int64) % 2 == 0
    return np.where((d < np.float32(0.5)) | (half & even), fl, (fl + np.float32(1)).astype(np.float32))


def _rsqrt_s8(p: dict, x: np.ndarray) -> np.ndarray:
    v = x.astype(np.int64) - p["in_zp"]
    out = np.full(v.shape, 127, np.int64)
    for value in np.unique(v[v > 0]):
        inv, e = inv_sqrt(int(value))
        d = multiply_by_quantized_multiplier(1, inv, e + RSQRT_SHIFT)
        y = multiply_by_quantized_multiplier(d, p["mult"], p["shift"]) + p["out_zp"]
        out[v == value] = np.clip(y, -128, 127)
    return out.astype(np.int8)


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    p = k.params
    if k.op.kind == "L2_NORMALIZATION":
        return _l2norm(k, x)
    x = x.reshape(-1)
    if k.fn == "en_unary_f32":
        f = x.astype(np.float32)
        with np.errstate(all="ignore"):
            kind = KINDS[p["op"]]
            if kind == "ABS":
                return np.abs(f)
            if kind == "NEG":
                return -f
            if kind == "SQRT":
                return np.sqrt(f)
            if kind == "RSQRT":
                return (np.float32(1) / np.sqrt(f)).astype(np.float32)
            if kind == "CEIL":
                return np.ceil(f)
            if kind == "FLOOR":
                return np.floor(f)
            if kind == "SQUARE":
                return (f * f).astype(np.float32)
            if kind == "ROUND":
                return round_to_nearest(f)
            fn = {"EXP": np.exp, "LOG": np.log, "SIN": np.sin, "COS": np.cos}[kind]
            return fn(f.astype(np.float64)).astype(np.float32)
    if k.fn == "en_logical_not":
        return np.logical_not(x)
    if k.fn == "en_abs_s16_raw":
        return np.abs(x.astype(np.int16))
    if k.fn == "en_rsqrt_s8":
        return _rsqrt_s8(p, x)
    lo, hi = (-128, 127) if k.fn == "en_abs_s8" else (-32768, 32767)
    v = np.abs(x.astype(np.int64) - p["in_zp"])
    if p["rescale"]:
        v = multiply_by_quantized_multiplier(v, p["mult"], p["shift"])
    return np.clip(v + p["out_zp"], lo, hi).astype(x.dtype)
