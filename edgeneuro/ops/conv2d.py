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
    taps,
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
    oc, kh, kw, fc = w.shape
    groups = x.shape[3] // fc
    per_group = oc // groups
    acc = np.zeros((x.shape[0], p["out_h"], p["out_w"], oc), np.int64)
    w64 = w.astype(np.int64)
    for i, j, patch, _ in taps(p, x.astype(np.int64) - p["in_zp"], kh, kw):
        for gi in range(groups):
            cin = patch[..., gi * fc : (gi + 1) * fc]
            wg = w64[gi * per_group : (gi + 1) * per_group, i, j, :]
            acc[..., gi * per_group : (gi + 1) * per_group] += np.einsum("nhwc,oc->nhwo", cin, wg)
    return acc


def _reference_f32(k: Kernel, x: np.ndarray, w: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Float32 in TFLite's summation order (filter row, filter column, input channel), each
    product and sum rounded to float32 as the C kernel does (no fused multiply-add)."""
    p = k.params
    oc, kh, kw, fc = w.shape
    group_of = np.arange(oc) // (oc // (x.shape[3] // fc))
    acc = np.zeros((x.shape[0], p["out_h"], p["out_w"], oc), np.float32)
    for i, j, patch, live in taps(p, x.astype(np.float32), kh, kw):  # taps outside the image are skipped
        for c in range(fc):
            acc = np.where(live, acc + patch[..., group_of * fc + c] * w[:, i, j, c].astype(np.float32), acc)
    return float_clamp(acc + bias.astype(np.float32), p["act_min"], p["act_max"])
