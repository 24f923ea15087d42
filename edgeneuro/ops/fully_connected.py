"""FULLY_CONNECTED, int8, per-tensor or per-channel weights.

Spec (TFLM ``reference_integer_ops::FullyConnected`` / ``FullyConnectedPerChannel``):
``acc[b,o] = bias[o] + sum_k (w[o,k] - w_zp) * (x[b,k] - in_zp)``, requantized like CONV_2D.
Per-tensor multiplier: ``double(float(s_in * s_w)) / double(s_out)`` (the product is taken in
float32 first, as TFLite's ``GetQuantizedConvolutionMultipler`` does); per-channel:
``double(s_in) * double(s_w[o]) / double(s_out)``.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.quant import activation_range, quantize_multiplier
from edgeneuro.ops.base import (
    Kernel,
    activation,
    channel_multipliers,
    float_activation_range,
    float_clamp,
    float_operands,
    requantize,
    requantize16,
    unsupported,
    weighted_operands,
)

KINDS = ("FULLY_CONNECTED",)
C_FILE = "fully_connected"
MAX_VERSION = {"FULLY_CONNECTED": 10}  # newest TFLite op versions handled


def lower(op: Op, g: Graph) -> Kernel:
    is_float = g.t(op.inputs[0]).dtype == "float32"
    x, w, bias, y = float_operands(g, op) if is_float else weighted_operands(g, op)
    if len(w.shape) != 2:
        raise unsupported(g, op, f"weights of rank {len(w.shape)}, expected 2")
    units, depth = w.shape
    if x.size % depth:
        raise unsupported(g, op, f"input of {x.size} elements is not a multiple of the weight depth {depth}")
    batches = x.size // depth
    if y.size != batches * units:
        raise unsupported(g, op, f"output '{y.name}' has {y.size} elements, expected {batches * units}")
    act = activation(op)
    params = dict(batches=batches, depth=depth, units=units)
    if is_float:
        act_min, act_max = float_activation_range(op)
        params.update(act_min=act_min, act_max=act_max)
        fn, consts = "en_fully_connected_f32", (("weights", w.data.astype(np.float32)), ("bias", bias))
    else:
        if w.quant.per_channel and x.dtype == "int16":
            raise unsupported(g, op, "16x8 with per-channel weights (TFLite Micro takes per-tensor weights there)")
        if w.quant.per_channel:
            mult, shift = channel_multipliers(x, w, y)
        else:
            product = float(np.float32(x.scale) * np.float32(w.scale))
            m, e = quantize_multiplier(product / y.scale)
            mult, shift = np.full(units, m, np.int32), np.full(units, e, np.int32)
        act_min, act_max = activation_range(act, y.scale, y.zero_point, y.dtype)
        params.update(in_zp=x.zero_point, out_zp=y.zero_point, act_min=act_min, act_max=act_max)
        fn = "en_fully_connected_s16" if x.dtype == "int16" else "en_fully_connected_s8"
        consts = (("weights", w.data.astype(np.int8)), ("bias", bias), ("mult", mult), ("shift", shift))
    return Kernel(
        op=op,
        fn=fn,
        params=params,
        inputs=(x.name,),
        consts=consts,
        outputs=(y.name,),
        macs=batches * units * depth,
        summary=f"{depth}->{units}" + ("" if act == "NONE" else f" {act}"),
    )


def reference(k: Kernel, x: np.ndarray, w: np.ndarray, bias: np.ndarray, *requant: np.ndarray) -> np.ndarray:
    p = k.params
    if k.fn == "en_fully_connected_f32":  # float32, summed in depth order, each step rounded
        xs = x.reshape(p["batches"], p["depth"]).astype(np.float32)
        acc = np.zeros((p["batches"], p["units"]), np.float32)
        for d in range(p["depth"]):
            acc = acc + xs[:, d : d + 1] * w[:, d].astype(np.float32)
        return float_clamp(acc + bias.astype(np.float32), p["act_min"], p["act_max"])
    mult, shift = (a.astype(np.int64) for a in requant)
    xs = x.reshape(p["batches"], p["depth"]).astype(np.int64) - p["in_zp"]
    acc = xs @ w.astype(np.int64).T + bias.astype(np.int64)
    if k.fn == "en_fully_connected_s16":
        return requantize16(acc, mult, shift, p["act_min"], p["act_max"])
    return requantize(acc, mult, shift, p["out_zp"], p["act_min"], p["act_max"])
