"""ONNX → ``ir.Graph``, for QDQ int8 models (``onnxruntime.quantization.quantize_static``,
QuantFormat.QDQ, int8 activations and weights).

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

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeneuro.errors import ModelError, UnsupportedOperator
from edgeneuro.ir import Graph, Op, QuantParams, Tensor

MIN_OPSET = 13
NP_DTYPES = {np.dtype(np.int8): "int8", np.dtype(np.int32): "int32", np.dtype(np.float32): "float32",
             np.dtype(np.int64): "int64", np.dtype(np.uint8): "uint8", np.dtype(np.int16): "int16"}  # fmt: skip
NCHW_TO_NHWC = (0, 2, 3, 1)
NHWC_TO_NCHW = (0, 3, 1, 2)
FLOAT_HINT = "edgeneuro compiles QDQ int8 ONNX models; quantize a float model with `--calibrate data.npy`"


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
    def __init__(self, path: Path, model: Any, shapes: dict[str, tuple[int, ...]]) -> None:
        from onnx import numpy_helper

        self.path = path
        self.model = model
        self.g = model.graph
        self.tensors: dict[str, Tensor] = {}
        self.ops: list[Op] = []
        self.values: dict[str, Value] = {}  # ONNX float tensor name -> IR value
        self.dequantized: dict[str, Value] = {}  # a graph output that is a DequantizeLinear's -> its float value
        self.cache: dict[tuple[str, str], str] = {}  # (IR name, layout) -> converted IR name
        self.consts = {i.name: numpy_helper.to_array(i) for i in self.g.initializer}
        for n in self.g.node:
            if n.op_type == "Constant":
                self.consts[n.output[0]] = numpy_helper.to_array(_attr(n, "value"))
        self.consumers: dict[str, list[Any]] = {}
        for n in self.g.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)
        self.index = {id(n): i for i, n in enumerate(self.g.node)}
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

    def output_quant(self, node: Any) -> tuple[str, QuantParams, str]:
        """The QuantizeLinear that quantizes ``node``'s output, through a Relu/Clip that the
        quantized range makes redundant or that becomes a fused activation. Returns (ONNX name
        of the quantized output, its parameters, fused activation)."""
        out = node.output[0]
        act = "NONE"
        users = self.consumers.get(out, [])
        if len(users) == 1 and users[0].op_type in ("Relu", "Clip"):
            act = "RELU" if users[0].op_type == "Relu" else self.clip_activation(users[0])
            out = users[0].output[0]
            users = self.consumers.get(out, [])
        qs = [u for u in users if u.op_type == "QuantizeLinear"]
        if len(qs) != 1 or len(users) != 1:
            raise self.unsupported(
                node,
                "its output is not quantized (edgeneuro compiles QDQ int8 ONNX models; quantize a float "
                "model with `--calibrate data.npy`)",
            )
        q = qs[0]
        quant = self.qparams(q.input[1], q.input[2] if len(q.input) > 2 else None)
        return q.output[0], quant, act

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
        if name in self.values and name not in self.float_values:
            return self.values[name]
        raise self.unsupported(node, f"input '{name}' is float, not a quantized value ({FLOAT_HINT})")

    # -- the walk -------------------------------------------------------------------------------
    def run(self) -> Graph:
        for inp in self.g.input:
            if inp.name in self.consts:
                continue
            self.graph_input(inp)
        for node in self.g.node:
            handler = getattr(self, f"op_{node.op_type}", None)
            if node.op_type == "Constant":
                continue
            if handler is None:
                raise self.unsupported(node, "no ONNX mapping for it yet")
            handler(node)
        for out in self.g.output:
            self.graph_output(out)
        return Graph(
            name=self.path.stem, source=str(self.path), tensors=self.tensors, ops=tuple(self.ops),
            inputs=tuple(self.inputs), outputs=tuple(self.outputs),
        )  # fmt: skip

    def graph_input(self, inp: Any) -> None:
        dims = []
        for i, d in enumerate(inp.type.tensor_type.shape.dim):
            if d.HasField("dim_value") and d.dim_value > 0:
                dims.append(d.dim_value)
            elif inp.name in self.shapes:
                dims.append(None)
            else:
                label = f" ('{d.dim_param}')" if d.dim_param else ""
                raise ModelError(
                    f"{self.path}: input '{inp.name}' has an unbound dimension {i}{label}; bind it with "
                    f"--shape {inp.name}=" + "x".join(str(x) if x else "N" for x in self._dims(inp))
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

    @staticmethod
    def _dims(inp: Any) -> list[int | None]:
        return [d.dim_value or None for d in inp.type.tensor_type.shape.dim]

    def graph_output(self, out: Any) -> None:
        v = self.dequantized.get(out.name) or self.values.get(out.name)
        if v is None:
            raise ModelError(f"{self.path}: output '{out.name}' is not produced by a supported operator")
        name = self.to_layout(v, "onnx", None)
        self.outputs.append(name)

    # QuantizeLinear / DequantizeLinear -------------------------------------------------------
    def op_QuantizeLinear(self, node: Any) -> None:
        src = node.input[0]
        if src in self.float_values:
            quant = self.qparams(node.input[1], node.input[2] if len(node.input) > 2 else None)
            v = self.values[src]
            out = self.add_tensor(node.output[0], self.shape(v), "int8", quant)
            self.emit("QUANTIZE", [v.name], [out], node)
            self.values[node.output[0]] = Value(out)
        elif node.output[0] not in self.values:
            raise self.unsupported(node, f"quantizes '{src}', which no supported operator produced")

    def op_DequantizeLinear(self, node: Any) -> None:
        src, out = node.input[0], node.output[0]
        axis = _attr(node, "axis", 1)
        quant = self.qparams(node.input[1], node.input[2] if len(node.input) > 2 else None, axis)
        if src in self.consts:
            arr = self.consts[src]
            self.values[out] = Value(self.const(src, arr, quant))
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
        attrs = dict(padding="EXPLICIT", pads=pads, stride_h=strides[0], stride_w=strides[1],
                     dilation_h_factor=dil[0], dilation_w_factor=dil[1])  # fmt: skip
        oh = (ih + pads[0] + pads[2] - ((ks[0] - 1) * dil[0] + 1)) // strides[0] + 1
        ow = (iw + pads[1] + pads[3] - ((ks[1] - 1) * dil[1] + 1)) // strides[1] + 1
        yq_name, yq, act = self.output_quant(node)
        attrs["fused_activation_function"] = act
        bias = self.bias(node, 2)
        if group == 1 or (group == ic and wd.shape[1] == 1 and oc % ic == 0 and group > 1):
            if group == 1:
                kind, wdata, axis = "CONV_2D", np.transpose(wd, (0, 2, 3, 1)), 0  # OIHW -> OHWI
            else:
                kind, wdata, axis = "DEPTHWISE_CONV_2D", np.transpose(wd, (1, 2, 3, 0)), 3  # -> [1, KH, KW, C*M]
                attrs["depth_multiplier"] = oc // ic
            wq = QuantParams(w.quant.scale, w.quant.zero_point, axis if w.quant.per_channel else 0)
        else:
            kind, wdata = "CONV_2D", np.transpose(wd, (0, 2, 3, 1))  # grouped: filter channels = ic / group
            wq = QuantParams(w.quant.scale, w.quant.zero_point, 0)
        wname = self.const(f"{w.name}_{kind.lower()}", wdata, wq)
        y = self.add_tensor(yq_name, (n, oh, ow, oc), "int8", yq)
        self.emit(kind, [xin, wname, bias or ""], [y], node, **attrs)
        self.values[yq_name] = Value(y, layout)

    def bias(self, node: Any, i: int) -> str | None:
        if len(node.input) <= i or not node.input[i]:
            return None
        b = self.tensors[self.value(node.input[i], node).name]
        if b.data is None or b.dtype != "int32":
            raise self.unsupported(node, "bias must be a constant int32 (DequantizeLinear of int32) tensor")
        return b.name

    def op_Gemm(self, node: Any) -> None:
        if _attr(node, "alpha", 1.0) != 1.0 or _attr(node, "beta", 1.0) != 1.0 or _attr(node, "transA", 0):
            raise self.unsupported(node, "only alpha = beta = 1 and transA = 0")
        self.fully_connected(node, transposed=bool(_attr(node, "transB", 0)))

    def op_MatMul(self, node: Any) -> None:
        self.fully_connected(node, transposed=False)

    def fully_connected(self, node: Any, transposed: bool) -> None:
        x = self.value(node.input[0], node)
        w = self.tensors[self.value(node.input[1], node).name]
        if w.data is None or len(w.shape) != 2:
            raise self.unsupported(node, "the second operand must be a constant 2-D matrix")
        wd = w.data if transposed else w.data.T  # -> [units, depth]
        axis = 0 if (transposed and w.quant.axis == 0) or (not transposed and w.quant.axis == 1) else 1
        if w.quant.per_channel and axis != 0:
            raise self.unsupported(node, "weights quantized per input channel")
        wname = self.const(f"{w.name}_fc", wd, QuantParams(w.quant.scale, w.quant.zero_point, 0))
        xin = self.to_layout(x, "onnx", node)
        xs = self.tensors[xin].shape
        yq_name, yq, act = self.output_quant(node)
        y = self.add_tensor(yq_name, (*xs[:-1], wd.shape[0]), "int8", yq)
        self.emit("FULLY_CONNECTED", [xin, wname, self.bias(node, 2) or ""], [y], node,
                  fused_activation_function=act, keep_num_dims=True)  # fmt: skip
        self.values[yq_name] = Value(y)

    def binary(self, node: Any, kind: str) -> None:
        a, b = self.value(node.input[0], node), self.value(node.input[1], node)
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
        y = self.add_tensor(yq_name, shape, "int8", yq)
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
        y = self.add_tensor(yq_name, (n, oh, ow, c), "int8", yq)
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
        y = self.add_tensor(yq_name, (n, 1, 1, c), "int8", yq)
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

        if src in self.float_values:
            self.values[node.output[0]] = Value(emit(node.output[0], None))
            self.float_values.add(node.output[0])
            return
        yq_name, yq, _ = self.output_quant(node)
        if yq == t.quant:
            y = emit(yq_name, yq)
        else:  # a new scale after the move: requantize
            mid = emit(f"{yq_name}_r", t.quant)
            y = self.add_tensor(yq_name, shape, "int8", yq)
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
        if (yq.scale[0], yq.zero_point[0]) == fixed.scale + fixed.zero_point:
            y = self.add_tensor(yq_name, shape, "int8", yq)
            self.emit("SOFTMAX", [xin], [y], node, beta=1.0)
        else:  # int8 softmax produces 1/256 steps; requantize to the model's output scale
            mid = self.add_tensor(f"{yq_name}_softmax", shape, "int8", fixed)
            self.emit("SOFTMAX", [xin], [mid], node, beta=1.0)
            y = self.add_tensor(yq_name, shape, "int8", yq)
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
                req = self.add_tensor(f"{name}_q", t.shape, "int8", yq)
                self.emit("QUANTIZE", [name], [req], node)
                name = req
            names.append(name)
        shape = list(self.tensors[names[0]].shape)
        shape[axis] = sum(self.tensors[n].shape[axis] for n in names)
        y = self.add_tensor(yq_name, shape, "int8", yq)
        self.emit("CONCATENATION", names, [y], node, axis=axis, fused_activation_function="NONE")
        self.values[yq_name] = Value(y, layout)

    def op_Relu(self, node: Any) -> None:
        x = self.value(node.input[0], node)
        yq_name, yq, _ = self.output_quant(node)
        y = self.add_tensor(yq_name, self.shape(x), "int8", yq)
        self.emit("RELU", [x.name], [y], node)
        self.values[yq_name] = Value(y, x.layout)

    def op_Identity(self, node: Any) -> None:
        self.values[node.output[0]] = self.value(node.input[0], node)

    op_Dropout = op_Identity


def _attr(node: Any, name: str, default: Any = None) -> Any:
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def load(path: Path, shapes: dict[str, tuple[int, ...]] | None = None) -> Graph:
    try:
        import onnx
    except ImportError as e:  # pragma: no cover - onnx is a dependency
        raise ModelError(f"{path}: reading ONNX needs the onnx package (pip install onnx)") from e
    try:
        model = onnx.load(str(path))
    except Exception as e:
        raise ModelError(f"{path}: not an ONNX model ({type(e).__name__}: {e})") from e
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < MIN_OPSET:
        raise ModelError(f"{path}: opset {opset}; edgeneuro reads opset {MIN_OPSET} and newer (onnx.version_converter)")
    return _Importer(path, model, shapes or {}).run()
