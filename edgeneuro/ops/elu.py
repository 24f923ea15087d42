"""ELU (alpha 1): float32 and int8, input and output of one type and size (TFLM ``elu.cc``).

Spec:

- float32: ``x < 0 ? expm1f(x) : x`` (``TfLiteExpm1``, the C library's ``expm1f``; the numpy
  reference rounds the double-precision value to float32, what a correctly rounded ``expm1f``
  gives, so on a C library that is not, the two may differ in the last bit now and then).
- int8: a 256-entry table computed when the model is prepared (TFLM ``PopulateLookupTable``), all
  in float32: ``v = s_in * (float)(q - zp_in)``, ``t = v < 0 ? expf(v) - 1.0f : v``,
  ``r = roundf(t * (1.0f / s_out))`` (halves away from zero), ``(int32)(r + (float)zp_out)``
  clamped to int8; the kernel looks each input up. edgeneuro computes the table at compile time
  with a correctly rounded ``expf`` (the double-precision value rounded to float32); TFLM uses the
  C library's, which agrees but for a rare last bit, and a last bit moves an entry only when it
  sits on a rounding boundary.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.quant import round_half_away
from edgeneuro.ops.base import Kernel, unsupported

KINDS = ("ELU",)
C_FILE = "elu"
MAX_VERSION = {"ELU": 2}  # newest TFLite op versions handled (2: int8)


def lut(f: Callable[[np.float32], np.float32], s_in: float, zp_in: int, s_out: float, zp_out: int) -> np.ndarray:
    """The int8 lookup table of ``f`` (float32 in, float32 out), indexed by the input byte
    (``(uint8_t)q``), for ``en_elu_s8`` (GELU and ERF use it too, edgeneuro/ops/gelu.py)."""
    s_in32, inv = np.float32(s_in), np.float32(1) / np.float32(s_out)
    out = np.empty(256, np.int8)
    for q in range(-128, 128):
        t = f(np.float32(s_in32 * np.float32(q - zp_in)))
        r = round_half_away(float(np.float32(t * inv)))
        y = int(np.float32(np.float32(r) + np.float32(zp_out)))
        out[q & 0xFF] = min(127, max(-128, y))
    return out


def _elu(v: np.float32) -> np.float32:
    return np.float32(np.float32(np.exp(np.float64(v))) - np.float32(1)) if v < 0 else v


def table(s_in: float, zp_in: int, s_out: float, zp_out: int) -> np.ndarray:
    """ELU's int8 lookup table, indexed by the input byte (``(uint8_t)q``)."""
    return lut(_elu, s_in, zp_in, s_out, zp_out)


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    if x.dtype != y.dtype or x.dtype not in ("float32", "int8"):
        raise unsupported(g, op, f"{x.dtype} in, {y.dtype} out; TFLM's ELU takes float32 or int8")
    if x.size != y.size:
        raise unsupported(g, op, f"output '{y.name}' has {y.size} elements, input {x.size}")
    if x.dtype == "float32":
        return Kernel(op=op, fn="en_elu_f32", params=dict(size=x.size), inputs=(x.name,), outputs=(y.name,),
                      inplace=(0,), summary="float32")  # fmt: skip
    for t in (x, y):
        if t.quant is None or t.quant.per_channel:
            raise unsupported(g, op, f"tensor '{t.name}' must be quantized per tensor")
    lut = table(x.scale, x.zero_point, y.scale, y.zero_point)
    return Kernel(op=op, fn="en_elu_s8", params=dict(size=x.size), inputs=(x.name,), consts=(("table", lut),),
                  outputs=(y.name,), inplace=(0,), summary="int8 table")  # fmt: skip


def reference(k: Kernel, x: np.ndarray, lut: np.ndarray | None = None) -> np.ndarray:
    if k.fn == "en_elu_f32":
        f = x.reshape(-1).astype(np.float32)
        with np.errstate(all="ignore"):
            return np.where(f < 0, np.expm1(f.astype(np.float64)).astype(np.float32), f)
    return lut[x.reshape(-1).astype(np.uint8)]
