"""ONNX LSTM and GRU in int8 (``compile M.onnx --calibrate X.npz``) and in QDQ models.

onnxruntime's static quantizer leaves LSTM and GRU in float: it has no QDQ form for them and no
scales for their gates and state. edgeneuro quantizes them in two ways around the quantizer
(``edgeneuro.compress.quantize.quantize_onnx``):

* **LSTM onto the fused int8 kernel** (``en_lstm_s8`` and its DSP form, edgeneuro/ops/lstm.py,
  TFLite's integer LSTM: int8 input and hidden state, int16 cell with a power-of-two scale, int16
  gate intermediates), when the kernel computes the node: default activations, no clip, no
  input_forget, no peepholes, no sequence_lens, zero initial states and Y_c not read. After
  the quantizer ran, ``quantize_lstms`` calibrates each such LSTM on the calibration samples
  (the float model runs in onnxruntime up to the LSTM's input, the LSTM in float numpy:
  ``lstm_float``), and rewrites the QDQ model: the input quantized by a QuantizeLinear /
  DequantizeLinear pair when nothing upstream quantized it (its calibrated range), Y and Y_h by
  pairs with the hidden state's quantization (the range of h over every step and direction:
  the kernel writes its int8 state into the output), and the cell scale of each direction,
  2^ceil(log2(max |c|)) / 2^15, in the model's metadata (``CELL_KEY``). onnxruntime still runs
  the rewritten QDQ model (the LSTM in float between the pairs). The importer
  (``lstm_int8``) then quantizes the weights per gate, per tensor and symmetric (the kernel's
  and TFLite's form: one multiplier per gate product), the bias (Wb + Rb) to int32 at
  s_x * s_w, and emits one UNIDIRECTIONAL_SEQUENCE_LSTM per direction (the reverse one
  between two REVERSE_V2), as the float32 path does.
* **GRU, and LSTM the fused kernel cannot take, unrolled into elementary ONNX operators before
  the quantizer** (``expand_recurrent``): Gemm, Add, Mul, Sub, Sigmoid, Tanh, Relu, Split,
  Squeeze, Unsqueeze, Concat, Transpose, over the fixed sequence length, so that every
  intermediate gets a calibrated scale and the rest of the int8 path applies. Forms it cannot
  write (clip, input_forget, sequence_lens, activations other than Sigmoid / Tanh / Relu, an
  unknown sequence length) are refused with an error naming the node. The recurrent Gemm of
  every step keeps its own copy of R in flash (FULLY_CONNECTED weights are per layer).

A QDQ model given by the user, with an LSTM or GRU in float between DequantizeLinear and
QuantizeLinear (what onnxruntime's quantizer leaves), is compiled as it says (``in_float``): the
int8 input dequantized, the recurrent layer in float32 (the float32 kernels, soft-float on a
board without an FPU), its outputs quantized by the model's QuantizeLinear; a note says so and
points at ``--calibrate`` for the int8 kernel.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from edgeneuro.errors import ModelError
from edgeneuro.ir import QuantParams, Tensor

CELL_KEY = "edgeneuro.lstm_cell_power"  # metadata: {LSTM node name: [cell scale power per direction]}
DIRECTIONS = {"forward": ["fw"], "reverse": ["bw"], "bidirectional": ["fw", "bw"]}
_ACT_OPS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}
_DEFAULT_ACTS = {"LSTM": ["sigmoid", "tanh", "tanh"], "GRU": ["sigmoid", "tanh"]}
_MOVES = ("Transpose", "Reshape", "Squeeze", "Unsqueeze", "Flatten")


def _attr(node: Any, name: str, default: Any = None) -> Any:
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            v = helper.get_attribute_value(a)
            if isinstance(v, bytes):
                return v.decode()
            if isinstance(v, list):
                return [x.decode() if isinstance(x, bytes) else x for x in v]
            return v
    return default


def _where(path: Any, node: Any, index: int) -> str:
    return f"{path}: operator #{index} {node.op_type}" + (f" '{node.name}'" if node.name else "")


def _consts(model: Any) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    consts = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    return consts


def _read(model: Any) -> set[str]:
    """The names some node or graph output reads."""
    read = {o.name for o in model.graph.output}
    for n in model.graph.node:
        read.update(i for i in n.input if i)
    return read


def _input(node: Any, i: int) -> str:
    return node.input[i] if len(node.input) > i else ""


def _zero_or_absent(consts: dict[str, np.ndarray], name: str) -> bool:
    return not name or (name in consts and not np.any(consts[name] != 0))


def fused_lstm_blockers(node: Any, consts: dict[str, np.ndarray], read: set[str]) -> list[str]:
    """Why the fused int8 LSTM kernel cannot compute this ONNX LSTM ([] when it can)."""
    why = []
    dirs = len(DIRECTIONS.get(_attr(node, "direction", "forward"), ["", "", ""]))
    acts = [a.lower() for a in _attr(node, "activations", [])]
    if acts and acts != _DEFAULT_ACTS["LSTM"] * dirs:
        why.append(f"activations {acts}")
    if _attr(node, "clip") is not None:
        why.append("clip")
    if _attr(node, "input_forget", 0):
        why.append("input_forget")
    if _input(node, 4):
        why.append("sequence_lens")
    if _input(node, 7):
        why.append("peepholes (P)")
    for i, what in ((5, "initial_h"), (6, "initial_c")):
        if not _zero_or_absent(consts, _input(node, i)):
            why.append(f"a non-zero or computed {what}")
    if len(node.output) > 2 and node.output[2] and node.output[2] in read:
        why.append("Y_c read")
    if any(_input(node, i) not in consts for i in (1, 2)) or (_input(node, 3) and _input(node, 3) not in consts):
        why.append("computed weights")
    return why


# -- the expansion into elementary operators (before the quantizer) --------------------------------


class _Unroller:
    """Writes ONNX nodes and initializers for one recurrent node, names prefixed by ``base``."""

    def __init__(self, base: str, opset: int) -> None:
        self.base = base
        self.opset = opset
        self.nodes: list[Any] = []
        self.inits: dict[str, np.ndarray] = {}
        self.k = 0

    def name(self, what: str) -> str:
        self.k += 1
        return f"{self.base}/{what}_{self.k}"

    def const(self, what: str, arr: np.ndarray) -> str:
        n = self.name(what)
        self.inits[n] = arr
        return n

    def node(self, op: str, inputs: list[str], what: str, outputs: int = 1, out: str | None = None, **attrs) -> Any:
        from onnx import helper

        names = [out] if out else [self.name(what) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, names, name=self.name(op), **attrs))
        return names if outputs > 1 else names[0]

    def split(self, x: str, sizes: list[int], axis: int, what: str) -> list[str]:
        sz = self.const("split", np.array(sizes, np.int64))
        return self.node("Split", [x, sz], what, outputs=len(sizes), axis=axis)

    def squeeze(self, x: str, axis: int, what: str, out: str | None = None) -> str:
        return self.node("Squeeze", [x, self.const("axes", np.array([axis], np.int64))], what, out=out)

    def unsqueeze(self, x: str, axis: int, what: str, out: str | None = None) -> str:
        return self.node("Unsqueeze", [x, self.const("axes", np.array([axis], np.int64))], what, out=out)

    def concat(self, xs: list[str], axis: int, what: str, out: str | None = None) -> str:
        if len(xs) == 1 and out is None:
            return xs[0]
        return self.node("Concat", xs, what, out=out, axis=axis)

    def gemm(self, x: str, w: np.ndarray, b: np.ndarray | None, what: str) -> str:
        """``x w^T (+ b)``: a Gemm with transB (the quantizer's per-channel axis 0)."""
        ins = [x, self.const(f"{what}_w", np.asarray(w, np.float32))]
        if b is not None:
            ins.append(self.const(f"{what}_b", np.asarray(b, np.float32)))
        return self.node("Gemm", ins, what, transB=1)

    def act(self, kind: str, x: str, what: str) -> str:
        return self.node(_ACT_OPS[kind], [x], what)


def expand_recurrent(model: Any, path: Any = "model") -> Any:
    """``model`` with every GRU, and every LSTM the fused int8 kernel cannot take, replaced by its
    steps in elementary ONNX operators (``_unroll``); an error names a node it cannot write."""
    if not any(n.op_type in ("LSTM", "GRU") for n in model.graph.node):
        return model
    consts = _consts(model)
    read = _read(model)
    shapes = _static_shapes(model)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
    new_nodes = []
    new_inits: dict[str, np.ndarray] = {}
    changed = False
    for index, node in enumerate(model.graph.node):
        if node.op_type not in ("LSTM", "GRU") or node.domain not in ("", "ai.onnx"):
            new_nodes.append(node)
            continue
        if node.op_type == "LSTM" and not fused_lstm_blockers(node, consts, read):
            if _attr(node, "layout", 0):  # onnxruntime runs (calibrates) only layout 0
                new_nodes += _time_major(node, index)
                changed = True
            else:
                new_nodes.append(node)  # the fused kernel's (quantize_lstms)
            continue
        u = _Unroller(node.name or f"{node.op_type.lower()}{index}", opset)
        _unroll(u, node, consts, read, shapes, _where(path, node, index))
        new_nodes += u.nodes
        new_inits.update(u.inits)
        changed = True
    if not changed:
        return model
    from onnx import numpy_helper

    del model.graph.node[:]
    model.graph.node.extend(new_nodes)
    model.graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in new_inits.items())
    return model


