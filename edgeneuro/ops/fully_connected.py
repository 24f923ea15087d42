"""FULLY_CONNECTED, int8, per-tensor or per-channel weights.

Spec (TFLM ``reference_integer_ops::FullyConnected`` / ``FullyConnectedPerChannel``):
``acc[b,o] = bias[o] + sum_k (w[o,k] - w_zp) * (x[b,k] - in_zp)``, requantized like CONV_2D.
Per-tensor multiplier: ``double(float(s_in * s_w)) / double(s_out)`` (the product is taken in
float32 first, as TFLite's ``GetQuantizedConvolutionMultipler`` does); per-channel:
``double(s_in) * double(s_w[o]) / double(s_out)``.

Variants (same bits, the input zero point folded into the bias): ``dsp`` (fully_connected_dsp.c:
four units per step of 4 inputs, one LDM of the units' interleaved weights, SXTB16 + SMLAD in
assembly, 1.3 instructions per MAC; the short requantization of conv2d.py ``channel_fields``
where it is exact, with one triple for all units when they share it) and ``mve``
(fully_connected_mve.c, Helium: one VMLADAVA per 16 bytes of a row, four rows sharing each input
vector, the four results requantized in one vector with VQRDMULH + VRSHL, en_mve.h's
en_mve_requant).

int4 weights (a TFLite INT4 filter, per tensor as TFLM takes it; the IR holds the values unpacked):
``en_fully_connected_s4`` (fully_connected_s4.c) reads the model's packed bytes (``pack_int4``),
the same bits as int8; its variant ``dsp_s4`` (``en_fully_connected_s4_dsp``) takes them in row
pairs (``pack_s4_rows``), 16 times the weights per SXTB16 lane, the zero point folded into the bias
and conv2d.py's ``channel_fields`` requantization (``s4_dsp_constants``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.quant import pack_int4, quantize_multiplier, unpack_int4
from edgeneuro.ops.base import (
    Kernel,
    activation,
    channel_multipliers,
    float_clamp,
    layer_kernel,
    layer_operands,
    requantize,
    requantize16,
    unsupported,
)
from edgeneuro.ops.conv2d import channel_fields, requantize_fields

KINDS = ("FULLY_CONNECTED",)
C_FILE = "fully_connected"
MAX_VERSION = {"FULLY_CONNECTED": 10}  # newest TFLite op versions handled


def lower(op: Op, g: Graph) -> Kernel:
    x, w, bias, y = layer_operands(g, op)
    if len(w.shape) != 2:
        raise unsupported(g, op, f"weights of rank {len(w.shape)}, expected 2")
    units, depth = w.shape
    if x.size % depth:
        raise unsupported(g, op, f"input of {x.size} elements is not a multiple of the weight depth {depth}")
    batches = x.size // depth
    if y.size != batches * units:
        raise unsupported(g, op, f"output '{y.name}' has {y.size} elements, expected {batches * units}")
    act = activation(op)
    params = dict(batches=batches, depth=depth, units=units)
    multipliers = None
    if w.quant is not None and not w.quant.per_channel:  # per tensor: the product is taken in float32
        product = float(np.float32(x.scale) * np.float32(w.scale))
        m, e = quantize_multiplier(product / y.scale)
        multipliers = np.full(units, m, np.int32), np.full(units, e, np.int32)
    elif w.quant is not None and x.dtype == "int16":
        raise unsupported(g, op, "16x8 with per-channel weights (TFLite Micro takes per-tensor weights there)")
    fn, consts = layer_kernel(g, op, "fully_connected", x, w, bias, y, params, multipliers=multipliers)
    c_file = None
    summary = f"{depth}->{units}" + ("" if act == "NONE" else f" {act}")
    if w.dtype == "int4":  # TFLite INT4 weights stay two a byte (fully_connected_s4.c)
        fn, c_file, summary = "en_fully_connected_s4", "fully_connected_s4", summary + " int4"
        if op.attrs.get("variant") == "dsp_s4":
            fn = "en_fully_connected_s4_dsp"
            consts, fast = s4_dsp_constants(dict(consts), params)
            del params["in_zp"]  # folded into the bias
            params["fast"] = int(fast)
        else:
            consts = (("weights", pack_int4(dict(consts)["weights"])), *consts[1:])
    elif op.attrs.get("variant") in ("dsp", "dsp_sparse"):
        fn, c_file = "en_fully_connected_s8_dsp", "fully_connected_dsp"
        sparse = op.attrs["variant"] == "dsp_sparse"  # the dense form's weights, their zero words left out
        consts, fast, shared = dsp_constants(dict(consts), params, sparse)
        del params["in_zp"]  # folded into the bias
        params.update(fast=int(fast), shared=int(shared))
        if sparse:
            fn = "en_fully_connected_s8_dsp_sparse"
            summary += " sparse"
    elif op.attrs.get("variant") == "mve":
        fn, c_file = "en_fully_connected_s8_mve", "fully_connected_mve"
        consts = mve_constants(dict(consts), params["in_zp"])
        params["right"] = int(np.all(dict(consts)["shift"] <= -1))
    return Kernel(
        op=op,
        fn=fn,
        params=params,
        inputs=(x.name,),
        consts=consts,
        outputs=(y.name,),
        macs=batches * units * depth,
        summary=summary,
        c_file=c_file,
    )


def variant(op: Op, g: Graph, features: tuple[str, ...]) -> str | None:
    """For int8 layers whose input zero point folded into the bias still fits int32: ``mve``
    (fully_connected_mve.c) on cores with Helium, when no accumulator a left shift of the
    requantization could overflow; else ``dsp`` (fully_connected_dsp.c) on cores with SIMD32."""
    x, w, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    if not {"dsp", "mve"} & set(features) or x.dtype != "int8" or w.data is None or len(w.shape) != 2:
        return None
    if w.dtype == "int4":
        return s4_variant(op, g, features)
    if x.quant is None:
        return None
    b = g.t(op.inputs[2]).data if len(op.inputs) > 2 and op.inputs[2] else None
    bias = np.zeros(w.shape[0], np.int64) if b is None else b.astype(np.int64).reshape(-1)
    if bias.size != w.shape[0]:
        return None
    folded = bias - x.zero_point * w.data.astype(np.int64).sum(axis=1)
    if not np.all(np.abs(folded) < 2**31 - 1):
        return None
    if "mve" in features and w.quant is not None and y.quant is not None:
        left = np.maximum(_shifts(x, w, y), 0)
        bound = np.abs(bias) + 255 * np.abs(w.data.astype(np.int64)).sum(axis=1)
        if np.all(bound * np.exp2(left) < 2**31):
            return "mve"
    return "dsp" if "dsp" in features else None


# The sparse DSP kernel's break-even: a kept input word of a 4-unit block costs 23 instructions
# against the dense step's 20.5 and 20 bytes against 16 (fully_connected_dsp.c), so it saves both
# below 80 % kept words. Measured on mps2-an386 (bench/sparse.py, 1,024 -> 64): at 75 % kept
# 0.84x the dense instructions and 0.94x the bytes, at 50 % 0.57x and 0.63x, at 20 % 0.23x and
# 0.26x; at 100 % 1.12x and 1.25x. On the M55 Helium's dense kernel takes fewer instructions down
# to about 12 % kept, so the compiler keeps it there.
SPARSE_KEPT_MAX = 0.75


def sparse_variant(op: Op, g: Graph, features: tuple[str, ...]) -> str | None:
    """``dsp_sparse`` (fully_connected_dsp.c ``en_fully_connected_s8_dsp_sparse``) where the DSP
    kernel applies (``variant``), the core has no Helium (whose dense kernel is faster than this
    one at any density), at most ``SPARSE_KEPT_MAX`` of the 4-unit blocks' input words hold a
    non-zero weight (``kept_words``) and the stream is smaller than the dense weights (in a small
    layer its ends may not be): block-pruned weights (``compress --prune-pattern block:4x4``).
    Unstructured sparsity rarely leaves a whole word of 4 rows zero."""
    if "mve" in features or variant(op, g, features) != "dsp":
        return None
    w = g.t(op.inputs[1]).data
    if w.shape[0] < 4 or w.shape[1] < 4 or kept_words(w).mean() > SPARSE_KEPT_MAX:
        return None
    return "dsp_sparse" if pack_sparse(w).nbytes < w.size else None  # the dense form: a byte a weight


def sparse_info(k: Kernel, g: Graph) -> dict | None:
    """What ``inspect`` shows of a sparse layer: its format, the fraction of the 4-unit blocks' input
    words it keeps, its weight bytes and the dense DSP form's."""
    if k.fn != "en_fully_connected_s8_dsp_sparse":
        return None
    dense = lower(dataclasses.replace(k.op, attrs={**k.op.attrs, "variant": "dsp"}), g)
    w = unpack_rows(dict(dense.consts)["weights"], k.params["units"], k.params["depth"])
    return {"format": "4-unit blocks, zero input words left out", "kept": float(kept_words(w).mean()),
            "weights_bytes": k.const_bytes, "dense_weights_bytes": dense.const_bytes}  # fmt: skip


