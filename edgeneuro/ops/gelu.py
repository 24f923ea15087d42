"""GELU and ERF: float32 and int8, input and output of one type and size, elementwise.

GELU has TFLite's attribute ``approximate`` (the ONNX front end maps ONNX ``Gelu`` and the GELU
patterns of PyTorch and TF exports onto it, edgeneuro/frontends/onnx.py); ERF is ONNX's ``Erf``.

Spec:

- float32, all in float32 arithmetic, evaluated left to right:
  ERF: ``erff(x)``;
  GELU: ``0.5f * x * (1.0f + erff(x * 0.70710678f))``;
  GELU approximate: ``0.5f * x * (1.0f + tanhf(0.7978845608f * (x + 0.044715f * x * x * x)))``.
  ``erff`` and ``tanhf`` are the C library's (``base.libm_f32``; without a loadable C library the
  double-precision value rounded to float32); on the board newlib's may differ in the last bit.
- int8: a 256-entry table computed at compile time, as ELU's (edgeneuro/ops/elu.py), and the same
  kernel, ``en_elu_s8``, looks each input byte up: ``v = s_in * (float)(q - zp_in)`` (float32),
  ``t = f(v)`` (the function in double precision, rounded to float32), ``r = roundf(t * (1.0f /
  s_out))`` (halves away from zero), ``(int32)(r + (float)zp_out)`` clamped to int8.
  A GELU the ONNX front end fused from a QDQ pattern carries its own table (``attrs["table"]``,
  256 int8 values by input byte): the pattern's nodes and the QuantizeLinear / DequantizeLinear
  pairs between them evaluated on every input byte at compile time, so it rounds where the model
  does (the ideal GELU's table is up to 2 output steps from onnxruntime's int8 result there).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, libm_f32, unsupported
from edgeneuro.ops.elu import lut

KINDS = ("GELU", "ERF")
C_FILE = "gelu"
MAX_VERSION = {"GELU": 2, "ERF": 1}  # newest TFLite op versions handled (GELU 2: int8; ERF is ONNX's only)

SQRT1_2 = np.float32(0.70710678)  # 1 / sqrt(2)
SQRT_2_PI = np.float32(0.7978845608)  # sqrt(2 / pi)
CUBIC = np.float32(0.044715)


def gelu(v: float, approximate: bool = False) -> float:
    """GELU of one real number, in double precision."""
    if approximate:
        return 0.5 * v * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (v + 0.044715 * v**3)))
    return 0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0)))


def function(op: Op) -> Callable[[float], float]:
    """The real function ``op`` computes (in double precision)."""
    if op.kind == "ERF":
        return math.erf
    approximate = bool(op.attrs.get("approximate", False))
    return lambda v: gelu(v, approximate)


def table(fn: Callable[[float], float], s_in: float, zp_in: int, s_out: float, zp_out: int) -> np.ndarray:
    """The int8 lookup table of ``fn`` (double precision, rounded to float32), indexed by the input
    byte (``(uint8_t)q``): ELU's table kernel's."""
    return lut(lambda v: np.float32(fn(float(v))), s_in, zp_in, s_out, zp_out)


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    if x.dtype != y.dtype or x.dtype not in ("float32", "int8"):
        raise unsupported(g, op, f"{x.dtype} in, {y.dtype} out; {op.kind} takes float32 or int8")
    if x.size != y.size:
        raise unsupported(g, op, f"output '{y.name}' has {y.size} elements, input {x.size}")
    approximate = op.kind == "GELU" and bool(op.attrs.get("approximate", False))
    if x.dtype == "float32":
        fn = "en_erf_f32" if op.kind == "ERF" else "en_gelu_f32"
        params = dict(size=x.size) if op.kind == "ERF" else dict(size=x.size, approximate=int(approximate))
        return Kernel(op=op, fn=fn, params=params, inputs=(x.name,), outputs=(y.name,), inplace=(0,),
                      summary="float32 tanh" if approximate else "float32")  # fmt: skip
    for t in (x, y):
        if t.quant is None or t.quant.per_channel:
            raise unsupported(g, op, f"tensor '{t.name}' must be quantized per tensor")
    if "table" in op.attrs:  # a QDQ pattern's own table (the ONNX front end)
        lut = np.asarray(op.attrs["table"], np.int8).reshape(256)
    else:
        lut = table(function(op), x.scale, x.zero_point, y.scale, y.zero_point)
    return Kernel(op=op, fn="en_elu_s8", c_file="elu", params=dict(size=x.size), inputs=(x.name,),
                  consts=(("table", lut),), outputs=(y.name,), inplace=(0,),
                  summary="int8 table, tanh" if approximate else "int8 table")  # fmt: skip


def _erf_f32(v: np.ndarray) -> np.ndarray:
    try:
        return libm_f32("erff", v)
    except AttributeError:  # no C library: numpy has no erf
        return np.vectorize(math.erf, otypes=[np.float64])(v.astype(np.float64)).astype(np.float32)


def gelu_f32(x: np.ndarray, approximate: bool) -> np.ndarray:
    """The float32 GELU of the spec, evaluated as the C kernel does."""
    f = np.asarray(x, np.float32)
    half_x = np.float32(0.5) * f
    with np.errstate(all="ignore"):
        if approximate:
            inner = SQRT_2_PI * (f + CUBIC * f * f * f)
            return (half_x * (np.float32(1) + libm_f32("tanhf", inner))).astype(np.float32)
        return (half_x * (np.float32(1) + _erf_f32(f * SQRT1_2))).astype(np.float32)


def reference(k: Kernel, x: np.ndarray, lut: np.ndarray | None = None) -> np.ndarray:
    if k.fn == "en_erf_f32":
        return _erf_f32(x.reshape(-1).astype(np.float32))
    if k.fn == "en_gelu_f32":
        return gelu_f32(x.reshape(-1), bool(k.params["approximate"]))
    return lut[x.reshape(-1).astype(np.uint8)]
