"""SVDF (a rank-``r`` singular-value-decomposed filter over time, TFLite's streaming keyword-spotting
layer): int8 input, weights and output with an int8 or int16 state and time weights; float32.

Operands ``[input [B, in], weights_feature [F, in], weights_time [F, M], bias [U], state [B, M * F]]``
with ``F = U * rank`` filters, ``M`` the memory, ``state`` a variable tensor. Spec (TFLM
``svdf_common.cc``, ``EvalIntegerSvdfReference`` / ``EvalFloatSvdfReference``), per batch:

1. the state is shifted one element to the left (each filter's row of ``M`` values moves one step
   back in time);
2. each filter's newest value ``state[f, M - 1]`` becomes the feature product: int8
   ``T(clamp_T(MBQM(sum_k wf[f, k] * (x[k] - in_zp), es1)) + state_zp)`` with ``T`` the state's
   type: the pinned TFLM clamps *before* adding the zero point, and the sum wraps around in ``T``
   (measured: an int8 state with zero point -84 stores -128 - 84 as 44; newer TFLM sources add the
   zero point first); float32 ``dot = 0; dot += wf[f, k] * x[k]`` over k ascending;
3. ``t[f] = sum_j wt[f, j] * (state[f, j] - state_zp)`` over j ascending (int32; float32 from 0);
4. ``out[u] = bias[u] + sum_{r < rank} t[u * rank + r]`` (float32: from the bias, adding r
   ascending); int8 ``clamp8(MBQM(out, es2) + out_zp)`` and the fused activation is *not*
   applied (TFLM's integer SVDF ignores it); float32 applies NONE / RELU / RELU6 / RELU_N1_TO_1 as
   ``ActivationValFloat`` (``max(lo, min(v, hi))`` in std::max / std::min's comparisons; NONE as
   the range of finite floats, so an infinite sum becomes +-FLT_MAX where TFLM keeps it).

``es1 = double(float(float(s_in * s_wf) / s_state))``, ``es2 = double(float(float(s_state * s_wt) /
s_out))`` (float32 arithmetic, as TFLM's Prepare), each through QuantizeMultiplier. TFLM's Prepare
also requires: 2-D input, weights, state and output with the shapes above, ``F % rank == 0``, int8
weights_feature, an int32 bias whose scale is within 1e-5 of ``s_state * s_wt``, the state a
variable tensor; float32 throughout for a float input. The schema makes the bias optional, but
TFLM's Prepare dereferences it (measured: the pinned interpreter crashes on a float SVDF without
one), so edgeneuro requires it. edgeneuro also requires weights_time and the state to have one type (TFLM's kernel
reads both as the time weights' type), constant weights and per-tensor quantization.

State (as for UNIDIRECTIONAL_SEQUENCE_LSTM, edgeneuro/ops/lstm.py): TFLM keeps the state between
Invoke calls until the application resets it (``ResetVariableTensors``: an int8 state to its zero
point, int16 and float32 to 0). edgeneuro's kernel starts every inference from the reset state, and
equals TFLM reset before each Invoke. From the reset state, step 1 leaves every value at the reset
value and step 2 sets the newest column, so the kernel holds no state memory: step 3 reads the
reset value for ``j < M - 1`` and the feature product for ``j = M - 1``, in the same order. A model
that carries the state from one invocation to the next (streaming) is not what this computes.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.quant import multiply_by_quantized_multiplier, quantize_multiplier
from edgeneuro.ops.base import (
    Kernel,
    activation,
    check_accumulator,
    check_shape,
    deviation,
    float_activation_range,
    requant_limit,
    unsupported,
)

KINDS = ("SVDF",)
C_FILE = "svdf"
MAX_VERSION = {"SVDF": 4}  # 2: hybrid (refused), 3: int8, 4: asymmetric_quantize_inputs (hybrid only)
STATE_TYPES = {"int8": "s8", "int16": "s16"}


def lower(op: Op, g: Graph) -> Kernel:
    if len(op.inputs) != 5 or len(op.outputs) != 1:
        raise unsupported(g, op, f"{len(op.inputs)} inputs and {len(op.outputs)} outputs; TFLM takes 5 and 1")
    x, wf, wt, state, y = (g.t(n) for n in (*op.inputs[:3], op.inputs[4], op.outputs[0]))
    bias = g.t(op.inputs[3]) if op.inputs[3] else None
    rank = int(op.attrs.get("rank", 0))
    if len(x.shape) != 2 or len(wf.shape) != 2 or len(wt.shape) != 2:
        raise unsupported(g, op, "input, weights_feature and weights_time must be 2-D")
    batches, depth = x.shape
    filters, memory = wt.shape
    if rank < 1 or filters % rank:
        raise unsupported(g, op, f"rank {rank} does not divide {filters} filters")
    units = filters // rank
    if tuple(wf.shape) != (filters, depth):
        raise unsupported(g, op, f"weights_feature {list(wf.shape)}, expected {[filters, depth]}")
    if tuple(state.shape) != (batches, memory * filters) or not state.variable:
        raise unsupported(g, op, f"state '{state.name}' must be a variable tensor {[batches, memory * filters]}")
    if bias is None:  # TFLM's Prepare reads (int8) or frees (both) the bias: it crashes without one
        raise unsupported(g, op, "an SVDF without bias (TFLM's SVDF requires one)")
    if bias.data is None or bias.size != units:
        raise unsupported(g, op, f"bias '{bias.name}' must be a constant vector of {units}")
    if wf.data is None or wt.data is None:
        raise unsupported(g, op, "weights_feature and weights_time must be constant")
    check_shape(g, op, y, (batches, units))
    params = dict(batches=batches, depth=depth, filters=filters, memory=memory, rank=rank, units=units)
    common = dict(op=op, params=params, inputs=(x.name,), outputs=(y.name,), macs=batches * filters * (depth + memory),
                  summary=f"rank {rank}, {units} units, memory {memory}")  # fmt: skip
    if x.dtype == "float32":
        for t in (wf, wt, state, y, bias):
            if t.dtype != "float32":
                raise unsupported(g, op, f"'{t.name}' is {t.dtype} in a float32 SVDF (TFLM has no hybrid here)")
        act = activation(op)
        if act not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
            raise unsupported(g, op, f"fused activation {act}; edgeneuro has NONE, RELU, RELU6, RELU_N1_TO_1")
        params["act_min"], params["act_max"] = float_activation_range(op)
        consts = (("weights_feature", wf.data.astype(np.float32)), ("weights_time", wt.data.astype(np.float32)),
                  ("bias", bias.data.astype(np.float32).reshape(units)))  # fmt: skip
        return Kernel(fn="en_svdf_f32", consts=consts, **common)
    if x.dtype != "int8" or wf.dtype != "int8" or y.dtype != "int8":
        raise unsupported(g, op, f"input {x.dtype}, weights_feature {wf.dtype}, output {y.dtype}; TFLM takes int8")
    if state.dtype not in STATE_TYPES or wt.dtype != state.dtype:
        raise unsupported(g, op, f"state {state.dtype} and weights_time {wt.dtype}: one type, int8 or int16")
    for t in (x, wf, wt, state, y):
        if t.quant is None or t.quant.per_channel:
            raise unsupported(g, op, f"'{t.name}' must be quantized per tensor")
    if bias.dtype != "int32" or bias.quant is None:
        raise unsupported(g, op, f"bias '{bias.name}' is {bias.dtype}; int8 SVDF takes a quantized int32 bias")
    product = float(np.float32(state.scale) * np.float32(wt.scale))
    if not abs(bias.scale - product) < 1e-5:
        raise unsupported(g, op, f"bias scale {bias.scale} is not state scale x time weights scale {product}")
    es1 = float(np.float32(np.float32(x.scale) * np.float32(wf.scale)) / np.float32(state.scale))
    es2 = float(np.float32(product) / np.float32(y.scale))
    (m1, e1), (m2, e2) = quantize_multiplier(es1), quantize_multiplier(es2)
    _check_accumulators(g, op, x, wf.data, wt.data, bias.data.reshape(units), state, y, rank, e1, e2)
    info = np.iinfo(np.dtype(state.dtype))
    params |= dict(in_zp=x.zero_point, state_zp=state.zero_point, out_zp=y.zero_point,
                   reset=state.zero_point if state.dtype == "int8" else 0, state_min=int(info.min),
                   state_max=int(info.max), mult1=m1, shift1=e1, mult2=m2, shift2=e2)  # fmt: skip
    consts = (("weights_feature", wf.data.astype(np.int8)), ("weights_time", wt.data.astype(state.dtype)),
              ("bias", bias.data.astype(np.int32).reshape(units)))  # fmt: skip
    return Kernel(fn=f"en_svdf_{STATE_TYPES[state.dtype]}", consts=consts, **common)


def _check_accumulators(g: Graph, op: Op, x, wf, wt, bias, state, y, rank: int, e1: int, e2: int) -> None:
    """Refuses weights whose int32 sums (svdf.c) could overflow: each filter's feature product
    ``sum_k wf[f, k] * (x[k] - in_zp)`` (shifted by ``e1``) and each unit's ``bias[u] + sum over its
    filters' time products`` (shifted by ``e2``; svdf.c sums it in int64 and saturates it to int32,
    where TFLM's int32 sum of a rank > 1 unit could overflow). Every inference starts from the reset state, so a
    filter's memory holds the reset value but for its newest entry: the time product is exactly
    ``sum_{j < m-1} wt[f, j] * (reset - zp) + wt[f, m-1] * (newest - zp)``, the newest any value of
    the state's type; bounding it by the full state range at every entry would refuse real models."""
    dx, ds = deviation(x), deviation(state)
    feature = np.abs(wf.astype(np.int64)).sum(axis=1)
    f = int(np.argmax(feature))
    what = f"of filter {f}'s feature product ({dx} x sum|w| {int(feature[f]):,})"
    check_accumulator(g, op, dx * int(feature[f]), what, left_shift=e1)
    w = wt.astype(np.int64)
    reset = (state.zero_point if state.dtype == "int8" else 0) - state.zero_point  # as svdf.py's params
    older = np.abs(w[:, :-1].sum(axis=1) * reset)  # the reset entries, exactly
    newest = np.abs(w[:, -1]) * ds
    per_filter = older + newest
    k = int(np.argmax(per_filter))
    check_accumulator(g, op, int(per_filter[k]), f"of filter {k}'s time product", left_shift=0)
    if e2 > 0:  # the unit sum is summed in int64 and saturated to int32: only a left shift could overflow
        time = per_filter.reshape(len(bias), rank).sum(axis=1)
        for u in range(len(bias)):
            b = abs(int(bias[u]))
            what = f"of unit {u} (|bias| {b:,} + time products up to {int(time[u]):,})"
            check_accumulator(g, op, b + int(time[u]), what, left_shift=e2, limit=requant_limit(y.zero_point))


