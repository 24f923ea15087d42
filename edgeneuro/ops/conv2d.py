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

Its form without scratch memory (``en_conv2d_s8_dsp_direct``, variant ``dsp_noscratch``, in_c % 4
== 0; what the kernel-variants pass falls back to where the scratch would grow the arena, see
``variant_fallback``) computes the same from the same stream: it gathers a pair's columns into the
last bytes of its own output while the pairs before write below them (``dsp_staged``), and the last
pairs, which write over them, read each pixel's 4 bytes from the input in place (one LDR, two
SXTB16, shared by the step's 2 channels), a tap in the padding reading 4 bytes of in_zp.

MVE variants (Helium; the same bits, raw input bytes, the zero point folded into the bias): an
int8 matrix product with one VMLADAVA per 16 bytes of a pixel's column, two pixels by four output
channels at a time (a column of at most 64 bytes held in registers, one pixel at a time), the
four results requantized in one vector (en_mve.h's en_mve_requant). ``mve`` gathers the columns
into working memory (en_conv2d_s8_mve) or reads them in place (en_conv2d_s8_mve_direct), as
``mve_direct`` decides; ``mve_direct``, the fallback when working memory would grow the arena,
always reads in place, the border's lanes in the padding set to ``in_zp`` by VPSEL.

int4 weights (a TFLite INT4 filter; the IR holds the values unpacked): ``en_conv2d_s4``
(conv2d_s4.c) reads the model's packed bytes, the same bits as int8; ``dsp_s4`` and
``dsp_s4_direct`` (``s4_variant``) multiply fully_connected.py's row pairs of the weights
[out_c, k_h * k_w * in_c] by each pixel's column, gathered into working memory or read in place.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.quant import INT32_MAX, pack_int4, unpack_int4
from edgeneuro.ops.base import (
    Kernel,
    activation,
    channel_multipliers,
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
    c_file, scratch, entry = None, 0, None
    if w.dtype == "int4":  # TFLite INT4 weights stay two a byte (conv2d_s4.c)
        fn, c_file, act = "en_conv2d_s4", "conv2d_s4", f"{act} int4".strip()
        if op.attrs.get("variant") in ("dsp_s4", "dsp_s4_direct"):  # fully_connected.py's row pairs
            from edgeneuro.ops import fully_connected  # (it imports this module)

            consts, fast = fully_connected.s4_dsp_constants(
                {**dict(consts), "weights": dict(consts)["weights"].reshape(oc, -1)}, params
            )
            params["fast"] = int(fast)
            if op.attrs["variant"] == "dsp_s4":  # a column gathered per pixel
                fn, scratch = "en_conv2d_s4_dsp", kh * kw * ic
            else:  # read in place, a tap in the padding reading in_c bytes of in_zp
                fn = "en_conv2d_s4_dsp_direct"
                consts = (*consts, ("pad", np.full(ic, params["in_zp"], np.int8)))
        else:
            consts = (("weights", pack_int4(dict(consts)["weights"])), *consts[1:])
    elif op.attrs.get("variant") in ("dsp", "dsp_noscratch", "dsp_sparse"):
        sparse = op.attrs["variant"] == "dsp_sparse"
        consts, fast = dsp_constants(dict(consts), params, sparse)
        params["fast"] = int(fast)
        fn, c_file = dsp_form(params, op.attrs["variant"]), "conv2d_dsp"
        scratch = dsp_scratch(params) if fn in ("en_conv2d_s8_dsp", "en_conv2d_s8_dsp_sparse") else 0
        entry = f"{fn}_{requant_form(params)}"
    elif op.attrs.get("variant") in ("mve", "mve_direct"):
        direct = op.attrs["variant"] == "mve_direct" or mve_direct(params)
        fn, c_file = "en_conv2d_s8_mve_direct" if direct else "en_conv2d_s8_mve", "conv2d_mve"
        consts = mve_constants(dict(consts), params, direct)
        scratch = 0 if direct else 2 * params["depth"]
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
        entry=entry,
    )


def variant(op: Op, g: Graph, features: tuple[str, ...]) -> str | None:
    """For int8 convolutions without groups whose input zero point folded into the bias still fits
    int32: ``mve`` (conv2d_mve.c) on cores with Helium, when no accumulator a left shift of the
    requantization could overflow; else ``dsp`` (conv2d_dsp.c) on cores with SIMD32."""
    x, w, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    if w.dtype == "int4" and "dsp" in features and x.dtype == "int8" and x.quant is not None:
        return s4_variant(op, g)
    if not {"dsp", "mve"} & set(features) or x.dtype != "int8" or y.dtype != "int8" or w.dtype != "int8":
        return None
    if x.quant is None or w.data is None or len(w.shape) != 4 or len(x.shape) != 4 or w.shape[3] != x.shape[3]:
        return None
    b = g.t(op.inputs[2]).data if len(op.inputs) > 2 and op.inputs[2] else None
    bias = np.zeros(w.shape[0], np.int64) if b is None else b.astype(np.int64).reshape(-1)
    if bias.size != w.shape[0]:
        return None
    folded = bias - x.zero_point * w.data.astype(np.int64).sum(axis=(1, 2, 3))
    if not np.all(np.abs(folded) < INT32_MAX):
        return None
    if "mve" in features and w.quant is not None and y.quant is not None:
        left = np.maximum(channel_multipliers(x, w, y)[1], 0)
        bound = np.abs(bias) + 255 * np.abs(w.data.astype(np.int64)).sum(axis=(1, 2, 3))
        if np.all(bound * np.exp2(left) < INT32_MAX):
            return "mve"
    return "dsp" if "dsp" in features else None


def mve_direct(p: dict) -> bool:
    """Whether the ``mve`` variant reads each pixel's column in place (en_conv2d_s8_mve_direct)
    rather than gathering it into working memory (en_conv2d_s8_mve): always for a 1x1 window
    without padding; else when the 16-byte chunks of its dot products in place, the border pixels
    (about 3 times the cost of the others, measured on ResNet's 3x3 layers) weighed in, are no more
    than gathered plus a copy per window row (KWS's first layer, 10 rows of 4 bytes: gathered).
    ``mve_direct``, the fallback without working memory, always reads in place."""
    if p["k_h"] == 1 and p["k_w"] == 1 and p["pad_h"] == 0 and p["pad_w"] == 0:
        return True
    runs, rlen = mve_runs(p, True)
    inside = _interior(p["out_h"], p["in_h"], p["k_h"], p["stride_h"], p["dil_h"], p["pad_h"]) * _interior(
        p["out_w"], p["in_w"], p["k_w"], p["stride_w"], p["dil_w"], p["pad_w"]
    )
    border = 1 - inside / (p["out_h"] * p["out_w"])
    gathered = -(-p["k_h"] * p["k_w"] * p["in_c"] // 16) + p["k_h"]
    return runs * -(-rlen // 16) * (1 + 3 * border) <= gathered


def _interior(out: int, size: int, k: int, s: int, dil: int, pad: int) -> int:
    """How many of an axis' ``out`` positions have their whole window inside [0, size) (the C's
    en_cv_interior)."""
    lo, last = min(-(-pad // s), out), size - 1 + pad - (k - 1) * dil
    hi = lo if last < 0 else min(max(last // s + 1, lo), out)
    return hi - lo


def mve_runs(p: dict, direct: bool) -> tuple[int, int]:
    """How the MVE kernel reads a pixel's column: (runs, bytes a run). Gathered: one run, the whole
    column; in place: each window row (k_w * in_c bytes), or with dil_w > 1 each tap (in_c)."""
    if not direct:
        return 1, p["k_h"] * p["k_w"] * p["in_c"]
    if p["dil_w"] == 1:
        return p["k_h"], p["k_w"] * p["in_c"]
    return p["k_h"] * p["k_w"], p["in_c"]


def mve_constants(consts: dict[str, np.ndarray], p: dict, direct: bool) -> tuple[tuple[str, np.ndarray], ...]:
    """The portable kernel's constants laid out for the MVE kernel (conv2d_mve.h): one int32 stream,
    per block of 4 output channels their int8 weights run by run (``mve_runs``), 16 bytes at a
    time (zero-padded), then their bias (the input zero point folded in), mult and shift. Sets
    ``p["depth"]`` and ``p["right"]`` (every shift -1 or less)."""
    w = consts["weights"]
    oc = w.shape[0]
    rows = w.reshape(oc, -1).astype(np.int64)
    runs, rlen = mve_runs(p, direct)
    r16 = -(-rlen // 16) * 16
    oc4 = -(-oc // 4) * 4
    p["depth"] = rows.shape[1]
    p["right"] = int(bool(np.all(consts["shift"] <= -1)))
    padded = np.zeros((oc4, runs, r16), np.int8)
    padded[:oc, :, :rlen] = rows.reshape(oc, runs, rlen)
    words = np.ascontiguousarray(padded.reshape(oc4 // 4, 4, runs * r16 // 16, 16).transpose(0, 2, 1, 3))
    words = words.reshape(oc4 // 4, -1).view("<i4").astype(np.int64)
    bias = consts["bias"].astype(np.int64) - p["in_zp"] * rows.sum(axis=1)
    quant = np.zeros((3, oc4), np.int64)
    quant[2] = -1
    quant[:, :oc] = bias, consts["mult"], consts["shift"]
    quant = quant.reshape(3, oc4 // 4, 4).transpose(1, 0, 2).reshape(oc4 // 4, 12)
    return (("packed", np.concatenate([words, quant], axis=1).astype(np.int32).reshape(-1)),)


def _mve_unpack(k: Kernel, packed: np.ndarray) -> tuple[np.ndarray, ...]:
    """``mve_constants`` read back: the [out_c, k_h, k_w, in_c] weights, bias, mult and shift."""
    p = k.params
    oc = p["out_c"]
    runs, rlen = mve_runs(p, k.fn == "en_conv2d_s8_mve_direct")
    r16, oc4 = -(-rlen // 16) * 16, -(-oc // 4) * 4
    blocks = packed.astype("<i4").reshape(oc4 // 4, runs * r16 + 12)  # 4 channels' weights: runs * r16 words
    words = np.ascontiguousarray(blocks[:, : runs * r16]).view(np.int8)
    w = words.reshape(oc4 // 4, runs * r16 // 16, 4, 16).transpose(0, 2, 1, 3).reshape(oc4, runs, r16)
    w = w[:oc, :, :rlen].reshape(oc, p["k_h"], p["k_w"], p["in_c"])
    quant = blocks[:, runs * r16 :].astype(np.int64).reshape(oc4 // 4, 3, 4).transpose(1, 0, 2)
    return (w, *quant.reshape(3, oc4)[:, :oc])


def dsp_depth(p: dict) -> int:
    """The DSP kernel's column length: k_h * k_w * in_c rounded up to a multiple of 4 (the extra
    weights are zero)."""
    return -(-p["k_h"] * p["k_w"] * p["in_c"] // 4) * 4


def dsp_scratch(p: dict) -> int:
    """Working memory of the DSP kernel: two columns of int16 (4 bytes per column element), and
    when in_c % 4 != 0 an int8 column and two int32 tables (9 bytes per element)."""
    depth4 = dsp_depth(p)
    return 4 * depth4 + (9 * depth4 if p["in_c"] % 4 else 0)


def s4_variant(op: Op, g: Graph) -> str | None:
    """For int4 weights without groups on cores with SIMD32 (Helium's too), when the zero point
    folded into the bias fits int32 and 16 times the raw sum cannot overflow (16 * 128 * sum |w| <
    2^31; the kernels accumulate 16 times the weights): ``dsp_s4`` (conv2d_s4.c ``en_conv2d_s4_dsp``,
    a column gathered into working memory per pixel; where that memory would grow the arena,
    ``variant_fallback`` names ``dsp_s4_direct``, which reads in place). Measured on mps2-an386
    (bench/int4.py): 3x3 16 -> 32 channels 1.92 instructions per MAC gathered, 2.12 in place; 1x1
    64 -> 64 2.13 and 2.29; 1x7 4 -> 16 3.50 and 3.40."""
    x, w = g.t(op.inputs[0]), g.t(op.inputs[1])
    if w.data is None or len(w.shape) != 4 or len(x.shape) != 4 or w.shape[3] != x.shape[3]:
        return None
    b = g.t(op.inputs[2]).data if len(op.inputs) > 2 and op.inputs[2] else None
    bias = np.zeros(w.shape[0], np.int64) if b is None else b.astype(np.int64).reshape(-1)
    rows = w.data.astype(np.int64).reshape(w.shape[0], -1)
    if bias.size != w.shape[0] or not np.all(np.abs(bias - x.zero_point * rows.sum(axis=1)) < INT32_MAX):
        return None
    return "dsp_s4" if np.all(16 * 128 * np.abs(rows).sum(axis=1) < 2**31) else None


def variant_fallback(op: Op, g: Graph, variant: str) -> str | None:
    """The variant to try when ``variant``'s scratch memory would grow the arena
    (edgeneuro/passes/kernel_variants.py): ``dsp_noscratch`` for ``dsp`` when in_c % 4 == 0,
    ``mve_direct`` for ``mve``, ``dsp_s4_direct`` for ``dsp_s4`` when in_c % 4 == 0."""
    if variant == "mve":  # the MVE kernel reading its input in place
        return "mve_direct"
    if variant == "dsp_s4":  # int4 weights: the kernel reading its input in place (in_c % 4 == 0)
        return "dsp_s4_direct" if g.t(op.inputs[0]).shape[3] % 4 == 0 else None
    return "dsp_noscratch" if variant in ("dsp", "dsp_sparse") and g.t(op.inputs[0]).shape[3] % 4 == 0 else None


def dsp_form(p: dict, variant: str) -> str:
    """The DSP kernel's C function: ``en_conv2d_s8_dsp_direct`` (no scratch memory; in_c % 4 == 0)
    for ``dsp_noscratch``, the gathering ``en_conv2d_s8_dsp`` for ``dsp``, which measured on
    mps2-an386 takes fewer instructions where it matters: KWS's 1x1 layers 1.190 per MAC against
    1.208, ResNet's 32x32 3x3 ones 1.261 against 1.286, VWW's 1x1 ones with 128 or more channels
    1.07-1.18 against 1.11-1.38 (the direct form's last pixels, those whose outputs cover the
    gathered columns, read the input in place, at 1.4-2 per MAC); it is ahead (by 0.3-2.4 %) only
    on layers of few channels and many pixels, VWW's first three 1x1 layers."""
    if variant == "dsp_noscratch":
        assert p["in_c"] % 4 == 0, "the direct form reads whole words of in_c % 4 == 0 pixels"
        return "en_conv2d_s8_dsp_direct"
    return "en_conv2d_s8_dsp_sparse" if variant == "dsp_sparse" else "en_conv2d_s8_dsp"


def requant_form(p: dict) -> str:
    """The DSP kernels' requantization, which names their entry points: ``exact`` (the spec's
    arithmetic), ``fast`` (the short form, the activation range all of int8) or ``fast_clamp``."""
    if not p["fast"]:
        return "exact"
    return "fast" if (p["act_min"], p["act_max"]) == (-128, 127) else "fast_clamp"


def dsp_staged(p: dict) -> int:
    """Pixels whose columns the direct form gathers into the last bytes of its output, for an
    8-byte-aligned output (en_conv2d_s8_dsp_direct's arithmetic): the pairs that write only below
    those bytes. The others read the input in place."""
    pixels, groups = p["batches"] * p["out_h"] * p["out_w"], dsp_depth(p) // 4
    size = pixels * p["out_c"]
    if size < 16 * groups + 8:
        return 0
    return ((size - 16 * groups) // 8 * 8 // p["out_c"]) & ~1


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


def requantize_fields(acc: np.ndarray, fields: np.ndarray, p: dict) -> np.ndarray:
    """int8 outputs from accumulators (bias included) and ``channel_fields``' mult, offset, right
    per channel (last axis): the short form as the DSP kernels compute it (SMMLAR of 2 * acc, the
    sign, the shift) when ``p["fast"]``, else the spec's arithmetic."""
    mult, offset, right = (fields[:, i].astype(np.int64) for i in range(3))
    if not p["fast"]:
        return requantize(acc, mult, -right, p["out_zp"], p["act_min"], p["act_max"])
    acc2 = 2 * acc
    t = ((acc2 * mult + (1 << 31)) >> 32) + offset
    return np.clip((t - (acc2 < 0)) >> right, p["act_min"], p["act_max"]).astype(np.int8)


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


def dsp_constants(
    consts: dict[str, np.ndarray], p: dict, sparse: bool = False
) -> tuple[tuple[tuple[str, np.ndarray], ...], bool]:
    """The portable kernel's constants laid out for the DSP kernel: one stream of weights and
    channel records (``sparse``: the sparse stream), the input zero point folded into the bias; and
    whether the short requantization is exact."""
    w = consts["weights"]
    bias = consts["bias"].astype(np.int64) - p["in_zp"] * w.astype(np.int64).reshape(w.shape[0], -1).sum(axis=1)
    fields, weights, fast = channel_fields(bias, consts["mult"], consts["shift"], w, p)
    return (("packed", (pack_sparse if sparse else pack_stream)(weights, fields)),), fast


def _words(w: np.ndarray) -> np.ndarray:
    """Each channel's weights (OHWI order) zero-padded to whole words, as int64 words [out_c, groups]."""
    rows = w.reshape(w.shape[0], -1).astype(np.int8)
    depth4 = -(-rows.shape[1] // 4) * 4
    return np.ascontiguousarray(np.pad(rows, ((0, 0), (0, depth4 - rows.shape[1])))).view("<i4").astype(np.int64)


def kept_groups(w: np.ndarray) -> np.ndarray:
    """For each pair of output channels (the first out_c & ~1) and group of 4 column elements, whether
    one of its 8 weights is non-zero: bool [out_c // 2, groups]."""
    words = _words(w)
    pairs = words[: len(words) & ~1].reshape(-1, 2, words.shape[1])
    return (pairs != 0).any(axis=1)


def pack_sparse(w: np.ndarray, fields: np.ndarray) -> np.ndarray:
    """The sparse kernel's stream (conv2d_dsp.h en_conv2d_s8_dsp_sparse): ``pack_stream``'s, with
    each channel pair's weights as the number of kept groups and, for each, its word offset into the
    widened column (4 * group) and the pair's two words."""
    oc = w.shape[0]
    words, kept = _words(w), kept_groups(w)
    parts = []
    for c in range(0, oc & ~1, 2):
        f = fields[c : c + 2]
        groups = np.flatnonzero(kept[c // 2])
        records = np.stack([4 * groups, words[c, groups], words[c + 1, groups]], axis=1).reshape(-1)
        parts += [f[:, 0], [len(groups)], records, f[:, 1], f[:, 2], f[:, 3]]
    if oc & 1:
        parts += [fields[-1, :1], words[-1], fields[-1, 1:]]
    return np.concatenate([np.asarray(a, np.int64) for a in parts]).astype(np.int32)


def unpack_sparse(stream: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``pack_sparse`` undone: the [out_c, k_h, k_w, in_c] weights and the [out_c, 4] fields."""
    oc, depth = shape[0], int(np.prod(shape[1:]))
    groups = -(-depth // 4)
    words = np.zeros((oc, groups), np.int64)
    fields = np.zeros((oc, 4), np.int64)
    s = stream.astype(np.int64)
    at = 0
    for c in range(0, oc & ~1, 2):
        fields[c : c + 2, 0] = s[at : at + 2]
        n = int(s[at + 2])
        records = s[at + 3 : at + 3 + 3 * n].reshape(n, 3)
        words[c, records[:, 0] // 4], words[c + 1, records[:, 0] // 4] = records[:, 1], records[:, 2]
        at += 3 + 3 * n
        fields[c : c + 2, 1:] = s[at : at + 6].reshape(3, 2).T
        at += 6
    if oc & 1:
        fields[-1, 0] = s[at]
        words[-1] = s[at + 1 : at + 1 + groups]
        fields[-1, 1:] = s[at + 1 + groups : at + 4 + groups]
    w = np.ascontiguousarray(words.astype("<i4")).view(np.int8)[:, :depth]
    return w.reshape(shape), fields


# The sparse kernel's break-even: a kept group of a channel pair costs en_pair's step (15
# instructions for 16 MACs) and a load and an add more, and 12 bytes against 8 (conv2d_dsp.c); the
# columns' gathering and each output's requantization stay. Measured on mps2-an386 (bench/sparse.py,
# 1-D 1x5, 16 -> 32): at 75 % kept 0.90x the dense instructions but 1.07x the bytes, at 60 % 0.75x
# and 0.89x, at 20 % 0.47x and 0.47x, at 100 % 1.17x and 1.44x.
SPARSE_KEPT_MAX = 0.6


def sparse_variant(op: Op, g: Graph, features: tuple[str, ...]) -> str | None:
    """``dsp_sparse`` (conv2d_dsp.c ``en_conv2d_s8_dsp_sparse``) where the DSP kernel applies
    (``variant``), the core has no Helium, and at most ``SPARSE_KEPT_MAX`` of the channel pairs'
    groups of 4 column elements hold a non-zero weight (``kept_groups``) and the pairs' weights take
    fewer words so: block-pruned weights (``compress --prune-pattern block:2x4``, the column in OHWI
    order)."""
    if "mve" in features or variant(op, g, features) != "dsp":
        return None
    w = g.t(op.inputs[1]).data
    if w.shape[0] < 2:
        return None
    kept = kept_groups(w)
    smaller = kept.shape[0] * (1 + 3 * kept.mean() * kept.shape[1]) < 2 * kept.size  # weight words of the pairs
    return "dsp_sparse" if kept.mean() <= SPARSE_KEPT_MAX and smaller else None


def sparse_info(k: Kernel, g: Graph) -> dict | None:
    """What ``inspect`` shows of a sparse layer (fully_connected.py ``sparse_info``)."""
    if k.fn != "en_conv2d_s8_dsp_sparse":
        return None
    dense = lower(dataclasses.replace(k.op, attrs={**k.op.attrs, "variant": "dsp"}), g)
    w, _ = unpack_stream(dict(dense.consts)["packed"], g.t(k.op.inputs[1]).shape)
    return {"format": "channel pairs, zero groups of 4 column elements left out", "kept": float(kept_groups(w).mean()),
            "weights_bytes": k.const_bytes, "dense_weights_bytes": dense.const_bytes}  # fmt: skip


def reference(k: Kernel, x: np.ndarray, w: np.ndarray, *rest: np.ndarray) -> np.ndarray:
    p = k.params
    if k.fn in ("en_conv2d_s8_dsp", "en_conv2d_s8_dsp_direct", "en_conv2d_s8_dsp_sparse"):  # raw inputs, in_zp in
        # the padding and folded in
        unpack = unpack_sparse if k.fn == "en_conv2d_s8_dsp_sparse" else unpack_stream
        weights, fields = unpack(w, (p["out_c"], p["k_h"], p["k_w"], p["in_c"]))
        return requantize_fields(_accumulate_raw(k, x, weights) + fields[:, 0], fields[:, 1:], p)
    if k.fn in ("en_conv2d_s8_mve", "en_conv2d_s8_mve_direct"):  # raw inputs, in_zp folded into the bias
        weights, bias, mult, shift = _mve_unpack(k, w)
        acc = _accumulate_raw(k, x, weights) + bias
        return requantize(acc, mult, shift, p["out_zp"], p["act_min"], p["act_max"])
    if k.fn in ("en_conv2d_s4_dsp", "en_conv2d_s4_dsp_direct"):  # raw inputs, in_zp in the padding and the bias
        from edgeneuro.ops import fully_connected  # (it imports this module)

        oc, kh, kw, ic = p["out_c"], p["k_h"], p["k_w"], p["in_c"]
        weights = fully_connected.unpack_s4_rows(w, oc, kh * kw * ic).reshape(oc, kh, kw, ic)
        fields = rest[0].astype(np.int64).reshape(-1, 4)  # (the direct form's pad, rest[1], holds in_zp)
        return requantize_fields(_accumulate_raw(k, x, weights) + fields[:, 0], fields[:, 1:], p)
    bias, *requant = rest
    if k.fn == "en_conv2d_s4":  # the model's int4 weights, two a byte
        shape = (p["out_c"], p["k_h"], p["k_w"], p["filter_c"])
        w = unpack_int4(w, int(np.prod(shape))).reshape(shape)
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
