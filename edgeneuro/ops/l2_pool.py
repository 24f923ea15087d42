"""L2_POOL_2D: float32 NHWC, the root of the mean square over each window (TFLM ``l2_pool_2d.cc``,
``reference_ops::L2Pool``; TFLM has no quantized form).

Spec: the window (``filter_height`` x ``filter_width``, strides, SAME / VALID padding as
``ComputePaddingHeightWidth``) is clipped to the input; over its taps in row-major order
``s = s + v * v`` from 0.0f and ``count`` the number of taps; ``y = sqrtf(s / (float)count)``,
then the fused activation's ``min(max(y, lo), hi)``.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, check_shape, float_activation_range, float_clamp, unsupported, window

KINDS = ("L2_POOL_2D",)
C_FILE = "l2_pool"
MAX_VERSION = {"L2_POOL_2D": 1}


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    if x.dtype != "float32" or y.dtype != "float32":
        raise unsupported(g, op, f"{x.dtype} in, {y.dtype} out; TFLM's L2_POOL_2D takes float32 only")
    if len(x.shape) != 4:
        raise unsupported(g, op, f"input rank {len(x.shape)}, expected 4 (NHWC)")
    a = op.attrs
    n, ih, iw, c = x.shape
    fh, fw, sh, sw = a["filter_height"], a["filter_width"], a["stride_h"], a["stride_w"]
    if min(fh, fw, sh, sw) < 1:
        raise unsupported(g, op, f"filter {fh}x{fw}, strides {sh}x{sw}: all must be positive")
    oh, ow, pad_h, pad_w = window(a, ih, iw, fh, fw, sh, sw)
    check_shape(g, op, y, (n, oh, ow, c))
    act_min, act_max = float_activation_range(op)
    params = dict(batches=n, in_h=ih, in_w=iw, channels=c, out_h=oh, out_w=ow, k_h=fh, k_w=fw, stride_h=sh,
                  stride_w=sw, pad_h=pad_h, pad_w=pad_w, act_min=act_min, act_max=act_max)  # fmt: skip
    return Kernel(op=op, fn="en_l2_pool2d_f32", params=params, inputs=(x.name,), outputs=(y.name,),
                  summary=f"k{fh}x{fw} s{sh}x{sw} {a['padding'].lower()}")  # fmt: skip


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    p = k.params
    x = x.reshape(p["batches"], p["in_h"], p["in_w"], p["channels"]).astype(np.float32)
    out = np.empty((p["batches"], p["out_h"], p["out_w"], p["channels"]), np.float32)
    for oy in range(p["out_h"]):
        y0 = oy * p["stride_h"] - p["pad_h"]
        for ox in range(p["out_w"]):
            x0 = ox * p["stride_w"] - p["pad_w"]
            s = np.zeros((p["batches"], p["channels"]), np.float32)
            count = 0
            for fy in range(max(0, -y0), min(p["k_h"], p["in_h"] - y0)):
                for fx in range(max(0, -x0), min(p["k_w"], p["in_w"] - x0)):
                    v = x[:, y0 + fy, x0 + fx, :]
                    s = (s + v * v).astype(np.float32)
                    count += 1
            with np.errstate(all="ignore"):
                out[:, oy, ox, :] = np.sqrt((s / np.float32(count)).astype(np.float32))
    return float_clamp(out, p["act_min"], p["act_max"]).reshape(-1)
