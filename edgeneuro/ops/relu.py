"""RELU, RELU6 and LEAKY_RELU as standalone operators, elementwise: int8, int16 and float32, the
input and output of one type (TFLM ``activations.cc``, ``leaky_relu.cc``).

float32: RELU ``x < 0 ? 0 : x``, RELU6 ``x > 6 ? 6 : (x < 0 ? 0 : x)`` (so NaN and -0.0 pass
through), LEAKY_RELU ``x > 0 ? x : x * alpha`` (float32 product).

int16 is int8's arithmetic below with the int16 range (-32768..32767); TFLM requires zero points
of 0 (so does edgeneuro).

Integer spec (TFLM ``activations_common.cc``, ``activations.h``, ``leaky_relu_common.cc`` and
``reference/leaky_relu.h``):

* **RELU** requantizes: ``y = clamp(out_zp + MultiplyByQuantizedMultiplier(x - in_zp, m, s), lo, 127)``
  with ``(m, s) = QuantizeMultiplier(double(s_in) / double(s_out))`` and
  ``lo = max(-128, out_zp + (int)roundf(0.0f / s_out)) = max(-128, out_zp)``.
* **RELU6 does not requantize**: TFLM's ``Relu6Prepare`` computes, in the *input's* quantization,
  ``zero = in_zp`` and ``six = FloatToQuantizedType<int8_t>(6.0f, s_in, in_zp)`` =
  ``clamp((int32)(round(6.0f / s_in) + in_zp), -128, 127)`` (float32 division, halves away from
  zero), and ``Relu6Quantized`` writes ``clamp(x, zero, six)``. The output tensor's scale and zero
  point are ignored (the converter gives RELU6 the same quantization on both sides; when a model
  does not, TFLM's result, which edgeneuro reproduces, is the clamped input bytes).
* **LEAKY_RELU** has two multipliers, both from float32 arithmetic turned into double:
  ``identity = double(float(s_in / s_out))``, ``alpha = double(float(s_in * alpha / s_out))``,
  each through ``QuantizeMultiplier``. ``x - in_zp >= 0`` is requantized with the identity
  multiplier, a negative one with the alpha multiplier; for a negative alpha TFLM takes
  ``-MultiplyByQuantizedMultiplier(x, -m_alpha, s_alpha)`` (the multiplier must be non-negative);
  ``y = clamp(out_zp + that, -128, 127)``. edgeneuro evaluates ``s_in * alpha / s_out`` in
  float32 in that order, as the C++ source says; the tflite-micro Python package's build regroups
  it as ``s_in * (alpha / s_out)``, which can differ in the last bit (alpha -1.5 with equal scales:
  -1.5 there, -1.5000001 here) and move an output by one step.

``MultiplyByQuantizedMultiplier`` computes ``x * (1 << shift)`` in int32 first; lower() refuses
the (absurd, scale ratio >= 2^23) parameters for which that product could overflow, which is
undefined behaviour in TFLM's C++ and in the C twin.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op, Tensor
from edgeneuro.ir.quant import multiply_by_quantized_multiplier, quantize_multiplier, round_half_away
from edgeneuro.ops.base import Kernel, unsupported

KINDS = ("RELU", "RELU6", "LEAKY_RELU")
C_FILE = "relu"
# newest TFLite op versions handled (RELU/RELU6 3 and LEAKY_RELU 2: int16)
MAX_VERSION = {"RELU": 3, "RELU6": 3, "LEAKY_RELU": 2}


RANGE = {"int8": (-128, 127), "int16": (-32768, 32767)}
SUFFIX = {"int8": "s8", "int16": "s16", "float32": "f32"}


def _operands(op: Op, g: Graph) -> tuple[Tensor, Tensor]:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    if x.dtype != y.dtype or x.dtype not in SUFFIX:
        raise unsupported(g, op, f"{x.dtype} in, {y.dtype} out; TFLM's {op.kind} takes float32, int8 or int16")
    if x.dtype != "float32":
        for t in (x, y):
            if t.quant is None or t.quant.per_channel:
                raise unsupported(g, op, f"tensor '{t.name}' must be quantized per tensor")
    if x.size != y.size:
        raise unsupported(g, op, f"output '{y.name}' has {y.size} elements, input {x.size}")
    return x, y


def _lower_f32(op: Op, x: Tensor, y: Tensor) -> Kernel:
    params: dict = dict(size=x.size, op=KINDS.index(op.kind))  # 0 RELU, 1 RELU6, 2 LEAKY_RELU
    params["alpha"] = float(np.float32(op.attrs.get("alpha", 0.2))) if op.kind == "LEAKY_RELU" else 0.0
    return Kernel(op=op, fn="en_relu_f32", params=params, inputs=(x.name,), outputs=(y.name,), inplace=(0,),
                  summary=f"{op.kind.lower()} float32")  # fmt: skip


def _check_left_shift(g: Graph, op: Op, extreme: int, shift: int) -> None:
    """TFLM's ``x * (1 << shift)`` is an int32 product: refuse what could overflow."""
    if shift > 0 and extreme << shift >= 1 << 31:
        raise unsupported(g, op, f"scale ratio too large: |x| {extreme} << {shift} overflows int32")


