"""DEPTHWISE_CONV_2D, int8 with per-channel (or per-tensor) weights.

Spec (TFLM ``reference_integer_ops::DepthwiseConvPerChannel``): weights [1, KH, KW, C*M] where M is
the depth multiplier; output channel ``oc = ic*M + m`` sees only input channel ``ic``:
``acc[oc] = bias[oc] + sum_{kh,kw} w[0,kh,kw,oc] * (x[y*s+kh*d-pad, ..., ic] - in_zp)`` (padding
taps contribute nothing), requantized per output channel exactly like CONV_2D.

DSP variant (``en_depthwise_conv2d_s8_dsp``, firmware/kernels/depthwise_conv2d_dsp.c; int8, depth
multiplier 1): the same bits. The input rows a window needs are sign-extended once into a ring of
rows in working memory with the padding written as ``in_zp``, and the input zero point is folded
into the bias (``bias - in_zp * sum(w)``), so a padded tap adds ``(in_zp - in_zp) * w = 0``.
Weights and bias are doubled, so that SRDHM is one SMMLAR, and the output zero point and the
rounding of the final shift are tabulated per channel (``dsp_constants``); ``_dsp_reference``
computes exactly those steps. The taps read only the ring, so where every input row enters it
before the output row over it is written (``dsp_inplace``: the output has the input's shape, as
with stride 1 SAME) the kernel declares ``Kernel.inplace`` and the planner may put its output over
its input, the ring beside them.

MVE variant (``en_depthwise_conv2d_s8_mve``, firmware/kernels/depthwise_conv2d_mve.c; int8, depth
multiplier 1, Helium): the same bits, reading the input in place (no working memory). 16 lanes of
an output row a vector (16 channels, or 16 / in_c pixels when in_c divides 16), int8 products by
VMULLB/VMULLT, two taps summed in int16 where ``mve_constants`` proved it exact, widened into int32;
the zero point folded into the bias, a tap in the padding reading a block of ``in_zp`` bytes from
the constants; the requantization per lane (en_mve.h's en_mve_requant), which ``_mve_reference``
reads back from the re-laid-out constants.

int4 weights (a TFLite INT4 filter; the IR holds the values unpacked): ``en_depthwise_conv2d_s4``
(depthwise_conv2d_s4.c) reads the model's packed bytes, the same bits as int8, on every core.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.quant import INT32_MAX, multiply_by_quantized_multiplier, pack_int4, unpack_int4
from edgeneuro.ops.base import (
    Kernel,
    activation,
    channel_multipliers,
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
    fn, consts = layer_kernel(g, op, "depthwise_conv2d", x, w, bias, y, params, variants=("s8", "f32"), channel_axis=3)
    act = activation(op)
    c_file, scratch, inplace = None, 0, ()
    if w.dtype == "int4":  # TFLite INT4 weights stay two a byte (depthwise_conv2d_s4.c)
        fn, c_file = "en_depthwise_conv2d_s4", "depthwise_conv2d_s4"
        consts = (("weights", pack_int4(dict(consts)["weights"])), *consts[1:])
    elif op.attrs.get("variant") == "dsp":
        fn, c_file = "en_depthwise_conv2d_s8_dsp", "depthwise_conv2d_dsp"
        params = dsp_params(params)
        consts = dsp_constants(dict(consts), params)
        scratch = dsp_scratch(params)
        inplace = (0,) if dsp_inplace(params) else ()
    elif op.attrs.get("variant") == "mve":
        fn, c_file = "en_depthwise_conv2d_s8_mve", "depthwise_conv2d_mve"
        params = mve_params(params)
        consts = mve_constants(dict(consts), params)
    return Kernel(
        op=op,
        fn=fn,
        params=params,
        inputs=(x.name,),
        consts=consts,
        outputs=(y.name,),
        macs=n * oh * ow * oc * kh * kw,
        summary=f"k{kh}x{kw} s{sh}x{sw} d{dh}x{dw} {a['padding'].lower()} x{mult_depth}"
        + ("" if act == "NONE" else f" {act}")
        + (" int4" if w.dtype == "int4" else ""),
        scratch=scratch,
        c_file=c_file,
        inplace=inplace,
    )


def _acc_bound(w: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Per channel, a bound of |acc| = |bias + sum (x - in_zp) * w| (|x - in_zp| <= 255)."""
    return np.abs(bias.astype(np.int64)) + 255 * np.abs(w.astype(np.int64)).reshape(-1, w.shape[-1]).sum(axis=0)


