"""CONV_2D, int8 with per-channel (or per-tensor) weights; also the Conv1D form (H = 1).

Spec (TFLM ``reference_integer_ops::ConvPerChannel``):
``acc[c] = bias[c] + sum_{kh,kw,ic} w[c,kh,kw,ic] * (x[y*s+kh*d-pad, ...] - in_zp)``, taps that
fall in the padding contribute nothing; ``y = clamp(MBQM(acc, mult[c], shift[c]) + out_zp)``
with ``mult[c], shift[c] = QuantizeMultiplier(double(s_in) * double(s_w[c]) / double(s_out))``.
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
    requantize16,
    unsupported,
    window,
)

KINDS = ("CONV_2D",)
C_FILE = "conv2d"
MAX_VERSION = {"CONV_2D": 7}  # newest TFLite op versions handled


def lower(op: Op, g: Graph) -> Kernel:
    x, w, bias, y = layer_operands(g, op)
    if len(x.shape) != 4:
        raise unsupported(g, op, f"input rank {len(x.shape)}, expected 4 (NHWC)")
    n, ih, iw, ic = x.shape
    oc, kh, kw, wic = w.shape
    if ic % wic:
        raise unsupported(g, op, f"input channels {ic} not a multiple of filter channels {wic}")
    groups = ic // wic
    if oc % groups:
        raise unsupported(g, op, f"{oc} filters cannot be split into {groups} groups")
    a = op.attrs
    sh, sw, dh, dw = a["stride_h"], a["stride_w"], a["dilation_h_factor"], a["dilation_w_factor"]
    oh, ow, pad_h, pad_w = window(a, ih, iw, kh, kw, sh, sw, dh, dw)
    check_shape(g, op, y, (n, oh, ow, oc))
    params = dict(
        batches=n,
        in_h=ih,
        in_w=iw,
        in_c=ic,
        out_h=oh,
        out_w=ow,
        out_c=oc,
        k_h=kh,
        k_w=kw,
        filter_c=wic,
        stride_h=sh,
        stride_w=sw,
        dil_h=dh,
        dil_w=dw,
        pad_h=pad_h,
        pad_w=pad_w,
    )
    fn, consts = layer_kernel(g, op, "conv2d", x, w, bias, y, params)
    act = activation(op) if activation(op) != "NONE" else ""
    return Kernel(
        op=op,
        fn=fn,
        params=params,
        inputs=(x.name,),
        consts=consts,
        outputs=(y.name,),
        macs=n * oh * ow * oc * kh * kw * wic,
        summary=f"k{kh}x{kw} s{sh}x{sw} d{dh}x{dw} {a['padding'].lower()} groups {groups} {act}".strip(),
    )


def reference(k: Kernel, x: np.ndarray, w: np.ndarray, bias: np.ndarray, *requant: np.ndarray) -> np.ndarray:
    if k.fn == "en_conv2d_f32":
        return _reference_f32(k, x, w, bias)
    p = k.params
    mult, shift = (a.astype(np.int64) for a in requant)
    acc = _accumulate(k, x, w) + bias.astype(np.int64)
    if k.fn == "en_conv2d_s16":
        return requantize16(acc, mult, shift, p["act_min"], p["act_max"])
    return requantize(acc, mult, shift, p["out_zp"], p["act_min"], p["act_max"])


def _accumulate(k: Kernel, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Exact integer sums of (input - zero point) * weight; padding taps contribute nothing."""
    p = k.params
    n, ih, iw, ic = x.shape
    oc, kh, kw, fc = w.shape
    oh, ow = p["out_h"], p["out_w"]
    sh, sw, dh, dw = p["stride_h"], p["stride_w"], p["dil_h"], p["dil_w"]
    pt, pl = p["pad_h"], p["pad_w"]
    pb = max(0, (oh - 1) * sh + (kh - 1) * dh + 1 - ih - pt)
    pr = max(0, (ow - 1) * sw + (kw - 1) * dw + 1 - iw - pl)
    xs = np.pad(x.astype(np.int64) - p["in_zp"], ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    groups = ic // fc
    per_group = oc // groups
    acc = np.zeros((n, oh, ow, oc), np.int64)
    w64 = w.astype(np.int64)
    for i in range(kh):
        for j in range(kw):
            patch = xs[:, i * dh : i * dh + (oh - 1) * sh + 1 : sh, j * dw : j * dw + (ow - 1) * sw + 1 : sw, :]
            for gi in range(groups):
                cin = patch[..., gi * fc : (gi + 1) * fc]
                wg = w64[gi * per_group : (gi + 1) * per_group, i, j, :]
                acc[..., gi * per_group : (gi + 1) * per_group] += np.einsum("nhwc,oc->nhwo", cin, wg)
    return acc


def _reference_f32(k: Kernel, x: np.ndarray, w: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Float32 in TFLite's summation order (filter row, filter column, input channel), each
    product and sum rounded to float32 as the C kernel does (no fused multiply-add)."""
    p = k.params
    n, ih, iw, ic = x.shape
    oc, kh, kw, fc = w.shape
    oh, ow, sh, sw, dh, dw = p["out_h"], p["out_w"], p["stride_h"], p["stride_w"], p["dil_h"], p["dil_w"]
    pt, pl = p["pad_h"], p["pad_w"]
    pb = max(0, (oh - 1) * sh + (kh - 1) * dh + 1 - ih - pt)
    pr = max(0, (ow - 1) * sw + (kw - 1) * dw + 1 - iw - pl)
    xs = np.pad(x.astype(np.float32), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    inside = np.pad(np.ones((ih, iw), bool), ((pt, pb), (pl, pr)))
    per_group = oc // (ic // fc)
    group_of = np.arange(oc) // per_group
    acc = np.zeros((n, oh, ow, oc), np.float32)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + (oh - 1) * sh + 1, sh)
            cols = slice(j * dw, j * dw + (ow - 1) * sw + 1, sw)
            live = inside[rows, cols][None, :, :, None]  # taps outside the image are skipped, not added
            patch = xs[:, rows, cols, :]
            for c in range(fc):
                term = patch[..., group_of * fc + c] * w[:, i, j, c].astype(np.float32)
                acc = np.where(live, acc + term, acc)
    return float_clamp(acc + bias.astype(np.float32), p["act_min"], p["act_max"])