def _time_major(node: Any, index: int) -> list[Any]:
    """A layout-1 (batch-first) LSTM as the same LSTM in layout 0 between Transposes."""
    from onnx import helper

    base = node.name or f"lstm{index}"
    x = f"{base}/x_tm"
    nodes = [helper.make_node("Transpose", [node.input[0]], [x], name=f"{base}/x_tm", perm=[1, 0, 2])]
    outs = list(node.output)
    tm = [f"{base}/{o}_tm" if o else "" for o in outs]
    for attr in list(node.attribute):
        if attr.name == "layout":
            node.attribute.remove(attr)
    node.input[0] = x
    for i, o in enumerate(tm):
        node.output[i] = o
    nodes.append(node)
    for o, t, perm in zip(outs, tm, ([2, 0, 1, 3], [1, 0, 2], [1, 0, 2]), strict=False):
        if o:
            nodes.append(helper.make_node("Transpose", [t], [o], name=f"{base}/{o}_bm", perm=perm))
    return nodes


def _static_shapes(model: Any) -> dict[str, tuple]:
    from onnx import shape_inference

    try:
        inferred = shape_inference.infer_shapes(model)
    except Exception:  # the unroller then says which shape it missed
        inferred = model
    out = {}
    for vi in (*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output):
        dims = vi.type.tensor_type.shape.dim
        out[vi.name] = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims)
    return out


