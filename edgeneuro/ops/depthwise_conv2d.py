"""DEPTHWISE_CONV_2D, int8 with per-channel (or per-tensor) weights.

Spec (TFLM ``reference_integer_ops::DepthwiseConvPerChannel``): weights [1, KH, KW, C*M] where M is
the depth multiplier; output channel ``oc = ic*M + m`` sees only input channel ``ic``:
``acc[oc] = bias[oc] + sum_{kh,kw} w[0,kh,kw,oc] * (x[y*s+kh*d-pad, ..., ic] - in_zp)`` (padding
taps contribute nothing), requantized per output channel exactly like CONV_2D.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import (
    Kernel,
    activation,
    check_shape,
    float_clamp,
    layer_kernel,
    layer_operands,
    requantize,
    taps,
    unsupported,
    window,
)

KINDS = ("DEPTHWISE_CONV_2D",)
C_FILE = "depthwise_conv2d"
MAX_VERSION = {"DEPTHWISE_CONV_2D": 7}  # newest TFLite op versions handled


def lower(op: Op, g: Graph) -> Kernel:
    x, w, bias, y = layer_operands(g, op, channel_axis=3)
    if len(x.shape) != 4 or len(w.shape) != 4 or w.shape[0] != 1:
        raise unsupported(g, op, f"input {list(x.shape)} / weights {list(w.shape)}, expected NHWC and [1, KH, KW, C*M]")
    n, ih, iw, ic = x.shape
    _, kh, kw, oc = w.shape
    if oc % ic:
        raise unsupported(g, op, f"{oc} output channels is not a multiple of the {ic} input channels")
    mult_depth = oc // ic
    a = op.attrs
    sh, sw, dh, dw = a["stride_h"], a["stride_w"], a["dilation_h_factor"], a["dilation_w_factor"]
    oh, ow, pad_h, pad_w = window(a, ih, iw, kh, kw, sh, sw, dh, dw)
    check_shape(g, op, y, (n, oh, ow, oc))
    params = dict(
        batches=n, in_h=ih, in_w=iw, in_c=ic, out_h=oh, out_w=ow, depth_mult=mult_depth, k_h=kh, k_w=kw,
        stride_h=sh, stride_w=sw, dil_h=dh, dil_w=dw, pad_h=pad_h, pad_w=pad_w,
    )  # fmt: skip
    fn, consts = layer_kernel(g, op, "depthwise_conv2d", x, w, bias, y, params, variants=("s8", "f32"))
    act = activation(op)
    return Kernel(
        op=op,
        fn=fn,
        params=params,
        inputs=(x.name,),
        consts=consts,
        outputs=(y.name,),
        macs=n * oh * ow * oc * kh * kw,
        summary=f"k{kh}x{kw} s{sh}x{sw} d{dh}x{dw} {a['padding'].lower()} x{mult_depth}"
        + ("" if act == "NONE" else f" {act}"),
    )


def reference(k: Kernel, x: np.ndarray, w: np.ndarray, bias: np.ndarray, *requant: np.ndarray) -> np.ndarray:
    p = k.params
    m = p["depth_mult"]  # output channel ic*M + m reads input channel ic
    if k.fn == "en_depthwise_conv2d_f32":  # float32, rows then columns, each step rounded
        acc = np.zeros((x.shape[0], p["out_h"], p["out_w"], w.shape[3]), np.float32)
        for i, j, patch, live in taps(p, np.repeat(x.astype(np.float32), m, axis=3), w.shape[1], w.shape[2]):
            acc = np.where(live, acc + patch * w[0, i, j, :].astype(np.float32), acc)
        return float_clamp(acc + bias.astype(np.float32), p["act_min"], p["act_max"])
    mult, shift = requant
    acc = np.zeros((x.shape[0], p["out_h"], p["out_w"], w.shape[3]), np.int64)
    for i, j, patch, _ in taps(p, np.repeat(x.astype(np.int64) - p["in_zp"], m, axis=3), w.shape[1], w.shape[2]):
        acc += patch * w[0, i, j, :].astype(np.int64)
    acc += bias.astype(np.int64)
    return requantize(acc, mult.astype(np.int64), shift.astype(np.int64), p["out_zp"], p["act_min"], p["act_max"])
