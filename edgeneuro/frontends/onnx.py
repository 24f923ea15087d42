"""ONNX → ``ir.Graph``, for QDQ int8 models (``onnxruntime.quantization.quantize_static``,
QuantFormat.QDQ, int8 activations and weights), and with ``precision="float"`` (``--precision
float``) for float models, which then map to the IR's float32 kernels (no QDQ; LSTM and GRU only
there).

A QDQ model computes in float between QuantizeLinear / DequantizeLinear pairs; edgeneuro reads each
``DequantizeLinear → op → QuantizeLinear`` group as one int8 operator with the scales and zero
points of the pairs, the way an integer runtime does. ONNX is NCHW and the kernels are NHWC: 4-D
activations are moved to NHWC once (a TRANSPOSE after the input is quantized), constants are
permuted at compile time, and tensors go back to the ONNX layout only where the graph needs it
(Flatten/Reshape of a spatial tensor, a graph output). Conv1d tensors [N, C, L] run as
[N, 1, L, C].

Rounding: onnxruntime requantizes with a float32 multiply and round-half-to-even; edgeneuro's
kernels use TFLite's fixed-point arithmetic. Results may differ by one step of the output
quantization where a value falls near a rounding boundary (see the README for the measured
agreement).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeneuro.errors import EdgeNeuroError, ModelError, UnsupportedOperator
from edgeneuro.ir import Graph, Op, QuantParams, Tensor

MIN_OPSET = 13
NP_DTYPES = {np.dtype(np.int8): "int8", np.dtype(np.int32): "int32", np.dtype(np.float32): "float32",
             np.dtype(np.int64): "int64", np.dtype(np.uint8): "uint8", np.dtype(np.int16): "int16"}  # fmt: skip
NCHW_TO_NHWC = (0, 2, 3, 1)
NHWC_TO_NCHW = (0, 3, 1, 2)
FLOAT_HINT = (
    "edgeneuro compiles QDQ int8 ONNX models; quantize a float model with `--calibrate data.npy`, or "
    "compile it in float32 with `--precision float`"
)
QDQ_IN_FLOAT = "--precision float compiles float models, and this one is quantized (QDQ); compile it without the flag"
# never folded: a DequantizeLinear (of a constant it is a quantized weight; the handler also keeps its float
# value as a constant) and nodes
# whose result is not a function of their inputs alone
NO_FOLD = {"DequantizeLinear", "RandomNormal", "RandomNormalLike", "RandomUniform",
           "RandomUniformLike", "Multinomial", "Bernoulli", "If", "Loop", "Scan"}  # fmt: skip
RECURRENT = ("LSTM", "GRU", "RNN")  # their layout-0 input is [time, batch, features]: dimension 0 is no batch
SHAPE_OF = {"Shape", "Size"}  # their result depends on the input's shape only
# operators edgeneuro maps that onnxruntime's quantize_static leaves float unless op_types_to_quantize
# names them (with its defaults, QLinearOpsRegistry and QDQRegistry)
EXTRA_QUANTIZED_OPS = ("Tanh", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum", "Div", "Pow", "Max", "Min", "Neg",
                       "Abs", "Erf", "Gelu", "Sub")  # fmt: skip
# operators edgeneuro computes only at compile time, on constants and shapes
FOLDABLE_ONLY = {"Shape", "Size", "ConstantOfShape", "Range", "Expand", "Cast", "Equal", "Where",
                 "Floor", "Ceil", "Mod", "Sqrt", "Not", "NonZero",
                 "ReduceProd", "Tile", "CastLike", "ScatterND", "Less", "Greater"}  # fmt: skip


def note(msg: str) -> None:
    print(f"edgeneuro: note: {msg}", file=sys.stderr)


def parse_shapes(specs: list[str] | None) -> dict[str, tuple[int, ...]]:
    """``["x=1x3x32x32", ...]`` → ``{"x": (1, 3, 32, 32)}``."""
    shapes: dict[str, tuple[int, ...]] = {}
    for spec in specs or []:
        name, sep, dims = spec.partition("=")
        try:
            if not sep or not name:
                raise ValueError
            shapes[name] = tuple(int(d) for d in dims.lower().split("x"))
        except ValueError:
            raise ModelError(f"--shape {spec!r}: expected NAME=D0xD1x..., e.g. input=1x23x256") from None
    return shapes


@dataclass
class Value:
    """An ONNX tensor as the IR sees it: an IR tensor name and its layout (``onnx``: same axes
    as in ONNX; ``nhwc``: a 4-D NCHW tensor moved to NHWC; ``nlc``: a 3-D NCL tensor held as
    [N, 1, L, C])."""

    name: str
    layout: str = "onnx"


class _Importer:
    def __init__(self, path: Path, model: Any, shapes: dict[str, tuple[int, ...]], precision: str = "int8") -> None:
        from onnx import numpy_helper

        self.path = path
        # "float": a float model (no QDQ) computed in float32 by the float32 kernels
        self.float_mode = precision == "float"
        self.adt = "float32" if self.float_mode else "int8"  # the dtype of computed activations
        self.model = model
        self.g = model.graph
        self.tensors: dict[str, Tensor] = {}
        self.ops: list[Op] = []
        self.values: dict[str, Value] = {}  # ONNX float tensor name -> IR value
        self.dequantized: dict[str, Value] = {}  # a graph output that is a DequantizeLinear's -> its float value
        self.cache: dict[tuple[str, str], str] = {}  # (IR name, layout) -> converted IR name
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), MIN_OPSET)
        self.consts = {}
        for i in self.g.initializer:
            try:
                self.consts[i.name] = numpy_helper.to_array(i)
            except Exception as e:  # data that does not fit its dims or type: a corrupt file
                raise ModelError(
                    f"{path}: initializer '{i.name}' (type {i.data_type}, dims {list(i.dims)}) cannot "
                    f"be read: {type(e).__name__}: {e}"
                ) from e
            if any(d < 0 for d in i.dims):
                raise ModelError(f"{path}: initializer '{i.name}' has dims {list(i.dims)}")
        self.consumers: dict[str, list[Any]] = {}
        for n in self.g.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)
        self.index = {id(n): i for i, n in enumerate(self.g.node)}
        for n in self.g.node:  # read ahead: a QuantizeLinear's scale may be a Constant defined after its producer
            if n.op_type == "Constant":
                self.consts[n.output[0]] = self.evaluate(n, [])[0]
        self.skip: set[int] = set()  # nodes another handler consumed (a BatchNormalization folded into its Conv)
        self.notes: list[str] = []
        self.shapes = shapes
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self.float_values: set[str] = set()  # ONNX names of float values: the inputs, and layout ops on them

    # -- errors ---------------------------------------------------------------------------------
    def unsupported(self, node: Any, why: str) -> UnsupportedOperator:
        return UnsupportedOperator(str(self.path), node.op_type, self.index[id(node)], why)

    # -- tensors --------------------------------------------------------------------------------
    def add_tensor(self, name: str, shape, dtype: str, quant: QuantParams | None = None, data=None) -> str:
        base, k = name, 1
        while name in self.tensors:
            name, k = f"{base}_{k}", k + 1
        self.tensors[name] = Tensor(name, tuple(int(d) for d in shape), dtype, quant, data)
        return name

    def emit(self, kind: str, inputs, outputs, node: Any | None, **attrs: Any) -> None:
        index = self.index[id(node)] if node is not None else -1
        self.ops.append(Op(kind, tuple(inputs), tuple(outputs), attrs, index))

    def const(self, name: str, arr: np.ndarray, quant: QuantParams | None = None) -> str:
        arr = np.ascontiguousarray(arr)
        return self.add_tensor(name, arr.shape, NP_DTYPES[arr.dtype], quant, arr)

    # -- layouts --------------------------------------------------------------------------------
    def shape(self, v: Value) -> tuple[int, ...]:
        return self.tensors[v.name].shape

    def onnx_shape(self, v: Value) -> tuple[int, ...]:
        s = self.shape(v)
        if v.layout == "nhwc":
            return tuple(s[i] for i in NHWC_TO_NCHW)
        if v.layout == "nlc":
            return (s[0], s[3], s[2])
        return s

    def transpose(self, name: str, perm: tuple[int, ...], node: Any | None) -> str:
        t = self.tensors[name]
        if t.is_const:
            return self.const(f"{name}_t", np.transpose(t.data, perm), t.quant)
        out = self.add_tensor(f"{name}_t", [t.shape[i] for i in perm], t.dtype, t.quant)
        perm_t = self.const(f"{out}_perm", np.array(perm, np.int32))
        self.emit("TRANSPOSE", [name, perm_t], [out], node)
        return out

    def reshape(self, name: str, shape: tuple[int, ...], node: Any | None) -> str:
        t = self.tensors[name]
        if t.is_const:
            return self.const(f"{name}_r", t.data.reshape(shape), t.quant)
        out = self.add_tensor(f"{name}_r", shape, t.dtype, t.quant)
        self.emit("RESHAPE", [name], [out], node)
        return out

    def to_layout(self, v: Value, layout: str, node: Any | None) -> str:
        """The IR tensor holding ``v`` in ``layout``; conversions are emitted once and cached."""
        if v.layout == layout:
            return v.name
        key = (v.name, layout)
        if key not in self.cache:
            if v.layout == "nhwc":
                name = self.transpose(v.name, NHWC_TO_NCHW, node)
            elif v.layout == "nlc":  # [N, 1, L, C] -> [N, L, C] -> [N, C, L]
                n, _, length, c = self.shape(v)
                name = self.transpose(self.reshape(v.name, (n, length, c), node), (0, 2, 1), node)
            elif layout == "nhwc":
                name = self.transpose(v.name, NCHW_TO_NHWC, node)
            else:  # onnx [N, C, L] -> nlc
                n, c, length = self.shape(v)
                name = self.reshape(self.transpose(v.name, (0, 2, 1), node), (n, 1, length, c), node)
            if v.layout != "onnx" and layout != "onnx":
                name = self.to_layout(Value(name), layout, node)
            self.cache[key] = name
        return self.cache[key]

    # -- quantization ---------------------------------------------------------------------------
    def qparams(self, scale_name: str, zp_name: str | None, axis: int = 1) -> QuantParams:
        scale = np.atleast_1d(self.consts[scale_name]).astype(np.float32)
        zp = np.atleast_1d(self.consts[zp_name]) if zp_name else np.zeros(len(scale), np.int64)
        return QuantParams(tuple(float(s) for s in scale), tuple(int(z) for z in zp), axis if len(scale) > 1 else 0)

    def output_quant(self, node: Any, out: str | None = None) -> tuple[str, QuantParams, str]:
        """The QuantizeLinear that quantizes ``node``'s output (``out``, default the first), through
        a Relu/Clip that the quantized range makes redundant or that becomes a fused activation.
        Returns (ONNX name of the quantized output, its parameters, fused activation)."""
        out = out or node.output[0]
        act = "NONE"
        users = self.users(out)
        if self.float_mode:  # no quantization; a Relu / Clip that only reads this output is fused
            if (len(users) == 1 and users[0].op_type in ("Relu", "Clip") and not self.is_output(out)
                    and self.float_activation(users[0]) is not None):  # fmt: skip
                self.skip.add(id(users[0]))
                return users[0].output[0], None, self.float_activation(users[0])
            return out, None, act
        if len(users) == 1 and users[0].op_type in ("Relu", "Clip"):
            act = "RELU" if users[0].op_type == "Relu" else self.clip_activation(users[0])
            out = users[0].output[0]
            users = self.users(out)
        qs = [u for u in users if u.op_type == "QuantizeLinear"]
        if len(qs) != 1 or len(users) != 1:
            raise self.unsupported(
                node,
                f"its output is not quantized ({FLOAT_HINT})",
            )
        q = qs[0]
        quant = self.qparams(q.input[1], q.input[2] if len(q.input) > 2 else None)
        return q.output[0], quant, act

    def is_output(self, name: str) -> bool:
        return any(o.name == name for o in self.g.output)

    def float_activation(self, node: Any) -> str | None:
        """The fused activation a float Relu / Clip is (None: a Clip with other bounds)."""
        if node.op_type == "Relu":
            return "RELU"
        try:
            return self.clip_activation(node)
        except UnsupportedOperator:
            return None

    def users(self, name: str) -> list[Any]:
        """The nodes that read ``name``'s values (Shape / Size read only its shape)."""
        return [u for u in self.consumers.get(name, []) if u.op_type not in SHAPE_OF]

    def batchnorm_after(self, node: Any) -> Any | None:
        """The BatchNormalization that directly follows ``node`` (through the QuantizeLinear →
        DequantizeLinear pair onnxruntime puts between them), to fold into it; None if there is none."""
        if self.float_mode:  # float models: folded before the import (fold_batchnorm_float)
            return None
        out = node.output[0]
        chain = []
        for op_type in ("QuantizeLinear", "DequantizeLinear"):
            users = self.users(out)
            if len(users) != 1 or users[0].op_type != op_type:
                break
            chain.append(users[0])
            out = users[0].output[0]
        users = self.users(out)
        if len(users) != 1 or users[0].op_type != "BatchNormalization" or len(chain) == 1:
            return None
        if any(o.name == out for o in self.g.output):
            return None
        self.skip.update(id(n) for n in (*chain, users[0]))
        return users[0]

    def fold_batchnorm(self, bn: Any, w: np.ndarray, wq: QuantParams, out_axis: int, bias: str | None,
                       x_scale: float) -> tuple[np.ndarray, QuantParams, str]:  # fmt: skip
        """Folds ``bn`` into int8 weights ``w`` (output channels on ``out_axis``) and the int32 bias:
        ``y = s * (conv + b - mean) + beta``, ``s = gamma / sqrt(var + eps)``. Each output channel's
        weight scale is multiplied by ``|s|`` (weights negated where ``s < 0``), so the int8 weights
        stay as onnxruntime quantized them; the bias is requantized to ``x_scale * weight scale``."""
        missing = [i for i in bn.input[1:5] if i not in self.consts]
        if missing:
            raise self.unsupported(bn, f"its parameter '{missing[0]}' is not constant")
        gamma, beta, mean, var = (self.consts[i].astype(np.float64).reshape(-1) for i in bn.input[1:5])
        scale = gamma / np.sqrt(var + _attr(bn, "epsilon", 1e-5))
        oc = w.shape[out_axis]
        if any(z != 0 for z in wq.zero_point) or scale.size not in (1, oc):
            raise self.unsupported(bn, "folding it needs symmetric weights and one parameter per output channel")
        scale, shift = np.broadcast_to(scale, (oc,)), np.broadcast_to(beta - mean * scale, (oc,))
        wscale = np.broadcast_to(np.asarray(wq.scale, np.float64), (oc,))
        along = [1] * w.ndim
        along[out_axis] = oc
        wi = w.astype(np.int64) * np.where(scale < 0, -1, 1).reshape(along)
        new_scale = np.where(scale == 0, wscale, wscale * np.abs(scale))
        wi = np.where(scale.reshape(along) == 0, 0, wi)
        over = np.moveaxis(wi, out_axis, 0).reshape(oc, -1).max(axis=1) > 127  # -(-128): requantize that channel
        if over.any():
            wi = np.moveaxis(wi, out_axis, 0).astype(np.float64)
            for c in np.flatnonzero(over):
                real = wi[c] * new_scale[c]
                new_scale[c] = np.abs(real).max() / 127
                wi[c] = np.round(real / new_scale[c])
            wi = np.moveaxis(wi, 0, out_axis)
        b = np.zeros(oc)
        if bias is not None:
            t = self.tensors[bias]
            b = t.data.astype(np.float64) * np.asarray(t.quant.scale, np.float64)
        bscale = x_scale * new_scale
        bq = np.clip(np.round((b * scale + shift) / bscale), -(2**31), 2**31 - 1).astype(np.int32)
        bname = self.const(f"{bn.output[0]}_bias", bq, QuantParams(tuple(bscale), (0,) * oc, 0))
        return wi.astype(np.int8), QuantParams(tuple(new_scale), (0,) * oc, out_axis), bname

    def clip_activation(self, node: Any) -> str:
        lo = self.consts.get(node.input[1]) if len(node.input) > 1 and node.input[1] else None
        hi = self.consts.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        lo, hi = (None if v is None else float(v) for v in (lo, hi))
        if lo == 0.0 and hi is None:
            return "RELU"
        if lo == 0.0 and hi == 6.0:
            return "RELU6"
        raise self.unsupported(node, f"Clip({lo}, {hi}) is not a ReLU or ReLU6")

    def value(self, name: str, node: Any) -> Value:
        if self.float_mode:
            if name not in self.values and name in self.consts:  # a float constant (weights, bias, operand)
                arr = np.asarray(self.consts[name])
                if arr.dtype == np.float64 or arr.dtype == np.float16:
                    arr = arr.astype(np.float32)
                if arr.dtype not in NP_DTYPES:
                    raise self.unsupported(node, f"constant '{name}' is {arr.dtype}")
                self.values[name] = Value(self.const(name, arr))
            if name in self.values:
                return self.values[name]
            raise self.unsupported(node, f"input '{name}' is not produced by a supported operator")
        if name in self.values and name not in self.float_values:
            return self.values[name]
        raise self.unsupported(node, f"input '{name}' is float, not a quantized value ({FLOAT_HINT})")

    # -- the walk -------------------------------------------------------------------------------
    def run(self) -> Graph:
        batch = []
        for inp in self.g.input:
            if inp.name in self.consts:
                continue
            batch += self.graph_input(inp)
        if batch:
            note(f"{self.path}: unbound batch dimension of {', '.join(batch)} set to 1 (bind it with --shape)")
        self.find_gelus()  # fused patterns: their nodes skipped but the last, whose handler is in self.fused
        for node in self.g.node:
            if id(node) in self.skip or node.op_type == "Constant":
                continue
            try:
                if self.fold(node):
                    continue
                handler = self.fused.get(id(node)) or getattr(self, f"op_{node.op_type}", None)
                if handler is None:
                    raise self.unsupported(node, self.why_not(node))
                self.check_arity(node)
                handler(node)
            except EdgeNeuroError:
                raise
            except Exception as e:  # a form of the operator the handler did not foresee: one line, no traceback
                raise self.unsupported(node, f"cannot read this form of it ({type(e).__name__}: {e})") from e
        for out in self.g.output:
            self.graph_output(out)
        return Graph(
            name=self.path.stem, source=str(self.path), tensors=self.tensors, ops=tuple(self.ops),
            inputs=tuple(self.inputs), outputs=tuple(self.outputs),
        )  # fmt: skip

    def check_arity(self, node: Any) -> None:
        """As many inputs and outputs as the operator's ONNX schema allows (a Transpose with three
        inputs is a corrupt file, not a Transpose)."""
        from onnx import defs

        if node.domain not in ("", "ai.onnx") or id(node) in self.fused:
            return
        try:
            schema = defs.get_schema(node.op_type, self.opset, "")
        except Exception:  # an operator onnx does not know at this opset: its handler decides
            return
        n_in = len(node.input)
        if not schema.min_input <= n_in <= schema.max_input:
            raise self.unsupported(node, f"{n_in} inputs; the ONNX operator takes {schema.min_input} to "
                                         f"{schema.max_input}")  # fmt: skip
        n_out = len(node.output)
        if not 1 <= n_out <= schema.max_output:
            raise self.unsupported(node, f"{n_out} outputs; the ONNX operator has 1 to {schema.max_output}")

    def graph_input(self, inp: Any) -> list[str]:
        """Adds the float input; returns ``["'x' ('N')"]`` when its unbound leading (batch)
        dimension was set to 1, else ``[]``. Other unbound dimensions need ``--shape``."""
        dims: list[int | None] = []
        unbound: list[str] = []
        batch: list[str] = []
        rank = len(inp.type.tensor_type.shape.dim)
        for i, d in enumerate(inp.type.tensor_type.shape.dim):
            if d.HasField("dim_value") and d.dim_value <= 0 and not d.dim_param:
                raise ModelError(f"{self.path}: input '{inp.name}' has dimension {i} = {d.dim_value}; a dimension "
                                 "is positive (or a name, bound with --shape)")  # fmt: skip
            if d.HasField("dim_value") and d.dim_value > 0:
                dims.append(d.dim_value)
                continue
            dims.append(None)
            label = f"{i} ('{d.dim_param}')" if d.dim_param else str(i)
            if inp.name in self.shapes:
                continue
            time_first = any(u.op_type in RECURRENT and u.input[0] == inp.name and not _attr(u, "layout", 0)
                             for u in self.consumers.get(inp.name, []))  # fmt: skip
            if i == 0 and rank >= 2 and not time_first:  # a leading batch dimension (not an LSTM's time axis)
                dims[0] = 1
                batch.append(f"'{inp.name}' ({d.dim_param or '?'})")
            else:
                unbound.append(label)
        if unbound:
            hint = "x".join(str(x) if x else (d.dim_param or "N")
                            for x, d in zip(dims, inp.type.tensor_type.shape.dim, strict=True))  # fmt: skip
            raise ModelError(
                f"{self.path}: input '{inp.name}' has an unbound dimension{'s' if len(unbound) > 1 else ''} "
                f"{', '.join(unbound)}; bind {'them' if len(unbound) > 1 else 'it'} with --shape {inp.name}={hint}"
            )
        if inp.name in self.shapes:
            bound = self.shapes[inp.name]
            if len(bound) != len(dims) or any(d is not None and d != b for d, b in zip(dims, bound, strict=False)):
                raise ModelError(f"{self.path}: --shape {inp.name}={'x'.join(map(str, bound))} does not fit {dims}")
            dims = list(bound)
        name = self.add_tensor(inp.name, dims, "float32")
        self.inputs.append(name)
        self.values[inp.name] = Value(name)
        self.float_values.add(inp.name)
        return batch

    # -- constants ------------------------------------------------------------------------------
    def evaluate(self, node: Any, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
        """``node`` run by onnx's reference implementation on constant inputs."""
        from onnx.reference import ReferenceEvaluator

        feeds = {name: arr for name, arr in zip(node.input, inputs, strict=True) if name}
        try:
            outs = ReferenceEvaluator(node, opsets={"": self.opset}).run(None, feeds)
        except Exception as e:
            first = (str(e).strip().splitlines() or [""])[0][:200]
            raise self.unsupported(
                node, f"its constant inputs could not be folded ({type(e).__name__}: {first})"
            ) from e
        return [np.asarray(o) for o in outs]

    def fold(self, node: Any) -> bool:
        """Computes ``node`` at compile time when every input is a known constant, or when it is
        Shape / Size of a tensor whose shape is bound: the shape arithmetic of PyTorch and TF
        exports (Shape → Gather → Unsqueeze → Concat → Reshape) becomes constants."""
        if node.domain not in ("", "ai.onnx") or node.op_type in NO_FOLD:
            return False
        if node.op_type in SHAPE_OF and node.input[0] in self.values:
            shape = self.onnx_shape(self.values[node.input[0]])
            arrays = [np.broadcast_to(np.float32(0), shape)]  # a view: no memory for the values
        elif all(i in self.consts for i in node.input if i):
            arrays = [self.consts[i] if i else None for i in node.input]
        else:
            return False
        for name, arr in zip(node.output, self.evaluate(node, arrays), strict=False):
            self.consts[name] = arr
        return True

    def why_not(self, node: Any) -> str:
        """Why there is no handler for ``node``, and what to do."""
        if node.op_type in FOLDABLE_ONLY:
            missing = [i for i in node.input if i and i not in self.consts]
            return (f"only on constants (folded at compile time), and '{missing[0]}' is computed from the input; "
                    "bind every dimension with --shape, or simplify the model (onnxsim)")  # fmt: skip
        if node.domain not in ("", "ai.onnx"):
            return f"operators of the domain '{node.domain}' are not supported; export with standard ONNX operators"
        return 'no ONNX mapping for it yet (the README\'s "ONNX models" lists what is supported)'

    def graph_output(self, out: Any) -> None:
        v = self.dequantized.get(out.name) or self.values.get(out.name)
        if v is None:
            raise ModelError(f"{self.path}: output '{out.name}' is not produced by a supported operator")
        name = self.to_layout(v, "onnx", None)
        self.outputs.append(name)

    # QuantizeLinear / DequantizeLinear -------------------------------------------------------
    def op_QuantizeLinear(self, node: Any) -> None:
        if self.float_mode:
            raise self.unsupported(node, QDQ_IN_FLOAT)
        src = node.input[0]
        zp = node.input[2] if len(node.input) > 2 and node.input[2] else None
        if zp is not None and zp in self.consts and np.asarray(self.consts[zp]).dtype != np.int8:
            raise self.unsupported(node, f"zero point '{zp}' is {np.asarray(self.consts[zp]).dtype}: it quantizes to "
                                         "that type, and edgeneuro computes int8 activations")  # fmt: skip
        if src in self.float_values:
            quant = self.qparams(node.input[1], node.input[2] if len(node.input) > 2 else None)
            v = self.values[src]
            out = self.add_tensor(node.output[0], self.shape(v), "int8", quant)
            self.emit("QUANTIZE", [v.name], [out], node)
            self.values[node.output[0]] = Value(out, v.layout)
        elif node.output[0] not in self.values:
            raise self.unsupported(node, f"quantizes '{src}', which no supported operator produced")

    def op_DequantizeLinear(self, node: Any) -> None:
        if self.float_mode:
            raise self.unsupported(node, QDQ_IN_FLOAT)
        src, out = node.input[0], node.output[0]
        axis = _attr(node, "axis", 1)
        quant = self.qparams(node.input[1], node.input[2] if len(node.input) > 2 else None, axis)
        if quant.per_channel:  # one scale per element along a real axis of the input (ONNX's rule)
            shape = tuple(np.shape(self.consts[src])) if src in self.consts else self.onnx_shape(self.value(src, node))
            if not -len(shape) <= axis < len(shape):
                raise self.unsupported(node, f"axis {axis} is outside the rank {len(shape)} of '{src}'")
            if len(quant.scale) != shape[axis % len(shape)]:
                raise self.unsupported(node, f"{len(quant.scale)} scales for the {shape[axis % len(shape)]} "
                                             f"elements of '{src}' {list(shape)} on axis {axis}")  # fmt: skip
        if len(quant.zero_point) not in (1, len(quant.scale)):
            raise self.unsupported(node, f"{len(quant.zero_point)} zero points for {len(quant.scale)} scales")
        if src in self.consts:
            arr = self.consts[src]
            self.values[out] = Value(self.const(src, arr, quant))
            self.consts[out] = self.evaluate(node, [self.consts[i] if i else None for i in node.input])[0]
            return
        v = self.value(src, node)
        if any(o.name == out for o in self.g.output):  # the output is float; operators that read it, int8
            y = self.add_tensor(out, self.onnx_shape(v), "float32")
            self.emit("DEQUANTIZE", [self.to_layout(v, "onnx", node)], [y], node)
            self.dequantized[out] = Value(y)
        self.values[out] = v  # the int8 value stands for its dequantized self

    # Compute operators -----------------------------------------------------------------------
    def op_Conv(self, node: Any) -> None:
        x = self.value(node.input[0], node)
        w = self.tensors[self.value(node.input[1], node).name]
        if w.data is None:
            raise self.unsupported(node, "weights must be constant")
        rank = len(w.shape)
        if rank not in (3, 4):
            raise self.unsupported(node, f"{rank - 2}-D convolution")
        group = _attr(node, "group", 1)
        ks = _attr(node, "kernel_shape", list(w.shape[2:]))
        strides = _attr(node, "strides", [1] * (rank - 2))
        dil = _attr(node, "dilations", [1] * (rank - 2))
        pads = _attr(node, "pads", [0] * (2 * (rank - 2)))
        if _attr(node, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise self.unsupported(node, "auto_pad is not supported; export with explicit pads")
        self.check_window(node, rank - 2, list(w.shape[2:]), ks, strides, dil, pads)
        wd = w.data
        if rank == 3:  # Conv1d: [O, I, K] runs as a 2-D conv over [N, 1, L, C]
            wd = wd[:, :, None, :]
            ks, strides, dil = [1, ks[0]], [1, strides[0]], [1, dil[0]]
            pads = [0, pads[0], 0, pads[1]]
            xin = self.to_layout(x, "nlc", node)
            layout = "nlc"
        else:
            pads = list(pads)  # ONNX order [top, left, bottom, right], as the kernels take it
            xin = self.to_layout(x, "nhwc", node)
            layout = "nhwc"
        n, ih, iw, ic = self.tensors[xin].shape
        oc = wd.shape[0]
        if not isinstance(group, int) or group < 1 or ic != wd.shape[1] * group or oc % group:
            raise self.unsupported(node, f"group {group} with {ic} input channels and weights {list(w.shape)} "
                                         "(the group must divide both channel counts)")  # fmt: skip
        attrs = dict(padding="EXPLICIT", pads=pads, stride_h=strides[0], stride_w=strides[1],
                     dilation_h_factor=dil[0], dilation_w_factor=dil[1])  # fmt: skip
        oh = (ih + pads[0] + pads[2] - ((ks[0] - 1) * dil[0] + 1)) // strides[0] + 1
        ow = (iw + pads[1] + pads[3] - ((ks[1] - 1) * dil[1] + 1)) // strides[1] + 1
        bn = self.batchnorm_after(node)
        yq_name, yq, act = self.output_quant(bn or node)
        attrs["fused_activation_function"] = act
        bias = self.bias(node, 2, oc)
        if group == 1 or (group == ic and wd.shape[1] == 1 and oc % ic == 0 and group > 1):
            if group == 1:
                kind, wdata, axis = "CONV_2D", np.transpose(wd, (0, 2, 3, 1)), 0  # OIHW -> OHWI
            else:
                kind, wdata, axis = "DEPTHWISE_CONV_2D", np.transpose(wd, (1, 2, 3, 0)), 3  # -> [1, KH, KW, C*M]
                attrs["depth_multiplier"] = oc // ic
            wq = w.quant and QuantParams(w.quant.scale, w.quant.zero_point, axis if w.quant.per_channel else 0)
        else:
            kind, wdata = "CONV_2D", np.transpose(wd, (0, 2, 3, 1))  # grouped: filter channels = ic / group
            wq = w.quant and QuantParams(w.quant.scale, w.quant.zero_point, 0)
        if bn is not None:
            x_scale = self.tensors[xin].quant.scale[0]
            wdata, wq, bias = self.fold_batchnorm(bn, wdata, wq, 3 if kind == "DEPTHWISE_CONV_2D" else 0, bias, x_scale)
        wname = self.const(f"{w.name}_{kind.lower()}", wdata, wq)
        y = self.add_tensor(yq_name, (n, oh, ow, oc), self.adt, yq)
        self.emit(kind, [xin, wname, bias or ""], [y], node, **attrs)
        self.values[yq_name] = Value(y, layout)

    def check_window(self, node: Any, dims: int, w_kernel: list[int], ks, strides, dil, pads) -> None:
        """A convolution's window attributes: one per spatial dimension (pads two), kernel_shape
        equal to the weights', strides and dilations at least 1, pads not negative."""
        for what, v, n in (("kernel_shape", ks, dims), ("strides", strides, dims), ("dilations", dil, dims),
                           ("pads", pads, 2 * dims)):  # fmt: skip
            if len(v) != n or not all(isinstance(d, int) for d in v):
                raise self.unsupported(node, f"{what} {list(v)}: {n} integers for a {dims}-D convolution")
        if list(ks) != list(w_kernel):
            raise self.unsupported(node, f"kernel_shape {list(ks)} but the weights' kernel is {list(w_kernel)}")
        for what, v in (("strides", strides), ("dilations", dil)):
            if min(v) < 1:
                raise self.unsupported(node, f"{what} {list(v)}: each at least 1")
        if min(pads) < 0:
            raise self.unsupported(node, f"pads {list(pads)}: negative padding (a crop) is not supported")

    def bias(self, node: Any, i: int, count: int | None = None) -> str | None:
        if len(node.input) <= i or not node.input[i]:
            return None
        b = self.tensors[self.value(node.input[i], node).name]
        if count is not None and b.size != count:
            raise self.unsupported(node, f"bias '{node.input[i]}' holds {b.size} values for {count} outputs")
        if self.float_mode:
            if b.data is None or b.dtype != "float32":
                raise self.unsupported(node, "bias must be a constant float32 tensor")
            return b.name
        if b.data is None or b.dtype != "int32":
            raise self.unsupported(node, "bias must be a constant int32 (DequantizeLinear of int32) tensor")
        return b.name

    def op_Gemm(self, node: Any) -> None:
        for flag in ("transA", "transB"):
            if _attr(node, flag, 0) not in (0, 1):
                raise self.unsupported(node, f"{flag} {_attr(node, flag)}: 0 or 1")
        if _attr(node, "alpha", 1.0) != 1.0 or _attr(node, "beta", 1.0) != 1.0 or _attr(node, "transA", 0):
            raise self.unsupported(node, "only alpha = beta = 1 and transA = 0")
        self.fully_connected(node, transposed=bool(_attr(node, "transB", 0)))

    def op_MatMul(self, node: Any) -> None:
        self.fully_connected(node, transposed=False)

    def fully_connected(self, node: Any, transposed: bool) -> None:
        x = self.value(node.input[0], node)
        w = self.tensors[self.value(node.input[1], node).name]
        if w.data is None and not transposed and node.op_type == "MatMul":  # two activations
            return self.batch_matmul(node)
        if w.data is None:
            raise self.unsupported(node, "the second operand must be a constant matrix")
        if len(w.shape) != 2:
            raise self.unsupported(node, f"the constant operand is {len(w.shape)}-D; only 2-D weight matrices")
        wd = w.data if transposed else w.data.T  # -> [units, depth]
        wq = None
        if w.quant is not None:
            axis = 0 if (transposed and w.quant.axis == 0) or (not transposed and w.quant.axis == 1) else 1
            if w.quant.per_channel and axis != 0:
                raise self.unsupported(node, "weights quantized per input channel")
            wq = QuantParams(w.quant.scale, w.quant.zero_point, 0)
        xin = self.to_layout(x, "onnx", node)
        xs = self.tensors[xin].shape
        if not xs or xs[-1] != wd.shape[1]:
            raise self.unsupported(node, f"input {list(xs)} and weights {list(w.shape)} (transB {int(transposed)}) "
                                         f"do not multiply: {xs[-1] if xs else 0} != {wd.shape[1]}")  # fmt: skip
        bn = self.batchnorm_after(node) if len(xs) == 2 else None
        bias = self.bias(node, 2, wd.shape[0])
        if bn is not None:
            wd, wq, bias = self.fold_batchnorm(bn, wd, wq, 0, bias, self.tensors[xin].quant.scale[0])
        wname = self.const(f"{w.name}_fc", wd, wq)
        yq_name, yq, act = self.output_quant(bn or node)
        y = self.add_tensor(yq_name, (*xs[:-1], wd.shape[0]), self.adt, yq)
        self.emit("FULLY_CONNECTED", [xin, wname, bias or ""], [y], node,
                  fused_activation_function=act, keep_num_dims=True)  # fmt: skip
        self.values[yq_name] = Value(y)

    def batch_matmul(self, node: Any) -> None:
        a, b = (self.to_layout(self.value(i, node), "onnx", node) for i in node.input[:2])
        sa, sb = self.tensors[a].shape, self.tensors[b].shape
        if len(sa) < 2 or len(sb) < 2:
            raise self.unsupported(node, "a product of two activations needs 2-D or higher operands")
        yq_name, yq, act = self.output_quant(node)
        if act != "NONE":
            raise self.unsupported(node, f"a {act} after a product of two activations")
        shape = (*np.broadcast_shapes(sa[:-2], sb[:-2]), sa[-2], sb[-1])
        y = self.add_tensor(yq_name, shape, self.adt, yq)
        self.emit("BATCH_MATMUL", [a, b], [y], node, adj_x=False, adj_y=False)
        self.values[yq_name] = Value(y)

    def binary(self, node: Any, kind: str, operands: tuple[Value, Value] | None = None) -> None:
        a, b = operands or (self.value(node.input[0], node), self.value(node.input[1], node))
        layout = next((v.layout for v in (a, b) if v.layout != "onnx" and not self.tensors[v.name].is_const), "onnx")
        names = []
        for v in (a, b):
            t = self.tensors[v.name]
            if layout != "onnx" and t.is_const and v.layout == "onnx":  # broadcast constants to full rank
                rank = 4 if layout == "nhwc" else 3
                v = Value(self.const(t.name, t.data.reshape((1,) * (rank - t.data.ndim) + t.data.shape), t.quant))
            names.append(self.to_layout(v, layout, node))
        shape = np.broadcast_shapes(*(self.tensors[n].shape for n in names))
        yq_name, yq, act = self.output_quant(node)
        y = self.add_tensor(yq_name, shape, self.adt, yq)
        self.emit(kind, names, [y], node, fused_activation_function=act)
        self.values[yq_name] = Value(y, layout)

    def op_Add(self, node: Any) -> None:
        self.binary(node, "ADD")

    def op_Sub(self, node: Any) -> None:
        self.binary(node, "SUB")

    def op_Mul(self, node: Any) -> None:
        self.binary(node, "MUL")

    def pool(self, node: Any, kind: str) -> None:
        x = self.value(node.input[0], node)
        if len(self.onnx_shape(x)) != 4:
            raise self.unsupported(node, "only 2-D pooling")
        if _attr(node, "ceil_mode", 0) or _attr(node, "count_include_pad", 0):
            raise self.unsupported(node, "ceil_mode and count_include_pad are not supported")
        if any(d != 1 for d in _attr(node, "dilations", [1, 1])):
            raise self.unsupported(node, "dilated pooling")
        ks = _attr(node, "kernel_shape")
        strides = _attr(node, "strides", [1, 1])
        pads = _attr(node, "pads", [0, 0, 0, 0])
        xin = self.to_layout(x, "nhwc", node)
        n, ih, iw, c = self.tensors[xin].shape
        oh = (ih + pads[0] + pads[2] - ks[0]) // strides[0] + 1
        ow = (iw + pads[1] + pads[3] - ks[1]) // strides[1] + 1
        yq_name, yq, act = self.output_quant(node)
        y = self.add_tensor(yq_name, (n, oh, ow, c), self.adt, yq)
        attrs = dict(padding="EXPLICIT", pads=list(pads), stride_h=strides[0], stride_w=strides[1],
                     filter_height=ks[0], filter_width=ks[1], fused_activation_function=act)  # fmt: skip
        self.emit(kind, [xin], [y], node, **attrs)
        self.values[yq_name] = Value(y, "nhwc")

    def op_MaxPool(self, node: Any) -> None:
        self.pool(node, "MAX_POOL_2D")

    def op_AveragePool(self, node: Any) -> None:
        self.pool(node, "AVERAGE_POOL_2D")

    def op_GlobalAveragePool(self, node: Any) -> None:
        x = self.value(node.input[0], node)
        rank = len(self.onnx_shape(x))
        layout = "nhwc" if rank == 4 else "nlc"
        xin = self.to_layout(x, layout, node)
        n, h, w, c = self.tensors[xin].shape
        yq_name, yq, _ = self.output_quant(node)
        y = self.add_tensor(yq_name, (n, 1, 1, c), self.adt, yq)
        axes = self.const(f"{y}_axes", np.array([1, 2], np.int32))
        self.emit("MEAN", [xin, axes], [y], node, keep_dims=True)
        self.values[yq_name] = Value(y, layout)

    def move(self, node: Any, shape: tuple[int, ...], perm: tuple[int, ...] | None = None) -> None:
        """Reshape-like (RESHAPE view) or TRANSPOSE data movement, on ONNX-layout values. On a
        float input it stays float until its QuantizeLinear; on int8 values it keeps or, where the
        quantizer picked a new scale, requantizes the quantization."""
        src = node.input[0]
        x = self.values.get(src) or self.value(src, node)
        if perm is None and x.layout != "onnx" and all(d == 1 for d in self.onnx_shape(x)[2:]):
            xin = x.name  # [N, C, 1, 1] has the same bytes in NHWC
        else:
            xin = self.to_layout(x, "onnx", node)
        t = self.tensors[xin]
        kind = "TRANSPOSE" if perm is not None else "RESHAPE"

        def emit(name: str, quant) -> str:
            out = self.add_tensor(name, shape, t.dtype, quant)
            extra = [self.const(f"{out}_perm", np.array(perm, np.int32))] if perm is not None else []
            self.emit(kind, [xin, *extra], [out], node)
            return out

        if src in self.float_values or self.float_mode:
            self.values[node.output[0]] = Value(emit(node.output[0], None))
            self.float_values.add(node.output[0])
            return
        yq_name, yq, _ = self.output_quant(node)
        if yq == t.quant:
            y = emit(yq_name, yq)
        else:  # a new scale after the move: requantize
            mid = emit(f"{yq_name}_r", t.quant)
            y = self.add_tensor(yq_name, shape, self.adt, yq)
            self.emit("QUANTIZE", [mid], [y], node)
        self.values[yq_name] = Value(y)

    def source_shape(self, node: Any) -> tuple[int, ...]:
        src = node.input[0]
        return self.onnx_shape(self.values.get(src) or self.value(src, node))

    def op_Unsqueeze(self, node: Any) -> None:
        shape = list(self.source_shape(node))
        axes = [int(a) for a in self.consts[node.input[1]]] if len(node.input) > 1 else _attr(node, "axes")
        rank = len(shape) + len(axes)
        for a in sorted(a % rank for a in axes):
            shape.insert(a, 1)
        self.move(node, tuple(shape))

    def op_Squeeze(self, node: Any) -> None:
        shape = self.source_shape(node)
        axes = [int(a) for a in self.consts[node.input[1]]] if len(node.input) > 1 else _attr(node, "axes")
        drop = {a % len(shape) for a in axes} if axes is not None else {i for i, d in enumerate(shape) if d == 1}
        self.move(node, tuple(d for i, d in enumerate(shape) if i not in drop))

    def op_Transpose(self, node: Any) -> None:
        shape = self.source_shape(node)
        perm = tuple(_attr(node, "perm", list(range(len(shape)))[::-1]))
        src = node.input[0]
        x = self.values.get(src)
        # TF exports (tf2onnx) wrap the NCHW operators in Transposes from and to NHWC, the kernels'
        # layout: those need no data movement, only a new reading of the same bytes
        as_float = src in self.float_values or self.float_mode
        if x is not None and as_float and x.layout == "onnx" and perm == NHWC_TO_NCHW:
            self.values[node.output[0]] = Value(x.name, "nhwc")  # [N, H, W, C] bytes read as NCHW
            self.float_values.add(node.output[0])
            return
        if x is not None and src not in self.float_values and x.layout == "nhwc" and perm == NCHW_TO_NHWC:
            yq_name, yq, act = self.output_quant(node)
            if act == "NONE" and _same_quant(self.tensors[x.name].quant, yq):
                self.values[yq_name] = Value(x.name)  # the NHWC bytes are the transposed tensor
                return
        self.move(node, tuple(shape[i] for i in perm), perm)

    def op_Flatten(self, node: Any) -> None:
        src = self.source_shape(node)
        axis = _attr(node, "axis", 1) % max(len(src), 1)
        self.move(node, (int(np.prod(src[:axis])), int(np.prod(src[axis:]))))

    def op_Reshape(self, node: Any) -> None:
        src = self.source_shape(node)
        if node.input[1] not in self.consts:
            raise self.unsupported(node, "the target shape must be constant")
        target = [int(d) for d in self.consts[node.input[1]]]
        target = [src[i] if d == 0 else d for i, d in enumerate(target)]
        if -1 in target:
            known = int(np.prod([d for d in target if d != -1]))
            target[target.index(-1)] = int(np.prod(src)) // known
        self.move(node, tuple(target))

    def op_Softmax(self, node: Any) -> None:
        x = self.value(node.input[0], node)
        xin = self.to_layout(x, "onnx", node)
        shape = self.tensors[xin].shape
        if _attr(node, "axis", -1) % len(shape) != len(shape) - 1:
            raise self.unsupported(node, "softmax over an axis other than the last")
        yq_name, yq, _ = self.output_quant(node)
        fixed = QuantParams((1 / 256,), (-128,))
        if yq is None or (yq.scale[0], yq.zero_point[0]) == fixed.scale + fixed.zero_point:
            y = self.add_tensor(yq_name, shape, self.adt, yq)
            self.emit("SOFTMAX", [xin], [y], node, beta=1.0)
        else:  # int8 softmax produces 1/256 steps; requantize to the model's output scale
            mid = self.add_tensor(f"{yq_name}_softmax", shape, self.adt, fixed)
            self.emit("SOFTMAX", [xin], [mid], node, beta=1.0)
            y = self.add_tensor(yq_name, shape, self.adt, yq)
            self.emit("QUANTIZE", [mid], [y], node)
        self.values[yq_name] = Value(y)

    def op_Concat(self, node: Any) -> None:
        vals = [self.value(n, node) for n in node.input]
        rank = len(self.onnx_shape(vals[0]))
        layout = next((v.layout for v in vals if v.layout != "onnx"), "onnx")
        axis = _attr(node, "axis") % rank
        if layout == "nhwc":
            axis = NCHW_TO_NHWC.index(axis)
        elif layout == "nlc":
            axis = {0: 0, 1: 3, 2: 2}[axis]
        yq_name, yq, _ = self.output_quant(node)
        names = []
        for v in vals:  # CONCATENATION copies bytes: bring every input to the output's quantization
            name = self.to_layout(v, layout, node)
            t = self.tensors[name]
            if t.quant != yq:
                req = self.add_tensor(f"{name}_q", t.shape, self.adt, yq)
                self.emit("QUANTIZE", [name], [req], node)
                name = req
            names.append(name)
        shape = list(self.tensors[names[0]].shape)
        shape[axis] = sum(self.tensors[n].shape[axis] for n in names)
        y = self.add_tensor(yq_name, shape, self.adt, yq)
        self.emit("CONCATENATION", names, [y], node, axis=axis, fused_activation_function="NONE")
        self.values[yq_name] = Value(y, layout)

    # Operators mapped onto TFLite-style kinds (Sigmoid, Tanh, Split, Slice, Pad, ReduceMean, Div, Pow)
    def axis_in(self, v: Value, axis: int) -> int:
        """ONNX axis ``axis`` of ``v`` as an axis of its IR tensor."""
        axis %= len(self.onnx_shape(v))
        if v.layout == "nhwc":
            return NCHW_TO_NHWC.index(axis)
        if v.layout == "nlc":
            return {0: 0, 1: 3, 2: 2}[axis]
        return axis

    def finish(self, node: Any, kind: str, inputs: list[str], shape, quant: QuantParams, out: tuple[str, QuantParams],
               layout: str, **attrs: Any) -> None:  # fmt: skip
        """Emits ``kind`` with an output quantized by ``quant`` (what the kernel produces: fixed for
        LOGISTIC/TANH, the input's for a byte copy), requantized to the model's ``out`` if they differ."""
        yq_name, yq = out
        if _same_quant(quant, yq):
            y = self.add_tensor(yq_name, shape, self.adt, yq)
            self.emit(kind, inputs, [y], node, **attrs)
        else:
            mid = self.add_tensor(f"{yq_name}_{kind.lower()}", shape, self.adt, quant)
            self.emit(kind, inputs, [mid], node, **attrs)
            y = self.add_tensor(yq_name, shape, self.adt, yq)
            self.emit("QUANTIZE", [mid], [y], node)
        self.values[yq_name] = Value(y, layout)

    def activation(self, node: Any, kind: str, scale: float, zero_point: int) -> None:
        x = self.value(node.input[0], node)
        yq_name, yq, act = self.output_quant(node)
        if act != "NONE":
            raise self.unsupported(node, f"a {act} after it")
        quant = None if self.float_mode else QuantParams((scale,), (zero_point,))
        self.finish(node, kind, [x.name], self.shape(x), quant, (yq_name, yq), x.layout)

    def op_Sigmoid(self, node: Any) -> None:
        self.activation(node, "LOGISTIC", 1 / 256, -128)

    def op_Tanh(self, node: Any) -> None:
        self.activation(node, "TANH", 1 / 128, 0)

    # Erf, Gelu and the GELU patterns of PyTorch / TF exports (edgeneuro/ops/gelu.py) -------------
    def table_op(self, node: Any, kind: str, x_name: str, last: Any, pattern: list | None = None,
                 **attrs: Any) -> None:  # fmt: skip
        """``kind`` (GELU, ERF) of ONNX value ``x_name``, its output that of node ``last`` (the
        pattern's final node): int8 through a table from the input's and the output's quantization.
        A fused QDQ ``pattern`` (its nodes, ``last`` included) gives the table as the model computes
        it, the quantization between its nodes included (``pattern_table``)."""
        x = self.value(x_name, node)
        yq_name, yq, act = self.output_quant(last)
        if act != "NONE":
            raise self.unsupported(node, f"a {act} after it")
        if pattern is not None and not self.float_mode:
            attrs["table"] = self.pattern_table(x_name, pattern, yq).tolist()
        y = self.add_tensor(yq_name, self.shape(x), self.adt, yq)
        self.emit(kind, [x.name], [y], node, **attrs)
        self.values[yq_name] = Value(y, x.layout)

    def pattern_table(self, x_name: str, nodes: list, yq: QuantParams) -> np.ndarray:
        """The int8 table of a QDQ pattern: its nodes (and the QuantizeLinear / DequantizeLinear pairs
        between them) run by onnx's reference implementation on the 256 dequantized input bytes,
        then quantized as QuantizeLinear does (halves to even, saturated), indexed by ``(uint8_t)q``."""
        nodes = sorted(nodes, key=lambda n: self.index[id(n)])
        made = {o for n in nodes for o in n.output}
        xq = self.tensors[self.value(x_name, nodes[0]).name].quant
        q = np.arange(-128, 128)
        xs = (q - xq.zero_point[0]).astype(np.float32) * np.float32(xq.scale[0])
        feeds: dict[str, np.ndarray] = {}
        for i in (i for n in nodes for i in n.input if i and i not in made):
            if self.qkey(i) == self.qkey(x_name):
                feeds[i] = xs
            elif i in self.consts:
                feeds[i] = np.asarray(self.consts[i])
            else:  # a DequantizeLinear of a constant
                p = self.producers[i]
                feeds[i] = self.evaluate(p, [self.consts[j] if j else None for j in p.input])[0]
        for n in nodes:  # one node at a time: onnx's evaluator runs a lone node of any opset
            feeds.update(zip(n.output, self.evaluate(n, [feeds[i] if i else None for i in n.input]), strict=False))
        out = np.asarray(feeds[nodes[-1].output[0]], np.float32).reshape(-1)
        ys = np.clip(np.rint(out / np.float32(yq.scale[0])) + yq.zero_point[0], -128, 127).astype(np.int8)
        table = np.empty(256, np.int8)
        table[q & 0xFF] = ys
        return table

    def op_Erf(self, node: Any) -> None:
        self.table_op(node, "ERF", node.input[0], node)

    def op_Gelu(self, node: Any) -> None:  # opset 20
        mode = _attr(node, "approximate", b"none")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if mode not in ("none", "tanh"):
            raise self.unsupported(node, f"approximate '{mode}'; ONNX has 'none' and 'tanh'")
        self.table_op(node, "GELU", node.input[0], node, approximate=mode == "tanh")

    def find_gelus(self) -> None:
        """Finds the GELU patterns, ``x * 0.5 * (1 + erf(x / sqrt(2)))`` (x / sqrt(2) or x * (1 /
        sqrt(2)); the 0.5 and x multiplied in any order, 0.5 * x first, or a division by 2) and the
        tanh approximation ``0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))`` (x^3 as
        Pow or two Muls), in float models and in QDQ models (a QuantizeLinear → DequantizeLinear
        pair may sit on any edge inside). Their nodes are skipped but the last, whose handler
        (``self.fused``) emits one GELU: input the pattern's x, output the last node's."""
        self.fused: dict[int, Any] = getattr(self, "fused", {})
        self.producers = {o: n for n in self.g.node for o in n.output if o}
        for node in self.g.node:
            if node.op_type not in ("Erf", "Tanh") or id(node) in self.skip:
                continue
            found = self.gelu_at(node)
            if found is None:
                continue
            x_name, approximate, inner, last = found
            if any(id(n) in self.skip or id(n) in self.fused for n in (*inner, last)):
                continue
            self.skip.update(id(n) for n in inner)
            self.fused[id(last)] = lambda n, x=x_name, a=approximate, p=(*inner, last): self.table_op(
                n, "GELU", x, n, list(p), approximate=a
            )

    def pconst(self, name: str) -> float | None:
        """The value of a one-element constant, also the DequantizeLinear of a constant; else None."""
        arr = self.consts.get(name)
        p = self.producers.get(name)
        if arr is None and p is not None and p.op_type == "DequantizeLinear" and p.input[0] in self.consts:
            arr = self.evaluate(p, [self.consts[i] if i else None for i in p.input])[0]
        if arr is None or np.asarray(arr).size != 1 or np.asarray(arr).dtype.kind not in "fiu":
            return None
        return float(np.asarray(arr).reshape(-1)[0])

    def qkey(self, name: str) -> str:
        """What identifies a value across QDQ: the quantized tensor a DequantizeLinear reads, else the name."""
        p = self.producers.get(name)
        return p.input[0] if p is not None and p.op_type == "DequantizeLinear" else name

    def sole_user(self, name: str) -> tuple[Any, list, str] | None:
        """The one node reading ``name``'s value (through a QuantizeLinear → DequantizeLinear pair),
        the pair's nodes and the name it reads; None where the value has other readers or is an output."""
        chain: list = []
        for _ in range(2):
            users = self.consumers.get(name, [])
            if len(users) != 1 or self.is_output(name):
                return None
            if users[0].op_type == "QuantizeLinear" and not chain:
                chain.append(users[0])
                name = users[0].output[0]
                continue
            if users[0].op_type == "DequantizeLinear" and len(chain) == 1:
                chain.append(users[0])
                name = users[0].output[0]
                continue
            break
        users = self.consumers.get(name, [])
        if len(chain) == 1 or len(users) != 1 or self.is_output(name):
            return None
        return users[0], chain, name

    def source(self, name: str) -> str:
        """The float value behind ``name``: through a DequantizeLinear ← QuantizeLinear pair."""
        p = self.producers.get(name)
        if p is not None and p.op_type == "DequantizeLinear":
            q = self.producers.get(p.input[0])
            if q is not None and q.op_type == "QuantizeLinear":
                return q.input[0]
        return name

    def scaled(self, name: str, kinds: dict[str, float]) -> tuple[Any, str] | None:
        """The node that makes ``name`` (Mul by a constant, or Div by one) when the constant is
        ``kinds[op_type]`` (within 1e-3), and its other operand; else None."""
        p = self.producers.get(self.source(name))
        if p is None or p.op_type not in kinds or len(p.input) != 2:
            return None
        pairs = [(0, 1)] if p.op_type == "Div" else [(0, 1), (1, 0)]
        for a, c in pairs:
            v = self.pconst(p.input[c])
            if v is not None and self.pconst(p.input[a]) is None and abs(v - kinds[p.op_type]) <= 1e-3 * abs(v):
                return p, p.input[a]
        return None

    def feeds(self, p: Any, q: Any, inner: list) -> bool:
        """Whether ``p``'s output is read by ``q`` alone; adds the pair between them to ``inner``."""
        found = self.sole_user(p.output[0])
        if found is None or found[0] is not q:
            return False
        inner += [p, *found[1]]
        return True

    def gelu_at(self, f: Any) -> tuple[str, bool, list, Any] | None:
        """The GELU pattern around the Erf / Tanh node ``f``: (x, approximate, its nodes but the last,
        the last) or None."""
        inner: list = []
        if f.op_type == "Erf":
            found = self.scaled(f.input[0], {"Div": float(np.sqrt(2)), "Mul": float(1 / np.sqrt(2))})
            if found is None or not self.feeds(found[0], f, inner):
                return None
            x = found[1]
        else:
            found = self.scaled(f.input[0], {"Mul": float(np.sqrt(2 / np.pi))})
            if found is None or not self.feeds(found[0], f, inner):
                return None
            x = self.cubic_sum(found[0], found[1], inner)
            if x is None:
                return None
        add = self.sole_user(f.output[0])
        if add is None or add[0].op_type != "Add":
            return None
        a_node, chain, read = add
        other = a_node.input[1] if a_node.input[0] == read else a_node.input[0]
        one = self.pconst(other)
        if one is None or abs(one - 1) > 1e-3:
            return None
        inner += [f, *chain]
        last = self.times_half_x(a_node, x, inner)
        return None if last is None else (x, f.op_type == "Tanh", inner, last)

    def cubic_sum(self, k: Any, s_name: str, inner: list) -> str | None:
        """x of ``s_name = x + 0.044715 * x^3`` (the input of the Mul ``k`` by sqrt(2 / pi)); the nodes
        go to ``inner``."""
        s = self.producers.get(self.source(s_name))
        if s is None or s.op_type != "Add" or not self.feeds(s, k, inner):
            return None
        for xi, ti in ((0, 1), (1, 0)):
            t = self.scaled(s.input[ti], {"Mul": 0.044715})
            if t is None or not self.feeds(t[0], s, inner):
                continue
            x = self.qkey(s.input[xi])
            cube = self.producers.get(self.source(t[1]))
            if cube is None or not self.feeds(cube, t[0], inner):
                return None
            if cube.op_type == "Pow":
                e = self.pconst(cube.input[1])
                if e is not None and e == 3 and self.qkey(cube.input[0]) == x:
                    return s.input[xi]
                return None
            if cube.op_type != "Mul":
                return None
            for a, b in ((0, 1), (1, 0)):  # x * (x * x) in either order
                sq = self.producers.get(self.source(cube.input[b]))
                if (self.qkey(cube.input[a]) == x and sq is not None and sq.op_type == "Mul"
                        and all(self.qkey(i) == x for i in sq.input) and self.feeds(sq, cube, inner)):  # fmt: skip
                    return s.input[xi]
            return None
        return None

    def times_half_x(self, a_node: Any, x: str, inner: list) -> Any | None:
        """The last of up to three Mul / Div nodes after ``a_node`` (1 + erf) that multiply it by x
        and 0.5 in any order (also 0.5 * x made first, or a Div by 2); the ones before it and the
        pairs between them go to ``inner``. None if the chain is not that."""
        has_x, factor, cur = False, 1.0, a_node
        for _ in range(3):
            found = self.sole_user(cur.output[0])
            if found is None or found[0].op_type not in ("Mul", "Div") or len(found[0].input) != 2:
                return None
            m, chain, read = found
            other = m.input[1] if m.input[0] == read else m.input[0]
            if m.op_type == "Div":
                d = self.pconst(m.input[1]) if m.input[0] == read else None
                if d is None or d == 0:
                    return None
                factor /= d
            elif self.qkey(other) == self.qkey(x) and not has_x:
                has_x = True
            elif self.pconst(other) is not None:
                factor *= self.pconst(other)
            else:
                half = self.scaled(other, {"Mul": 0.5})
                if half is None or has_x or self.qkey(half[1]) != self.qkey(x) or not self.feeds(half[0], m, inner):
                    return None
                has_x, factor = True, factor * 0.5
            inner += [cur, *chain]
            if has_x and abs(factor - 0.5) <= 1e-3 * 0.5:
                return m
            cur = m
        return None

    def const_input(self, node: Any, i: int, what: str) -> np.ndarray | None:
        """Input ``i`` of ``node`` as a constant (None when absent); an error when it is computed."""
        if len(node.input) <= i or not node.input[i]:
            return None
        if node.input[i] not in self.consts:
            raise self.unsupported(node, f"the {what} ('{node.input[i]}') must be constant")
        return self.consts[node.input[i]]

    def op_Split(self, node: Any) -> None:
        x = self.value(node.input[0], node)
        shape = self.onnx_shape(x)
        axis = _attr(node, "axis", 0) % len(shape)
        sizes = self.const_input(node, 1, "split sizes")
        if sizes is None:
            sizes = _attr(node, "split")
        n, d = len(node.output), shape[axis]
        if sizes is None:  # equal parts, the last one smaller (opset 18 num_outputs)
            part = -(-d // n)
            sizes = [part] * (n - 1) + [d - part * (n - 1)]
        sizes = [int(v) for v in sizes]
        if len(sizes) != n or sum(sizes) != d or min(sizes) <= 0:
            raise self.unsupported(node, f"split sizes {sizes} do not cut dimension {d} into {n} parts")
        ir_axis = self.axis_in(x, axis)
        xq = self.tensors[x.name].quant
        outs = []
        for out, size in zip(node.output, sizes, strict=True):
            yq_name, yq, act = self.output_quant(node, out)
            if act != "NONE":
                raise self.unsupported(node, f"a {act} after output '{out}'")
            ishape = list(self.shape(x))
            ishape[ir_axis] = size
            outs.append((yq_name, yq, ishape))
        mids = []
        for yq_name, yq, ishape in outs:  # SPLIT_V copies bytes: the outputs carry the input's quantization
            mids.append(self.add_tensor(yq_name if _same_quant(xq, yq) else f"{yq_name}_split", ishape, self.adt, xq))
        size_t = self.const(f"{mids[0]}_sizes", np.array(sizes, np.int32))
        axis_t = self.const(f"{mids[0]}_axis", np.array([ir_axis], np.int32))
        self.emit("SPLIT_V", [x.name, size_t, axis_t], mids, node, num_splits=n)
        for mid, (yq_name, yq, ishape) in zip(mids, outs, strict=True):
            y = mid
            if not _same_quant(xq, yq):
                y = self.add_tensor(yq_name, ishape, self.adt, yq)
                self.emit("QUANTIZE", [mid], [y], node)
            self.values[yq_name] = Value(y, x.layout)

    def op_Slice(self, node: Any) -> None:
        x = self.value(node.input[0], node)
        if x.layout == "nlc":
            x = Value(self.to_layout(x, "onnx", node))
        shape = self.onnx_shape(x)
        rank = len(shape)
        starts, ends = self.const_input(node, 1, "starts"), self.const_input(node, 2, "ends")
        axes = self.const_input(node, 3, "axes")
        steps = self.const_input(node, 4, "steps")
        axes = list(range(len(starts))) if axes is None else [int(a) % rank for a in axes]
        steps = [1] * len(axes) if steps is None else [int(v) for v in steps]
        ishape = self.shape(x)
        begin, end, stride = [0] * rank, list(ishape), [1] * rank
        end_mask = 0
        out = list(ishape)
        for a, st, en, sp in zip(axes, starts, ends, steps, strict=True):
            i = self.axis_in(x, a)
            r = range(ishape[i])[slice(int(st), int(en), sp)]  # ONNX Slice clamps as Python slicing does
            if len(r) == 0:
                raise self.unsupported(node, f"the slice of axis {a} is empty")
            begin[i], stride[i], out[i] = r.start, sp, len(r)
            end[i] = r[-1] + (1 if sp > 0 else -1)
            if end[i] < 0:  # a negative stride down to index 0: "to the start" is the end mask
                end_mask |= 1 << i
        consts = [self.const(f"{node.output[0]}_{k}", np.array(v, np.int32))
                  for k, v in (("begin", begin), ("end", end), ("strides", stride))]  # fmt: skip
        yq_name, yq, act = self.output_quant(node)
        if act != "NONE":
            raise self.unsupported(node, f"a {act} after it")
        self.finish(node, "STRIDED_SLICE", [x.name, *consts], out, self.tensors[x.name].quant, (yq_name, yq),
                    x.layout, begin_mask=0, end_mask=end_mask, shrink_axis_mask=0, ellipsis_mask=0,
                    new_axis_mask=0)  # fmt: skip

    def op_Pad(self, node: Any) -> None:
        mode = _attr(node, "mode", b"constant")
        if (mode.decode() if isinstance(mode, bytes) else mode) != "constant":
            raise self.unsupported(node, f"mode {mode!r}; only constant padding")
        x = self.value(node.input[0], node)
        if x.layout == "nlc":
            x = Value(self.to_layout(x, "onnx", node))
        rank = len(self.onnx_shape(x))
        pads = self.const_input(node, 1, "pads")
        pads = np.asarray(_attr(node, "pads") if pads is None else pads, np.int64)
        axes = self.const_input(node, 3, "axes")
        axes = list(range(rank)) if axes is None else [int(a) % rank for a in axes]
        if (pads < 0).any():
            raise self.unsupported(node, "negative pads (cropping); use Slice")
        ir = np.zeros((rank, 2), np.int64)
        for k, a in enumerate(axes):
            ir[self.axis_in(x, a)] = pads[k], pads[k + len(axes)]
        value = self.const_input(node, 2, "constant value")
        value = 0.0 if value is None else float(np.asarray(value).reshape(-1)[0])
        if self.float_mode:  # the IR's PAD / PADV2 are int8: a CONCATENATION with constant blocks per axis
            name = x.name
            for axis, (before, after) in enumerate(ir):
                if before == 0 and after == 0:
                    continue
                parts = []
                for k, n in (("before", before), ("after", after)):
                    shape = list(self.tensors[name].shape)
                    shape[axis] = int(n)
                    block = self.const(f"{node.output[0]}_{axis}_{k}", np.full(shape, value, np.float32)) if n else None
                    parts.append(block)
                name = self.concat([p for p in (parts[0], name, parts[1]) if p], axis, node)
            self.values[node.output[0]] = Value(name, x.layout)
            return
        xq = self.tensors[x.name].quant
        inputs = [x.name, self.const(f"{node.output[0]}_pads", ir.astype(np.int32))]
        kind = "PAD"
        if value != 0.0 and self.float_mode:
            inputs.append(self.const(f"{node.output[0]}_value", np.array([value], np.float32)))
            kind = "PADV2"
        elif value != 0.0:  # PADV2 with the value quantized like the input
            q = np.clip(np.round(value / xq.scale[0]) + xq.zero_point[0], -128, 127).astype(np.int8)
            inputs.append(self.const(f"{node.output[0]}_value", q.reshape(1), xq))
            kind = "PADV2"
        yq_name, yq, act = self.output_quant(node)
        if act != "NONE":
            raise self.unsupported(node, f"a {act} after it")
        shape = [d + int(a) + int(b) for d, (a, b) in zip(self.shape(x), ir, strict=True)]
        self.finish(node, kind, inputs, shape, xq, (yq_name, yq), x.layout)

    def op_ReduceMean(self, node: Any) -> None:
        self.reduce(node, "MEAN")

    def op_ReduceMax(self, node: Any) -> None:
        self.reduce(node, "REDUCE_MAX")

    def op_ReduceMin(self, node: Any) -> None:
        self.reduce(node, "REDUCE_MIN")

    def op_ReduceSum(self, node: Any) -> None:
        self.reduce(node, "SUM")

    def op_Max(self, node: Any) -> None:
        self.minmax(node, "MAXIMUM")

    def op_Min(self, node: Any) -> None:
        self.minmax(node, "MINIMUM")

    def minmax(self, node: Any, kind: str) -> None:
        """MAXIMUM / MINIMUM compare raw int8 values: both operands are brought to the output's
        quantization first (constants here, activations by a QUANTIZE); rounding is monotonic, so
        the maximum of the requantized values is the requantized maximum."""
        if len(node.input) != 2:
            raise self.unsupported(node, f"{len(node.input)} inputs; only two")
        if self.float_mode:
            return self.binary(node, kind)
        _, yq, _ = self.output_quant(node)
        operands = []
        for name in node.input:
            v = self.value(name, node)
            t = self.tensors[v.name]
            if _same_quant(t.quant, yq):
                pass
            elif t.is_const:
                if t.quant.per_channel:
                    raise self.unsupported(node, f"'{name}' is quantized per channel")
                real = (t.data.astype(np.float64) - t.quant.zero_point[0]) * t.quant.scale[0]
                q = np.clip(np.round(real / yq.scale[0]) + yq.zero_point[0], -128, 127).astype(np.int8)
                v = Value(self.const(f"{t.name}_q", q, yq), v.layout)
            else:
                req = self.add_tensor(f"{t.name}_q", t.shape, self.adt, yq)
                self.emit("QUANTIZE", [t.name], [req], node)
                v = Value(req, v.layout)
            operands.append(v)
        self.binary(node, kind, (operands[0], operands[1]))

    def reduce(self, node: Any, kind: str) -> None:
        x = self.value(node.input[0], node)
        shape = self.onnx_shape(x)
        rank = len(shape)
        new_form = self.opset >= 18 or node.op_type == "ReduceSum"  # axes an input (ReduceSum: since 13)
        axes = self.const_input(node, 1, "axes") if new_form else _attr(node, "axes")
        if axes is None or len(axes) == 0:
            if _attr(node, "noop_with_empty_axes", 0):
                raise self.unsupported(node, "noop_with_empty_axes")
            axes = range(rank)
        axes = sorted({int(a) % rank for a in axes})
        keep = bool(_attr(node, "keepdims", 1))
        if not keep and x.layout != "onnx":  # the kept axes must stay in ONNX order
            kept = [self.axis_in(x, a) for a in range(rank) if a not in axes]
            if kept != sorted(kept):
                x = Value(self.to_layout(x, "onnx", node))
        ir_axes = [self.axis_in(x, a) for a in axes]
        ishape = self.shape(x)
        out = [1 if i in ir_axes else d for i, d in enumerate(ishape)]
        layout = x.layout
        if not keep:
            out = [d for i, d in enumerate(ishape) if i not in ir_axes]
            layout = "onnx"
        yq_name, yq, act = self.output_quant(node)
        if act != "NONE":
            raise self.unsupported(node, f"a {act} after it")
        axes_t = self.const(f"{yq_name}_axes", np.array(ir_axes, np.int32))
        if kind in ("REDUCE_MAX", "REDUCE_MIN"):  # raw int8 compared: in the input's quantization, then requantized
            self.finish(node, kind, [x.name, axes_t], out, self.tensors[x.name].quant, (yq_name, yq), layout,
                        keep_dims=keep)  # fmt: skip
            return
        y = self.add_tensor(yq_name, out, self.adt, yq)
        self.emit(kind, [x.name, axes_t], [y], node, keep_dims=keep)
        self.values[yq_name] = Value(y, layout)

    def op_Div(self, node: Any) -> None:
        if node.input[1] not in self.consts or self.float_mode:  # by an activation (float32: always a DIV)
            self.binary(node, "DIV")
            return
        d = self.consts[node.input[1]].astype(np.float64)
        if (d == 0).any():
            raise self.unsupported(node, "division by zero")
        r = 1 / d
        scale = float(np.abs(r).max()) / 127
        q = np.round(r / scale).astype(np.int8)
        b = Value(self.const(f"{node.input[1]}_reciprocal", q, QuantParams((scale,), (0,))))
        self.binary(node, "MUL", (self.value(node.input[0], node), b))

    def op_Neg(self, node: Any) -> None:  # a MUL by -1 (TFLM has no int8 NEG)
        if self.float_mode:
            return self.binary(
                node,
                "MUL",
                (self.value(node.input[0], node), Value(self.const(f"{node.output[0]}_minus_one", np.float32([-1])))),
            )
        minus_one = Value(
            self.const(f"{node.output[0]}_minus_one", np.array([-127], np.int8), QuantParams((1 / 127,), (0,)))
        )
        self.binary(node, "MUL", (self.value(node.input[0], node), minus_one))

    def op_Abs(self, node: Any) -> None:
        x = self.value(node.input[0], node)
        yq_name, yq, act = self.output_quant(node)
        if act != "NONE":
            raise self.unsupported(node, f"a {act} after it")
        y = self.add_tensor(yq_name, self.shape(x), self.adt, yq)
        self.emit("ABS", [x.name], [y], node)
        self.values[yq_name] = Value(y, x.layout)

    def op_Gather(self, node: Any) -> None:
        idx = self.const_input(node, 1, "indices")
        x = self.value(node.input[0], node)
        xin = self.to_layout(x, "onnx", node)
        shape = self.tensors[xin].shape
        axis = _attr(node, "axis", 0) % len(shape)
        idx = np.asarray(idx, np.int64)
        idx = np.where(idx < 0, idx + shape[axis], idx).astype(np.int32)
        out = (*shape[:axis], *idx.shape, *shape[axis + 1 :])
        yq_name, yq, act = self.output_quant(node)
        if act != "NONE":
            raise self.unsupported(node, f"a {act} after it")
        idx_t = self.const(f"{node.output[0]}_indices", idx)
        self.finish(node, "GATHER", [xin, idx_t], out, self.tensors[xin].quant, (yq_name, yq), "onnx",
                    axis=axis, batch_dims=0)  # fmt: skip

    def op_Pow(self, node: Any) -> None:
        e = self.const_input(node, 1, "exponent")
        if e is None or e.size != 1 or abs(float(e.reshape(-1)[0]) - 2) > 1e-3:
            raise self.unsupported(node, "only the square (exponent 2, a MUL of the input by itself)")
        x = self.value(node.input[0], node)
        self.binary(node, "MUL", (x, x))

    def transpose_pads(self, node: Any, in_sizes, ks: list, strides: list, opad: list, pads: list) -> list[int]:
        """ConvTranspose's pads [begin..., end...] from ``auto_pad`` and ``output_shape``: the full
        output ``s * (in - 1) + output_padding + k`` is cut to ``output_shape`` (given) or ``in * s``
        (SAME_UPPER / SAME_LOWER), the odd step of the cut at the end for SAME_UPPER and at the begin
        for SAME_LOWER (and for an ``output_shape`` without SAME_UPPER); VALID cuts nothing."""
        auto = _attr(node, "auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        out = _attr(node, "output_shape")
        if auto not in ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"):
            raise self.unsupported(node, f"auto_pad '{auto}'")
        if out is None and auto in ("NOTSET", "VALID"):
            return list(pads) if auto == "NOTSET" else [0] * (2 * len(ks))
        full = [s * (i - 1) + p + k for i, s, p, k in zip(in_sizes, strides, opad, ks, strict=True)]
        out = [i * s for i, s in zip(in_sizes, strides, strict=True)] if out is None else [int(d) for d in out]
        out = out[-len(ks) :]
        total = [f - o for f, o in zip(full, out, strict=True)]
        if len(out) != len(ks) or min(total) < 0:
            raise self.unsupported(node, f"an output of {out} from a full output of {full}; only smaller ones")
        small, big = [t // 2 for t in total], [t - t // 2 for t in total]
        return small + big if auto == "SAME_UPPER" else big + small

    def ungroup(self, node: Any, wd: np.ndarray, quant: QuantParams | None) -> tuple[np.ndarray, QuantParams | None]:
        """Grouped ConvTranspose weights [C_in, C_out / group, ...] as one block-diagonal [C_in, C_out,
        ...] (zeros between the groups: group times the weights and multiplies of the grouped layer,
        the same sums, TFLite's TRANSPOSE_CONV being ungrouped); per-channel scales repeat per group."""
        if quant is not None and quant.per_channel and quant.axis != 1:
            raise self.unsupported(node, "weights quantized per input channel")
        group = int(_attr(node, "group", 1))
        if group == 1:
            return wd, quant
        cin, per_out = wd.shape[:2]
        if group < 1 or cin % group:
            raise self.unsupported(node, f"group {group} does not divide the {cin} input channels")
        if quant is not None and any(z != 0 for z in quant.zero_point):
            raise self.unsupported(node, "grouped weights with a zero point other than 0")
        per_in = cin // group
        full = np.zeros((cin, per_out * group, *wd.shape[2:]), wd.dtype)
        for k in range(group):
            full[k * per_in : (k + 1) * per_in, k * per_out : (k + 1) * per_out] = wd[k * per_in : (k + 1) * per_in]
        if quant is not None and quant.per_channel:
            quant = QuantParams(tuple(quant.scale) * group, tuple(quant.zero_point) * group, 1)
        note(f"{self.path}: ConvTranspose #{self.index[id(node)]} with group {group} runs as one TRANSPOSE_CONV with "
             f"block-diagonal weights ({group}x the weights and multiply-accumulates)")  # fmt: skip
        return full, quant

    def op_ConvTranspose(self, node: Any) -> None:
        """TRANSPOSE_CONV: weights [C_in, C_out, kH, kW] -> OHWI; ONNX's pads crop the full
        output (begin: the kernel's explicit pad_h / pad_w, end: a smaller output), output_padding
        grows it at the end; auto_pad and output_shape set the pads (``transpose_pads``), groups
        become block-diagonal weights (``ungroup``). Conv1d-like [N, C, L] runs as [N, 1, L, C], as
        Conv does."""
        x = self.value(node.input[0], node)
        w = self.tensors[self.value(node.input[1], node).name]
        if w.data is None:
            raise self.unsupported(node, "weights must be constant")
        rank = len(w.shape)
        if rank not in (3, 4):
            raise self.unsupported(node, f"{rank - 2}-D transposed convolution")
        sp = rank - 2
        if any(d != 1 for d in _attr(node, "dilations", [1] * sp)):
            raise self.unsupported(node, "dilations (TFLite's TRANSPOSE_CONV has none)")
        strides = list(_attr(node, "strides", [1] * sp))
        pads = list(_attr(node, "pads", [0] * (2 * sp)))
        opad = list(_attr(node, "output_padding", [0] * sp))
        ks = list(w.shape[2:])
        pads = self.transpose_pads(node, self.onnx_shape(x)[2:], ks, strides, opad, pads)
        wd, wquant = self.ungroup(node, w.data, w.quant)
        if rank == 3:
            wd = wd[:, :, None, :]
            ks, strides, opad = [1, ks[0]], [1, strides[0]], [0, opad[0]]
            pads = [0, pads[0], 0, pads[1]]
            xin, layout = self.to_layout(x, "nlc", node), "nlc"
        else:
            xin, layout = self.to_layout(x, "nhwc", node), "nhwc"
        n, ih, iw, _ = self.tensors[xin].shape
        oc = wd.shape[1]
        oh = strides[0] * (ih - 1) + opad[0] + ks[0] - pads[0] - pads[2]
        ow = strides[1] * (iw - 1) + opad[1] + ks[1] - pads[1] - pads[3]
        if min(pads) < 0 or oh < 1 or ow < 1:
            raise self.unsupported(node, f"pads {pads} leave an output of {oh}x{ow}")
        wq = wquant and QuantParams(wquant.scale, wquant.zero_point, 0)
        wname = self.const(f"{w.name}_transpose_conv", np.transpose(wd, (1, 2, 3, 0)), wq)  # [I, O, H, W] -> OHWI
        yq_name, yq, act = self.output_quant(node)
        bias = self.bias(node, 2, oc)
        shape_t = self.const(f"{yq_name}_output_shape", np.array([n, oh, ow, oc], np.int32))
        y = self.add_tensor(yq_name, (n, oh, ow, oc), self.adt, yq)
        self.emit("TRANSPOSE_CONV", [shape_t, wname, xin, *([bias] if bias else [])], [y], node,
                  padding="EXPLICIT", pads=pads, stride_h=strides[0], stride_w=strides[1],
                  fused_activation_function=act)  # fmt: skip
        self.values[yq_name] = Value(y, layout)

    def op_Resize(self, node: Any) -> None:
        """RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR of a 4-D tensor's H and W, with constant scales
        or sizes. Which ONNX modes equal which TFLite flags is decided on the shapes themselves: the
        node runs (onnx.reference) on a probe holding each input position, and the position every
        output reads (nearest) or interpolates (linear) must be what TFLite computes with one of its
        flag pairs (align_corners, half_pixel_centers). That accepts asymmetric + floor, align_corners
        + round_prefer_ceil, half_pixel / pytorch_half_pixel + round_prefer_ceil, tf_half_pixel_for_nn
        + floor (and any other mode where these shapes give the same positions) for nearest;
        asymmetric, align_corners, half_pixel (pytorch_half_pixel) for linear."""
        from edgeneuro.ops import resize as rz

        mode = _attr(node, "mode", b"nearest")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if mode not in ("nearest", "linear"):
            raise self.unsupported(node, f"mode '{mode}'; TFLite resizes nearest and (bi)linear only")
        if _attr(node, "antialias", 0) or _attr(node, "axes") is not None:
            raise self.unsupported(node, "antialias / axes are not supported")
        policy = _attr(node, "keep_aspect_ratio_policy", b"stretch")
        if (policy.decode() if isinstance(policy, bytes) else policy) != "stretch":
            raise self.unsupported(node, f"keep_aspect_ratio_policy {policy!r}; only stretch")
        x = self.value(node.input[0], node)
        shape = self.onnx_shape(x)
        if len(shape) != 4:
            raise self.unsupported(node, f"a {len(shape)}-D input; TFLite resizes 4-D (H and W)")
        scales = self.const_input(node, 2, "scales")
        sizes = self.const_input(node, 3, "sizes")
        if sizes is not None and np.asarray(sizes).size:
            out = [int(v) for v in sizes]
        elif scales is not None and np.asarray(scales).size:
            out = [int(np.floor(d * float(s))) for d, s in zip(shape, scales, strict=True)]
        else:
            raise self.unsupported(node, "neither scales nor sizes is given")
        if out[:2] != list(shape[:2]):
            raise self.unsupported(node, "it resizes the batch or channel axis; TFLite resizes H and W")
        (ih, iw), (oh, ow) = shape[2:], out[2:]
        if min(oh, ow) < 1:
            raise self.unsupported(node, f"an output of {oh}x{ow}")
        # the probe: value = the position along H (then W); batch and channels 1
        probe_inputs = [None] * len(node.input)
        for i in (1, 2):
            if len(node.input) > i and node.input[i]:
                probe_inputs[i] = self.consts.get(node.input[i])
        if sizes is not None and np.asarray(sizes).size:
            probe_inputs[3] = np.array([1, 1, oh, ow], np.int64)

        def positions(axis: int) -> np.ndarray:
            grid = np.indices((ih, iw), np.float32)[axis][None, None]
            got = self.evaluate(node, [grid, *probe_inputs[1:]])[0]
            return got[0, 0, :, 0] if axis == 0 else got[0, 0, 0, :]

        ctm = _attr(node, "coordinate_transformation_mode", b"half_pixel")
        ctm = ctm.decode() if isinstance(ctm, bytes) else ctm
        try:
            rows, cols = positions(0), positions(1)
        except UnsupportedOperator:
            raise self.unsupported(node, f"coordinate_transformation_mode {ctm} (onnx.reference cannot compute it, "
                                   "so edgeneuro cannot check it against TFLite's)") from None  # fmt: skip
        kind = "RESIZE_NEAREST_NEIGHBOR" if mode == "nearest" else "RESIZE_BILINEAR"
        flags = None
        for align, half in ((False, False), (True, False), (False, True)):
            if mode == "nearest":
                want = [np.array([rz.nearest(v, n_in, n_out, align, half) for v in range(n_out)], np.float64)
                        for n_in, n_out in ((ih, oh), (iw, ow))]  # fmt: skip
            else:
                want = []
                for n_in, n_out in ((ih, oh), (iw, ow)):
                    idx, wt = rz.bilinear_f32(n_in, n_out, align, half)
                    want.append((idx.astype(np.float64) * wt.astype(np.float64)).sum(axis=1))
            if all(np.allclose(g, w, rtol=0, atol=1e-4) for g, w in zip((rows, cols), want, strict=True)):
                flags = (align, half)
                break
        if flags is None:
            nm = _attr(node, "nearest_mode", b"round_prefer_floor")
            how = f"coordinate_transformation_mode {ctm}" + (
                f", nearest_mode {nm.decode() if isinstance(nm, bytes) else nm}" if mode == "nearest" else ""
            )
            raise self.unsupported(
                node,
                f"{mode} resize {ih}x{iw} -> {oh}x{ow} with {how} reads other positions than TFLite's "
                f"{kind} with any of its flags (it computes "
                + (
                    "asymmetric + floor, align_corners + round_prefer_ceil or half_pixel + round_prefer_ceil"
                    if mode == "nearest"
                    else "asymmetric, align_corners or half_pixel"
                )
                + ", with sizes or scales equal to output / input)",
            )
        xin = self.to_layout(x, "nhwc", node)
        size_t = self.const(f"{node.output[0]}_size", np.array([oh, ow], np.int32))
        yq_name, yq, act = self.output_quant(node)
        if act != "NONE":
            raise self.unsupported(node, f"a {act} after it")
        self.finish(node, kind, [xin, size_t], (shape[0], oh, ow, shape[1]), self.tensors[xin].quant, (yq_name, yq),
                    "nhwc", align_corners=flags[0], half_pixel_centers=flags[1])  # fmt: skip

    def op_LSTM(self, node: Any) -> None:
        """float32 (``--precision float``): each direction one UNIDIRECTIONAL_SEQUENCE_LSTM (TFLite's
        24 operands, gates reordered from ONNX's i, o, f, c; bias = Wb + Rb), the reverse one between
        two REVERSE_V2 on the time axis; bidirectional outputs are concatenated on the direction axis.
        Y_h is the last step each direction computed (a STRIDED_SLICE of its output)."""
        if not self.float_mode:  # int8: the fused kernel when calibrated, else float between DQ / Q
            from edgeneuro.frontends.onnx_recurrent import lstm_int8

            return lstm_int8(self, node)
        direction = _attr(node, "direction", b"forward")
        direction = direction.decode() if isinstance(direction, bytes) else direction
        acts = [a.decode() if isinstance(a, bytes) else a for a in _attr(node, "activations", [])]
        if acts and [a.lower() for a in acts] != ["sigmoid", "tanh", "tanh"] * (
            2 if direction == "bidirectional" else 1
        ):
            raise self.unsupported(node, f"activations {acts}; TFLite's LSTM computes Sigmoid, Tanh, Tanh")
        if _attr(node, "clip") is not None or _attr(node, "input_forget", 0):
            raise self.unsupported(node, "clip / input_forget (TFLite's LSTM has neither in ONNX's sense)")
        for i, what in ((4, "sequence_lens"), (7, "P (peepholes)")):
            if len(node.input) > i and node.input[i]:
                raise self.unsupported(node, f"{what} is not supported")
        for i, what in ((5, "initial_h"), (6, "initial_c")):
            init = self.const_input(node, i, what)
            if init is not None and np.any(init != 0):
                raise self.unsupported(node, f"a non-zero {what} (the kernel starts every inference from zero state)")
        if len(node.output) > 2 and node.output[2] and (self.users(node.output[2]) or self.is_output(node.output[2])):
            raise self.unsupported(node, "its cell state output Y_c is read (edgeneuro's LSTM keeps it inside)")
        w, r = self.const_input(node, 1, "W"), self.const_input(node, 2, "R")
        b = self.const_input(node, 3, "B")
        layout = _attr(node, "layout", 0)
        x = self.to_layout(self.value(node.input[0], node), "onnx", node)
        xs = self.tensors[x].shape
        if len(xs) != 3:
            raise self.unsupported(node, f"a {len(xs)}-D input")
        steps, batch, in_dim = (xs[0], xs[1], xs[2]) if layout == 0 else (xs[1], xs[0], xs[2])
        dirs = w.shape[0]
        hidden = w.shape[1] // 4
        time_axis = 0 if layout == 0 else 1
        out_shape = (steps, batch, hidden) if layout == 0 else (batch, steps, hidden)
        names = {"forward": ["fw"], "reverse": ["bw"], "bidirectional": ["fw", "bw"]}[direction]
        if len(names) != dirs:
            raise self.unsupported(node, f"direction {direction} with weights for {dirs} directions")
        base = node.output[0] or node.name or "lstm"
        yh = node.output[1] if len(node.output) > 1 else ""
        want_h = bool(yh) and bool(self.users(yh) or self.is_output(yh))  # Y_h computed only where it is read
        outs, lasts = [], []
        for d, tag in enumerate(names):
            src = x
            if tag == "bw":
                src = self.reverse(x, time_axis, f"{base}_{tag}_in", node)
            operands = [src]
            onnx_gate = {"input": 0, "output": 1, "forget": 2, "cell": 3}  # ONNX's i, o, f, c blocks
            order = ("input", "forget", "cell", "output")  # TFLite's operands 1-4, 5-8, 12-15
            for mat, what in ((w, "w"), (r, "r")):
                for gate in order:
                    k = onnx_gate[gate]
                    block = np.asarray(mat[d, k * hidden : (k + 1) * hidden], np.float32)
                    operands.append(self.const(f"{base}_{tag}_{what}_{gate}", block))
            operands += ["", "", ""]
            bias = np.zeros(8 * hidden, np.float32) if b is None else np.asarray(b[d], np.float32)
            for gate in order:
                k = onnx_gate[gate]
                bg = bias[k * hidden : (k + 1) * hidden] + bias[(4 + k) * hidden : (5 + k) * hidden]
                operands.append(self.const(f"{base}_{tag}_b_{gate}", bg.astype(np.float32)))
            operands += ["", ""]
            for state in ("h", "c"):
                name = self.add_tensor(f"{base}_{tag}_{state}", (batch, hidden), "float32")
                self.tensors[name] = Tensor(name, (batch, hidden), "float32", variable=True)
                operands.append(name)
            operands += ["", "", "", ""]
            y = self.add_tensor(f"{base}_{tag}", out_shape, "float32")
            self.emit("UNIDIRECTIONAL_SEQUENCE_LSTM", operands, [y], node, fused_activation_function="TANH",
                      cell_clip=0.0, proj_clip=0.0, time_major=layout == 0)  # fmt: skip
            if want_h:
                lasts.append(self.last_step(y, time_axis, node))
            if tag == "bw":
                y = self.reverse(y, time_axis, f"{base}_{tag}_out", node)
            # the direction axis: [T, 1, B, H] (layout 0) or [B, T, 1, H] (layout 1)
            four = (steps, 1, batch, hidden) if layout == 0 else (batch, steps, 1, hidden)
            outs.append(self.reshape(y, four, node))
        dir_axis = 1 if layout == 0 else 2
        self.values[node.output[0]] = Value(self.concat(outs, dir_axis, node))
        if want_h:
            self.values[node.output[1]] = Value(self.concat(lasts, 0 if layout == 0 else 1, node))

    def op_GRU(self, node: Any) -> None:
        """float32 (``--precision float``): TFLite has no GRU kernel, so the GRU is unrolled over the
        T steps of the bound input into float32 operators, following ONNX's definition (gates z, r, h
        in W / R / B; f = Sigmoid, g = Tanh)::

            z = f(x W_z^T + H R_z^T + Wb_z + Rb_z)        r = f(x W_r^T + H R_r^T + Wb_r + Rb_r)
            h = g(x W_h^T + (r * H) R_h^T + Rb_h + Wb_h)   (linear_before_reset = 0)
            h = g(x W_h^T + r * (H R_h^T + Rb_h) + Wb_h)   (linear_before_reset = 1)
            H' = (1 - z) * h + z * H

        The input terms of every step are two FULLY_CONNECTED over the whole sequence (z and r
        together, then h; their biases Wb + Rb folded, but Rb_h with linear_before_reset 1), cut
        into steps by UNPACK; each step is a BATCH_MATMUL of H by R_zr, ADD, LOGISTIC, SPLIT_V into
        z and r, the h gate (MUL, a BATCH_MATMUL by R_h, ADD (+ ADD of Rb_h), TANH), and SUB / MUL
        / MUL / ADD for H'. The recurrent products are BATCH_MATMULs because their constant R is
        then one array in flash for all the steps (FULLY_CONNECTED keeps its weights per layer);
        the float sums are the same (k ascending, then the bias added). initial_h may be
        absent or zero (the first step then leaves out the products by H), a constant, or computed
        (a model input: a streaming GRU run with --feedback). The reverse direction runs the steps
        from the last to the first; Y is a PACK of the states in time order (directions
        concatenated), Y_h the PACK of each direction's last state."""
        if not self.float_mode:  # a QDQ model's float GRU (--calibrate unrolls GRUs before quantizing)
            from edgeneuro.frontends.onnx_recurrent import in_float

            return in_float(self, node)
        direction = _attr(node, "direction", b"forward")
        direction = direction.decode() if isinstance(direction, bytes) else direction
        names = {"forward": ["fw"], "reverse": ["bw"], "bidirectional": ["fw", "bw"]}.get(direction)
        if names is None:
            raise self.unsupported(node, f"direction {direction!r}")
        acts = [a.decode() if isinstance(a, bytes) else a for a in _attr(node, "activations", [])]
        if acts and [a.lower() for a in acts] != ["sigmoid", "tanh"] * len(names):
            raise self.unsupported(node, f"activations {acts}; only the default Sigmoid, Tanh")
        if _attr(node, "clip") is not None:
            raise self.unsupported(node, "clip is not supported")
        if len(node.input) > 4 and node.input[4]:
            raise self.unsupported(node, "sequence_lens is not supported (every sequence runs the T steps)")
        w, r = self.const_input(node, 1, "W"), self.const_input(node, 2, "R")
        b = self.const_input(node, 3, "B")
        lbr = bool(_attr(node, "linear_before_reset", 0))
        layout = _attr(node, "layout", 0)
        x = self.to_layout(self.value(node.input[0], node), "onnx", node)
        xs = self.tensors[x].shape
        if len(xs) != 3:
            raise self.unsupported(node, f"a {len(xs)}-D input")
        steps, batch = (xs[0], xs[1]) if layout == 0 else (xs[1], xs[0])
        dirs, hidden = w.shape[0], w.shape[1] // 3
        if len(names) != dirs:
            raise self.unsupported(node, f"direction {direction} with weights for {dirs} directions")
        time_axis = 0 if layout == 0 else 1
        base = node.output[0] or node.name or "gru"
        read = [bool(o) and bool(self.users(o) or self.is_output(o)) for o in (*node.output, "", "")[:2]]
        h0 = node.input[5] if len(node.input) > 5 and node.input[5] else None
        if h0 in self.consts and not np.any(self.consts[h0] != 0):
            h0 = None
        starts: list[str | None] = [None] * dirs  # each direction's initial state [B, H]; None: zero
        if h0 is not None:  # a constant, or a value the graph computes (a model input: streaming)
            v = self.to_layout(self.value(h0, node), "onnx", node)
            want = (dirs, batch, hidden) if layout == 0 else (batch, dirs, hidden)
            if self.tensors[v].shape != want:
                raise self.unsupported(node, f"initial_h of shape {list(self.tensors[v].shape)}, not {list(want)}")
            if dirs == 1:
                starts = [self.reshape(v, (batch, hidden), node)]
            else:  # the direction axis is where the time axis is in X
                starts = [self.add_tensor(f"{base}_h0_{d}", (batch, hidden), "float32") for d in range(dirs)]
                self.emit("UNPACK", [v], starts, node, num=dirs, axis=0 if layout == 0 else 1)

        def out(name: str, shape) -> str:
            return self.add_tensor(name, shape, "float32")

        def op(kind: str, inputs: list[str], name: str, shape, **attrs: Any) -> str:
            y = out(name, shape)
            self.emit(kind, inputs, [y], node, **attrs)
            return y

        def fc(src: str, wt: str, bt: str, name: str) -> str:  # weights and bias: constants made once
            shape = (*self.tensors[src].shape[:-1], self.tensors[wt].shape[0])
            return op("FULLY_CONNECTED", [src, wt, bt], name, shape, fused_activation_function="NONE",
                      keep_num_dims=True)  # fmt: skip

        def binary(kind: str, a: str, c: str, name: str) -> str:
            shape = np.broadcast_shapes(self.tensors[a].shape, self.tensors[c].shape)
            return op(kind, [a, c], name, shape, fused_activation_function="NONE")

        def by_r(src: str, rt: str, name: str) -> str:
            """``src R^T``: a BATCH_MATMUL, whose constant operand R is one array in flash for all the
            steps (FULLY_CONNECTED keeps a copy of its weights per layer); the same float sums."""
            shape = (*self.tensors[src].shape[:-1], self.tensors[rt].shape[0])
            return op("BATCH_MATMUL", [src, rt], name, shape, adj_x=False, adj_y=True)

        one = self.const(f"{base}_one", np.ones(1, np.float32))
        halves = [self.const(f"{base}_sizes", np.array([hidden, hidden], np.int32)),
                  self.const(f"{base}_axis", np.array([1], np.int32))]  # fmt: skip
        ys, lasts = [], []
        for d, tag in enumerate(names):
            pre = f"{base}_{tag}"
            bias = np.zeros(6 * hidden, np.float64) if b is None else np.asarray(b[d], np.float64)
            wb, rb = bias[: 3 * hidden], bias[3 * hidden :]
            wd, rd = np.asarray(w[d], np.float32), np.asarray(r[d], np.float32)
            zr, hs = slice(0, 2 * hidden), slice(2 * hidden, 3 * hidden)
            consts = {"w_zr": wd[zr], "wb_zr": wb[zr] + rb[zr], "w_h": wd[hs], "wb_h": wb[hs] + (0 if lbr else rb[hs]),
                      "r_zr": rd[zr], "r_h": rd[hs], **({"rb_h": rb[hs]} if lbr else {})}  # fmt: skip
            c = {k: self.const(f"{pre}_{k}", np.asarray(v, np.float32)) for k, v in consts.items()}
            # the input terms of all steps: [T, B, 2H] and [T, B, H] (layout 1: [B, T, .])
            x_zr = fc(x, c["w_zr"], c["wb_zr"], f"{pre}_x_zr")
            x_h = fc(x, c["w_h"], c["wb_h"], f"{pre}_x_h")
            per_step = []
            for src, width in ((x_zr, 2 * hidden), (x_h, hidden)):
                cut = [out(f"{src}_{t}", (batch, width)) for t in range(steps)]
                self.emit("UNPACK", [src], cut, node, num=steps, axis=time_axis)
                per_step.append(cut)
            state = starts[d]
            states = [""] * steps
            order = range(steps) if tag == "fw" else range(steps - 1, -1, -1)
            for t in order:
                s = f"{pre}_{t}"
                a_zr = per_step[0][t]
                if state is not None:
                    a_zr = binary("ADD", a_zr, by_r(state, c["r_zr"], f"{s}_h_zr"), f"{s}_a_zr")
                g_zr = op("LOGISTIC", [a_zr], f"{s}_zr", (batch, 2 * hidden))
                z, rg = out(f"{s}_z", (batch, hidden)), out(f"{s}_r", (batch, hidden))
                self.emit("SPLIT_V", [g_zr, *halves], [z, rg], node, num_splits=2)
                a_h = per_step[1][t]
                if lbr:
                    h_r = c["rb_h"]
                    if state is not None:
                        h_r = binary("ADD", by_r(state, c["r_h"], f"{s}_h_h"), h_r, f"{s}_h_hb")
                    a_h = binary("ADD", a_h, binary("MUL", rg, h_r, f"{s}_r_h"), f"{s}_a_h")
                elif state is not None:
                    h_r = by_r(binary("MUL", rg, state, f"{s}_r_state"), c["r_h"], f"{s}_h_h")
                    a_h = binary("ADD", a_h, h_r, f"{s}_a_h")
                cand = op("TANH", [a_h], f"{s}_cand", (batch, hidden))
                new = binary("MUL", binary("SUB", one, z, f"{s}_1_z"), cand, f"{s}_keep")
                if state is not None:
                    new = binary("ADD", new, binary("MUL", z, state, f"{s}_carry"), f"{s}_h")
                states[t] = state = new
            lasts.append(state)
            if read[0]:  # [T, B, H] (layout 0) or [B, T, H] (layout 1)
                shape = (steps, batch, hidden) if layout == 0 else (batch, steps, hidden)
                ys.append(op("PACK", states, f"{pre}_y", shape, values_count=steps, axis=time_axis))
        # the outputs keep their ONNX names (model.h, --feedback Y_h=initial_h)
        if read[0]:  # [T, D, B, H] (layout 0) or [B, T, D, H] (layout 1)
            four = (steps, 1, batch, hidden) if layout == 0 else (batch, steps, 1, hidden)
            ys = [op("RESHAPE", [y], node.output[0] if dirs == 1 else f"{y}_r", four) for y in ys]
            if dirs > 1:
                axis = 1 if layout == 0 else 2
                ys = [op("CONCATENATION", ys, node.output[0], (*four[:axis], dirs, *four[axis + 1 :]), axis=axis,
                         fused_activation_function="NONE")]  # fmt: skip
            self.values[node.output[0]] = Value(ys[0])
        if read[1]:  # [D, B, H] (layout 0) or [B, D, H] (layout 1)
            shape = (dirs, batch, hidden) if layout == 0 else (batch, dirs, hidden)
            self.values[node.output[1]] = Value(op("PACK", lasts, node.output[1], shape, values_count=dirs,
                                                   axis=time_axis))  # fmt: skip

    def reverse(self, name: str, axis: int, out: str, node: Any) -> str:
        t = self.tensors[name]
        y = self.add_tensor(out, t.shape, t.dtype, t.quant)
        self.emit("REVERSE_V2", [name, self.const(f"{y}_axis", np.array([axis], np.int32))], [y], node)
        return y

    def last_step(self, name: str, axis: int, node: Any) -> str:
        """The last element of ``name`` along ``axis``, the axis kept (size 1)."""
        t = self.tensors[name]
        begin = [0] * len(t.shape)
        begin[axis] = t.shape[axis] - 1
        shape = list(t.shape)
        shape[axis] = 1
        consts = [self.const(f"{name}_last_{k}", np.array(v, np.int32))
                  for k, v in (("begin", begin), ("end", t.shape), ("strides", [1] * len(t.shape)))]  # fmt: skip
        y = self.add_tensor(f"{name}_last", shape, t.dtype, t.quant)
        self.emit("STRIDED_SLICE", [name, *consts], [y], node, begin_mask=0, end_mask=0, shrink_axis_mask=0,
                  ellipsis_mask=0, new_axis_mask=0)  # fmt: skip
        return y

    def concat(self, names: list[str], axis: int, node: Any) -> str:
        if len(names) == 1:
            return names[0]
        t = self.tensors[names[0]]
        shape = list(t.shape)
        shape[axis] = sum(self.tensors[n].shape[axis] for n in names)
        y = self.add_tensor(f"{names[0]}_cat", shape, t.dtype, t.quant)
        self.emit("CONCATENATION", names, [y], node, axis=axis, fused_activation_function="NONE")
        return y

    def op_BatchNormalization(self, node: Any) -> None:
        raise self.unsupported(node, "folded only when it directly follows a Conv or Gemm (the output of which "
                               "nothing else reads)")  # fmt: skip

    def op_Relu(self, node: Any) -> None:
        x = self.value(node.input[0], node)
        yq_name, yq, _ = self.output_quant(node)
        y = self.add_tensor(yq_name, self.shape(x), self.adt, yq)
        self.emit("RELU", [x.name], [y], node)
        self.values[yq_name] = Value(y, x.layout)

    def op_Clip(self, node: Any) -> None:  # not after a layer: RELU / RELU6 of its own
        kind = self.clip_activation(node)
        x = self.value(node.input[0], node)
        yq_name, yq, _ = self.output_quant(node)
        y = self.add_tensor(yq_name, self.shape(x), self.adt, yq)
        self.emit(kind, [x.name], [y], node)
        self.values[yq_name] = Value(y, x.layout)

    def op_Identity(self, node: Any) -> None:
        self.values[node.output[0]] = self.value(node.input[0], node)

    op_Dropout = op_Identity


def _same_quant(a: QuantParams | None, b: QuantParams | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.zero_point == b.zero_point and len(a.scale) == len(b.scale)
            and all(abs(x - y) <= 1e-6 * abs(y) for x, y in zip(a.scale, b.scale, strict=True)))  # fmt: skip


def _attr(node: Any, name: str, default: Any = None) -> Any:
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def load(path: Path, shapes: dict[str, tuple[int, ...]] | None = None, precision: str = "int8") -> Graph:
    """The IR graph of the ONNX model at ``path``: a QDQ int8 model, or with ``precision`` "float" a
    float model computed in float32 (each BatchNormalization after a Conv / Gemm folded first)."""
    try:
        import onnx
    except ImportError as e:  # pragma: no cover - onnx is a dependency
        raise ModelError(f"{path}: reading ONNX needs the onnx package (pip install onnx)") from e
    try:
        model = onnx.load(str(path))
    except Exception as e:
        raise ModelError(f"{path}: not an ONNX model ({type(e).__name__}: {e})") from e
    try:
        model = upgrade(path, model)
        if precision == "float":
            model = fold_batchnorm_float(model)
        return _Importer(path, model, shapes or {}, precision).run()
    except EdgeNeuroError:
        raise
    except Exception as e:  # a model that breaks the reader in a way no check foresaw: one line, no traceback
        raise ModelError(f"{path}: cannot read this ONNX model ({type(e).__name__}: {e})") from e


def prepare_float(path: Path, out: Path) -> Path:
    """A float model made ready for quantization (``--calibrate``), written to ``out``: the opset
    upgraded to 13 or newer, and each BatchNormalization that directly follows a Conv or Gemm
    with constant weights folded into them in float, so the quantizer sees one layer (no int8
    intermediate before the normalization)."""
    import onnx

    try:
        model = onnx.load(str(path))
    except Exception as e:
        raise ModelError(f"{path}: not an ONNX model ({type(e).__name__}: {e})") from e
    model = fold_batchnorm_float(upgrade(path, model))
    onnx.save(model, str(out))
    return out


def fold_batchnorm_float(model: Any) -> Any:
    """``model`` with every BatchNormalization that is the only reader of a Conv's or Gemm's
    (alpha = beta = 1) output, with constant weights and bias, folded into that layer:
    ``w' = w * s`` per output channel and ``b' = (b - mean) * s + beta``, ``s = gamma / sqrt(var + eps)``."""
    from onnx import numpy_helper

    g = model.graph
    inits = {i.name: i for i in g.initializer}
    readers: dict[str, int] = {}
    for n in g.node:
        for i in n.input:
            readers[i] = readers.get(i, 0) + 1
    producer = {o: n for n in g.node for o in n.output}
    outputs = {o.name for o in g.output}
    drop = []
    for bn in g.node:
        if bn.op_type != "BatchNormalization" or len(bn.output) != 1 or not all(i in inits for i in bn.input[1:5]):
            continue
        layer = producer.get(bn.input[0])
        if layer is None or readers.get(bn.input[0]) != 1 or bn.input[0] in outputs:
            continue
        if layer.op_type == "Gemm":
            if _attr(layer, "alpha", 1.0) != 1.0 or _attr(layer, "beta", 1.0) != 1.0 or _attr(layer, "transA", 0):
                continue
            axis = 0 if _attr(layer, "transB", 0) else 1
        elif layer.op_type == "Conv":
            axis = 0
        else:
            continue
        if layer.input[1] not in inits or readers.get(layer.input[1]) != 1:
            continue
        has_bias = len(layer.input) > 2 and layer.input[2]
        if has_bias and (layer.input[2] not in inits or readers.get(layer.input[2]) != 1):
            continue
        gamma, beta, mean, var = (numpy_helper.to_array(inits[i]).astype(np.float64) for i in bn.input[1:5])
        scale = gamma / np.sqrt(var + _attr(bn, "epsilon", 1e-5))
        w = numpy_helper.to_array(inits[layer.input[1]])
        along = [1] * w.ndim
        along[axis] = -1
        b = numpy_helper.to_array(inits[layer.input[2]]).astype(np.float64) if has_bias else np.zeros(w.shape[axis])
        w_new = (w.astype(np.float64) * scale.reshape(along)).astype(w.dtype)
        b_new = ((b - mean) * scale + beta).astype(w.dtype)
        inits[layer.input[1]].CopyFrom(numpy_helper.from_array(w_new, layer.input[1]))
        bias_name = layer.input[2] if has_bias else f"{layer.input[1]}_bn_bias"
        if has_bias:
            inits[layer.input[2]].CopyFrom(numpy_helper.from_array(b_new, bias_name))
        else:
            g.initializer.append(numpy_helper.from_array(b_new, bias_name))
            while len(layer.input) < 3:
                layer.input.append("")
            layer.input[2] = bias_name
        layer.output[0] = bn.output[0]
        drop.append(bn)
    for bn in drop:
        g.node.remove(bn)
    return model


def upgrade(path: Path, model: Any) -> Any:
    """``model`` at opset 13 or newer: older opsets are converted by ``onnx.version_converter``."""
    from onnx import defs, version_converter

    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset > defs.onnx_opset_version():
        raise ModelError(f"{path}: opset {opset} is newer than the onnx package knows ({defs.onnx_opset_version()}); "
                         "export the model with an opset onnx knows")  # fmt: skip
    if opset >= MIN_OPSET:
        return model
    try:
        converted = version_converter.convert_version(model, MIN_OPSET)
    except Exception as e:
        first = next((ln.strip() for ln in str(e).splitlines() if ln.strip()), type(e).__name__)[:200]
        raise ModelError(
            f"{path}: opset {opset} could not be upgraded to opset {MIN_OPSET} by onnx.version_converter ({first}); "
            f"export the model with opset {MIN_OPSET} or newer"
        ) from e
    note(f"{path}: opset {opset} upgraded to {MIN_OPSET} with onnx.version_converter")
    return converted
