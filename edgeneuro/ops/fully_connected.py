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
from edgeneuro.ir.quant import quantize_multiplier
from edgeneuro.ops.base import (
    Kernel,
    activation,
    float_clamp,
    layer_kernel,
    layer_operands,
    requantize,
    requantize16,
    unsupported,
)

KINDS = ("FULLY_CONNECTED",)
C_FILE = "fully_connected"
MAX_VERSION = {"FULLY_CONNECTED": 10}  # newest TFLite op versions handled


def lower(op: Op, g: Graph) -> Kernel:
    x, w, bias, y = layer_operands(g, op)
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
    multipliers = None
    if w.quant is not None and not w.quant.per_channel:  # per tensor: the product is taken in float32
        product = float(np.float32(x.scale) * np.float32(w.scale))
        m, e = quantize_multiplier(product / y.scale)
        multipliers = np.full(units, m, np.int32), np.full(units, e, np.int32)
    elif w.quant is not None and x.dtype == "int16":
        raise unsupported(g, op, "16x8 with per-channel weights (TFLite Micro takes per-tensor weights there)")
    fn, consts = layer_kernel(g, op, "fully_connected", x, w, bias, y, params, multipliers=multipliers)
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
