"""ADD, SUB and MUL, int8, with numpy-style broadcasting (up to 5-D).

Spec (TFLM ``add_common.cc`` / ``sub_common.cc`` / ``mul_common.cc`` and the reference integer
kernels):

- ADD / SUB: both inputs are shifted left by 20 bits (15 for int16) after removing their zero points, scaled to a
  common scale ``2 * max(s1, s2)`` with ``QuantizeMultiplier(s_i / (2 max))``, added (subtracted),
  then rescaled with ``QuantizeMultiplier(2 max / (2**shift * s_out))``; every rescale is
  ``MultiplyByQuantizedMultiplier``. ADD computes ``2 max`` in double, SUB in float32 (as TFLM's
  ``sub_common.cc`` does), and the quotients accordingly.
- MUL: ``MBQM((x1 - zp1) * (x2 - zp2), QuantizeMultiplier(s1 * s2 / s_out)) + zp_out``.

All results are clamped to the fused activation's range. float32: ``a + b``, ``a - b``, ``a * b``.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op, Tensor
from edgeneuro.ir.quant import activation_range, multiply_by_quantized_multiplier, quantize_multiplier
from edgeneuro.ops.base import Kernel, activation, float_activation_range, float_clamp, require_int8, unsupported

KINDS = ("ADD", "SUB", "MUL")
C_FILE = "binary"
MAX_VERSION = {"ADD": 4, "SUB": 5, "MUL": 6}  # newest TFLite op versions handled
RANK = 5


def _strides(shape: tuple[int, ...], out: tuple[int, ...]) -> list[int]:
    """Element strides of ``shape`` broadcast to ``out`` (both padded to RANK); 0 where broadcast."""
    shape = (1,) * (RANK - len(shape)) + tuple(shape)
    strides, step = [0] * RANK, 1
    for i in reversed(range(RANK)):
        strides[i] = step if shape[i] == out[i] else 0
        step *= shape[i]
    return strides


def _int_multipliers(kind: str, a: Tensor, b: Tensor, y: Tensor, left_shift: int) -> dict[str, int]:
    if kind == "MUL":
        m, s = quantize_multiplier(a.scale * b.scale / y.scale)
        return dict(a_mult=0, a_shift=0, b_mult=0, b_shift=0, left_shift=0, out_mult=m, out_shift=s)
    if kind == "ADD":
        twice_max = 2 * max(a.scale, b.scale)
        ra, rb, ro = a.scale / twice_max, b.scale / twice_max, twice_max / ((1 << left_shift) * y.scale)
    else:  # SUB: float32 arithmetic, then widened
        f = np.float32
        twice_max = f(2) * max(f(a.scale), f(b.scale))
        ra, rb = float(f(a.scale) / twice_max), float(f(b.scale) / twice_max)
        ro = float(twice_max / (f(1 << left_shift) * f(y.scale)))
    (am, ash), (bm, bsh), (om, osh) = (quantize_multiplier(r) for r in (ra, rb, ro))
    return dict(a_mult=am, a_shift=ash, b_mult=bm, b_shift=bsh, left_shift=left_shift, out_mult=om, out_shift=osh)


def lower(op: Op, g: Graph) -> Kernel:
    a, b, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    is_float = a.dtype == b.dtype == y.dtype == "float32"
    is_int16 = a.dtype == b.dtype == y.dtype == "int16" and all(t.quant for t in (a, b, y))
    if not is_float and not is_int16:
        require_int8(g, op, a, b, y)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError as e:
        raise unsupported(g, op, f"shapes {list(a.shape)} and {list(b.shape)} do not broadcast") from e
    if tuple(shape) != tuple(y.shape) and int(np.prod(shape)) != y.size:
        raise unsupported(g, op, f"output '{y.name}' has shape {list(y.shape)}, expected {list(shape)}")
    if len(shape) > RANK:
        raise unsupported(g, op, f"rank {len(shape)} above {RANK}")
    out = (1,) * (RANK - len(shape)) + tuple(shape)
    params = {f"d{i}": out[i] for i in range(RANK)}
    params.update({f"a{i}": s for i, s in enumerate(_strides(a.shape, out))})
    params.update({f"b{i}": s for i, s in enumerate(_strides(b.shape, out))})
    params["op"] = KINDS.index(op.kind)  # 0 ADD, 1 SUB, 2 MUL
    if is_float:
        act_min, act_max = float_activation_range(op)
        params.update(act_min=act_min, act_max=act_max)
    else:
        act_min, act_max = activation_range(activation(op), y.scale, y.zero_point, y.dtype)
        params.update(a_zp=a.zero_point, b_zp=b.zero_point, out_zp=y.zero_point, act_min=act_min, act_max=act_max)
        params.update(_int_multipliers(op.kind, a, b, y, left_shift=15 if is_int16 else 20))
    return Kernel(
        op=op,
        fn="en_binary_f32" if is_float else ("en_binary_s16" if is_int16 else "en_binary_s8"),
        params=params,
        inputs=(a.name, b.name),
        outputs=(y.name,),
        inplace=tuple(i for i, t in enumerate((a, b)) if t.size == y.size),
        summary=f"{list(a.shape)} {op.kind.lower()} {list(b.shape)}"
        + ("" if activation(op) == "NONE" else f" {activation(op)}"),
    )


def reference(k: Kernel, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    p = k.params
    out = tuple(p[f"d{i}"] for i in range(RANK))
    if k.fn == "en_binary_f32":
        fa = np.broadcast_to(a.reshape((1,) * (RANK - a.ndim) + a.shape), out).astype(np.float32)
        fb = np.broadcast_to(b.reshape((1,) * (RANK - b.ndim) + b.shape), out).astype(np.float32)
        r = (fa + fb, fa - fb, fa * fb)[p["op"]]
        return float_clamp(r, p["act_min"], p["act_max"])
    xa = np.broadcast_to(a.reshape((1,) * (RANK - a.ndim) + a.shape), out).astype(np.int64) - p["a_zp"]
    xb = np.broadcast_to(b.reshape((1,) * (RANK - b.ndim) + b.shape), out).astype(np.int64) - p["b_zp"]
    if p["op"] == 2:
        raw = xa * xb
    else:
        sa = multiply_by_quantized_multiplier(xa << p["left_shift"], p["a_mult"], p["a_shift"])
        sb = multiply_by_quantized_multiplier(xb << p["left_shift"], p["b_mult"], p["b_shift"])
        raw = sa + sb if p["op"] == 0 else sa - sb
    y = multiply_by_quantized_multiplier(raw, p["out_mult"], p["out_shift"]) + p["out_zp"]
    return np.clip(y, p["act_min"], p["act_max"]).astype(np.int16 if k.fn == "en_binary_s16" else np.int8)
