"""QUANTIZE (float32 -> int8/int16, int8/int16 -> int8/int16) and DEQUANTIZE (int8/int16 -> float32),
per-tensor quantization.

Spec (TFLM ``quantize_common.cc`` / ``dequantize.cc``):

* QUANTIZE from float32, ``reference_ops::AffineQuantize``:
  ``q = clamp((int32)TfLiteRound(x / (float)s_out) + zp_out)``; the division is float32 and
  ``TfLiteRound`` is ``roundf`` (halves away from zero). Inputs whose quotient does not fit an
  int32 (and NaN) are undefined behaviour in TFLM's cast; edgeneuro saturates them (NaN -> zp_out).
* QUANTIZE between integer types, ``reference_ops::Requantize``:
  ``q = clamp(MultiplyByQuantizedMultiplier(x - zp_in, mult, shift) + zp_out)`` with
  ``(mult, shift) = QuantizeMultiplier((double)s_in / (double)s_out)`` (Prepare), double rounding
  as everywhere in edgeneuro/ir/quant.py. Ratios so large that ``(x - zp_in) << shift`` could leave
  int32 are rejected (TFLM overflows there).
* DEQUANTIZE, ``reference_ops::Dequantize``: ``y = (float)s_in * (float)(x - zp_in)``, one float32
  product. int32 inputs (the currents and membranes of spiking networks, edgeneuro/ops/lif.py) take
  the same formula; ``(float)`` rounds to nearest even there.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op, Tensor
from edgeneuro.ir.quant import multiply_by_quantized_multiplier, quantize_multiplier
from edgeneuro.ops.base import Kernel, unsupported

KINDS = ("QUANTIZE", "DEQUANTIZE")
C_FILE = "quantize"
MAX_VERSION = {"QUANTIZE": 4, "DEQUANTIZE": 6}  # newest TFLite op versions handled (int4, per-channel rejected)
RANGES = {"int8": (-128, 127), "int16": (-32768, 32767)}
SHORT = {"int8": "s8", "int16": "s16", "int32": "s32", "float32": "f32"}
SATURATE = 65536.0  # |x / s| at or above this saturates any int8/int16 output before rounding


def _per_tensor(g: Graph, op: Op, t: Tensor) -> None:
    if t.quant is None:
        raise unsupported(g, op, f"tensor '{t.name}' ({t.dtype}) has no quantization parameters")
    if t.quant.per_channel:
        raise unsupported(g, op, f"tensor '{t.name}' is quantized per channel; TFLM takes one scale here")


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    if x.size != y.size:
        raise unsupported(g, op, f"input {list(x.shape)} and output {list(y.shape)} differ in size")
    pair = f"{x.dtype} -> {y.dtype}"
    if op.kind == "DEQUANTIZE":
        if x.dtype not in (*RANGES, "int32") or y.dtype != "float32":
            raise unsupported(g, op, f"{pair}; edgeneuro dequantizes int8, int16 or int32 to float32")
        _per_tensor(g, op, x)
        params = {"size": x.size, "in_zp": x.zero_point, "scale": float(np.float32(x.scale))}
        return Kernel(
            op=op,
            fn=f"en_dequantize_{SHORT[x.dtype]}_f32",
            params=params,
            inputs=(x.name,),
            outputs=(y.name,),
            summary=f"scale {x.scale:g}, zero point {x.zero_point}",
        )
    if y.dtype not in RANGES or x.dtype not in (*RANGES, "float32"):
        raise unsupported(g, op, f"{pair}; edgeneuro quantizes float32, int8 or int16 to int8 or int16")
    _per_tensor(g, op, y)
    lo, hi = RANGES[y.dtype]
    fn = f"en_quantize_{SHORT[x.dtype]}_{SHORT[y.dtype]}"
    if x.dtype == "float32":
        params = {
            "size": x.size,
            "out_zp": y.zero_point,
            "scale": float(np.float32(y.scale)),
            "act_min": lo,
            "act_max": hi,
        }
        summary = f"scale {y.scale:g}, zero point {y.zero_point}"
    else:
        _per_tensor(g, op, x)
        mult, shift = quantize_multiplier(x.scale / y.scale)
        in_lo, in_hi = RANGES[x.dtype]
        widest = max(abs(in_lo - x.zero_point), abs(in_hi - x.zero_point))
        if widest << max(shift, 0) > 2**31 - 1:
            raise unsupported(
                g, op, f"scale ratio {x.scale / y.scale:g} is too large: (x - zero point) << {shift} overflows int32"
            )
        params = {
            "size": x.size,
            "in_zp": x.zero_point,
            "out_zp": y.zero_point,
            "mult": mult,
            "shift": shift,
            "act_min": lo,
            "act_max": hi,
        }
        summary = f"x {x.scale / y.scale:g}"
    # Element-wise, element i read before it is written: an equal-type output may overwrite the input.
    inplace = (0,) if x.dtype == y.dtype else ()
    return Kernel(op=op, fn=fn, params=params, inputs=(x.name,), outputs=(y.name,), summary=summary, inplace=inplace)


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    p = k.params
    if k.op.kind == "DEQUANTIZE":
        d = (np.asarray(x).astype(np.int64) - p["in_zp"]).astype(np.float32)
        return (np.float32(p["scale"]) * d).astype(np.float32).reshape(-1)
    out_type = np.int8 if p["act_max"] == 127 else np.int16
    if "mult" not in p:  # from float32
        v = (np.asarray(x, np.float32) / np.float32(p["scale"])).astype(np.float64).reshape(-1)
        v = np.where(np.isnan(v), 0.0, np.clip(v, -SATURATE, SATURATE))
        r = np.sign(v) * np.floor(np.abs(v) + 0.5)  # roundf: halves away from zero (exact in float64)
        q = r.astype(np.int64) + p["out_zp"]
    else:
        acc = np.asarray(x).astype(np.int64).reshape(-1) - p["in_zp"]
        q = multiply_by_quantized_multiplier(acc, p["mult"], p["shift"]) + p["out_zp"]
    return np.clip(q, p["act_min"], p["act_max"]).astype(out_type)