def reference(k: Kernel, x: np.ndarray, wf: np.ndarray, wt: np.ndarray, bias: np.ndarray) -> np.ndarray:
    p = k.params
    x = x.reshape(p["batches"], p["depth"])
    b, f, m, u, r = p["batches"], p["filters"], p["memory"], p["units"], p["rank"]
    if k.fn == "en_svdf_f32":
        feat = np.zeros((b, f), np.float32)
        for i in range(p["depth"]):
            feat = feat + wf[:, i].astype(np.float32) * x[:, i : i + 1].astype(np.float32)
        state = np.zeros((b, f, m), np.float32)
        state[:, :, -1] = feat
        t = np.zeros((b, f), np.float32)
        for j in range(m):
            t = t + wt[:, j].astype(np.float32) * state[:, :, j]
        out = np.broadcast_to(bias.astype(np.float32), (b, u)).copy()
        for i in range(r):
            out = out + t.reshape(b, u, r)[:, :, i]
        lo, hi = np.float32(p["act_min"]), np.float32(p["act_max"])
        out = np.where(hi < out, hi, out)  # std::min(v, hi), then std::max(lo, .)
        return np.where(lo < out, out, lo).astype(np.float32)
    acc = (x.astype(np.int64) - p["in_zp"]) @ wf.astype(np.int64).T
    feat = np.clip(multiply_by_quantized_multiplier(acc, p["mult1"], p["shift1"]), p["state_min"], p["state_max"])
    wrap = np.int8 if p["state_max"] == 127 else np.int16  # the state's type
    state = np.full((b, f, m), p["reset"], np.int64)
    state[:, :, -1] = (feat + p["state_zp"]).astype(wrap)
    t = ((state - p["state_zp"]) * wt.astype(np.int64)[None]).sum(axis=2)
    out = np.clip(bias.astype(np.int64) + t.reshape(b, u, r).sum(axis=2), -(2**31), 2**31 - 1)  # int64, saturated
    y = multiply_by_quantized_multiplier(out, p["mult2"], p["shift2"]) + p["out_zp"]
    return np.clip(y, -128, 127).astype(np.int8)
