"""TFLite flatbuffer → ``ir.Graph``, read with the ``tflite`` schema package (no TensorFlow)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np
import tflite

from edgeneuro.errors import ModelError, UnsupportedOperator
from edgeneuro.ir import Graph, Op, QuantParams, Tensor
from edgeneuro.ir.quant import unpack_int4


def _names(cls: type) -> dict[int, str]:
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


OP_NAMES = _names(tflite.BuiltinOperator)
TYPE_NAMES = {k: v.lower() for k, v in _names(tflite.TensorType).items()}
PADDING = _names(tflite.Padding)
ACTIVATION = _names(tflite.ActivationFunctionType)
NP_TYPES = {
    "int8": np.int8,
    "uint8": np.uint8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "float32": np.float32,
    "bool": np.bool_,
}


OPTION_TYPES = _names(tflite.BuiltinOptions)
ENUM_FIELDS = {"padding": PADDING, "fused_activation_function": ACTIVATION}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Options(dict):
    """An operator's options: a dict that names the file, the operator and the field when an op
    module reads a field the file does not have (options left out, or a table of another type),
    instead of a bare KeyError."""

    def __init__(self, values: dict[str, Any], where: str, kind: str) -> None:
        super().__init__(values)
        self.where, self.kind = where, kind

    def __missing__(self, key: str) -> Any:
        raise ModelError(f"{self.where}: its options have no '{key}' (options {self.kind}); the file is corrupt "
                         "or was written for another operator")  # fmt: skip

    def copy(self) -> Options:
        return Options(dict(self), self.where, self.kind)


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower().removesuffix("options"))


# an options table named after another builtin operator (CONV_2D <- Conv2DOptions): a wrong table
OPTION_OWNER = {_norm(kind): kind for kind in OP_NAMES.values()}


def _attrs(op: Any) -> dict[str, Any]:
    """The operator's builtin options as a dict with the schema's field names in snake_case
    (``StrideH`` -> ``stride_h``), enums as their names and vectors as lists. Generic, so a new
    operator needs no change here: its module in ``edgeneuro/ops`` reads what it needs."""
    kind = OPTION_TYPES.get(op.BuiltinOptionsType(), "NONE")
    table = op.BuiltinOptions()
    if kind == "NONE" or table is None or not hasattr(tflite, kind):
        return {}
    opts = getattr(tflite, kind)()
    opts.Init(table.Bytes, table.Pos)
    attrs: dict[str, Any] = {}
    for name in dir(opts):
        if not name[:1].isupper() or name in ("Init",) or name.startswith("GetRootAs"):
            continue
        if name.endswith(("BufferHasIdentifier", "IsNone", "Length", "AsNumpy")):
            continue
        if hasattr(opts, name + "AsNumpy"):
            v = getattr(opts, name + "AsNumpy")()
            value: Any = [] if isinstance(v, int) else [int(e) for e in v]
        else:
            try:
                value = getattr(opts, name)()
            except TypeError:  # an accessor that takes an index (a vector of tables)
                continue
        key = _snake(name)
        attrs[key] = ENUM_FIELDS[key].get(value, value) if key in ENUM_FIELDS else value
    return attrs


def _buffer(model: Any, buf: bytes, index: int, label: str) -> np.ndarray | None:
    b = model.Buffers(index)
    if b is None:
        return None
    if b.Offset() > 1:  # large models keep buffers after the flatbuffer
        if b.Offset() + b.Size() > len(buf):
            raise ModelError(f"{label}: buffer {index} ({b.Size()} bytes at {b.Offset()}) ends beyond the file "
                             f"({len(buf)} bytes)")  # fmt: skip
        return np.frombuffer(buf, np.uint8, count=b.Size(), offset=b.Offset())
    if b.DataLength() == 0:
        return None
    o = b._tab.Offset(4)  # the data vector: its elements must lie inside the file
    start = b._tab.Vector(o)
    if start + b.DataLength() > len(buf):
        raise ModelError(f"{label}: buffer {index} ({b.DataLength()} bytes at {start}) ends beyond the file "
                         f"({len(buf)} bytes)")  # fmt: skip
    return b.DataAsNumpy()


def load(path: Path) -> Graph:
    buf = path.read_bytes()
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ModelError(f"{path}: not a TFLite model (no 'TFL3' file identifier); give a .tflite flatbuffer")
    try:
        return _parse(path, buf)
    except (ModelError, UnsupportedOperator):
        raise
    except Exception as e:  # a corrupt flatbuffer raises anything from struct.error to IndexError
        raise ModelError(f"{path}: cannot parse the TFLite flatbuffer ({type(e).__name__}: {e})") from e


def _parse(path: Path, buf: bytes) -> Graph:
    model = tflite.Model.GetRootAs(buf, 0)
    if model.SubgraphsLength() < 1:
        raise ModelError(f"{path}: the model has no subgraph")
    for b in range(model.BuffersLength()):  # every buffer inside the file, those no tensor names too
        _buffer(model, buf, b, f"{path}")
    main = _subgraph(path, buf, model, 0)
    if model.SubgraphsLength() == 1:
        return main
    # WHILE, IF and CALL_ONCE name other subgraphs by index: read those the main graph reaches
    subs: list[Graph | None] = [None] * model.SubgraphsLength()
    todo = [main]
    while todo:
        for op in todo.pop().ops:
            for key, index in op.attrs.items():
                if key.endswith("subgraph_index") and isinstance(index, int) and 0 < index < len(subs):
                    if subs[index] is None:
                        subs[index] = _subgraph(path, buf, model, index)
                        todo.append(subs[index])
    return dataclasses.replace(main, subgraphs=tuple(subs))


def _subgraph(path: Path, buf: bytes, model: Any, index: int) -> Graph:
    sg = model.Subgraphs(index)
    tensors: dict[str, Tensor] = {}
    names: list[str] = []
    int4_errors: dict[int, str] = {}  # tensor index -> what is wrong with its packed data
    for i in range(sg.TensorsLength()):
        t = sg.Tensors(i)
        name = (t.Name() or b"").decode() or f"tensor_{i}"
        if name in tensors:
            name = f"{name}#{i}"
        dtype = TYPE_NAMES.get(t.Type(), f"type{t.Type()}")
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        q = t.Quantization()
        quant = None
        if q is not None and q.ScaleLength() > 0:
            zps = q.ZeroPointAsNumpy() if q.ZeroPointLength() else np.zeros(q.ScaleLength(), np.int64)
            quant = QuantParams(
                scale=tuple(float(s) for s in q.ScaleAsNumpy()),
                zero_point=tuple(int(z) for z in zps),
                axis=int(q.QuantizedDimension()),
            )
        label = f"{path}: tensor {i} '{name}'"
        if not 0 <= t.Buffer() < model.BuffersLength():
            raise ModelError(f"{label}: buffer {t.Buffer()} does not exist (the file has {model.BuffersLength()})")
        raw = _buffer(model, buf, t.Buffer(), label)
        data = None
        if raw is not None and dtype in NP_TYPES:
            count = int(np.prod(shape, dtype=np.int64)) if all(d >= 0 for d in shape) else -1
            if count < 0 or len(raw) != count * np.dtype(NP_TYPES[dtype]).itemsize:
                raise ModelError(f"{label}: buffer {t.Buffer()} holds {len(raw)} bytes, not the "
                                 f"{max(count, 0) * np.dtype(NP_TYPES[dtype]).itemsize} of a {dtype} tensor of shape "
                                 f"{list(shape)}")  # fmt: skip
            data = np.frombuffer(raw.tobytes(), NP_TYPES[dtype]).reshape(shape)
        elif raw is not None and dtype == "int4":  # two a byte; the IR holds them unpacked
            count = int(np.prod(shape, dtype=np.int64))
            if len(raw) != (count + 1) // 2:
                int4_errors[i] = f"holds {len(raw)} bytes, not the {(count + 1) // 2} of {count} int4 values two a byte"
            else:
                data = unpack_int4(raw, count).reshape(shape)
        tensors[name] = Tensor(
            name=name, shape=shape, dtype=dtype, quant=quant, data=data, variable=bool(t.IsVariable())
        )
        names.append(name)

    ops: list[Op] = []
    for i in range(sg.OperatorsLength()):
        o = sg.Operators(i)
        code = model.OperatorCodes(o.OpcodeIndex()) if 0 <= o.OpcodeIndex() < model.OperatorCodesLength() else None
        if code is None:
            raise ModelError(f"{path}: operator #{i}: opcode index {o.OpcodeIndex()} is not one of the file's "
                             f"{model.OperatorCodesLength()} operator codes")  # fmt: skip
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        kind = OP_NAMES.get(builtin, f"BUILTIN_{builtin}")
        if kind == "CUSTOM":
            kind = f"CUSTOM:{(code.CustomCode() or b'').decode()}"
        ins = tuple(names[j] if j >= 0 else "" for j in _indices(path, f"operator #{i} {kind} input", o, "Inputs",
                                                                  len(names), optional=True))  # fmt: skip
        outs = tuple(names[j] for j in _indices(path, f"operator #{i} {kind} output", o, "Outputs", len(names)))
        where = f"{path}: operator #{i} {kind}"
        options = OPTION_TYPES.get(o.BuiltinOptionsType(), f"type {o.BuiltinOptionsType()}")
        if o.BuiltinOptionsType() not in OPTION_TYPES:
            raise ModelError(f"{where}: its options are of type {o.BuiltinOptionsType()}, which the TFLite schema "
                             "does not have; the file is corrupt")  # fmt: skip
        owner = OPTION_OWNER.get(_norm(options))
        if owner is not None and owner != kind and not kind.startswith(owner + "_"):  # CONV_3D_TRANSPOSE: Conv3D's
            raise ModelError(f"{where}: its options are {options}, the options of {owner}; the file is corrupt")
        attrs = Options(_attrs(o), where, "NONE (left out)" if options == "NONE" else options)
        attrs["version"] = int(code.Version())
        ops.append(Op(kind=kind, inputs=ins, outputs=outs, attrs=attrs, index=i))

    inputs = tuple(names[j] for j in _indices(path, "graph input", sg, "Inputs", len(names)))
    outputs = tuple(names[j] for j in _indices(path, "graph output", sg, "Outputs", len(names)))
    _check_int4(path, tensors, ops, {names[i]: why for i, why in int4_errors.items()}, inputs)
    name = path.stem if index == 0 else (sg.Name() or b"").decode() or f"subgraph{index}"
    return Graph(name=name, source=str(path), tensors=tensors, ops=tuple(ops), inputs=inputs, outputs=outputs)


def _indices(path: Path, role: str, table: Any, field: str, count: int, optional: bool = False) -> list[int]:
    """A vector of tensor indices, each checked: ``-1`` (an optional input left out) where
    ``optional``, else ``0 <= index < count``."""
    if not getattr(table, field + "Length")():
        return []
    out = [int(j) for j in getattr(table, field + "AsNumpy")()]
    for slot, j in enumerate(out):
        if not (0 <= j < count or (optional and j == -1)):
            raise ModelError(f"{path}: {role} {slot} is tensor {j}, not one of the {count} tensors of the graph")
    return out


INT4_LAYERS = ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D")  # TFLM unpacks int4 filters here


def _check_int4(path: Path, tensors: dict[str, Tensor], ops: list[Op], bad: dict[str, str], inputs) -> None:
    """INT4 tensors where TFLM takes them: the constant filter (input 1) of FULLY_CONNECTED, CONV_2D
    or DEPTHWISE_CONV_2D with int8 activations (TFLM refuses int16 with int4 filters), its data
    ``ceil(n / 2)`` bytes. Anything else stops here, naming the tensor and the operator."""
    int4 = {n for n, t in tensors.items() if t.dtype == "int4"}
    for name in int4 & set(inputs):
        raise ModelError(f"{path}: input '{name}' is int4; TFLM takes int4 tensors only as constant weights")
    for op in ops:
        for slot, name in enumerate(op.inputs):
            if name not in int4:
                continue
            t = tensors[name]
            why = None
            if op.kind not in INT4_LAYERS or slot != 1:
                why = f"TFLM takes int4 tensors only as the weights of {', '.join(INT4_LAYERS)}"
            elif name in bad:
                why = bad[name]
            elif t.data is None:
                why = "int4 weights must be constant"
            elif op.kind == "FULLY_CONNECTED" and t.quant is not None and t.quant.per_channel:
                why = "per-channel int4 weights (TFLM's FULLY_CONNECTED takes int4 weights per tensor only)"
            elif tensors[op.inputs[0]].dtype != "int8":
                why = f"int4 weights with {tensors[op.inputs[0]].dtype} activations (TFLM takes them with int8 only)"
            if why:
                raise UnsupportedOperator(str(path), op.kind, op.index, f"int4 tensor '{name}': {why}")
        for name in op.outputs:
            if name in int4:
                raise UnsupportedOperator(
                    str(path), op.kind, op.index, f"output '{name}' is int4; TFLM takes int4 tensors only as weights"
                )
