"""CONV_2D, int8 with per-channel (or per-tensor) weights; also the Conv1D form (H = 1).

Spec (TFLM ``reference_integer_ops::ConvPerChannel``):
``acc[c] = bias[c] + sum_{kh,kw,ic} w[c,kh,kw,ic] * (x[y*s+kh*d-pad, ...] - in_zp)``, taps that
fall in the padding contribute nothing; ``y = clamp(MBQM(acc, mult[c], shift[c]) + out_zp)``
with ``mult[c], shift[c] = QuantizeMultiplier(double(s_in) * double(s_w[c]) / double(s_out))``.

DSP variant (``en_conv2d_s8_dsp``, firmware/kernels/conv2d_dsp.c; int8, groups == 1, for cores
with SIMD32): the same bits from the raw input bytes, the input zero point folded into the bias
(``bias - in_zp * sum(w)``) and written as the value of every tap in the padding, whose term
``(in_zp - in_zp) * w`` is then zero as in the spec. The kernel gathers two output pixels' columns
at a time (im2col) into working memory as int16 pairs and multiplies them by two output channels'
int8 weights with SXTB16 + SMLAD; its constants are one int32 stream (``pack_stream``: per channel
pair the biases, the weights, the requantization fields), and where it is exact for every input
(``channel_fields``) each output is requantized in a short form of the spec's arithmetic.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.quant import INT32_MAX
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
    c_file, scratch = None, 0
    if op.attrs.get("variant") == "dsp":
        fn, c_file = "en_conv2d_s8_dsp", "conv2d_dsp"
        consts, fast = dsp_constants(dict(consts), params)
        params["fast"] = int(fast)
        scratch = dsp_scratch(params)
    return Kernel(
        op=op,
        fn=fn,
        params=params,
        inputs=(x.name,),
        consts=consts,
        outputs=(y.name,),
        macs=n * oh * ow * oc * kh * kw * wic,
        summary=f"k{kh}x{kw} s{sh}x{sw} d{dh}x{dw} {a['padding'].lower()} groups {groups} {act}".strip(),
        scratch=scratch,
        c_file=c_file,
    )


def variant(op: Op, g: Graph, features: tuple[str, ...]) -> str | None:
    """``dsp`` (conv2d_dsp.c) for int8 convolutions without groups on cores with SIMD32, when the
    input zero point folded into the bias still fits int32."""
    x, w, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    if "dsp" not in features or x.dtype != "int8" or y.dtype != "int8" or w.dtype != "int8":
        return None
    if x.quant is None or w.data is None or len(w.shape) != 4 or len(x.shape) != 4 or w.shape[3] != x.shape[3]:
        return None
    b = g.t(op.inputs[2]).data if len(op.inputs) > 2 and op.inputs[2] else None
    bias = np.zeros(w.shape[0], np.int64) if b is None else b.astype(np.int64).reshape(-1)
    if bias.size != w.shape[0]:
        return None
    folded = bias - x.zero_point * w.data.astype(np.int64).sum(axis=(1, 2, 3))
    return "dsp" if np.all(np.abs(folded) < INT32_MAX) else None


def dsp_depth(p: dict) -> int:
    """The DSP kernel's column length: k_h * k_w * in_c rounded up to a multiple of 4 (the extra
    weights are zero)."""
    return -(-p["k_h"] * p["k_w"] * p["in_c"] // 4) * 4


def dsp_scratch(p: dict) -> int:
    """Working memory of the DSP kernel: two columns of int16 (4 bytes per column element), and
    when in_c % 4 != 0 an int8 column and two int32 tables (9 bytes per element)."""
    depth4 = dsp_depth(p)
    return 4 * depth4 + (9 * depth4 if p["in_c"] % 4 else 0)


def channel_fields(
    bias: np.ndarray, mult: np.ndarray, shift: np.ndarray, w: np.ndarray, p: dict
) -> tuple[np.ndarray, np.ndarray, bool]:
    """The DSP kernel's per-channel fields ``bias, mult, offset, right`` (int64 [out_c, 4]), its
    weights [out_c, ...] and whether it may use the short form of the requantization (``fast``) for
    every channel: ``(SMMLAR(2 * acc, mult, offset) + (acc < 0 ? -1 : 0)) >> right`` with
    ``offset = 2^(right-1) + out_zp * 2^right``, which equals the spec's
    ``RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(acc, mult), right) + out_zp`` when
    right = -shift >= 1 and nothing overflows: SRDHM(a, m) is ``floor((a * m + 2^30) / 2^31)``, the
    rounded high word t of 2a * m; RDBPOT rounds half away from zero,
    ``(t + 2^(right-1) - (t < 0)) >> right``, and where acc < 0 but t = 0 subtracting 1 changes
    nothing. acc lies between the sums with every input at -128 or 127 (raw int8 inputs and zero
    points). A channel whose output is the same at both ends (a dead channel: zero weights, or a
    multiplier that rounds everything away) is that constant y: zero weights, mult 0,
    offset = 2y + 1, right 1. Without ``fast`` the fields are the spec's (bias, mult, 0, -shift)."""
    from edgeneuro.ir.quant import multiply_by_quantized_multiplier

    rows = w.astype(np.int64).reshape(len(bias), -1)
    pos, neg = np.where(rows > 0, rows, 0).sum(axis=1), np.where(rows < 0, rows, 0).sum(axis=1)
    b = bias.astype(np.int64)
    lo, hi = b - 128 * pos + 127 * neg, b + 127 * pos - 128 * neg
    mult, shift = mult.astype(np.int64), shift.astype(np.int64)
    out_zp, act_min, act_max = p["out_zp"], p["act_min"], p["act_max"]
    ends = [np.clip(multiply_by_quantized_multiplier(a, mult, shift) + out_zp, act_min, act_max) for a in (lo, hi)]
    fields, weights, fast = [], rows.copy(), True
    for ch in range(len(b)):
        limit, right = max(abs(int(lo[ch])), abs(int(hi[ch]))), -int(shift[ch])
        offset = (1 << (right - 1)) + out_zp * (1 << right) if 1 <= right <= 31 else 0
        if 1 <= right <= 31 and 2 * limit <= INT32_MAX and limit + 2 + abs(offset) <= INT32_MAX:
            fields.append((int(b[ch]), int(mult[ch]), offset, right))
        elif ends[0][ch] == ends[1][ch] and limit << max(-right, 0) <= INT32_MAX:  # no wrap in acc << left
            fields.append((0, 0, 2 * int(ends[0][ch]) + 1, 1))
            weights[ch] = 0
        else:
            fast = False
    if not fast:
        return np.stack([b, mult, np.zeros_like(b), -shift], axis=1), rows, False
    return np.array(fields, np.int64), weights, True