def _unroll(u: _Unroller, node: Any, consts: dict, read: set[str], shapes: dict, where: str) -> None:
    op = node.op_type
    gates = 4 if op == "LSTM" else 3
    direction = _attr(node, "direction", "forward")
    tags = DIRECTIONS.get(direction)
    if tags is None:
        raise ModelError(f"{where}: direction {direction!r}")
    acts = [a.lower() for a in _attr(node, "activations", [])] or _DEFAULT_ACTS[op] * len(tags)
    bad = [a for a in acts if a not in _ACT_OPS]
    if bad or len(acts) != len(_DEFAULT_ACTS[op]) * len(tags):
        raise ModelError(f"{where}: activations {acts} cannot be quantized by edgeneuro (Sigmoid, Tanh and Relu can)")
    for attr in ("clip", "input_forget"):
        if _attr(node, attr):
            raise ModelError(f"{where}: {attr} is not supported in int8; compile the float model with "
                             "--precision float")  # fmt: skip
    if _input(node, 4):
        raise ModelError(f"{where}: sequence_lens is not supported (every sequence runs all its steps)")
    w, r = (consts.get(_input(node, i)) for i in (1, 2))
    if w is None or r is None or (_input(node, 3) and _input(node, 3) not in consts):
        raise ModelError(f"{where}: its weights W, R and B must be constants")
    if op == "LSTM" and _input(node, 7) and _input(node, 7) not in consts:
        raise ModelError(f"{where}: its peepholes P must be constant")
    dirs, hidden = w.shape[0], w.shape[1] // gates
    if dirs != len(tags):
        raise ModelError(f"{where}: direction {direction} with weights for {dirs} directions")
    layout = _attr(node, "layout", 0)
    xs = shapes.get(node.input[0], ())
    steps = xs[layout] if len(xs) == 3 else None
    if not steps:
        raise ModelError(f"{where}: its sequence length is not fixed in the model (input '{node.input[0]}' "
                         f"{list(xs) or 'of unknown shape'}); int8 unrolls the steps: export it with a fixed "
                         "length")  # fmt: skip
    b = consts.get(_input(node, 3))
    b = np.zeros((dirs, 2 * gates * hidden), np.float64) if b is None else np.asarray(b, np.float64)
    p = consts.get(_input(node, 7)) if op == "LSTM" else None
    lbr = bool(_attr(node, "linear_before_reset", 0)) if op == "GRU" else False
    outs = [o if o and o in read else "" for o in (*node.output, "", "", "")[:3]]
    x = node.input[0]
    if layout == 1:
        x = u.node("Transpose", [x], "x_tm", perm=[1, 0, 2])
    # the input terms of all steps: one Gemm over [T * B, I], back to [T, B, G H], cut into steps
    flat = u.node("Reshape", [x, u.const("shape", np.array([-1, w.shape[2]], np.int64))], "x_flat")
    init = []
    for i in (5, 6) if op == "LSTM" else (5,):
        name = _input(node, i)
        if _zero_or_absent(consts, name):
            init.append([None] * dirs)
            continue
        axis = 0 if layout == 0 else 1  # [D, B, H] or [B, D, H]
        parts = u.split(name, [1] * dirs, axis, "state0") if dirs > 1 else [name]
        init.append([u.squeeze(s, axis, "state0_d") for s in parts])
    ys, hs, cs = [], [], []
    for d, tag in enumerate(tags):
        pre = f"{tag}"
        a = acts[d * len(_DEFAULT_ACTS[op]) : (d + 1) * len(_DEFAULT_ACTS[op])]
        wb, rb = b[d, : gates * hidden], b[d, gates * hidden :]
        if op == "GRU" and lbr:  # Rb_h stays inside the reset product
            bias = wb + np.concatenate([rb[: 2 * hidden], np.zeros(hidden)])
        else:
            bias = wb + rb
        xw = u.gemm(flat, w[d], bias, f"{pre}_xw")
        xw = u.node("Reshape", [xw, u.const("shape", np.array([steps, -1, gates * hidden], np.int64))], f"{pre}_xw3")
        per_step = u.split(xw, [1] * steps, 0, f"{pre}_xw_t") if steps > 1 else [xw]
        per_step = [u.squeeze(s, 0, f"{pre}_xw_t") for s in per_step]
        h = init[0][d]
        c = init[1][d] if op == "LSTM" else None
        states = [""] * steps
        cells = [""] * steps
        order = range(steps) if tag == "fw" else range(steps - 1, -1, -1)
        for t in order:
            s = f"{pre}_t{t}"
            if op == "LSTM":
                h, c = _lstm_step(u, per_step[t], h, c, r[d], p[d] if p is not None else None, hidden, a, s)
            else:
                h = _gru_step(u, per_step[t], h, r[d], rb, hidden, lbr, a, s)
            states[t], cells[t] = h, c
        if outs[0]:
            ys.append(u.concat([u.unsqueeze(h, 0, f"{pre}_y_t") for h in states], 0, f"{pre}_y"))  # [T, B, H]
        hs.append(h)
        cs.append(c)
    # the outputs keep their names, each made by an operator the quantizer quantizes (no Identity)
    if outs[0]:  # Y: [T, D, B, H] (layout 0) or [B, T, D, H]
        one = layout == 0 and len(ys) == 1
        y4 = [u.unsqueeze(y, 1, "y_d", out=outs[0] if one else None) for y in ys]
        if layout == 0 and not one:
            u.concat(y4, 1, "y", out=outs[0])
        elif layout == 1:
            u.node("Transpose", [u.concat(y4, 1, "y")], "y", out=outs[0], perm=[2, 0, 1, 3])
    for name, last in ((outs[1], hs), (outs[2], cs)):
        if not name:
            continue
        one = layout == 0 and len(last) == 1
        parts = [u.unsqueeze(v, 0, "last", out=name if one else None) for v in last]  # [D, B, H] or [B, D, H]
        if layout == 0 and not one:
            u.concat(parts, 0, "last", out=name)
        elif layout == 1:
            u.node("Transpose", [u.concat(parts, 0, "last")], "last", out=name, perm=[1, 0, 2])


