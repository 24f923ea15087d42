"""RESIZE_NEAREST_NEIGHBOR (int8, int16, float32) and RESIZE_BILINEAR (int8, float32), NHWC, with
``align_corners`` and ``half_pixel_centers``.

TFLM's Prepare: 4-D input, a constant 1-D int32 ``size`` of 2 elements (out_h, out_w), the output
of the input's type; RESIZE_BILINEAR refuses ``half_pixel_centers`` with ``align_corners``.
Neither operator requantizes (the int8 kernels move or interpolate the raw values), so edgeneuro
requires one quantization on both sides; it also refuses a size whose sample positions would fall
outside the input (TFLM would read out of bounds).

Everything that depends on the position only is fixed at compile time, per output row and per
output column, as constants the kernel and the reference both read:

* Nearest (``reference_ops::ResizeNearestNeighbor``, ``GetNearestNeighbor``): for an output index
  ``v`` of an axis of ``n_in`` -> ``n_out``, float32 ``scale = (n_in - 1) / float(n_out - 1)``
  with align_corners and n_out > 1, else ``n_in / float(n_out)``; ``t = (v + (0.5f if
  half_pixel_centers else 0)) * scale`` in float32; the source index is ``round(t)`` (half away
  from zero) with align_corners, else ``floor(t)``, at most ``n_in - 1`` and, with
  half_pixel_centers, at least 0. The kernel copies each source pixel's channels.
* Bilinear, int8 (``ResizeBilinearInteger``, fixed point with 10 fractional bits): ``scale10 =
  (1024 * n_in + n_out / 2) / n_out`` (with align_corners and n_out > 1: ``(1024 * (n_in - 1) +
  (n_out - 1) / 2) / (n_out - 1)``); ``t = v * scale10`` (half_pixel_centers: ``+ scale10 / 2 -
  512``); ``lo = max(t / 1024, 0)``, ``hi = min((t + 1023) / 1024, n_in - 1)`` (C's truncating
  division); weights ``w_hi = t - 1024 * lo``, ``w_lo = 1024 - w_hi``. Each output is
  ``(sum of x[lo|hi, lo|hi] * wy * wx + (s > 0 ? 2^19 : -2^19)) / 2^20`` in int64, truncated,
  as int8 (TFLM's double-rounding build).
* Bilinear, float32 (``ResizeBilinear``): ``scale = float(n_in) / n_out`` (align_corners and n_out >
  1: ``float(n_in - 1) / (n_out - 1)``); ``t = v * scale`` (half_pixel_centers: ``(v + 0.5f) *
  scale - 0.5f``); ``lo = max(floor(t), 0)``, ``hi = min(ceil(t), n_in - 1)``; ``w_hi = t - lo``,
  ``w_lo = 1 - w_hi``, all float32. Each output is ``x00 * wy_lo * wx_lo + x10 * wy_hi * wx_lo +
  x01 * wy_lo * wx_hi + x11 * wy_hi * wx_hi + 0.0f``, evaluated left to right in float32 (the
  trailing ``+ 0.0f`` turns -0 into +0, as TFLM's rounding offset does).
"""

from __future__ import annotations

import math

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, check_shape, copy_operands, same_quant, unsupported

KINDS = ("RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR")
C_FILE = "resize"
MAX_VERSION = {"RESIZE_NEAREST_NEIGHBOR": 4, "RESIZE_BILINEAR": 4}  # 2: int8, 3: half_pixel_centers, 4: int16
DTYPES = {"RESIZE_NEAREST_NEIGHBOR": ("int8", "int16", "float32"), "RESIZE_BILINEAR": ("int8", "float32")}


def lower(op: Op, g: Graph) -> Kernel:
    if len(op.inputs) != 2 or len(op.outputs) != 1:
        raise unsupported(g, op, f"{len(op.inputs)} inputs and {len(op.outputs)} outputs; TFLM takes 2 and 1")
    x, size, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    elem = copy_operands(g, op, [x], [y], DTYPES[op.kind])
    if x.quant is not None and not same_quant(x, y):
        raise unsupported(g, op, "input and output quantization differ (TFLM does not requantize here)")
    if len(x.shape) != 4:
        raise unsupported(g, op, f"input rank {len(x.shape)}; TFLM takes 4-D (NHWC)")
    if size.data is None or size.dtype != "int32" or size.shape != (2,):
        raise unsupported(g, op, f"size '{size.name}' must be a constant int32 [2] (TFLM refuses others)")
    oh, ow = (int(v) for v in size.data)
    if oh < 1 or ow < 1:
        raise unsupported(g, op, f"size {oh}x{ow}")
    n, ih, iw, c = x.shape
    check_shape(g, op, y, (n, oh, ow, c))
    align, half = bool(op.attrs.get("align_corners")), bool(op.attrs.get("half_pixel_centers"))
    flags = " align_corners" * align + " half_pixel_centers" * half
    params = dict(batches=n, in_h=ih, in_w=iw, out_h=oh, out_w=ow, channels=c)
    if op.kind == "RESIZE_NEAREST_NEIGHBOR":
        rows, cols = (np.array([nearest(v, i, o, align, half) for v in range(o)], np.int32)
                      for i, o in ((ih, oh), (iw, ow)))  # fmt: skip
        return Kernel(
            op=op,
            fn="en_resize_nearest",
            params={**params, "elem_bytes": elem},
            inputs=(x.name,),
            consts=(("rows", rows), ("cols", cols)),
            outputs=(y.name,),
            summary=f"{ih}x{iw} -> {oh}x{ow}{flags}",
        )
    if align and half:
        raise unsupported(g, op, "half_pixel_centers with align_corners (TFLM refuses the pair)")
    axis = bilinear_f32 if x.dtype == "float32" else bilinear_s8
    (rows, row_w), (cols, col_w) = axis(ih, oh, align, half), axis(iw, ow, align, half)
    for what, idx, limit in (("rows", rows, ih), ("columns", cols, iw)):
        if idx.min() < 0 or idx.max() >= limit:
            raise unsupported(
                g, op, f"size {oh}x{ow} samples input {what} outside 0..{limit - 1} (TFLM reads past the input)"
            )
    return Kernel(
        op=op,
        fn="en_resize_bilinear_f32" if x.dtype == "float32" else "en_resize_bilinear_s8",
        params=params,
        inputs=(x.name,),
        consts=(("rows", rows), ("cols", cols), ("row_w", row_w), ("col_w", col_w)),
        outputs=(y.name,),
        summary=f"{ih}x{iw} -> {oh}x{ow}{flags}",
    )


