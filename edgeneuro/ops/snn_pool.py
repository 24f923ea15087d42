"""The pools of a spiking network imported from NIR (edgeneuro/frontends/nir.py): SumPool2d and
AvgPool2d over ``[C, H, W]`` (channels first, as NIR), zero padding, no dilation.

Spec. ``acc[c, y, x] = sum_{i < kH, j < kW} x[c, y * stride_h + i - pad_h, x * stride_w + j - pad_w]``,
the positions outside the input contributing nothing, exact (int32 for int8 inputs, int64 for
int32 inputs). Both node kinds compute this sum; they differ in what the output's scale says:

* int8 input (spikes, a pool of spikes, the quantized network input): the output is ``acc``
  itself, exact, at scale ``s_x`` (NIR_SUMPOOL2D) or ``s_x / (kH * kW)`` (NIR_AVGPOOL2D: the
  division is folded into the scale, so nothing rounds; the next kernel's multiplier carries
  it). ``en_snn_pool2d_s8`` stores it as int8 (the front end picks it when the sum provably fits,
  ``kH * kW * max|x| <= 127``, e.g. spike counts; stored values saturate at int8 all the same),
  ``en_snn_pool2d_s8_s32`` as int32.
* int32 input (currents, membranes): ``y = sat32(mul_round(acc, m, n))`` with ``m * 2^-n`` the
  multiplier ``s_x * f / s_y`` (``f`` = 1 for NIR_SUMPOOL2D, ``1 / (kH * kW)`` for NIR_AVGPOOL2D,
  ``s_y`` a power of two chosen by the front end from the bound), rounded half up once. The
  multiplier keeps ``31 - ceil(log2(kH * kW))`` significant bits so that ``acc * m`` (``|acc| <=
  kH * kW * 2^31``) is exact in int64; a power-of-two ``s_x * f / s_y`` (a window of 2x2, 4x4, ...
  over a power-of-two scale) is a plain rounding shift, and ``1`` leaves the sum unchanged.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.quant import mul_round, round_half_away, sat32, snn_multiplier
from edgeneuro.ops.base import Kernel
from edgeneuro.ops.synapse import node_unsupported, window_taps

KINDS = ("NIR_SUMPOOL2D", "NIR_AVGPOOL2D")
C_FILE = "snn_pool"
COUNTS = True  # trait (edgeneuro/ops/__init__.py): an int8 output is the exact window sums of the input
MAX_WINDOW = 1 << 16  # kH * kW: the int32 sum of int8 values cannot overflow


def pool_multiplier(real: float, window: int) -> tuple[int, int]:
    """``real`` as ``m * 2^-n`` with ``31 - ceil(log2(window))`` significant bits (``n >= 1``)."""
    m, n = snn_multiplier(real)
    c = (window - 1).bit_length()
    m, n = round_half_away(m / (1 << c)), n - c
    if n < 1:
        raise ValueError(f"multiplier {real:g} is too large for a window of {window}")
    return int(m), int(n)


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    (kh, kw), (sh, sw), (ph, pw) = op.attrs["kernel"], op.attrs["stride"], op.attrs["pad"]
    window = kh * kw
    if len(x.shape) < 3 or len(y.shape) < 3 or x.shape[-3] != y.shape[-3]:
        raise node_unsupported(g, op, f"pools [C, H, W]: input {list(x.shape)}, output {list(y.shape)}")
    if window > MAX_WINDOW:
        raise node_unsupported(g, op, f"a {kh}x{kw} window: at most {MAX_WINDOW:,} values")
    if x.quant is None or y.quant is None:
        raise node_unsupported(g, op, "the input and the output must be quantized")
    c, h_in, w_in = x.shape[-3:]
    h_out, w_out = y.shape[-2:]
    params = dict(c=c, h_in=h_in, w_in=w_in, h_out=h_out, w_out=w_out, k_h=kh, k_w=kw, stride_h=sh, stride_w=sw,
                  pad_h=ph, pad_w=pw)  # fmt: skip
    f = 1.0 if op.kind == "NIR_SUMPOOL2D" else 1.0 / window
    shape = f"[{c},{h_in},{w_in}]->[{c},{h_out},{w_out}] {kh}x{kw} s{sh}x{sw} pad {ph}x{pw}"
    if x.dtype == "int8" and y.dtype in ("int8", "int32"):
        if not np.isclose(y.scale, x.scale * f, rtol=1e-12, atol=0.0):
            raise node_unsupported(g, op, f"the output scale {y.scale:g} must be the input's x {f:g} (the sum is "
                                          "exact)")  # fmt: skip
        return Kernel(
            op=op,
            fn="en_snn_pool2d_s8" if y.dtype == "int8" else "en_snn_pool2d_s8_s32",
            params=params,
            inputs=(x.name,),
            outputs=(y.name,),
            summary=f"{shape}, exact {y.dtype} sum" + (f" at scale / {window}" if f != 1.0 else ""),
        )
    if x.dtype == "int32" and y.dtype == "int32":
        real = x.scale * f / y.scale
        try:
            m, n = pool_multiplier(real, window)
        except ValueError as e:
            raise node_unsupported(g, op, f"the output multiplier: {e}") from None
        params.update(mult=m, shift=n)
        return Kernel(
            op=op,
            fn="en_snn_pool2d_s32",
            params=params,
            inputs=(x.name,),
            outputs=(y.name,),
            summary=f"{shape}, int32 sum x {real:.6g}",
        )
    raise node_unsupported(g, op, f"pools int8 into int8 or int32, or int32 into int32 ({x.dtype} -> {y.dtype})")


def window_sum(p: dict, x: np.ndarray) -> np.ndarray:
    """The exact int64 window sums [c, h_out, w_out]."""
    xs = x.reshape(p["c"], p["h_in"], p["w_in"]).astype(np.int64)
    acc = np.zeros((p["c"], p["h_out"], p["w_out"]), np.int64)
    for _, _, ry, rx, live in window_taps(p, (p["k_h"], p["k_w"]), (1, 1)):
        acc += np.where(live[None], xs[:, ry[:, None], rx[None, :]], 0)
    return acc


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    acc = window_sum(k.params, x).reshape(-1)
    if k.fn == "en_snn_pool2d_s8":
        return np.clip(acc, -128, 127).astype(np.int8)
    if k.fn == "en_snn_pool2d_s8_s32":
        return sat32(acc).astype(np.int32)
    if k.fn == "en_snn_pool2d_s32":
        return sat32(mul_round(acc, k.params["mult"], k.params["shift"])).astype(np.int32)
    raise AssertionError(k.fn)