def _lstm_step(u: _Unroller, xw: str, h: str | None, c: str | None, r: np.ndarray, p: np.ndarray | None,
               hidden: int, acts: list[str], s: str) -> tuple[str, str]:  # fmt: skip
    """ONNX's LSTM step, gates i, o, f, c in W / R / B (f, g, h = ``acts``)::

    i = f(xW_i + H R_i + P_i . C + b_i)   f = f(xW_f + H R_f + P_f . C + b_f)   g = g(xW_c + H R_c + b_c)
    C' = f . C + i . g                    o = f(xW_o + H R_o + P_o . C' + b_o)  H' = o . h(C')

    A zero (absent) state leaves out its terms."""
    a = xw if h is None else u.node("Add", [xw, u.gemm(h, r, None, f"{s}_hr")], f"{s}_a")
    gi, go, gf, gc = u.split(a, [hidden] * 4, 1, f"{s}_gate")
    if p is not None and c is not None:
        gi = u.node("Add", [gi, u.node("Mul", [c, u.const("p_i", p[:hidden].astype(np.float32))], f"{s}_pi")],
                    f"{s}_ai")  # fmt: skip
        gf = u.node("Add", [gf, u.node("Mul", [c, u.const("p_f", p[2 * hidden :].astype(np.float32))], f"{s}_pf")],
                    f"{s}_af")  # fmt: skip
    i = u.act(acts[0], gi, f"{s}_i")
    g = u.act(acts[1], gc, f"{s}_g")
    c_new = u.node("Mul", [i, g], f"{s}_ig")
    if c is not None:
        f = u.act(acts[0], gf, f"{s}_f")
        c_new = u.node("Add", [u.node("Mul", [f, c], f"{s}_fc"), c_new], f"{s}_c")
    if p is not None:
        go = u.node("Add", [go, u.node("Mul", [c_new, u.const("p_o", p[hidden : 2 * hidden].astype(np.float32))],
                                         f"{s}_po")], f"{s}_ao")  # fmt: skip
    o = u.act(acts[0], go, f"{s}_o")
    return u.node("Mul", [o, u.act(acts[2], c_new, f"{s}_hc")], f"{s}_h"), c_new