def pack_stream(w: np.ndarray, fields: np.ndarray) -> np.ndarray:
    """The DSP kernel's constants as one int32 stream (conv2d_dsp.h): per pair of output channels
    their two biases, their weights (each channel's k_h * k_w * in_c int8 weights zero-padded to a
    multiple of 4, as little-endian words, the pair's two words for each 4 columns side by side),
    then their mult, mult', offset, offset', right, right'; the last channel of an odd count
    likewise alone."""
    oc = w.shape[0]
    rows = w.reshape(oc, -1).astype(np.int8)
    depth4 = -(-rows.shape[1] // 4) * 4
    words = np.ascontiguousarray(np.pad(rows, ((0, 0), (0, depth4 - rows.shape[1])))).view("<i4").astype(np.int64)
    parts = []
    for c in range(0, oc & ~1, 2):
        f = fields[c : c + 2]
        parts += [f[:, 0], words[c : c + 2].T.reshape(-1), f[:, 1], f[:, 2], f[:, 3]]
    if oc & 1:
        parts += [fields[-1, :1], words[-1], fields[-1, 1:]]
    return np.concatenate(parts).astype(np.int32)


def unpack_stream(stream: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``pack_stream`` undone: the [out_c, k_h, k_w, in_c] weights and the [out_c, 4] fields."""
    oc, depth = shape[0], int(np.prod(shape[1:]))
    groups = -(-depth // 4)
    words = np.zeros((oc, groups), np.int32)
    fields = np.zeros((oc, 4), np.int64)
    at = 0
    for c in range(0, oc, 2):
        n = min(2, oc - c)
        fields[c : c + n, 0] = stream[at : at + n]
        at += n
        words[c : c + n] = stream[at : at + n * groups].reshape(groups, n).T
        at += n * groups
        fields[c : c + n, 1:] = stream[at : at + 3 * n].reshape(3, n).T
        at += 3 * n
    w = np.ascontiguousarray(words.astype("<i4")).view(np.int8)[:, :depth]
    return w.reshape(shape), fields


def dsp_constants(consts: dict[str, np.ndarray], p: dict) -> tuple[tuple[tuple[str, np.ndarray], ...], bool]:
    """The portable kernel's constants laid out for the DSP kernel: one stream of weights and
    channel records, the input zero point folded into the bias; and whether the short
    requantization is exact."""
    w = consts["weights"]
    bias = consts["bias"].astype(np.int64) - p["in_zp"] * w.astype(np.int64).reshape(w.shape[0], -1).sum(axis=1)
    fields, weights, fast = channel_fields(bias, consts["mult"], consts["shift"], w, p)
    return (("packed", pack_stream(weights, fields)),), fast


def reference(k: Kernel, x: np.ndarray, w: np.ndarray, *rest: np.ndarray) -> np.ndarray:
    p = k.params
    if k.fn == "en_conv2d_s8_dsp":  # raw inputs, in_zp in the padding and folded into the bias
        weights, fields = unpack_stream(w, (p["out_c"], p["k_h"], p["k_w"], p["in_c"]))
        acc = _accumulate_raw(k, x, weights) + fields[:, 0]
        mult, offset, right = fields[:, 1], fields[:, 2], fields[:, 3]
        if not p["fast"]:
            return requantize(acc, mult, -right, p["out_zp"], p["act_min"], p["act_max"])
        acc2 = 2 * acc  # the short form, as the kernel computes it (SMMLAR, then the sign, then the shift)
        t = ((acc2 * mult + (1 << 31)) >> 32) + offset
        return np.clip((t - (acc2 < 0)) >> right, p["act_min"], p["act_max"]).astype(np.int8)
    bias, *requant = rest
    if k.fn == "en_conv2d_f32":
        return _reference_f32(k, x, w, bias)
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


def _accumulate_raw(k: Kernel, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Exact integer sums of raw input * weight, the padding taps reading the input zero point."""
    p = k.params
    oc, kh, kw, _ = w.shape
    acc = np.zeros((x.shape[0], p["out_h"], p["out_w"], oc), np.int64)
    w64 = w.astype(np.int64)
    for i, j, patch, _ in taps(p, x.astype(np.int64) - p["in_zp"], kh, kw):
        acc += np.einsum("nhwc,oc->nhwo", patch + p["in_zp"], w64[:, i, j, :])
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
