"""The synapses of a spiking network imported from NIR (edgeneuro/frontends/nir.py): Affine / Linear,
Conv1d, Conv2d and Scale on int8 values (spikes, or the quantized input), giving int32 currents; and the
sum of the currents that meet at one node.

Spec, with ``mul_round(x, m, n) = floor(x * m / 2^n + 1/2)`` (edgeneuro/ir/quant.py, exact int64
product) and ``sat32`` the saturation to int32:

* NIR_AFFINE (NIR Affine and Linear): ``acc[o] = bias[o] + sum_k w[o,k] * x[k]`` (int8 weights,
  or int16 ones (kernel ``_w16``, the front end's ``--synapse-weights``), with one scale per output
  ``s_w[o]``, int32 bias of scale ``s_x * s_w[o]``, int32 accumulator: the compiler refuses layers
  where ``128 * sum_k |w[o,k]| + |bias[o]|`` could leave int32), then
  ``y[o] = sat32(mul_round(acc[o], m[o], n[o]))`` with ``m[o] * 2^-n[o]`` the multiplier
  ``s_x * s_w[o] / s_y`` (31 significant bits, ``snn_multiplier``). ``y`` is the real current in
  units of its power-of-two scale ``s_y``.
* NIR_CONV1D (NIR Conv1d, channels first ``[C, N]`` as in NIR and PyTorch): the same per output
  channel, ``acc[o, t] = bias[o] + sum_{c, k} w[o, c, k] * x[g * C_in/groups + c, t * stride +
  k * dilation - pad]`` (taps outside the input contribute nothing), ``g`` the group of ``o``.
* NIR_CONV2D (NIR Conv2d, ``[C, H, W]``): the same over two axes, ``acc[o, y, x] = bias[o] +
  sum_{c, i, j} w[o, c, i, j] * x[g * C_in/groups + c, y * stride_h + i * dil_h - pad_h, x *
  stride_w + j * dil_w - pad_w]``, taps outside the input contributing nothing; the accumulator
  bound is the same check over each output channel's weights.
* NIR_SCALE (NIR Scale, and the int8 -> int32 conversion of spikes or the input before they are
  summed into a neuron): ``y[i] = sat32(mul_round(x[i], m[i], n[i]))``, ``m[i] * 2^-n[i] = s_x *
  scale[i] / s_y`` (``scale`` in the op's attributes); ``x`` is int8 or int32.
* NIR_ADD (the edges into one NIR node are summed): int32 ``a`` and ``b`` with power-of-two scales
  at or below the output's: ``y = sat32(shift_round(a, e_y - e_a) + shift_round(b, e_y - e_b))``,
  ``shift_round(x, s) = floor(x / 2^s + 1/2)``.
"""

from __future__ import annotations

import math

import numpy as np

from edgeneuro.ir import Graph, Op, Tensor
from edgeneuro.ir.quant import mul_round, sat32, shift_round, snn_multiplier
from edgeneuro.ops.base import Kernel, unsupported

KINDS = ("NIR_AFFINE", "NIR_CONV1D", "NIR_CONV2D", "NIR_SCALE", "NIR_ADD")
C_FILE = "synapse"
WEIGHT_TYPES = {"int8": "", "int16": "_w16"}  # the weight type -> the kernel name's suffix

# Traits (edgeneuro/ops/__init__.py). The event-driven variant of each dense kind that has one
# (edgeneuro/ops/synapse_event.py), which edgeneuro/passes/synapse_kernels.py may pick instead.
EVENT_VARIANT = {"NIR_AFFINE": "NIR_AFFINE_EVENT", "NIR_CONV1D": "NIR_CONV1D_EVENT", "NIR_CONV2D": "NIR_CONV2D_EVENT"}
# The input spike rate below which the event-driven kernel takes fewer instructions per time step
# than the dense one, per kind: the lowest break-even over the layer shapes measured by
# bench/snn_event_breakeven.py on QEMU mps2-an386 (Cortex-M4, arm-none-eabi-gcc 12.2 -O2; the table
# is in the README's spiking section): Affine 64->128 and 256->256 82 %; Conv1d [8,64]->[16,64] k5
# 72 %, [16,32]->[32,32] k3 90 %; Conv2d 3x3 [2,16,16]->[8,16,16] 58 %, [8,8,8]->[16,8,8] 98 %.
# Re-measure when either kernel changes.
BREAK_EVEN = {"NIR_AFFINE": 0.82, "NIR_CONV1D": 0.72, "NIR_CONV2D": 0.58}


