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
    if k.fn == "en_depthwise_conv2d_f32":
        return _reference_f32(k, x, w, bias)
    mult, shift = requant
    p = k.params
    n, ih, iw, ic = x.shape
    _, kh, kw, oc = w.shape
    oh, ow, sh, sw, dh, dw = p["out_h"], p["out_w"], p["stride_h"], p["stride_w"], p["dil_h"], p["dil_w"]
    pt, pl = p["pad_h"], p["pad_w"]
    pb = max(0, (oh - 1) * sh + (kh - 1) * dh + 1 - ih - pt)
    pr = max(0, (ow - 1) * sw + (kw - 1) * dw + 1 - iw - pl)
    xs = np.pad(x.astype(np.int64) - p["in_zp"], ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    xs = np.repeat(xs, p["depth_mult"], axis=3)  # channel ic*M + m reads input channel ic
    acc = np.zeros((n, oh, ow, oc), np.int64)
    for i in range(kh):
        for j in range(kw):
            patch = xs[:, i * dh : i * dh + (oh - 1) * sh + 1 : sh, j * dw : j * dw + (ow - 1) * sw + 1 : sw, :]
            acc += patch * w[0, i, j, :].astype(np.int64)
    acc += bias.astype(np.int64)
    return requantize(acc, mult.astype(np.int64), shift.astype(np.int64), p["out_zp"], p["act_min"], p["act_max"])


def _reference_f32(k: Kernel, x: np.ndarray, w: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Float32, summing over filter rows then columns as TFLite does, rounding each step."""
    p = k.params
    n, ih, iw, ic = x.shape
    _, kh, kw, oc = w.shape
    oh, ow, sh, sw, dh, dw = p["out_h"], p["out_w"], p["stride_h"], p["stride_w"], p["dil_h"], p["dil_w"]
    pt, pl = p["pad_h"], p["pad_w"]
    pb = max(0, (oh - 1) * sh + (kh - 1) * dh + 1 - ih - pt)
    pr = max(0, (ow - 1) * sw + (kw - 1) * dw + 1 - iw - pl)
    xs = np.repeat(np.pad(x.astype(np.float32), ((0, 0), (pt, pb), (pl, pr), (0, 0))), p["depth_mult"], axis=3)
    inside = np.pad(np.ones((ih, iw), bool), ((pt, pb), (pl, pr)))
    acc = np.zeros((n, oh, ow, oc), np.float32)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + (oh - 1) * sh + 1, sh)
            cols = slice(j * dw, j * dw + (ow - 1) * sw + 1, sw)
            live = inside[rows, cols][None, :, :, None]
            acc = np.where(live, acc + xs[:, rows, cols, :] * w[0, i, j, :].astype(np.float32), acc)
    return float_clamp(acc + bias.astype(np.float32), p["act_min"], p["act_max"])