def mve_pays(in_c: int, stride_w: int) -> bool:
    """Whether the Helium kernel takes fewer instructions than the DSP one for ``in_c`` channels,
    as measured on mps3-an547 (bench/kernel_variants.py, 3x3 windows on 24x24): it fills 16 lanes
    a vector, so it wins where the channels fill whole vectors (multiples of 16: 1.2-1.4 per MAC
    against 2.5-3.2), at 32 or more channels in multiples of 8 (40, 72), and at 8 channels with
    stride 1 (2.28 against 2.63); it loses elsewhere (4 channels 4.6 against 3.0, stride 2 with 8
    channels 7.4 against 3.3, 20 and 24 channels by 1.1-1.4x)."""
    if in_c % 16 == 0 or (in_c >= 32 and in_c % 8 == 0):
        return True
    return in_c == 8 and stride_w == 1


def variant(op: Op, g: Graph, features: tuple[str, ...]) -> str | None:
    """For int8 layers with depth multiplier 1: ``mve`` (depthwise_conv2d_mve.c) on cores with
    Helium where it pays (``mve_pays``) and the accumulator fits int32 even shifted left by its
    channel's requantization; else ``dsp`` (depthwise_conv2d_dsp.c) on cores with SIMD32, when
    twice the accumulator fits int32 (that kernel accumulates 2 * acc)."""
    x, w, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    if not {"dsp", "mve"} & set(features) or x.dtype != "int8" or y.dtype != "int8" or w.dtype != "int8":
        return None
    if x.quant is None or w.data is None or len(x.shape) != 4 or len(w.shape) != 4 or w.shape[0] != 1:
        return None
    if w.shape[3] != x.shape[3]:  # depth multiplier 1
        return None
    b = g.t(op.inputs[2]).data if len(op.inputs) > 2 and op.inputs[2] else None
    bias = np.zeros(w.shape[3], np.int64) if b is None else b.astype(np.int64).reshape(-1)
    if bias.size != w.shape[3]:
        return None
    bound = _acc_bound(w.data, bias)
    stride_w = op.attrs.get("stride_w", 1)
    wants_mve = "mve" in features and ("dsp" not in features or mve_pays(int(x.shape[3]), int(stride_w)))
    if wants_mve and w.quant is not None and y.quant is not None:
        left = np.maximum(channel_multipliers(x, w, y)[1], 0)
        if np.all(bound * np.exp2(left) < INT32_MAX):
            return "mve"
    return "dsp" if "dsp" in features and np.all(2 * bound < INT32_MAX) else None