def node_unsupported(g: Graph, op: Op, why: str):
    return unsupported(g, op, f"NIR node '{op.attrs.get('node', '?')}': {why}")


def multipliers(g: Graph, op: Op, reals: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-element ``snn_multiplier``; a multiplier of 2^30 or more is an error naming ``what``."""
    ms, ns = [], []
    for r in np.asarray(reals, np.float64).reshape(-1):
        try:
            m, n = snn_multiplier(float(r))
        except ValueError:
            raise node_unsupported(g, op, f"the {what} multiplier {r:g} overflows the fixed point") from None
        ms.append(m)
        ns.append(n)
    return np.array(ms, np.int32), np.array(ns, np.int32)


def pow2_exponent(t: Tensor) -> int:
    e = math.log2(t.scale)
    assert e == round(e), f"{t.name}: scale {t.scale} is not a power of two"
    return round(e)


def _weighted(g: Graph, op: Op, w_axis_size: int) -> tuple:
    x, w, b, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.inputs[2]), g.t(op.outputs[0])
    if x.dtype != "int8" or w.dtype not in WEIGHT_TYPES or y.dtype != "int32" or b.dtype != "int32":
        raise node_unsupported(g, op, f"expects int8 input, int8 or int16 weights, int32 bias and output "
                                      f"({x.dtype} in, {w.dtype} weights)")  # fmt: skip
    if w.data is None or b.data is None or w.quant is None or x.quant is None or y.quant is None:
        raise node_unsupported(g, op, "weights and bias must be constant and quantized")
    rows = np.abs(w.data.reshape(w.shape[0], -1).astype(np.int64)).sum(axis=1)
    worst = 128 * rows + np.abs(b.data.astype(np.int64).reshape(-1))
    if np.any(worst > 2**31 - 1):
        o = int(np.argmax(worst))
        raise node_unsupported(g, op, f"the int32 accumulator of output {o} could overflow (128 x the sum of its "
                                      f"{int(np.prod(w.shape[1:]))} {w.dtype} weights + |bias| = {int(worst[o]):,}); "
                                      "split the layer")  # fmt: skip
    scales = np.array(w.quant.scale if w.quant.per_channel else w.quant.scale * w_axis_size, np.float64)
    m, n = multipliers(g, op, x.scale * scales / y.scale, "output")
    return x, w, b.data.astype(np.int32).reshape(-1), y, m, n


def _width(w: Tensor) -> str:
    return ", int16 weights" if w.dtype == "int16" else ""


def _fn(name: str, w: Tensor) -> str:
    """The kernel's name: ``name`` for int8 weights, ``name`` + ``_w16`` for int16."""
    return name + WEIGHT_TYPES[w.dtype]


def lower(op: Op, g: Graph) -> Kernel:
    y = g.t(op.outputs[0])
    if op.kind == "NIR_AFFINE":
        w = g.t(op.inputs[1])
        units, depth = w.shape
        x, w, bias, y, m, n = _weighted(g, op, units)
        if x.size != depth or y.size != units:
            raise node_unsupported(
                g, op, f"input of {x.size} and output of {y.size} do not fit weights {list(w.shape)}"
            )
        return Kernel(
            op=op,
            fn=_fn("en_snn_affine_s8", w),
            params=dict(depth=depth, units=units),
            inputs=(x.name,),
            consts=(("weights", w.data.astype(w.dtype)), ("bias", bias), ("mult", m), ("shift", n)),
            outputs=(y.name,),
            macs=depth * units,
            summary=f"{depth}->{units}{_width(w)}, int32 current 2^{pow2_exponent(y)}",
        )
    if op.kind == "NIR_CONV1D":
        w = g.t(op.inputs[1])
        c_out, c_in_g, k = w.shape
        x, w, bias, y, m, n = _weighted(g, op, c_out)
        a = op.attrs
        c_in, n_in = x.shape[-2], x.shape[-1]
        n_out = y.shape[-1]
        if c_in != c_in_g * a["groups"] or y.shape[-2] != c_out:
            raise node_unsupported(g, op, f"input {list(x.shape)} and output {list(y.shape)} do not fit weights "
                                          f"{list(w.shape)} in {a['groups']} groups")  # fmt: skip
        params = dict(c_in=c_in, n_in=n_in, c_out=c_out, n_out=n_out, kernel=k, stride=a["stride"],
                      pad=a["pad"], dilation=a["dilation"], groups=a["groups"])  # fmt: skip
        return Kernel(
            op=op,
            fn=_fn("en_snn_conv1d_s8", w),
            params=params,
            inputs=(x.name,),
            consts=(("weights", w.data.astype(w.dtype)), ("bias", bias), ("mult", m), ("shift", n)),
            outputs=(y.name,),
            macs=c_out * n_out * c_in_g * k,
            summary=f"[{c_in},{n_in}]->[{c_out},{n_out}] k{k} s{a['stride']} d{a['dilation']} pad {a['pad']}"
            + (f" groups {a['groups']}" if a["groups"] > 1 else "")
            + _width(w),
        )
    if op.kind == "NIR_CONV2D":
        w = g.t(op.inputs[1])
        c_out, c_in_g, kh, kw = w.shape
        x, w, bias, y, m, n = _weighted(g, op, c_out)
        a = op.attrs
        (sh, sw), (ph, pw), (dh, dw), groups = a["stride"], a["pad"], a["dilation"], a["groups"]
        if len(x.shape) < 3 or len(y.shape) < 3 or x.shape[-3] != c_in_g * groups or y.shape[-3] != c_out:
            raise node_unsupported(g, op, f"input {list(x.shape)} and output {list(y.shape)} do not fit weights "
                                          f"{list(w.shape)} in {groups} groups")  # fmt: skip
        c_in, h_in, w_in = x.shape[-3:]
        h_out, w_out = y.shape[-2:]
        params = dict(c_in=c_in, h_in=h_in, w_in=w_in, c_out=c_out, h_out=h_out, w_out=w_out, k_h=kh, k_w=kw,
                      stride_h=sh, stride_w=sw, pad_h=ph, pad_w=pw, dil_h=dh, dil_w=dw, groups=groups)  # fmt: skip
        return Kernel(
            op=op,
            fn=_fn("en_snn_conv2d_s8", w),
            params=params,
            inputs=(x.name,),
            consts=(("weights", w.data.astype(w.dtype)), ("bias", bias), ("mult", m), ("shift", n)),
            outputs=(y.name,),
            macs=c_out * h_out * w_out * c_in_g * kh * kw,
            summary=f"[{c_in},{h_in},{w_in}]->[{c_out},{h_out},{w_out}] k{kh}x{kw} s{sh}x{sw} d{dh}x{dw} "
            f"pad {ph}x{pw}" + (f" groups {groups}" if groups > 1 else "") + _width(w),
        )
    if op.kind == "NIR_SCALE":
        x, s = g.t(op.inputs[0]), np.asarray(op.attrs["scale"], np.float64).reshape(-1)
        if x.dtype not in ("int8", "int32") or y.dtype != "int32" or s.size != x.size:
            raise node_unsupported(g, op, f"scales {x.dtype} by {s.size} constants into {y.dtype}")
        m, n = multipliers(g, op, x.scale * s / y.scale, "scale")
        return Kernel(
            op=op,
            fn=f"en_snn_scale_{'s8' if x.dtype == 'int8' else 's32'}",
            params=dict(size=x.size),
            inputs=(x.name,),
            consts=(("mult", m), ("shift", n)),
            outputs=(y.name,),
            summary=f"x scale, int32 2^{pow2_exponent(y)}",
            inplace=(0,) if x.dtype == "int32" else (),
        )
    if op.kind == "NIR_ADD":
        a, b = g.t(op.inputs[0]), g.t(op.inputs[1])
        if not a.dtype == b.dtype == y.dtype == "int32" or not a.size == b.size == y.size:
            raise node_unsupported(g, op, "adds int32 currents of one size")
        e_y, e_a, e_b = pow2_exponent(y), pow2_exponent(a), pow2_exponent(b)
        if e_a > e_y or e_b > e_y:
            raise node_unsupported(g, op, "the sum's scale is below an input's")
        return Kernel(
            op=op,
            fn="en_snn_add_s32",
            params=dict(size=y.size, shift_a=e_y - e_a, shift_b=e_y - e_b),
            inputs=(a.name, b.name),
            outputs=(y.name,),
            summary=f"int32 2^{e_a} + 2^{e_b} -> 2^{e_y}",
            inplace=(0, 1),
        )
    raise node_unsupported(g, op, f"unknown kind {op.kind}")


def reference(k: Kernel, *arrays) -> np.ndarray:
    p = k.params
    fn = k.fn.removesuffix(WEIGHT_TYPES["int16"])  # the same sums with int16 weights
    if fn == "en_snn_affine_s8":
        x, w, bias, m, n = arrays
        acc = w.astype(np.int64) @ x.reshape(-1).astype(np.int64) + bias.astype(np.int64)
        return sat32(mul_round(acc, m, n)).astype(np.int32)
    if fn == "en_snn_conv1d_s8":
        x, w, bias, m, n = arrays
        xs = x.reshape(p["c_in"], p["n_in"]).astype(np.int64)
        c_in_g, c_out_g = p["c_in"] // p["groups"], p["c_out"] // p["groups"]
        acc = np.repeat(bias.astype(np.int64)[:, None], p["n_out"], axis=1)
        t = np.arange(p["n_out"])
        for j in range(p["kernel"]):
            pos = t * p["stride"] + j * p["dilation"] - p["pad"]
            live = (pos >= 0) & (pos < p["n_in"])
            tap = np.where(live[None, :], xs[:, np.clip(pos, 0, p["n_in"] - 1)], 0)  # [c_in, n_out]
            for grp in range(p["groups"]):
                o, i = slice(grp * c_out_g, (grp + 1) * c_out_g), slice(grp * c_in_g, (grp + 1) * c_in_g)
                acc[o] += w[o, :, j].astype(np.int64) @ tap[i]
        return sat32(mul_round(acc, m[:, None], n[:, None])).astype(np.int32).reshape(-1)
    if fn == "en_snn_conv2d_s8":
        x, w, bias, m, n = arrays
        return sat32(mul_round(conv2d_acc(p, x, w, bias), m[:, None], n[:, None])).astype(np.int32).reshape(-1)
    if k.fn in ("en_snn_scale_s8", "en_snn_scale_s32"):
        x, m, n = arrays
        return sat32(mul_round(x.reshape(-1), m, n)).astype(np.int32)
    if k.fn == "en_snn_add_s32":
        a, b = arrays
        return sat32(shift_round(a.reshape(-1), p["shift_a"]) + shift_round(b.reshape(-1), p["shift_b"])).astype(
            np.int32
        )
    raise AssertionError(k.fn)


def window_taps(p: dict, k: tuple[int, int], dil: tuple[int, int]):
    """The taps of a 2-D window over ``[C, h_in, w_in]`` (params ``stride_h``, ``pad_h``, ... as the
    kernels'): yields ``(i, j, rows, cols, live)``, the input rows and columns (clipped into the
    input) that tap (i, j) meets at each output position, and where it lies inside the input."""
    for i in range(k[0]):
        ry = np.arange(p["h_out"]) * p["stride_h"] + i * dil[0] - p["pad_h"]
        for j in range(k[1]):
            rx = np.arange(p["w_out"]) * p["stride_w"] + j * dil[1] - p["pad_w"]
            live = ((ry >= 0) & (ry < p["h_in"]))[:, None] & ((rx >= 0) & (rx < p["w_in"]))[None, :]
            yield i, j, np.clip(ry, 0, p["h_in"] - 1), np.clip(rx, 0, p["w_in"] - 1), live


def conv2d_acc(p: dict, x: np.ndarray, w: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """The int64 accumulators [c_out, h_out * w_out] of NIR_CONV2D (bias included)."""
    xs = x.reshape(p["c_in"], p["h_in"], p["w_in"]).astype(np.int64)
    w = w.reshape(p["c_out"], -1, p["k_h"], p["k_w"]).astype(np.int64)
    c_in_g, c_out_g = p["c_in"] // p["groups"], p["c_out"] // p["groups"]
    acc = np.repeat(bias.astype(np.int64)[:, None], p["h_out"] * p["w_out"], axis=1)
    for i, j, ry, rx, live in window_taps(p, (p["k_h"], p["k_w"]), (p["dil_h"], p["dil_w"])):
        tap = np.where(live[None], xs[:, ry[:, None], rx[None, :]], 0).reshape(p["c_in"], -1)
        for grp in range(p["groups"]):
            o, c = slice(grp * c_out_g, (grp + 1) * c_out_g), slice(grp * c_in_g, (grp + 1) * c_in_g)
            acc[o] += w[o, :, i, j] @ tap[c]
    return acc
