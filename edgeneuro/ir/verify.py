"""The IR's rules, checked after the front end and after every pass (``compiler.prepare``): a graph
that breaks one is refused with a line that names the file, the tensor or operator and the rule,
before any code is generated."""

from __future__ import annotations

import math

from edgeneuro.errors import ModelError
from edgeneuro.ir.graph import DTYPE_BYTES, Graph

INT_RANGE = {"int8": (-128, 127), "int16": (-32768, 32767), "uint8": (0, 255), "int4": (-8, 7),
             "int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}  # fmt: skip
MAX_DIM = 1 << 24  # one dimension
MAX_ELEMENTS = 1 << 28  # one tensor
# A quantization scale must be a normal float32 far from both ends: real models use 1e-10..1e4,
# and the requantization multipliers are products and ratios of two or three scales computed in
# double, which stay finite and normal within these bounds. A denormal, 0, NaN or a scale near
# FLT_MAX comes only from a corrupt file and would give multipliers no shift can represent.
SCALE_RANGE = (1e-30, 1e30)
ACTIVATIONS = ("NONE", "RELU", "RELU_N1_TO_1", "RELU6", "TANH", "SIGN_BIT")  # TFLite's enum
PADDINGS = ("SAME", "VALID", "EXPLICIT")  # TFLite's two and the ONNX front end's explicit pads
# options that count steps and must be at least 1 (TFLite's names; the ONNX and NIR front ends use them too)
AT_LEAST_ONE = ("stride_h", "stride_w", "stride_d", "dilation_h_factor", "dilation_w_factor",
                "dilation_d_factor", "filter_height", "filter_width", "filter_depth", "block_size")  # fmt: skip
# inputs an operator may leave out (a TFLite index -1): biases, and the LSTM / RNN families' optional tensors
OPTIONAL_INPUTS = {"FULLY_CONNECTED": {2}, "CONV_2D": {2}, "DEPTHWISE_CONV_2D": {2}, "CONV_3D": {2},
                   "TRANSPOSE_CONV": {3}, "SVDF": {3, 4}}  # fmt: skip
# the fewest inputs an operator reads (TFLite's schema; a corrupt opcode index can turn an ADD into a CONV_2D)
MIN_INPUTS = {
    **dict.fromkeys(("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "CONV_3D", "ADD", "SUB", "MUL", "DIV",
                     "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM", "FLOOR_DIV", "FLOOR_MOD", "POW", "PAD", "PADV2",
                     "MIRROR_PAD", "TRANSPOSE", "GATHER", "GATHER_ND", "BATCH_MATMUL", "PRELU", "SPLIT", "MEAN",
                     "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "REDUCE_ANY", "REDUCE_ALL", "LESS",
                     "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "EQUAL", "NOT_EQUAL", "RESIZE_BILINEAR",
                     "RESIZE_NEAREST_NEIGHBOR", "ARG_MAX", "ARG_MIN", "CUMSUM", "BROADCAST_TO", "FILL",
                     "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND", "EXPAND_DIMS", "LOGICAL_AND", "LOGICAL_OR",
                     "TILE", "REVERSE_V2", "DYNAMIC_UPDATE_SLICE"), 2),
    **dict.fromkeys(("TRANSPOSE_CONV", "SLICE", "SPLIT_V", "SELECT", "SELECT_V2"), 3),
    "STRIDED_SLICE": 4, "SVDF": 4, "UNIDIRECTIONAL_SEQUENCE_LSTM": 20, "LSTM": 20,
}  # fmt: skip
ANY_OPTIONAL = ("LSTM", "UNIDIRECTIONAL_SEQUENCE_LSTM", "BIDIRECTIONAL_SEQUENCE_LSTM", "RNN",
                "UNIDIRECTIONAL_SEQUENCE_RNN", "BIDIRECTIONAL_SEQUENCE_RNN")  # fmt: skip


def verify(graph: Graph, after: str) -> None:
    """Raise ModelError unless ``graph`` keeps the IR's rules; ``after`` names what made it (the
    front end or a pass), for the message."""

    def bad(what: str) -> ModelError:
        return ModelError(f"{graph.source}: {what} (the IR after {after})")

    used = {*graph.inputs, *graph.outputs, *graph.state, *(n for op in graph.ops for n in (*op.inputs, *op.outputs))}
    for index, (name, t) in enumerate(graph.tensors.items()):
        label = f"tensor #{index} '{name}'"
        if name not in used:
            continue  # e.g. a TFLite LSTM's intermediates, which no operator names
        if t.name != name:
            raise bad(f"{label} is stored under another name '{t.name}'")
        # a VAR_HANDLE's "resource" handle, which the inline-subgraphs pass turns into a state tensor
        if t.dtype not in DTYPE_BYTES and t.dtype != "resource":
            raise bad(f"{label} has an unknown type {t.dtype!r}")
        if any(not isinstance(d, int) or d < 1 or d > MAX_DIM for d in t.shape) or t.size > MAX_ELEMENTS:
            raise bad(f"{label} has shape {list(t.shape)}: every dimension must be a positive integer "
                      f"(at most {MAX_DIM:,}, {MAX_ELEMENTS:,} elements in all)")  # fmt: skip
        if t.is_const and t.data.size != t.size:
            raise bad(f"constant #{index} '{name}' holds {t.data.size} values for shape {list(t.shape)}")
        if t.quant is not None:
            check_quant(t, label, bad)

    def known(name: str, role: str) -> None:
        if name not in graph.tensors:
            raise bad(f"{role} names no tensor '{name}'")

    for name in (*graph.inputs, *graph.outputs, *graph.state):
        known(name, "the graph")
    if not graph.inputs:
        raise bad("the model has no inputs")
    if not graph.outputs:
        raise bad("the model has no outputs")
    if graph.state and not graph.temporal:
        raise bad("a graph with state must be temporal (one time step per call)")
    for name in graph.inputs:
        if graph.t(name).is_const:
            raise bad(f"input '{name}' is a constant")
    if len(set(graph.inputs)) != len(graph.inputs) or len(set(graph.outputs)) != len(graph.outputs):
        raise bad(f"the model names an input or an output twice (inputs {list(graph.inputs)}, outputs "
                  f"{list(graph.outputs)})")  # fmt: skip
    written = set(graph.inputs)
    for op in graph.ops:
        check_options(graph, op, bad)
        for slot, name in enumerate(op.inputs):
            if not name:
                if op.kind not in ANY_OPTIONAL and slot not in OPTIONAL_INPUTS.get(op.kind, ()):
                    raise bad(f"operator {op.label()} leaves out input {slot} (tensor index -1), which it needs")
                continue  # an optional input left out
            known(name, f"operator {op.label()}")
            t = graph.t(name)
            if not (t.is_const or t.variable or name in written or name in graph.state):
                raise bad(f"operator {op.label()} reads '{name}' before any operator writes it (operators out of "
                          "order, or its producer missing)")  # fmt: skip
        if len(op.inputs) < MIN_INPUTS.get(op.kind, 0):
            raise bad(f"operator {op.label()} has {len(op.inputs)} inputs; it reads at least {MIN_INPUTS[op.kind]}")
        for name in op.outputs:
            known(name, f"operator {op.label()}")
            if graph.t(name).is_const or name in written:
                what = "a constant" if graph.t(name).is_const else "a tensor already written"
                raise bad(f"operator {op.label()} writes '{name}', {what}")
            written.add(name)
    for name in graph.outputs:
        if name not in written:
            what = "a constant" if graph.t(name).is_const else "never written"
            raise bad(f"output '{name}' is {what}: no operator computes it")
    for name in graph.state:
        if name not in written:
            raise bad(f"state '{name}' is never written")


def check_quant(t, label: str, bad) -> None:
    """Scales finite and in ``SCALE_RANGE``, zero points in the type's range, one zero point or one
    per scale, and a per-channel axis that exists with one scale per element along it."""
    q = t.quant
    lo_s, hi_s = SCALE_RANGE
    for i, s in enumerate(q.scale):
        if not (math.isfinite(s) and lo_s <= s <= hi_s):
            where = f"scale {s}" if len(q.scale) == 1 else f"scale[{i}] {s}"
            raise bad(f"{label} has {where}: a scale must be finite and positive, within [{lo_s:g}, {hi_s:g}]")
    lo, hi = INT_RANGE.get(t.dtype, INT_RANGE["int32"])
    for z in q.zero_point:
        if not lo <= z <= hi:
            zp = list(q.zero_point) if len(q.zero_point) <= 4 else f"{z} (one of {len(q.zero_point)})"
            raise bad(f"{label} ({t.dtype}) has zero point {zp}, outside [{lo}, {hi}]")
    if t.dtype in ("int32", "int64") and any(q.zero_point):  # biases: TFLite's quantization spec
        z = next(z for z in q.zero_point if z)
        raise bad(
            f"{label} ({t.dtype}) has zero point {z}: 32- and 64-bit quantized tensors (biases) have zero point 0"
        )
    if len(q.zero_point) not in (1, len(q.scale)):
        raise bad(f"{label} has {len(q.scale)} scales but {len(q.zero_point)} zero points")
    if q.per_channel:
        rank = len(t.shape)
        if not 0 <= q.axis < rank:
            raise bad(f"{label} is quantized per channel on axis {q.axis}, which a rank-{rank} tensor "
                      "does not have")  # fmt: skip
        if len(q.scale) != t.shape[q.axis]:
            raise bad(f"{label} has {len(q.scale)} scales for the {t.shape[q.axis]} channels of its "
                      f"axis {q.axis} (shape {list(t.shape)})")  # fmt: skip


def check_options(graph: Graph, op, bad) -> None:
    """Options in range: a known fused activation and padding, steps (strides, dilations, filter
    sizes) at least 1, an ``axis`` within the rank of the operator's tensors."""
    a = op.attrs
    act = a.get("fused_activation_function", "NONE")
    if act not in ACTIVATIONS:
        raise bad(f"operator {op.label()} has fused activation {act!r}, not one of {', '.join(ACTIVATIONS)}")
    pad = a.get("padding", "SAME")
    if "padding" in a and isinstance(pad, (str, int)) and not isinstance(pad, bool) and pad not in PADDINGS:
        raise bad(f"operator {op.label()} has padding {pad!r}, not one of {', '.join(PADDINGS)}")
    for key in AT_LEAST_ONE:
        v = a.get(key)
        if isinstance(v, int) and not isinstance(v, bool) and v < 1:
            raise bad(f"operator {op.label()} has {key} {v}: it must be at least 1")
    for key, v in a.items():
        if isinstance(v, float) and not math.isfinite(v):
            raise bad(f"operator {op.label()} has {key} {v}: options must be finite numbers")
    if op.kind == "SOFTMAX" and isinstance(a.get("beta"), float) and a["beta"] <= 0:
        raise bad(f"operator {op.label()} has beta {a['beta']}: a softmax's beta is positive")
    dm = a.get("depth_multiplier")
    if isinstance(dm, int) and dm < 0:  # 0: the field left out (the kernels take it from the shapes)
        raise bad(f"operator {op.label()} has depth_multiplier {dm}: it cannot be negative")
    if isinstance(a.get("pads"), (list, tuple)) and any(isinstance(p, int) and p < 0 for p in a["pads"]):
        raise bad(f"operator {op.label()} has pads {list(a['pads'])}: padding cannot be negative")
    axis = a.get("axis")
    if isinstance(axis, int) and not isinstance(axis, bool):
        ranks = [len(graph.t(n).shape) for n in (*op.inputs, *op.outputs) if n and n in graph.tensors]
        rank = max(ranks, default=0)
        # PACK's axis counts the new dimension too: allow one more than the largest rank, either side
        if not -(rank + 1) <= axis <= rank:
            raise bad(f"operator {op.label()} has axis {axis}, outside the rank {rank} of its tensors")
