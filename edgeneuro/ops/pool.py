"""MAX_POOL_2D and AVERAGE_POOL_2D, int8 NHWC; input and output share quantization.

Spec (TFLM ``reference_integer_ops::AveragePool`` / ``MaxPool``): the window is clipped to the
input (padding taps are not counted); average = ``(sum +- count/2) / count`` rounded half away
from zero with C's truncating division; then the fused-activation clamp.

Variants (same bits): ``dsp`` (pool_dsp.c, four channels per word) and ``mve`` (pool_mve.c,
Helium: 16 channels per vector, VMAX; the average's sums in int16 lanes).
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.quant import activation_range
from edgeneuro.ops.base import (
    Kernel,
    activation,
    check_accumulator,
    check_shape,
    float_activation_range,
    float_clamp,
    require_int8,
    same_quant,
    unsupported,
    window,
)

KINDS = ("MAX_POOL_2D", "AVERAGE_POOL_2D")
C_FILE = "pool"
MAX_VERSION = {"MAX_POOL_2D": 3, "AVERAGE_POOL_2D": 3}  # newest TFLite op versions handled


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    is_float = x.dtype == "float32" and y.dtype == "float32"
    if not is_float:
        require_int8(g, op, x, y)
        if not same_quant(x, y):
            raise unsupported(g, op, "input and output quantization differ")
    if len(x.shape) != 4:
        raise unsupported(g, op, f"input rank {len(x.shape)}, expected 4 (NHWC)")
    a = op.attrs
    n, ih, iw, c = x.shape
    fh, fw, sh, sw = a["filter_height"], a["filter_width"], a["stride_h"], a["stride_w"]
    oh, ow, pad_h, pad_w = window(a, ih, iw, fh, fw, sh, sw)
    check_shape(g, op, y, (n, oh, ow, c))
    if not is_float and op.kind == "AVERAGE_POOL_2D":  # the window's int32 sum of int8 values
        check_accumulator(g, op, 128 * fh * fw, f"of a {fh}x{fw} window's sum (128 x {fh * fw})")
    if is_float:
        act_min, act_max = float_activation_range(op)
    else:
        act_min, act_max = activation_range(activation(op), y.scale, y.zero_point)
    kind = ("max" if op.kind == "MAX_POOL_2D" else "avg") + ("_pool2d_f32" if is_float else "_pool2d_s8")
    v = op.attrs.get("variant")  # "dsp", "mve" or None
    return Kernel(
        op=op,
        fn=f"en_{kind}" + (f"_{v}" if v else ""),
        c_file=f"pool_{v}" if v else None,
        entry=column_entry(op, v, (ih, iw, c), (oh, ow), (fh, fw, sh), (pad_h, pad_w), (act_min, act_max)),
        params=dict(
            batches=n,
            in_h=ih,
            in_w=iw,
            channels=c,
            out_h=oh,
            out_w=ow,
            k_h=fh,
            k_w=fw,
            stride_h=sh,
            stride_w=sw,
            pad_h=pad_h,
            pad_w=pad_w,
            act_min=act_min,
            act_max=act_max,
        ),
        inputs=(x.name,),
        outputs=(y.name,),
        summary=f"k{fh}x{fw} s{sh}x{sw} {a['padding'].lower()}",
    )


def column_entry(op: Op, v, x_hwc, out_hw, window_hws, pads, act) -> str | None:
    """The DSP average pool's entry for a time series (pool_dsp.c ``en_avg_column``): one column
    (in_w = k_w = out_w = 1), every window inside the input (no padding, the last one too), whole
    words of channels; the clamp only under a fused activation (an average of int8 values is an
    int8 value). None: the general kernel."""
    (ih, iw, c), (oh, ow), (fh, fw, sh) = x_hwc, out_hw, window_hws
    if op.kind != "AVERAGE_POOL_2D" or v != "dsp" or c % 4 or (iw, fw, ow, *pads) != (1, 1, 1, 0, 0):
        return None
    if (oh - 1) * sh + fh > ih:  # SAME padding all at the bottom
        return None
    return "en_avg_pool2d_s8_dsp_column" + ("" if tuple(act) == (-128, 127) else "_clamp")


def variant(op: Op, g: Graph, features: tuple[str, ...]) -> str | None:
    """For int8 pools: ``mve`` (pool_mve.c: 16 channels per vector) on cores with Helium, else
    ``dsp`` (pool_dsp.c: four channels per word) on cores with SIMD32; an average only over windows
    of at most 255 values, whose sums fit the int16 lanes or halfwords they add in."""
    x = g.t(op.inputs[0])
    if not {"dsp", "mve"} & set(features) or x.dtype != "int8" or len(x.shape) != 4:
        return None
    if op.kind == "AVERAGE_POOL_2D" and op.attrs["filter_height"] * op.attrs["filter_width"] > 255:
        return None
    return "mve" if "mve" in features else "dsp"


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    """The DSP and MVE variants compute the same as the portable kernels."""
    p = k.params
    n, oh, ow, c = p["batches"], p["out_h"], p["out_w"], p["channels"]
    if k.fn.endswith("_f32"):
        return _reference_f32(k, x)
    out = np.zeros((n, oh, ow, c), np.int64)
    xi = x.astype(np.int64)
    for oy in range(oh):
        y0 = oy * p["stride_h"] - p["pad_h"]
        ys = slice(max(0, y0), min(p["in_h"], y0 + p["k_h"]))
        for ox in range(ow):
            x0 = ox * p["stride_w"] - p["pad_w"]
            xs = slice(max(0, x0), min(p["in_w"], x0 + p["k_w"]))
            win = xi[:, ys, xs, :]
            if k.fn.startswith("en_max_pool2d_s8"):
                out[:, oy, ox, :] = win.max(axis=(1, 2))
            else:
                count = win.shape[1] * win.shape[2]
                s = win.sum(axis=(1, 2))
                num = np.where(s > 0, s + count // 2, s - count // 2)
                out[:, oy, ox, :] = np.sign(num) * (np.abs(num) // count)  # C truncation
    return np.clip(out, p["act_min"], p["act_max"]).astype(np.int8)


def _reference_f32(k: Kernel, x: np.ndarray) -> np.ndarray:
    """Float32: the maximum, or the sum in window order divided by the count, as TFLite does."""
    p = k.params
    out = np.zeros((p["batches"], p["out_h"], p["out_w"], p["channels"]), np.float32)
    for oy in range(p["out_h"]):
        y0 = oy * p["stride_h"] - p["pad_h"]
        for ox in range(p["out_w"]):
            x0 = ox * p["stride_w"] - p["pad_w"]
            taps = [
                x[:, yy, xx, :].astype(np.float32)
                for yy in range(max(0, y0), min(p["in_h"], y0 + p["k_h"]))
                for xx in range(max(0, x0), min(p["in_w"], x0 + p["k_w"]))
            ]
            if k.fn == "en_max_pool2d_f32":
                out[:, oy, ox, :] = np.max(taps, axis=0)
            else:
                total = np.zeros_like(taps[0])
                for t in taps:
                    total = total + t
                out[:, oy, ox, :] = total / np.float32(len(taps))
    return float_clamp(out, p["act_min"], p["act_max"])
