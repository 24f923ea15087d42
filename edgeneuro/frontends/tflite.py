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


def _buffer(model: Any, buf: bytes, index: int) -> np.ndarray | None:
    b = model.Buffers(index)
    if b is None:
        return None
    if b.Offset() > 1:  # large models keep buffers after the flatbuffer
        return np.frombuffer(buf, np.uint8, count=b.Size(), offset=b.Offset())
    if b.DataLength() == 0:
        return None
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
        raw = _buffer(model, buf, t.Buffer())
        data = None
        if raw is not None and dtype in NP_TYPES:
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
        code = model.OperatorCodes(o.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        kind = OP_NAMES.get(builtin, f"BUILTIN_{builtin}")
        if kind == "CUSTOM":
            kind = f"CUSTOM:{(code.CustomCode() or b'').decode()}"
        ins = tuple(names[j] if j >= 0 else "" for j in (o.InputsAsNumpy() if o.InputsLength() else []))
        outs = tuple(names[j] for j in (o.OutputsAsNumpy() if o.OutputsLength() else []))
        attrs = _attrs(o)
        attrs["version"] = int(code.Version())
        ops.append(Op(kind=kind, inputs=ins, outputs=outs, attrs=attrs, index=i))

    inputs = tuple(names[j] for j in (sg.InputsAsNumpy() if sg.InputsLength() else []))
    outputs = tuple(names[j] for j in (sg.OutputsAsNumpy() if sg.OutputsLength() else []))
    _check_int4(path, tensors, ops, {names[i]: why for i, why in int4_errors.items()}, inputs)
    name = path.stem if index == 0 else (sg.Name() or b"").decode() or f"subgraph{index}"
    return Graph(name=name, source=str(path), tensors=tensors, ops=tuple(ops), inputs=inputs, outputs=outputs)


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