def kept_words(w: np.ndarray) -> np.ndarray:
    """For each block of 4 rows (the first units & ~3) and word of 4 inputs (the first depth & ~3),
    whether one of its 16 weights is non-zero: bool [units // 4, depth // 4]."""
    units, depth = w.shape
    blocks = w[: units & ~3, : depth & ~3].reshape(units // 4, 4, depth // 4, 4)
    return (blocks != 0).any(axis=(1, 3))


def pack_sparse(w: np.ndarray) -> np.ndarray:
    """The sparse DSP kernel's weight stream (fully_connected_dsp.h) of int8 weights [units, depth],
    as int32 words."""
    units, depth = w.shape
    u4, d4, tail = units & ~3, depth & ~3, depth & 3
    kept = kept_words(w)
    words = []
    for g in range(u4 // 4):
        block = w[4 * g : 4 * g + 4]
        prev = -1
        for k in np.flatnonzero(kept[g]):
            words.append(np.array([4 * (k - prev)], np.int64))
            words.append(np.ascontiguousarray(block[:, 4 * k : 4 * k + 4].astype(np.int8)).view("<i4").reshape(-1))
            prev = k
        words.append(np.zeros(1, np.int64))
        if tail:
            words.append(np.ascontiguousarray(block[:, d4:].astype(np.int8).reshape(-1)).view("<i4"))
    rest = w[u4:].astype(np.int8).reshape(-1)
    rest = np.concatenate([rest, np.zeros(-len(rest) % 4, np.int8)]).view("<i4")
    words.append(rest)
    after = (tail if u4 else 0) + len(rest)  # words after the last block's 0, which its LDM reads 4 of
    words.append(np.zeros(max(0, 4 - after), np.int64))
    return np.concatenate([a.astype(np.int64) for a in words]).astype(np.int32)


def unpack_sparse(stream: np.ndarray, units: int, depth: int) -> np.ndarray:
    """``pack_sparse`` undone: the int8 weights [units, depth]."""
    u4, d4, tail = units & ~3, depth & ~3, depth & 3
    w = np.zeros((units, depth), np.int8)
    s = stream.astype("<i4")
    at = 0
    for g in range(u4 // 4):
        k = -1
        while s[at] != 0:
            k += int(s[at]) // 4
            w[4 * g : 4 * g + 4, 4 * k : 4 * k + 4] = s[at + 1 : at + 5].view(np.int8).reshape(4, 4)
            at += 5
        at += 1
        if tail:
            w[4 * g : 4 * g + 4, d4:] = s[at : at + tail].view(np.int8).reshape(4, tail)
            at += tail
    n = (units - u4) * depth
    w[u4:] = s[at : at + -(-n // 4)].view(np.int8)[:n].reshape(units - u4, depth)
    return w


def s4_variant(op: Op, g: Graph, features: tuple[str, ...]) -> str | None:
    """``dsp_s4`` (fully_connected_s4.c ``en_fully_connected_s4_dsp``) for int4 weights on cores
    with SIMD32 (Helium too: it has no int4 kernel of its own), when the input zero point folded
    into the bias fits int32 and 16 times the raw sum (the kernel accumulates the weights shifted
    to the top of their bytes) cannot overflow: 16 * 128 * sum |w| < 2^31."""
    if "dsp" not in features:
        return None
    x, w = g.t(op.inputs[0]), g.t(op.inputs[1]).data.astype(np.int64)
    b = g.t(op.inputs[2]).data if len(op.inputs) > 2 and op.inputs[2] else None
    bias = np.zeros(w.shape[0], np.int64) if b is None else b.astype(np.int64).reshape(-1)
    if x.quant is None or bias.size != w.shape[0]:
        return None
    folded = bias - x.zero_point * w.sum(axis=1)
    if not np.all(np.abs(folded) < 2**31 - 1) or not np.all(16 * 128 * np.abs(w).sum(axis=1) < 2**31):
        return None
    return "dsp_s4"


def pack_s4_rows(w: np.ndarray) -> np.ndarray:
    """The int4 DSP kernels' weight words (fully_connected_s4.h, en_int4.h ``en_s4_pair``) of weights
    [rows, depth] in [-8, 7]: rows in pairs (an odd last row paired with zeros), a pair's weights
    ``ceil(depth / 4)`` words, byte j of word i holding input 4i + j, the even row in the low nibble,
    the odd row in the high one (0 past the depth); per block of 4 rows the two pairs' words
    interleaved, the last pair (rows % 4) after the blocks on its own. Returns int32 words."""
    units, depth = w.shape
    v = np.pad(w.astype(np.int64) & 0x0F, ((0, units % 2), (0, -depth % 4)))

    def pair(r: int) -> np.ndarray:  # the words of rows r, r + 1
        return ((v[r] | (v[r + 1] << 4)).reshape(-1, 4) << (8 * np.arange(4))).sum(axis=1)

    u4 = units & ~3
    parts = [np.stack([pair(u), pair(u + 2)], axis=1).reshape(-1) for u in range(0, u4, 4)]
    parts += [pair(u) for u in range(u4, units, 2)]
    flat = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    return flat.astype(np.uint32).view(np.int32)


def unpack_s4_rows(stream: np.ndarray, units: int, depth: int) -> np.ndarray:
    """``pack_s4_rows`` undone: the weights [units, depth], int8."""
    per_pair = -(-depth // 4)  # words
    data = np.ascontiguousarray(stream.astype("<i4")).view(np.uint8)
    w = np.zeros((units + units % 2, depth), np.int8)

    def put(r: int, b: np.ndarray) -> None:
        b = b.reshape(-1)[:depth].astype(np.int16)
        w[r], w[r + 1] = ((b & 0x0F) ^ 8) - 8, ((b >> 4) ^ 8) - 8

    at, u4 = 0, units & ~3
    for u in range(0, u4, 4):
        block = data[4 * at : 4 * (at + 2 * per_pair)].reshape(per_pair, 2, 4)
        put(u, block[:, 0]), put(u + 2, block[:, 1])
        at += 2 * per_pair
    for u in range(u4, units, 2):
        put(u, data[4 * at : 4 * (at + per_pair)])
        at += per_pair
    return w[:units]


def s4_dsp_constants(consts: dict[str, np.ndarray], p: dict) -> tuple[tuple[tuple[str, np.ndarray], ...], bool]:
    """The portable kernel's constants (weights [rows, depth]) laid out for the int4 DSP kernels
    (en_int4.h): the weights as ``pack_s4_rows`` words, and per row the fields bias (the input zero
    point folded in), mult, offset, right of conv2d.py ``channel_fields`` (which may zero a dead
    row's weights), as int32 [rows * 4]; and whether they are the short requantization's."""
    w = consts["weights"]
    bias = consts["bias"].astype(np.int64) - p["in_zp"] * w.astype(np.int64).sum(axis=1)
    fields, weights, fast = channel_fields(bias, consts["mult"], consts["shift"], w, p)
    packed = pack_s4_rows(weights.reshape(w.shape[0], -1))
    return (("weights", packed), ("fields", fields.astype(np.int32).reshape(-1))), fast


def _shifts(x, w, y) -> np.ndarray:
    """The requantization shifts ``lower`` gives the units."""
    if not w.quant.per_channel:
        product = float(np.float32(x.scale) * np.float32(w.scale))
        return np.full(w.shape[0], quantize_multiplier(product / y.scale)[1], np.int64)
    return channel_multipliers(x, w, y)[1].astype(np.int64)


def pack_rows(w: np.ndarray) -> np.ndarray:
    """The DSP kernel's weight layout (fully_connected_dsp.h): blocks of 4 rows, within a block the
    4 rows' bytes 4 columns at a time, then each row's last depth % 4 bytes; the last rows as they are."""
    units, depth = w.shape
    u4, d4 = units & ~3, depth & ~3
    parts = []
    for u in range(0, u4, 4):
        block = w[u : u + 4]
        parts.append(block[:, :d4].reshape(4, d4 // 4, 4).transpose(1, 0, 2).reshape(-1))
        parts.append(block[:, d4:].reshape(-1))
    parts.append(w[u4:].reshape(-1))
    return np.concatenate(parts).astype(w.dtype)


def unpack_rows(packed: np.ndarray, units: int, depth: int, pack=pack_rows) -> np.ndarray:
    """``pack_rows`` (or ``pack``) undone."""
    index = pack(np.arange(units * depth).reshape(units, depth))
    w = np.empty(units * depth, packed.dtype)
    w[index] = packed
    return w.reshape(units, depth)


def pack_rows16(w: np.ndarray) -> np.ndarray:
    """The MVE kernel's weight layout (fully_connected_mve.h): blocks of 4 rows, within a block the
    4 rows' bytes 16 columns at a time, then each row's last depth % 16 bytes; the last rows as
    they are."""
    units, depth = w.shape
    u4, d16 = units & ~3, depth & ~15
    parts = []
    for u in range(0, u4, 4):
        block = w[u : u + 4]
        parts.append(block[:, :d16].reshape(4, d16 // 16, 16).transpose(1, 0, 2).reshape(-1))
        parts.append(block[:, d16:].reshape(-1))
    parts.append(w[u4:].reshape(-1))
    return np.concatenate(parts).astype(w.dtype)


def mve_constants(consts: dict[str, np.ndarray], in_zp: int) -> tuple[tuple[str, np.ndarray], ...]:
    """The portable kernel's constants laid out for the MVE kernel: weights packed by
    ``pack_rows16``, the input zero point folded into the bias."""
    w = consts["weights"]
    bias = (consts["bias"].astype(np.int64) - in_zp * w.astype(np.int64).sum(axis=1)).astype(np.int32)
    return ("weights", pack_rows16(w)), ("bias", bias), ("mult", consts["mult"]), ("shift", consts["shift"])


def dsp_constants(
    consts: dict[str, np.ndarray], p: dict, sparse: bool = False
) -> tuple[tuple[tuple[str, np.ndarray], ...], bool, bool]:
    """The portable kernel's constants laid out for the DSP kernel (fully_connected_dsp.h): packed
    weights (``sparse``: the sparse stream, ``pack_sparse``); the biases with the input zero point
    folded in, then the requantization triples
    (mult, offset, right), one for all units where they agree (``shared``), else one per unit;
    and whether they are the short form's (``fast``, conv2d.py ``channel_fields``)."""
    w = consts["weights"]
    bias = consts["bias"].astype(np.int64) - p["in_zp"] * w.astype(np.int64).sum(axis=1)
    fields, weights, fast = channel_fields(bias, consts["mult"], consts["shift"], w, p)
    triples = fields[:, 1:]
    shared = bool(np.all(triples == triples[:1]))
    stream = np.concatenate([fields[:, 0], (triples[:1] if shared else triples).reshape(-1)]).astype(np.int32)
    packed = (pack_sparse if sparse else pack_rows)(weights.astype(np.int8))
    return (("weights", packed), ("fields", stream)), fast, shared


def dsp_fields(stream: np.ndarray, units: int, shared: int) -> np.ndarray:
    """``dsp_constants``' fields read back as [units, 4]: bias, mult, offset, right."""
    stream = stream.astype(np.int64)
    triples = stream[units:].reshape(-1, 3)
    return np.concatenate([stream[:units, None], np.broadcast_to(triples, (units, 3))], axis=1)


def reference(k: Kernel, x: np.ndarray, w: np.ndarray, bias: np.ndarray, *requant: np.ndarray) -> np.ndarray:
    p = k.params
    if k.fn == "en_fully_connected_f32":  # float32, summed in depth order, each step rounded
        xs = x.reshape(p["batches"], p["depth"]).astype(np.float32)
        acc = np.zeros((p["batches"], p["units"]), np.float32)
        for d in range(p["depth"]):
            acc = acc + xs[:, d : d + 1] * w[:, d].astype(np.float32)
        return float_clamp(acc + bias.astype(np.float32), p["act_min"], p["act_max"])
    if k.fn in ("en_fully_connected_s8_dsp", "en_fully_connected_s8_dsp_sparse"):  # raw inputs, zp in the bias
        sparse = k.fn.endswith("_sparse")
        w = unpack_sparse(w, p["units"], p["depth"]) if sparse else unpack_rows(w, p["units"], p["depth"])
        fields = dsp_fields(bias, p["units"], p["shared"])
        acc = x.reshape(p["batches"], p["depth"]).astype(np.int64) @ w.astype(np.int64).T + fields[:, 0]
        return requantize_fields(acc, fields[:, 1:], p)
    if k.fn == "en_fully_connected_s4_dsp":  # raw inputs, weights in pack_s4_rows words, fields [units, 4]
        w, fields = unpack_s4_rows(w, p["units"], p["depth"]), bias.astype(np.int64).reshape(-1, 4)
        acc = x.reshape(p["batches"], p["depth"]).astype(np.int64) @ w.astype(np.int64).T + fields[:, 0]
        return requantize_fields(acc, fields[:, 1:], p)
    mult, shift = (a.astype(np.int64) for a in requant)
    if k.fn == "en_fully_connected_s4":  # the model's int4 weights, two a byte
        w = unpack_int4(w, p["units"] * p["depth"]).reshape(p["units"], p["depth"])
    if k.fn == "en_fully_connected_s8_mve":  # raw inputs, zp in the bias
        w = unpack_rows(w, p["units"], p["depth"], pack_rows16)
        acc = x.reshape(p["batches"], p["depth"]).astype(np.int64) @ w.astype(np.int64).T + bias.astype(np.int64)
        return requantize(acc, mult, shift, p["out_zp"], p["act_min"], p["act_max"])
    xs = x.reshape(p["batches"], p["depth"]).astype(np.int64) - p["in_zp"]
    acc = xs @ w.astype(np.int64).T + bias.astype(np.int64)
    if k.fn == "en_fully_connected_s16":
        return requantize16(acc, mult, shift, p["act_min"], p["act_max"])
    return requantize(acc, mult, shift, p["out_zp"], p["act_min"], p["act_max"])