def lower(op: Op, g: Graph) -> Kernel:
    x, y = _operands(op, g)
    if x.dtype == "float32":
        return _lower_f32(op, x, y)
    lo, hi = RANGE[x.dtype]
    sfx = SUFFIX[x.dtype]
    size, in_zp, out_zp = x.size, x.zero_point, y.zero_point
    if x.dtype == "int16" and (in_zp, out_zp) != (0, 0):
        raise unsupported(g, op, f"int16 zero points {in_zp}, {out_zp}; TFLM requires 0")
    below, above = in_zp - lo, hi - in_zp  # the largest |x - in_zp| for x < in_zp and x >= in_zp
    if op.kind == "RELU":
        mult, shift = quantize_multiplier(float(x.scale) / float(y.scale))
        _check_left_shift(g, op, max(below, above), shift)
        return Kernel(
            op=op,
            fn=f"en_relu_{sfx}",
            params=dict(
                size=size,
                in_zp=in_zp,
                out_zp=out_zp,
                mult=mult,
                shift=shift,
                act_min=max(lo, out_zp),
                act_max=hi,
            ),
            inputs=(x.name,),
            outputs=(y.name,),
            inplace=(0,),
            summary="requantized" if (x.scale, in_zp) != (y.scale, out_zp) else "",
        )
    if op.kind == "RELU6":
        q = np.float32(6.0) / np.float32(x.scale)
        if not np.isfinite(q) or abs(float(q)) >= 2.0**31 - 256:
            raise unsupported(g, op, f"input scale {x.scale} puts 6.0 outside the int32 range")
        six = min(hi, max(lo, round_half_away(float(q)) + in_zp))
        return Kernel(
            op=op,
            fn=f"en_relu6_{sfx}",
            params=dict(size=size, zero=in_zp, six=six),
            inputs=(x.name,),
            outputs=(y.name,),
            inplace=(0,),
            summary=f"clamp [{in_zp}, {six}]",
        )
    alpha = float(op.attrs.get("alpha", 0.2))
    s_in, s_out = np.float32(x.scale), np.float32(y.scale)
    id_mult, id_shift = quantize_multiplier(float(s_in / s_out))
    alpha_mult, alpha_shift = quantize_multiplier(float(s_in * np.float32(alpha) / s_out))
    _check_left_shift(g, op, above, id_shift)
    _check_left_shift(g, op, below, alpha_shift)
    return Kernel(
        op=op,
        fn=f"en_leaky_relu_{sfx}",
        params=dict(
            size=size,
            in_zp=in_zp,
            out_zp=out_zp,
            id_mult=id_mult,
            id_shift=id_shift,
            alpha_mult=alpha_mult,
            alpha_shift=alpha_shift,
        ),
        inputs=(x.name,),
        outputs=(y.name,),
        inplace=(0,),
        summary=f"alpha {alpha:g}",
    )


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    p = k.params
    if k.fn == "en_relu_f32":
        v = x.reshape(-1).astype(np.float32)
        zero, six = np.float32(0), np.float32(6)
        if k.op.kind == "RELU":
            return np.where(v < zero, zero, v)
        if k.op.kind == "RELU6":
            return np.where(v > six, six, np.where(v < zero, zero, v))
        return np.where(v > zero, v, (v * np.float32(p["alpha"])).astype(np.float32))
    dtype = np.int8 if k.fn.endswith("_s8") else np.int16
    lo, hi = RANGE[np.dtype(dtype).name]
    x = x.reshape(-1).astype(np.int64)
    if k.op.kind == "RELU6":
        return np.clip(x, p["zero"], p["six"]).astype(dtype)
    xs = x - p["in_zp"]
    if k.op.kind == "RELU":
        y = p["out_zp"] + multiply_by_quantized_multiplier(xs, p["mult"], p["shift"])
        return np.clip(y, p["act_min"], p["act_max"]).astype(dtype)
    identity = multiply_by_quantized_multiplier(xs, p["id_mult"], p["id_shift"])
    sign = -1 if p["alpha_mult"] < 0 else 1
    scaled_alpha = sign * multiply_by_quantized_multiplier(xs, sign * p["alpha_mult"], p["alpha_shift"])
    y = p["out_zp"] + np.where(xs >= 0, identity, scaled_alpha)
    return np.clip(y, lo, hi).astype(dtype)
