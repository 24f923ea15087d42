"""BATCH_MATMUL: int8, 16x8 (int16, zero points 0) and float32; ``adj_x`` / ``adj_y``; batch
dimensions broadcast; either operand constant or an activation.

Spec (TFLM ``batch_matmul.cc``, ``reference_ops::BatchMatMul``): ``out[..., m, n] = sum_k
(L[..., m, k] - lhs_zp) * (R[..., k, n] - rhs_zp)`` with ``L`` the LHS (its last two axes swapped
when ``adj_x``) and ``R`` the RHS (likewise with ``adj_y``); the batch axes (all but the last two,
the shorter shape extended with leading 1s) broadcast as numpy's: equal, or one of them 1. int8:
int32 sums, ``clamp(MBQM(acc, mult, shift) + out_zp, -128, 127)`` with ``mult, shift =
QuantizeMultiplier(double(float(s_lhs * s_rhs)) / double(s_out))`` (the scales' product in
float32, ``GetQuantizedConvolutionMultipler`` without bias); 16x8: int64 sums, MBQM's 64-bit
form, int16 range. No fused activation (the operator has none). float32: ``acc = 0; acc += l * r``
over k ascending, each step rounded to float32.

TFLM's Prepare: 2 inputs and 1 output; LHS, RHS and output of one type (float32, int8 or int16,
no hybrid); ranks 2 to 5; broadcastable batch axes; equal accumulation depths; int16 zero points 0.
edgeneuro also refuses per-channel quantization (TFLM would use the first scale only). Shapes are
extended to 3 batch axes; a broadcast axis gets stride 0, so one C loop nest serves every rank.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.quant import multiply_by_quantized_multiplier_int64, quantize_multiplier
from edgeneuro.ops.base import (
    Kernel,
    check_accumulator,
    check_shape,
    check_wide_requant,
    deviation,
    requant_limit,
    requantize,
    unsupported,
)

KINDS = ("BATCH_MATMUL",)
C_FILE = "batch_matmul"
MAX_VERSION = {"BATCH_MATMUL": 4}  # 2: int8, 3: int16, 4: asymmetric_quantize_inputs (hybrid only)
DTYPES = {"int8": "s8", "int16": "s16", "float32": "f32"}
BATCH_AXES = 3


def lower(op: Op, g: Graph) -> Kernel:
    if len(op.inputs) != 2 or len(op.outputs) != 1:
        raise unsupported(g, op, f"{len(op.inputs)} inputs and {len(op.outputs)} outputs; TFLM takes 2 and 1")
    lhs, rhs, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    for t in (lhs, rhs, y):
        if t.dtype not in DTYPES:
            raise unsupported(g, op, f"tensor '{t.name}' is {t.dtype}; TFLM computes int8, int16 or float32")
        if t.dtype != lhs.dtype:
            raise unsupported(
                g, op, f"'{t.name}' is {t.dtype}, '{lhs.name}' {lhs.dtype}; TFLM wants one type (no hybrid)"
            )
        if not 2 <= len(t.shape) <= 5:
            raise unsupported(g, op, f"'{t.name}' has rank {len(t.shape)}; TFLM takes 2-D to 5-D")
    adj_x, adj_y = bool(op.attrs.get("adj_x", False)), bool(op.attrs.get("adj_y", False))
    rows, depth = (lhs.shape[-1], lhs.shape[-2]) if adj_x else (lhs.shape[-2], lhs.shape[-1])
    rdepth, cols = (rhs.shape[-1], rhs.shape[-2]) if adj_y else (rhs.shape[-2], rhs.shape[-1])
    if depth != rdepth:
        raise unsupported(g, op, f"LHS {list(lhs.shape)} and RHS {list(rhs.shape)} (adj_x {adj_x}, adj_y {adj_y}) "
                          f"accumulate over {depth} and {rdepth} values")  # fmt: skip
    lb = (1,) * (BATCH_AXES + 2 - len(lhs.shape)) + tuple(lhs.shape[:-2])
    rb = (1,) * (BATCH_AXES + 2 - len(rhs.shape)) + tuple(rhs.shape[:-2])
    if any(a != b and 1 not in (a, b) for a, b in zip(lb, rb, strict=True)):
        raise unsupported(g, op, f"batch axes of {list(lhs.shape)} and {list(rhs.shape)} do not broadcast")
    batch = tuple(max(a, b) for a, b in zip(lb, rb, strict=True))
    rank = max(len(lhs.shape), len(rhs.shape))
    check_shape(g, op, y, batch[BATCH_AXES + 2 - rank :] + (rows, cols))
    params = dict(batch0=batch[0], batch1=batch[1], batch2=batch[2])
    params |= {f"lhs_s{i}": s for i, s in enumerate(_strides(lb, rows * depth))}
    params |= {f"rhs_s{i}": s for i, s in enumerate(_strides(rb, depth * cols))}
    params |= dict(rows=rows, cols=cols, depth=depth, adj_x=int(adj_x), adj_y=int(adj_y))
    variant = DTYPES[lhs.dtype]
    if variant != "f32":
        for t in (lhs, rhs, y):
            if t.quant is None or t.quant.per_channel:
                raise unsupported(g, op, f"'{t.name}' must be quantized per tensor")
        if variant == "s16" and any(t.zero_point != 0 for t in (lhs, rhs, y)):
            raise unsupported(g, op, "int16 tensors must have zero point 0")
        product = float(np.float32(lhs.scale) * np.float32(rhs.scale))
        mult, shift = quantize_multiplier(product / y.scale)
        _check_accumulator(g, op, lhs, rhs, y, variant, depth, shift)
        info = np.iinfo(np.int8 if variant == "s8" else np.int16)
        params |= dict(lhs_zp=lhs.zero_point, rhs_zp=rhs.zero_point, out_zp=y.zero_point, mult=mult, shift=shift,
                       act_min=int(info.min), act_max=int(info.max))  # fmt: skip
    return Kernel(
        op=op,
        fn=f"en_batch_matmul_{variant}",
        params=params,
        inputs=(lhs.name, rhs.name),
        outputs=(y.name,),
        macs=int(np.prod(batch)) * rows * cols * depth,
        summary=f"{rows}x{depth} @ {depth}x{cols}" + (" adj_x" if adj_x else "") + (" adj_y" if adj_y else ""),
    )


def _check_accumulator(g: Graph, op: Op, lhs, rhs, y, variant: str, depth: int, shift: int) -> None:
    """Refuses a layer whose accumulator could overflow: ``depth`` terms of at most
    ``deviation(lhs) * deviation(rhs)`` each (a constant operand's own values where it has them)."""
    dl, dr = deviation(lhs), deviation(rhs)
    bound = depth * dl * dr
    for t, other in ((lhs, dr), (rhs, dl)):
        if t.data is not None and t.data.size:  # a constant operand: its largest |v - zp| over all
            v = np.abs(t.data.astype(np.int64) - t.zero_point)
            bound = min(bound, depth * int(v.max()) * other)
    what = f"over a depth of {depth} (|lhs - zp| <= {dl}, |rhs - zp| <= {dr})"
    if variant == "s16":
        check_wide_requant(g, op, bound, what, shift)
    else:
        check_accumulator(g, op, bound, what, left_shift=shift, limit=requant_limit(y.zero_point))


def _strides(dims: tuple[int, ...], matrix: int) -> list[int]:
    """Element strides of the batch axes ``dims`` over matrices of ``matrix`` elements, 0 where an
    axis is 1 (broadcast)."""
    out, step = [], matrix
    for d in reversed(dims):
        out.append(0 if d == 1 else step)
        step *= d
    return out[::-1]


def _operands(k: Kernel, lhs: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The operands as [b0, b1, b2, rows, depth] and [b0, b1, b2, depth, cols] (broadcast axes 1)."""
    p = k.params
    lb = [1 if p[f"lhs_s{i}"] == 0 else p[f"batch{i}"] for i in range(BATCH_AXES)]
    rb = [1 if p[f"rhs_s{i}"] == 0 else p[f"batch{i}"] for i in range(BATCH_AXES)]
    rows, cols, depth = p["rows"], p["cols"], p["depth"]
    a = lhs.reshape(*lb, depth, rows).swapaxes(-1, -2) if p["adj_x"] else lhs.reshape(*lb, rows, depth)
    b = rhs.reshape(*rb, cols, depth).swapaxes(-1, -2) if p["adj_y"] else rhs.reshape(*rb, depth, cols)
    return a, b


def reference(k: Kernel, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    p = k.params
    a, b = _operands(k, lhs, rhs)
    if k.fn == "en_batch_matmul_f32":
        a, b = a.astype(np.float32), b.astype(np.float32)
        acc = np.zeros(np.broadcast_shapes(a.shape[:-1] + (1,), b.shape[:-2] + (1, b.shape[-1])), np.float32)
        for i in range(p["depth"]):  # one float32 rounding per step, k ascending
            acc = acc + a[..., :, i : i + 1] * b[..., i : i + 1, :]
        return acc
    acc = np.matmul(a.astype(np.int64) - p["lhs_zp"], b.astype(np.int64) - p["rhs_zp"])
    if k.fn == "en_batch_matmul_s16":
        y = multiply_by_quantized_multiplier_int64(acc, p["mult"], p["shift"])
        return np.clip(y, p["act_min"], p["act_max"]).astype(np.int16)
    return requantize(acc, p["mult"], p["shift"], p["out_zp"], p["act_min"], p["act_max"])