def _scale_f32(n_in: int, n_out: int, align: bool) -> np.float32:
    if align and n_out > 1:
        return np.float32(n_in - 1) / np.float32(n_out - 1)
    return np.float32(n_in) / np.float32(n_out)


def nearest(v: int, n_in: int, n_out: int, align: bool, half: bool) -> int:
    """TFLM's ``GetNearestNeighbor``: the input index output index ``v`` copies."""
    t = float((np.float32(v) + np.float32(0.5 if half else 0.0)) * _scale_f32(n_in, n_out, align))
    base = math.floor(t)
    src = min(base + (t - base >= 0.5) if align else base, n_in - 1)  # round: half away from zero (t >= 0)
    return max(src, 0) if half else src


def _cdiv(a: int, b: int) -> int:
    """C's integer division (truncating toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def bilinear_s8(n_in: int, n_out: int, align: bool, half: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per output index: (lo, hi) int32 [n_out, 2] and the 10-bit weights (w_lo, w_hi) int32 [n_out, 2]."""
    if align and n_out > 1:
        s = (1024 * (n_in - 1) + (n_out - 1) // 2) // (n_out - 1)
    else:
        s = (1024 * n_in + n_out // 2) // n_out
    idx, w = np.zeros((n_out, 2), np.int32), np.zeros((n_out, 2), np.int32)
    for v in range(n_out):
        t = v * s + (s // 2 - 512 if half else 0)
        lo, hi = max(_cdiv(t, 1024), 0), min(_cdiv(t + 1023, 1024), n_in - 1)
        idx[v], w[v] = (lo, hi), (1024 - (t - 1024 * lo), t - 1024 * lo)
    return idx, w


def bilinear_f32(n_in: int, n_out: int, align: bool, half: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per output index: (lo, hi) int32 [n_out, 2] and the float32 weights (w_lo, w_hi) [n_out, 2]."""
    s = _scale_f32(n_in, n_out, align)
    idx, w = np.zeros((n_out, 2), np.int32), np.zeros((n_out, 2), np.float32)
    for v in range(n_out):
        t = (np.float32(v) + np.float32(0.5)) * s - np.float32(0.5) if half else np.float32(v) * s
        lo, hi = max(math.floor(float(t)), 0), min(math.ceil(float(t)), n_in - 1)
        frac = np.float32(t - np.float32(lo))
        idx[v], w[v] = (lo, hi), (np.float32(1) - frac, frac)
    return idx, w


def reference(k: Kernel, x: np.ndarray, rows: np.ndarray, cols: np.ndarray, *weights: np.ndarray) -> np.ndarray:
    p = k.params
    x = x.reshape(p["batches"], p["in_h"], p["in_w"], p["channels"])
    if k.fn == "en_resize_nearest":
        return x[:, rows][:, :, cols]
    row_w, col_w = weights
    ylo, yhi, xlo, xhi = rows[:, 0], rows[:, 1], cols[:, 0], cols[:, 1]
    corners = [x[:, ys][:, :, xs] for ys, xs in ((ylo, xlo), (yhi, xlo), (ylo, xhi), (yhi, xhi))]
    wy = [row_w[:, i][None, :, None, None] for i in (0, 1, 0, 1)]
    wx = [col_w[:, i][None, None, :, None] for i in (0, 0, 1, 1)]
    if k.fn == "en_resize_bilinear_f32":
        total = np.zeros(corners[0].shape, np.float32)
        for i, (v, a, b) in enumerate(zip(corners, wy, wx, strict=True)):
            term = (v.astype(np.float32) * a) * b
            total = term if i == 0 else total + term
        return total + np.float32(0.0)
    total = sum(
        v.astype(np.int64) * a.astype(np.int64) * b.astype(np.int64) for v, a, b in zip(corners, wy, wx, strict=True)
    )
    total = total + np.where(total > 0, 1 << 19, -(1 << 19))
    q = np.abs(total) >> 20
    return np.where(total < 0, -q, q).astype(np.int8)