def _gru_step(u: _Unroller, xw: str, h: str | None, r: np.ndarray, rb: np.ndarray, hidden: int, lbr: bool,
              acts: list[str], s: str) -> str:  # fmt: skip
    """ONNX's GRU step, gates z, r, h in W / R / B (f, g = ``acts``)::

    z = f(xW_z + H R_z + b_z)   r = f(xW_r + H R_r + b_r)
    n = g(xW_h + (r . H) R_h + Rb_h + Wb_h)        (linear_before_reset 0)
    n = g(xW_h + r . (H R_h + Rb_h) + Wb_h)        (linear_before_reset 1)
    H' = (1 - z) . n + z . H = n + z . (H - n)

    (the last form needs no constant 1); a zero (absent) state leaves out its terms."""
    x_zr, x_h = u.split(xw, [2 * hidden, hidden], 1, f"{s}_x")
    a_zr = x_zr if h is None else u.node("Add", [x_zr, u.gemm(h, r[: 2 * hidden], None, f"{s}_hzr")], f"{s}_azr")
    z, rg = u.split(u.act(acts[0], a_zr, f"{s}_zr"), [hidden, hidden], 1, f"{s}_zr")
    a_h = x_h
    if lbr:
        h_r = u.gemm(h, r[2 * hidden :], rb[2 * hidden :], f"{s}_hh") if h is not None else \
            u.const("rb_h", rb[2 * hidden :].astype(np.float32))  # fmt: skip
        a_h = u.node("Add", [x_h, u.node("Mul", [rg, h_r], f"{s}_rh")], f"{s}_ah")
    elif h is not None:
        a_h = u.node("Add", [x_h, u.gemm(u.node("Mul", [rg, h], f"{s}_rs"), r[2 * hidden :], None, f"{s}_hh")],
                     f"{s}_ah")  # fmt: skip
    n = u.act(acts[1], a_h, f"{s}_n")
    if h is None:
        return u.node("Sub", [n, u.node("Mul", [z, n], f"{s}_zn")], f"{s}_h")
    return u.node("Add", [n, u.node("Mul", [z, u.node("Sub", [h, n], f"{s}_d")], f"{s}_zd")], f"{s}_h")


# -- the fused LSTM: calibration and the QDQ rewrite (after the quantizer) ---------------------------


def lstm_float(x: np.ndarray, w: np.ndarray, r: np.ndarray, b: np.ndarray | None, reverse: bool):
    """One direction of ONNX's LSTM in float64 from zero state, x [T, B, I]: (h of every step
    [T, B, H] in time order, c of every step [T, B, H])."""
    hidden = r.shape[1]
    bias = np.zeros(8 * hidden) if b is None else np.asarray(b, np.float64)
    bias = bias[: 4 * hidden] + bias[4 * hidden :]
    h = np.zeros((x.shape[1], hidden))
    c = np.zeros_like(h)
    hs, cs = np.zeros((x.shape[0], *h.shape)), np.zeros((x.shape[0], *h.shape))
    for t in range(x.shape[0])[::-1] if reverse else range(x.shape[0]):
        a = x[t] @ np.asarray(w, np.float64).T + h @ np.asarray(r, np.float64).T + bias
        i, o, f, g = (a[:, k * hidden : (k + 1) * hidden] for k in range(4))
        sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * np.tanh(c)
        hs[t], cs[t] = h, c
    return hs, cs