def dsp_params(p: dict) -> dict:
    """The DSP kernel's parameters (depthwise_conv2d_dsp.h): the portable ones without depth_mult,
    and the ring of sign-extended rows: groups of 4 channels, padded row width, rows."""
    q = {k: v for k, v in p.items() if k != "depth_mult"}
    q["groups"] = -(-p["in_c"] // 4)
    q["row_w"] = (p["out_w"] - 1) * p["stride_w"] + (p["k_w"] - 1) * p["dil_w"] + 1
    q["ring_rows"] = (p["k_h"] - 1) * p["dil_h"] + 1
    q["fast"] = 0  # set by dsp_constants
    return q


def dsp_inplace(p: dict) -> bool:
    """Whether the DSP kernel may write its output over its input (``Kernel.inplace``): the two have
    the same shape, so output row oy takes input row oy's bytes, and every input row the kernel
    reads is in the ring before the output row over it is written. The kernel converts input rows
    into the ring in order, those of output row oy's window before it computes that row (it never
    reads the input again), so input row r is read in time when the first output row whose window
    spans it is row r or earlier; a row no window spans is never read, nor needed. In the usual case
    (stride 1, SAME) that first row is r - (k_h - 1) * dil_h + pad_h <= r: the window reaches at
    least as far below its output row as the padding lifts it."""
    if (p["in_h"], p["in_w"]) != (p["out_h"], p["out_w"]):
        return False
    span, sh, pad = (p["k_h"] - 1) * p["dil_h"], p["stride_h"], p["pad_h"]
    for r in range(p["in_h"]):  # the windows spanning row r: oy * sh - pad in [r - span, r]
        first, last = max(0, -(-(r - span + pad) // sh)), min(p["out_h"] - 1, (r + pad) // sh)
        if r < first <= last:
            return False
    return True


def dsp_scratch(p: dict) -> int:
    """Working memory of the DSP kernel: ring_rows rows of groups * row_w * 2 words."""
    return p["ring_rows"] * p["groups"] * p["row_w"] * 8


TAP_ORDER = (0, 2, 1, 3)  # a tap's 4 int16 weights: the words (c0, c2) and (c1, c3)


def dsp_constants(consts: dict[str, np.ndarray], p: dict) -> tuple[tuple[str, np.ndarray], ...]:
    """The portable kernel's constants laid out for the DSP kernel (depthwise_conv2d_dsp.h): per
    group of 4 channels the doubled int16 weights tap by tap, then 2 * (bias - in_zp * sum(w)),
    the (mult, rc) pairs and e = -shift. Sets ``p["fast"]`` when every channel's short
    requantization is exact: 1 <= e <= 31, mult > 0, rc = 2^(e-1) + out_zp * 2^e and the sum it
    enters within int32."""
    w, bias = consts["weights"], consts["bias"].astype(np.int64)
    mult, shift = consts["mult"].astype(np.int64), consts["shift"].astype(np.int64)
    _, kh, kw, c = w.shape
    groups, taps = p["groups"], kh * kw
    pad = groups * 4 - c
    w2 = np.pad(2 * w.reshape(taps, c).astype(np.int64), ((0, 0), (0, pad)))
    packed_w = w2.reshape(taps, groups, 4)[:, :, TAP_ORDER].transpose(1, 0, 2).astype("<i2")
    e = -shift
    rc = (np.int64(1) << np.clip(e - 1, 0, 62)) + p["out_zp"] * (np.int64(1) << np.clip(e, 0, 62))
    bound = _acc_bound(w, bias)
    fast = bool(np.all((e >= 1) & (e <= 31) & (mult > 0) & (np.abs(rc) + bound + 2 < INT32_MAX)))
    p["fast"] = int(fast)
    folded = 2 * (bias - p["in_zp"] * w.reshape(taps, c).astype(np.int64).sum(axis=0))
    q = np.zeros((4, groups * 4), np.int64)  # bias2, mult, rc, e; channels past in_c: 0, 0, 0, 1
    q[3] = 1
    q[0, :c], q[1, :c], q[2, :c], q[3, :c] = folded, mult, rc if fast else 0, e
    q = q.reshape(4, groups, 4).transpose(1, 0, 2)  # [group][field][channel]
    pairs = np.stack([q[:, 1], q[:, 2]], axis=2).reshape(groups, 8)  # (mult, rc) per channel
    block = np.concatenate(
        [np.ascontiguousarray(packed_w.reshape(groups, 4 * taps)).view("<i4"), q[:, 0], pairs, q[:, 3]], axis=1
    )
    return (("weights", block.astype(np.int32).reshape(-1)),)


def _dsp_unpack(k: Kernel, packed: np.ndarray):
    """``dsp_constants`` read back: doubled weights [taps, c], bias2, mult, rc, e per channel."""
    p = k.params
    c, groups, taps = p["in_c"], p["groups"], p["k_h"] * p["k_w"]
    block = packed.astype("<i4").reshape(groups, 2 * taps + 16)
    w = block[:, : 2 * taps].copy().view("<i2").reshape(groups, taps, 4)[:, :, np.argsort(TAP_ORDER)]
    w2 = w.transpose(1, 0, 2).reshape(taps, 4 * groups)[:, :c].astype(np.int64)
    q = block[:, 2 * taps :].astype(np.int64)
    bias2 = q[:, 0:4].reshape(-1)[:c]
    mult, rc = q[:, 4:12:2].reshape(-1)[:c], q[:, 5:12:2].reshape(-1)[:c]
    return w2, bias2, mult, rc, q[:, 12:16].reshape(-1)[:c]


def mve_params(p: dict) -> dict:
    """The MVE kernel's parameters (depthwise_conv2d_mve.h): the portable ones without depth_mult,
    the 16-lane groups of a pixel and whether a vector spans pixels (flat: in_c < 16 divides 16);
    pairs and right: set by mve_constants."""
    c = p["in_c"]
    q = {k: v for k, v in p.items() if k != "depth_mult"}
    q["flat"] = int(c < 16 and 16 % c == 0)
    q["groups"] = 1 if q["flat"] else -(-c // 16)
    q["pairs"] = q["right"] = 0
    return q


MVE_LANES = np.array([0, 4, 8, 12, 2, 6, 10, 14, 1, 5, 9, 13, 3, 7, 11, 15])  # the accumulators' lanes


def _mve_channels(p: dict) -> np.ndarray:
    """[groups, 16]: the channel of each lane, -1 past in_c."""
    c, groups = p["in_c"], p["groups"]
    lanes = np.arange(groups * 16).reshape(groups, 16)
    return lanes % c if p["flat"] else np.where(lanes < c, lanes, -1)


def mve_constants(consts: dict[str, np.ndarray], p: dict) -> tuple[tuple[str, np.ndarray], ...]:
    """The portable kernel's constants laid out for the MVE kernel (depthwise_conv2d_mve.h): per
    group of 16 lanes the taps' weights, then bias - in_zp * sum(w), mult and shift in accumulator
    lane order. Sets ``p["pairs"]`` when every two taps' int8 products sum within int16 and
    ``p["right"]`` when every shift is -1 or less."""
    w, bias = consts["weights"], consts["bias"].astype(np.int64)
    mult, shift = consts["mult"].astype(np.int64), consts["shift"].astype(np.int64)
    _, kh, kw, c = w.shape
    nt = kh * kw
    wt = w.reshape(nt, c).astype(np.int64)
    aw = np.abs(wt)
    p["pairs"] = int(nt < 2 or bool(np.all(aw[0 : nt - 1 : 2] + aw[1:nt:2] <= 255)))
    p["right"] = int(bool(np.all(shift <= -1)))
    ch = _mve_channels(p)
    live = ch >= 0
    idx = np.where(live, ch, 0)
    lane_w = np.where(live[:, None, :], wt[:, idx].transpose(1, 0, 2), 0)  # [groups, taps, 16]
    folded = bias - p["in_zp"] * wt.sum(axis=0)
    fields = [np.where(live, folded[idx], 0), np.where(live, mult[idx], 0), np.where(live, shift[idx], -1)]
    quant = np.stack([f[:, MVE_LANES] for f in fields], axis=1).reshape(-1)  # [groups, 3, 16]
    zp = np.full(16 * p["groups"], p["in_zp"], np.int8).view("<i4").astype(np.int64)  # a tap in the padding reads
    return ("weights", lane_w.astype(np.int8).reshape(-1)), ("quant", np.concatenate([quant, zp]).astype(np.int32))


def _mve_reference(k: Kernel, x: np.ndarray, weights: np.ndarray, quant: np.ndarray) -> np.ndarray:
    """What en_depthwise_conv2d_s8_mve computes, from its constants: raw inputs with in_zp (the zp
    block) in the padding, the folded bias, then the portable requantization of each lane."""
    p = k.params
    c, groups, nt = p["in_c"], p["groups"], p["k_h"] * p["k_w"]
    ch = _mve_channels(p)
    first = [np.argwhere(ch.reshape(-1) == i)[0, 0] for i in range(c)]  # a lane of each channel
    w = weights.astype(np.int64).reshape(groups, nt, 16).transpose(1, 0, 2).reshape(nt, -1)[:, first]
    q = quant[: 48 * groups].astype(np.int64).reshape(groups, 3, 16)[:, :, np.argsort(MVE_LANES)]
    assert np.all(quant[48 * groups :].astype("<i4").view(np.int8) == p["in_zp"])
    bias, mult, shift = (q[:, i].reshape(-1)[first] for i in range(3))
    acc = np.zeros((x.shape[0], p["out_h"], p["out_w"], c), np.int64) + bias
    zp = p["in_zp"]
    for i, j, patch, _ in taps(p, x.astype(np.int64) - zp, p["k_h"], p["k_w"]):
        acc += (patch + zp) * w[i * p["k_w"] + j]  # in the padding: in_zp
    assert np.all(np.abs(acc) <= INT32_MAX)  # variant() made sure
    return requantize(acc, mult, shift, p["out_zp"], p["act_min"], p["act_max"])


def _dsp_reference(k: Kernel, x: np.ndarray, packed: np.ndarray) -> np.ndarray:
    """What en_depthwise_conv2d_s8_dsp computes, step by step: raw inputs with in_zp in the
    padding, doubled weights, then SMMLAR, the sign correction and the shift (fast), or the
    portable requantization of acc."""
    p = k.params
    w2, bias2, mult, rc, e = _dsp_unpack(k, packed)
    acc2 = np.zeros((x.shape[0], p["out_h"], p["out_w"], p["in_c"]), np.int64) + bias2
    zp = p["in_zp"]
    for i, j, patch, _ in taps(p, x.astype(np.int64) - zp, p["k_h"], p["k_w"]):
        acc2 += (patch + zp) * w2[i * p["k_w"] + j]  # in the padding: in_zp
    assert np.all(np.abs(acc2) <= INT32_MAX)  # variant() made sure
    if p["fast"]:
        t = ((acc2 * mult + (1 << 31)) >> 32) + rc - (acc2 < 0)
        y = np.clip(t >> e, -128, 127)
    else:
        y = np.clip(multiply_by_quantized_multiplier(acc2 >> 1, mult, -e) + p["out_zp"], -128, 127)
    return np.clip(y, p["act_min"], p["act_max"]).astype(np.int8)


def reference(k: Kernel, x: np.ndarray, w: np.ndarray, *rest: np.ndarray) -> np.ndarray:
    p = k.params
    if k.fn == "en_depthwise_conv2d_s8_dsp":  # one constant: the packed block
        return _dsp_reference(k, x, w)
    if k.fn == "en_depthwise_conv2d_s8_mve":
        return _mve_reference(k, x, w, *rest)
    bias, *requant = rest
    m = p["depth_mult"]  # output channel ic*M + m reads input channel ic
    if k.fn == "en_depthwise_conv2d_f32":  # float32, rows then columns, each step rounded
        acc = np.zeros((x.shape[0], p["out_h"], p["out_w"], w.shape[3]), np.float32)
        for i, j, patch, live in taps(p, np.repeat(x.astype(np.float32), m, axis=3), w.shape[1], w.shape[2]):
            acc = np.where(live, acc + patch * w[0, i, j, :].astype(np.float32), acc)
        return float_clamp(acc + bias.astype(np.float32), p["act_min"], p["act_max"])
    mult, shift = requant
    if k.fn == "en_depthwise_conv2d_s4":  # the model's int4 weights, two a byte
        shape = (1, p["k_h"], p["k_w"], p["in_c"] * m)
        w = unpack_int4(w, int(np.prod(shape))).reshape(shape)
    acc = np.zeros((x.shape[0], p["out_h"], p["out_w"], w.shape[3]), np.int64)
    for i, j, patch, _ in taps(p, np.repeat(x.astype(np.int64) - p["in_zp"], m, axis=3), w.shape[1], w.shape[2]):
        acc += patch * w[0, i, j, :].astype(np.int64)
    acc += bias.astype(np.int64)
    return requantize(acc, mult.astype(np.int64), shift.astype(np.int64), p["out_zp"], p["act_min"], p["act_max"])
