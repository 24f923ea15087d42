"""ADD_N: the elementwise sum of n inputs of one shape (no broadcasting): float32 and int8
(TFLM ``add_n.cc``, ``reference_ops::AddN``).

Spec:

- float32: ``x = 0.0f``, then ``x += in_j[i]`` for j = 0 .. n-1 (so a sum of -0.0s is +0.0).
- int8: TFLM requires every input to have the first one's scale and zero point, and computes, with
  ``left_shift = 20``, ``(m_in, e_in) = QuantizeMultiplierSmallerThanOneExp(s / (2 s))`` (0.5) and
  ``(m_out, e_out) = QuantizeMultiplierSmallerThanOneExp(2 s / (2^20 s_out))``:
  ``acc = MBQM(-zp_in << 20, m_in, e_in)`` (TFLM starts the sum from the input offset itself, one
  extra term of ``-zp_in``, and edgeneuro does the same), then per input
  ``acc += MBQM((in_j[i] - zp_in) << 20, m_in, e_in)``; ``y = MBQM(acc, m_out, e_out) + zp_out``
  clamped to int8. The int32 accumulator wraps as TFLM's does (its int32 arithmetic on x86 and
  Arm): each term takes up to ``255 << 19``, so some 16 inputs far from the zero point can pass
  int32; edgeneuro sums in unsigned arithmetic (no undefined behaviour in the C; ``+ zp_out`` too,
  though it stays in int32) and takes at most 32 inputs. ``(x - zp_in) << 20`` stays in int32
  (checked).

C calling convention: variadic like PACK, ``en_add_n_<s8|f32>(params, in0, ..., in<n-1>, output)``.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.quant import multiply_by_quantized_multiplier, quantize_multiplier
from edgeneuro.ops.base import Kernel, check_accumulator, deviation, same_quant, unsupported

KINDS = ("ADD_N",)
C_FILE = "add_n"
MAX_VERSION = {"ADD_N": 2}  # newest TFLite op versions handled (2: int8)
MAX_INPUTS = 32  # EN_ADD_N_MAX in add_n.h
LEFT_SHIFT = 20


def lower(op: Op, g: Graph) -> Kernel:
    xs, y = [g.t(n) for n in op.inputs], g.t(op.outputs[0])
    if not 2 <= len(xs) <= MAX_INPUTS:
        raise unsupported(g, op, f"{len(xs)} inputs; TFLM adds 2 or more, edgeneuro 2 to {MAX_INPUTS}")
    for t in xs:
        if t.dtype != y.dtype or t.dtype not in ("float32", "int8"):
            raise unsupported(g, op, f"'{t.name}' is {t.dtype}, the output {y.dtype}; TFLM adds float32 or int8")
        if tuple(t.shape) != tuple(y.shape):
            raise unsupported(g, op, f"input '{t.name}' has shape {list(t.shape)}, the output {list(y.shape)}")
    params: dict = dict(n=len(xs), size=y.size)
    if y.dtype == "int8":
        x0 = xs[0]
        for t in (*xs, y):
            if t.quant is None or t.quant.per_channel:
                raise unsupported(g, op, f"tensor '{t.name}' must be quantized per tensor")
        if not all(same_quant(t, x0) for t in xs):
            raise unsupported(g, op, "the inputs are quantized differently (TFLM requires one scale and zero point)")
        twice = 2 * float(x0.scale)
        m_in, e_in = quantize_multiplier(float(x0.scale) / twice)
        m_out, e_out = quantize_multiplier(twice / ((1 << LEFT_SHIFT) * float(y.scale)))
        if e_out > 0:
            raise unsupported(g, op, f"output scale {y.scale} is too small for TFLM's ADD_N (multiplier >= 1)")
        dev = deviation(x0)
        check_accumulator(g, op, dev, f"x - zp (<= {dev})", left_shift=LEFT_SHIFT)
        params.update(in_zp=x0.zero_point, out_zp=y.zero_point, m_in=m_in, e_in=e_in, m_out=m_out, e_out=e_out)
    fn = "en_add_n_f32" if y.dtype == "float32" else "en_add_n_s8"
    return Kernel(op=op, fn=fn, params=params, inputs=tuple(op.inputs), outputs=(y.name,),
                  summary=f"{len(xs)} inputs")  # fmt: skip


def _wrap32(v):
    return ((np.asarray(v, np.int64) + 2**31) % 2**32) - 2**31


def reference(k: Kernel, *xs: np.ndarray) -> np.ndarray:
    p = k.params
    if k.fn == "en_add_n_f32":
        acc = np.zeros(p["size"], np.float32)
        for x in xs:
            acc = (acc + x.reshape(-1).astype(np.float32)).astype(np.float32)
        return acc

    def scaled(v):
        return multiply_by_quantized_multiplier(np.asarray(v, np.int64) << LEFT_SHIFT, p["m_in"], p["e_in"])

    acc = np.full(p["size"], scaled(-p["in_zp"]), np.int64)
    for x in xs:
        acc = acc + scaled(x.reshape(-1).astype(np.int64) - p["in_zp"])
    acc = _wrap32(acc)
    y = _wrap32(multiply_by_quantized_multiplier(acc, p["m_out"], p["e_out"]) + p["out_zp"])
    return np.clip(y, -128, 127).astype(np.int8)