def activation_qparams(lo: float, hi: float) -> tuple[float, int]:
    """int8 asymmetric quantization of the range [lo, hi] widened to hold 0, as onnxruntime's
    MinMax calibrator computes it for activations: scale = (hi - lo) / 255, zero point
    round(-128 - lo / scale)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi == lo:
        return 1.0, 0
    scale = float(np.float32((hi - lo) / 255))
    return scale, int(np.clip(round(-128 - lo / scale), -128, 127))


def cell_power(max_abs: float) -> int:
    """The power of two of the int16 cell scale: the smallest 2^k >= max |c| is 32768 steps."""
    return math.ceil(math.log2(max(max_abs, 2.0**-8))) - 15


def quantize_lstms(qdq_path: Any, float_path: Any, feeds: list[dict[str, np.ndarray]]) -> bool:
    """Calibrates the fused-kernel LSTMs of the QDQ model ``qdq_path`` (quantized from the float
    model ``float_path`` by onnxruntime, which left them float) on ``feeds`` (one input dict per
    sample) and rewrites the model in place (see the module's docstring). False: no such LSTM."""
    import onnx
    import onnxruntime as ort
    from onnx import helper

    model = onnx.load(str(qdq_path))
    consts = _consts(model)
    read = _read(model)
    lstms = [n for n in model.graph.node if n.op_type == "LSTM" and not fused_lstm_blockers(n, consts, read)]
    if not lstms:
        return False
    fmodel = onnx.load(str(float_path))
    f_lstms = [n for n in fmodel.graph.node if n.op_type == "LSTM"]
    f_lstms = [n for n in f_lstms if not fused_lstm_blockers(n, _consts(fmodel), _read(fmodel))]
    if len(f_lstms) != len(lstms):
        raise ModelError(f"{float_path}: the quantized model has {len(lstms)} LSTMs, the float one {len(f_lstms)}")
    outputs = {o.name for o in fmodel.graph.output}
    for n in f_lstms:
        if n.input[0] not in outputs:
            fmodel.graph.output.append(helper.make_empty_tensor_value_info(n.input[0]))
            outputs.add(n.input[0])
    sess = ort.InferenceSession(fmodel.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [n.input[0] for n in f_lstms]
    xs = [[] for _ in names]
    for feed in feeds:
        for k, v in enumerate(sess.run(names, feed)):
            xs[k].append(np.asarray(v, np.float64))
    producer = {o: n for n in model.graph.node for o in n.output}
    powers = json.loads(next((p.value for p in model.metadata_props if p.key == CELL_KEY), "{}"))
    added: list[tuple[Any, list[Any], list[Any]]] = []  # (LSTM, nodes before it, nodes after it)
    for k, node in enumerate(lstms):
        if not node.name:
            node.name = f"lstm{k}_{node.output[0] or node.output[1]}"
        layout = _attr(node, "layout", 0)
        w, r = consts[node.input[1]], consts[node.input[2]]
        b = consts.get(_input(node, 3))
        direction = _attr(node, "direction", "forward")
        h_lo, h_hi, cmax = 0.0, 0.0, [0.0] * w.shape[0]
        for x in xs[k]:
            x = x if layout == 0 else x.transpose(1, 0, 2)
            for d, tag in enumerate(DIRECTIONS[direction]):
                hs, cs = lstm_float(x, w[d], r[d], None if b is None else b[d], tag == "bw")
                h_lo, h_hi = min(h_lo, hs.min()), max(h_hi, hs.max())
                cmax[d] = max(cmax[d], float(np.abs(cs).max()))
        powers[node.name] = [cell_power(m) for m in cmax]
        pre: list[Any] = []
        src = producer.get(node.input[0])
        if src is None or src.op_type != "DequantizeLinear":  # quantize the LSTM's input at its range
            lo = min(float(x.min()) for x in xs[k])
            hi = max(float(x.max()) for x in xs[k])
            pre = _qdq(model, node.input[0], f"{node.name}_x", *activation_qparams(lo, hi))
            node.input[0] = pre[-1].output[0]
        hscale, hzp = activation_qparams(h_lo, h_hi)
        post = []
        for out in node.output[:2]:
            if not out or out not in read:
                continue
            for user in [n for n in model.graph.node if out in n.input and n.op_type == "QuantizeLinear"]:
                _to_identity(model, user)  # the quantizer's pair: the hidden state's quantization replaces it
            raw = f"{out}_lstm"
            _rename_output(node, out, raw)
            post += _qdq(model, raw, f"{out}_h", hscale, hzp, out=out)
            graph_out = {o.name for o in model.graph.output}
            for move in [n for n in model.graph.node if out in n.input and n.op_type in _MOVES]:
                if move.output[0] in graph_out:  # a layout move the quantizer left float: same quantization
                    moved = move.output[0]
                    move.output[0] = f"{moved}_moved"
                    added.append((move, [], _qdq(model, move.output[0], f"{moved}_h", hscale, hzp, out=moved)))
        added.append((node, pre, post))
    nodes = list(model.graph.node)
    del model.graph.node[:]
    for n in nodes:
        pre, post = next(((p, q) for m, p, q in added if _key(m) == _key(n)), ([], []))
        model.graph.node.extend([*pre, n, *post])
    for p in list(model.metadata_props):
        if p.key == CELL_KEY:
            model.metadata_props.remove(p)
    model.metadata_props.add(key=CELL_KEY, value=json.dumps(powers))
    onnx.save(model, str(qdq_path))
    return True


def _key(node: Any) -> tuple:
    return node.op_type, node.name, tuple(node.input), tuple(node.output)


def _to_identity(model: Any, q: Any) -> None:
    """A QuantizeLinear and the DequantizeLinear nodes of its output made Identity nodes."""
    for n in [q, *(n for n in model.graph.node if n.op_type == "DequantizeLinear" and n.input[0] == q.output[0])]:
        n.op_type = "Identity"
        del n.input[1:]
        del n.attribute[:]


def _rename_output(node: Any, old: str, new: str) -> None:
    for i, o in enumerate(node.output):
        if o == old:
            node.output[i] = new


def _qdq(model: Any, src: str, base: str, scale: float, zp: int, out: str | None = None) -> list[Any]:
    """A QuantizeLinear / DequantizeLinear pair on ``src`` (initializers added to ``model``)."""
    from onnx import helper, numpy_helper

    s, z = f"{base}_scale", f"{base}_zero_point"
    model.graph.initializer.append(numpy_helper.from_array(np.array(scale, np.float32), s))
    model.graph.initializer.append(numpy_helper.from_array(np.array(zp, np.int8), z))
    q = helper.make_node("QuantizeLinear", [src, s, z], [f"{base}_q"], name=f"{base}_QuantizeLinear")
    dq = helper.make_node("DequantizeLinear", [f"{base}_q", s, z], [out or f"{base}_dq"],
                          name=f"{base}_DequantizeLinear")  # fmt: skip
    return [q, dq]


# -- import ---------------------------------------------------------------------------------------


def cell_powers(model: Any, node: Any) -> list[int] | None:
    for p in model.metadata_props:
        if p.key == CELL_KEY:
            return json.loads(p.value).get(node.name)
    return None


def _symmetric(w: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-tensor symmetric int8 (TFLite's LSTM weights): scale max |w| / 127."""
    m = float(np.abs(w).max())
    scale = float(np.float32(m / 127)) if m > 0 else 1.0
    return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale


def lstm_int8(imp: Any, node: Any) -> None:
    """The int8 import of an LSTM: on the fused kernel when ``quantize_lstms`` calibrated it (its
    cell scales in the metadata), else as the QDQ model says, in float (``in_float``)."""
    from edgeneuro.frontends.onnx import Value

    powers = cell_powers(imp.model, node)
    if powers is None:
        return in_float(imp, node)
    why = fused_lstm_blockers(node, imp.consts, {n for n in imp.consumers} | {o.name for o in imp.g.output})
    if why:
        raise imp.unsupported(node, f"calibrated for the fused kernel, which cannot take its {', '.join(why)}")
    direction = _attr(node, "direction", "forward")
    tags = DIRECTIONS[direction]
    w, r = imp.consts[node.input[1]], imp.consts[node.input[2]]
    b = imp.consts.get(_input(node, 3))
    layout = _attr(node, "layout", 0)
    xv = imp.value(node.input[0], node)
    x = imp.to_layout(xv, "onnx", node)
    xt = imp.tensors[x]
    if len(xt.shape) != 3 or xt.quant is None or len(xt.quant.scale) != 1:
        raise imp.unsupported(node, f"its input '{node.input[0]}' must be 3-D and quantized per tensor")
    steps, batch = (xt.shape[0], xt.shape[1]) if layout == 0 else (xt.shape[1], xt.shape[0])
    dirs, hidden = w.shape[0], w.shape[1] // 4
    if len(tags) != dirs or len(powers) != dirs:
        raise imp.unsupported(node, f"direction {direction} with weights for {dirs} directions")
    outs = [o if o and (imp.users(o) or imp.is_output(o)) else "" for o in (*node.output, "", "")[:2]]
    quants = {o: imp.output_quant(node, o) for o in outs if o}
    if not quants:
        return
    hq = quants[outs[0] or outs[1]][1]  # the kernel writes its hidden state into the output
    if len(hq.scale) != 1:
        raise imp.unsupported(node, "its output must be quantized per tensor")
    base = node.name or node.output[0] or "lstm"
    time_axis = 0 if layout == 0 else 1
    onnx_gate = {"input": 0, "output": 1, "forget": 2, "cell": 3}  # ONNX's i, o, f, c blocks
    order = ("input", "forget", "cell", "output")  # TFLite's operands 1-4, 5-8, 12-15
    ys, lasts = [], []
    for d, tag in enumerate(tags):
        src = x if tag == "fw" else imp.reverse(x, time_axis, f"{base}_{tag}_in", node)
        operands = [src]
        in_scales = {}
        for mat, what in ((w, "w"), (r, "r")):
            for gate in order:
                k = onnx_gate[gate]
                q, s = _symmetric(np.asarray(mat[d, k * hidden : (k + 1) * hidden], np.float64))
                if what == "w":
                    in_scales[gate] = s
                operands.append(imp.const(f"{base}_{tag}_{what}_{gate}", q, QuantParams((s,), (0,))))
        operands += ["", "", ""]
        bias = np.zeros(8 * hidden) if b is None else np.asarray(b[d], np.float64)
        for gate in order:
            k = onnx_gate[gate]
            bg = bias[k * hidden : (k + 1) * hidden] + bias[(4 + k) * hidden : (5 + k) * hidden]
            bs = float(np.float32(xt.quant.scale[0]) * np.float32(in_scales[gate]))
            bq = np.clip(np.round(bg / bs), -(2**31), 2**31 - 1).astype(np.int32)
            operands.append(imp.const(f"{base}_{tag}_b_{gate}", bq, QuantParams((bs,), (0,))))
        operands += ["", ""]
        for state, dtype, quant in (("h", "int8", hq), ("c", "int16", QuantParams((2.0 ** powers[d],), (0,)))):
            name = imp.add_tensor(f"{base}_{tag}_{state}", (batch, hidden), dtype)
            imp.tensors[name] = Tensor(name, (batch, hidden), dtype, quant, variable=True)
            operands.append(name)
        operands += ["", "", "", ""]
        shape = (steps, batch, hidden) if layout == 0 else (batch, steps, hidden)
        y = imp.add_tensor(f"{base}_{tag}", shape, "int8", hq)
        imp.emit("UNIDIRECTIONAL_SEQUENCE_LSTM", operands, [y], node, fused_activation_function="TANH",
                 cell_clip=0.0, proj_clip=0.0, time_major=layout == 0)  # fmt: skip
        if outs[1]:
            lasts.append(imp.last_step(y, time_axis, node))
        if tag == "bw":
            y = imp.reverse(y, time_axis, f"{base}_{tag}_out", node)
        ys.append(imp.reshape(y, (steps, 1, batch, hidden) if layout == 0 else (batch, steps, 1, hidden), node))
    for out, parts, axis in ((outs[0], ys, 1 if layout == 0 else 2), (outs[1], lasts, 0 if layout == 0 else 1)):
        if not out:
            continue
        yq_name, yq, act = quants[out]
        if act != "NONE":
            raise imp.unsupported(node, f"a {act} after its output '{out}'")
        v = imp.concat(parts, axis, node)
        t = imp.tensors[v]
        if not _same(t.quant, yq):  # Y_h quantized unlike Y: requantize
            y = imp.add_tensor(yq_name, t.shape, "int8", yq)
            imp.emit("QUANTIZE", [v], [y], node)
            v = y
        imp.values[yq_name] = Value(v)


def _same(a: QuantParams | None, b: QuantParams | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.zero_point == b.zero_point and all(
        abs(x - y) <= 1e-6 * abs(y) for x, y in zip(a.scale, b.scale, strict=True)
    )


def in_float(imp: Any, node: Any) -> None:
    """An LSTM / GRU of a QDQ model, which the model computes in float between DequantizeLinear
    and QuantizeLinear: the same in float32 (the float32 handler), its int8 inputs dequantized
    first; its outputs are float values that the model's QuantizeLinear quantize."""
    from edgeneuro.frontends.onnx import note

    if not any(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in imp.g.node):  # a float model
        raise imp.unsupported(node, f"{node.op_type} compiles in float32 (--precision float on a float model) "
                              "or in int8 with --calibrate (edgeneuro quantizes the float model and its "
                              f"{node.op_type})")  # fmt: skip
    saved: dict[str, Any] = {}
    for i in (0, 5, 6):  # X, initial_h, initial_c when computed
        name = _input(node, i)
        if not name or name in imp.consts or name in saved:
            continue
        v = imp.value(name, node) if name not in imp.float_values else imp.values[name]
        saved[name] = v
        if name in imp.float_values:
            continue
        src = imp.to_layout(v, "onnx", node)
        f = imp.add_tensor(f"{name}_float", imp.tensors[src].shape, "float32")
        imp.emit("DEQUANTIZE", [src], [f], node)
        imp.values[name] = type(v)(f)
    mode = (imp.float_mode, imp.adt)
    imp.float_mode, imp.adt = True, "float32"
    try:
        getattr(type(imp), f"op_{node.op_type}")(imp, node)
    finally:
        imp.float_mode, imp.adt = mode
        for name, v in saved.items():
            imp.values[name] = v
    for out in node.output:
        if out and out in imp.values:
            imp.float_values.add(out)
    note(f"{imp.path}: {node.op_type} '{node.name or node.output[0]}' runs in float32 between its "
         "DequantizeLinear and QuantizeLinear, as the QDQ model computes it; for edgeneuro's int8 kernels "
         "quantize the float model with --calibrate")  # fmt: skip
