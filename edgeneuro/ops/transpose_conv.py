"""TRANSPOSE_CONV (the gradient of CONV_2D, "deconvolution"): int8 with per-channel (or
per-tensor) weights, 16x8 (int16 activations, int8 weights, int64 bias) and float32; with or
without bias.

TFLite's inputs are ``[output_shape, weights, input, bias?]``: ``output_shape`` is a constant int32
[4] that TFLM ignores (it takes the output tensor's shape; edgeneuro requires the two to agree),
``weights`` are OHWI ``[out_c, k_h, k_w, in_c]``. TFLM's Prepare: 4-D input, filter and output,
``in_c`` equal to the filter's, input and output of one type (float32 with float32 weights, int8
or int16 with int8 weights), weight scales per tensor or per output channel.

Spec (TFLM ``reference_integer_ops::TransposeConv`` / ``reference_ops::TransposeConv``, a
"scatter": every input pixel adds ``x * w`` into the outputs its window covers):
``out[b, iy*s_h - pad_h + ky, ix*s_w - pad_w + kx, oc] += (x[b, iy, ix, ic] - in_zp) * w[oc, ky, kx, ic]``,
contributions outside the output dropped. The padding is the one a CONV_2D with this window and
stride would need on an input of the *output's* size (``ComputePaddingHeightWidth(stride, 1,
out_h, out_w, k_h, k_w, padding)``: ``pad = max(0, (n - 1) * s + k - out) // 2`` with ``n`` the SAME or
VALID output size of ``out``). Then, per output element, int8:
``clamp(MBQM(acc + bias[oc], mult[oc], shift[oc]) + out_zp)`` with
``mult, shift = QuantizeMultiplier(double(s_in) * double(s_w[oc]) / double(s_out))``; 16x8: the
int64 accumulator, MBQM's 64-bit form (multiplier reduced to 16 bits), zero points 0; float32:
``clamp(acc + bias[oc])``. The fused activation clamps (TFLite operator version 4+).

The kernel gathers instead of scattering: for each output element it visits the taps whose input
pixel exists, ``iy = (oy + pad_h - ky) / s_h`` when that divides exactly and lies in the input,
rows with ky descending (iy ascending), then columns likewise, then input channels ascending. That
is the order in which TFLM's scatter adds into that element, starting from 0, so float32 sums
round alike; integer sums are exact. No working memory (TFLM keeps an int32/int64 image of the
output in its arena).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import (
    Kernel,
    activation,
    check_shape,
    float_clamp,
    layer_kernel,
    layer_operands,
    out_size,
    padding,
    requantize,
    requantize16,
    unsupported,
)

KINDS = ("TRANSPOSE_CONV",)
C_FILE = "transpose_conv"
MAX_VERSION = {"TRANSPOSE_CONV": 4}  # 2: int8, 3: 16x8, 4: fused activation


def lower(op: Op, g: Graph) -> Kernel:
    if len(op.inputs) not in (3, 4) or len(op.outputs) != 1:
        raise unsupported(g, op, f"{len(op.inputs)} inputs and {len(op.outputs)} outputs; TFLM takes 3 or 4 and 1")
    shape_t = g.t(op.inputs[0])
    bias_name = op.inputs[3] if len(op.inputs) > 3 else ""
    # the layer's operands in CONV_2D's order (input, weights, bias), for the shared checks
    as_conv = dataclasses.replace(op, inputs=(op.inputs[2], op.inputs[1], bias_name))
    x, w, bias, y = layer_operands(g, as_conv)
    if x.dtype != y.dtype:
        raise unsupported(g, op, f"input '{x.name}' is {x.dtype} and output '{y.name}' {y.dtype}; TFLM wants one type")
    if x.dtype == "int16" and bias_name and g.t(bias_name).dtype != "int64":
        raise unsupported(g, op, f"bias '{bias_name}' is {g.t(bias_name).dtype}; 16x8 takes an int64 bias")
    if w.dtype == "int4":
        raise unsupported(g, op, f"int4 weights '{w.name}' (TFLM's TRANSPOSE_CONV takes int8)")
    if len(x.shape) != 4 or len(w.shape) != 4 or len(y.shape) != 4:
        raise unsupported(g, op, "input, weights and output must be 4-D (NHWC, OHWI)")
    n, ih, iw, ic = x.shape
    oc, kh, kw, wic = w.shape
    if wic != ic:
        raise unsupported(g, op, f"weights take {wic} input channels, the input has {ic}")
    oh, ow = y.shape[1], y.shape[2]
    check_shape(g, op, y, (n, oh, ow, oc))
    if shape_t.data is not None and [int(v) for v in np.asarray(shape_t.data).reshape(-1)] != list(y.shape):
        raise unsupported(
            g,
            op,
            f"output_shape '{shape_t.name}' says {np.asarray(shape_t.data).tolist()}, the output is {list(y.shape)}",
        )
    a = op.attrs
    if a.get("padding") not in ("SAME", "VALID", "EXPLICIT"):
        raise unsupported(g, op, f"padding {a.get('padding')}; TFLite has SAME and VALID")
    sh, sw = a["stride_h"], a["stride_w"]
    if sh < 1 or sw < 1:
        raise unsupported(g, op, f"stride {sh}x{sw}")
    if a["padding"] == "EXPLICIT":  # the ONNX front end: ConvTranspose's [top, left, bottom, right] pads
        pad_h, pad_w = (int(v) for v in a["pads"][:2])
        if pad_h < 0 or pad_w < 0:
            raise unsupported(g, op, f"negative pads {list(a['pads'])}")
    else:
        pad_h = padding(a["padding"], oh, kh, sh, 1, out_size(a["padding"], oh, kh, sh, 1))
        pad_w = padding(a["padding"], ow, kw, sw, 1, out_size(a["padding"], ow, kw, sw, 1))
    params = dict(
        batches=n, in_h=ih, in_w=iw, in_c=ic, out_h=oh, out_w=ow, out_c=oc, k_h=kh, k_w=kw,
        stride_h=sh, stride_w=sw, pad_h=pad_h, pad_w=pad_w,
    )  # fmt: skip
    fn, consts = layer_kernel(g, op, "transpose_conv", x, w, bias, y, params)
    act = activation(op) if activation(op) != "NONE" else ""
    return Kernel(
        op=op,
        fn=fn,
        params=params,
        inputs=(x.name,),
        consts=consts,
        outputs=(y.name,),
        macs=n * ih * iw * ic * kh * kw * oc,
        summary=f"k{kh}x{kw} s{sh}x{sw} {a['padding'].lower()} {act}".strip(),
    )


def _taps(p: dict):
    """The taps in the kernel's order (rows, columns; each descending): yields ``(ky, kx, iy, ix,
    live)`` with ``iy`` [out_h] and ``ix`` [out_w] the input pixel each output position meets
    (clipped into the input) and ``live`` [out_h, out_w, 1] where that pixel exists."""
    oy, ox = np.arange(p["out_h"]), np.arange(p["out_w"])
    for ky in range(p["k_h"] - 1, -1, -1):
        ty = oy + p["pad_h"] - ky
        row_ok = (ty >= 0) & (ty % p["stride_h"] == 0) & (ty // p["stride_h"] < p["in_h"])
        iy = np.clip(ty // p["stride_h"], 0, p["in_h"] - 1)
        for kx in range(p["k_w"] - 1, -1, -1):
            tx = ox + p["pad_w"] - kx
            col_ok = (tx >= 0) & (tx % p["stride_w"] == 0) & (tx // p["stride_w"] < p["in_w"])
            ix = np.clip(tx // p["stride_w"], 0, p["in_w"] - 1)
            yield ky, kx, iy, ix, (row_ok[:, None] & col_ok[None, :])[..., None]


def reference(k: Kernel, x: np.ndarray, w: np.ndarray, bias: np.ndarray, *requant: np.ndarray) -> np.ndarray:
    p = k.params
    x = x.reshape(p["batches"], p["in_h"], p["in_w"], p["in_c"])
    shape = (p["batches"], p["out_h"], p["out_w"], p["out_c"])
    if k.fn == "en_transpose_conv_f32":
        acc = np.zeros(shape, np.float32)
        for ky, kx, iy, ix, live in _taps(p):
            patch = x[:, iy][:, :, ix].astype(np.float32)  # [n, out_h, out_w, in_c]
            for c in range(p["in_c"]):
                acc = np.where(live, acc + patch[..., c : c + 1] * w[:, ky, kx, c].astype(np.float32), acc)
        return float_clamp(acc + bias.astype(np.float32), p["act_min"], p["act_max"])
    acc = np.zeros(shape, np.int64)
    xi = x.astype(np.int64) - p.get("in_zp", 0)
    w64 = w.astype(np.int64)
    for ky, kx, iy, ix, live in _taps(p):
        acc += np.where(live, np.einsum("nhwc,oc->nhwo", xi[:, iy][:, :, ix], w64[:, ky, kx, :]), 0)
    acc += bias.astype(np.int64)
    mult, shift = (a.astype(np.int64) for a in requant)
    if k.fn == "en_transpose_conv_s16":
        return requantize16(acc, mult, shift, p["act_min"], p["act_max"])
    return requantize(acc, mult, shift, p["out_zp"], p["act_min"], p["act_max"])
