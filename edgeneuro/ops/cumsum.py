"""CUMSUM along one constant axis, with TFLite's ``exclusive`` and ``reverse`` options: float32
and int8.

Spec (TFLM ``cumsum.cc``, ``reference_ops::CumSum``): along the axis (reversed when ``reverse``),
an accumulator takes each element; the output is the accumulator after the element (before it
when ``exclusive``).

- float32: ``acc = acc + x`` from 0.0f, in float32.
- int8: every element is scaled to ``s(x) = MultiplyByQuantizedMultiplierSmallerThanOneExp((x -
  zp_in) << 20, m_in, shift_in)`` with ``QuantizeMultiplierSmallerThanOneExp(s_in / (2 s_in))``
  (= 1/2: ``(x - zp_in) << 19`` exactly). The accumulator starts at ``s(0)`` (TFLM starts it at
  the scaled input offset, ``-zp_in``, not at zero) and adds in int32, wrapping on overflow (after
  some 16 elements far from the zero point; TFLM's int32 ``+=`` wraps on x86 and Arm alike).
  ``y = MBQMSmallerThanOneExp(acc, m_out, shift_out) + zp_out`` (added in unsigned arithmetic as
  the accumulator, though it stays in int32: ``acc`` is a multiple of 2^19 and float32 scales keep
  the multiplier at most ``1 - 2^-24``) clamped to int8, with
  ``QuantizeMultiplierSmallerThanOneExp(2 s_in / (2^20 s_out))`` in double; TFLM requires that
  below 1, and so does edgeneuro.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.quant import quantize_multiplier, rounding_divide_by_pot
from edgeneuro.ir.quant import saturating_rounding_doubling_high_mul as srdhm
from edgeneuro.ops.base import Kernel, check_accumulator, deviation, unsupported

KINDS = ("CUMSUM",)
C_FILE = "cumsum"
MAX_VERSION = {"CUMSUM": 1}  # newest TFLite op versions handled
LEFT_SHIFT = 20


def lower(op: Op, g: Graph) -> Kernel:
    x, axis_t, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    if x.dtype != y.dtype or x.dtype not in ("float32", "int8"):
        raise unsupported(g, op, f"{x.dtype} in, {y.dtype} out; TFLM's CUMSUM takes float32 or int8")
    if tuple(x.shape) != tuple(y.shape) or not x.shape:
        raise unsupported(g, op, f"shapes {list(x.shape)} -> {list(y.shape)}; TFLM takes one shape, rank 1 or more")
    if axis_t.data is None or axis_t.dtype != "int32" or axis_t.size != 1:
        raise unsupported(g, op, "the axis must be a constant int32 tensor of one element")
    rank = len(x.shape)
    axis = int(axis_t.data.reshape(-1)[0])
    if not -rank <= axis < rank:
        raise unsupported(g, op, f"axis {axis} is outside the input's rank {rank}")
    axis %= rank
    params = dict(
        before=int(np.prod(x.shape[:axis], dtype=np.int64)),
        depth=x.shape[axis],
        after=int(np.prod(x.shape[axis + 1 :], dtype=np.int64)),
        exclusive=int(bool(op.attrs.get("exclusive", False))),
        reverse=int(bool(op.attrs.get("reverse", False))),
    )
    if x.dtype == "int8":
        if x.quant is None or y.quant is None or x.quant.per_channel or y.quant.per_channel:
            raise unsupported(g, op, "int8 input and output must be quantized per tensor")
        twice = 2 * float(x.scale)
        m_in, s_in = quantize_multiplier(float(x.scale) / twice)
        real_out = twice / ((1 << LEFT_SHIFT) * float(y.scale))
        if real_out >= 1:
            raise unsupported(g, op, f"output scale {y.scale} is too small for input scale {x.scale} (TFLM's limit)")
        m_out, s_out = quantize_multiplier(real_out)
        dev = deviation(x)  # cumsum.c's ``(x - zp) * (1 << 20)`` (int32, before the wrapping sum)
        check_accumulator(g, op, dev, f"x - zp (<= {dev})", left_shift=LEFT_SHIFT)
        params.update(in_zp=x.zero_point, out_zp=y.zero_point, in_mult=m_in, in_shift=s_in)
        params.update(out_mult=m_out, out_shift=s_out)
    return Kernel(op=op, fn=f"en_cumsum_{'f32' if x.dtype == 'float32' else 's8'}", params=params,
                  inputs=(x.name,), outputs=(y.name,), summary=f"axis {axis}")  # fmt: skip


def _scale(v: np.ndarray, mult: int, shift: int) -> np.ndarray:
    return rounding_divide_by_pot(srdhm(v, mult), -shift)


def _wrap32(v: np.ndarray) -> np.ndarray:
    return ((np.asarray(v, np.int64) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    p = k.params
    v = x.reshape(p["before"], p["depth"], p["after"])
    order = range(p["depth"] - 1, -1, -1) if p["reverse"] else range(p["depth"])
    is_float = k.fn == "en_cumsum_f32"
    out = np.empty(v.shape, np.float32 if is_float else np.int64)
    if is_float:
        acc = np.zeros((p["before"], p["after"]), np.float32)
    else:
        acc = np.full(
            (p["before"], p["after"]), _scale(np.int64(-p["in_zp"]) << LEFT_SHIFT, p["in_mult"], p["in_shift"])
        )
    for i in order:
        if is_float:
            term = v[:, i, :].astype(np.float32)
        else:
            term = _scale((v[:, i, :].astype(np.int64) - p["in_zp"]) << LEFT_SHIFT, p["in_mult"], p["in_shift"])
        if p["exclusive"]:
            out[:, i, :] = acc
        acc = (acc + term).astype(np.float32) if is_float else _wrap32(acc + term)
        if not p["exclusive"]:
            out[:, i, :] = acc
    if is_float:
        return out.reshape(-1)
    y = _wrap32(_scale(out, p["out_mult"], p["out_shift"]) + p["out_zp"])  # as the C's unsigned sum
    return np.clip(y, -128, 127).astype(np.int8).reshape(-1)
