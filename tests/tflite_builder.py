"""Writes small TFLite flatbuffers (one operator, or a short chain) with chosen shapes and
quantization parameters, through the schema's object API shipped with the tflite-micro package.
Tests use it to drive TFLM's reference kernels and edgeneuro over randomized parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as S

DTYPES = {
    "int8": S.TensorType.INT8,
    "int16": S.TensorType.INT16,
    "int32": S.TensorType.INT32,
    "int64": S.TensorType.INT64,
    "float32": S.TensorType.FLOAT32,
    "bool": S.TensorType.BOOL,
}
NP = {"int8": np.int8, "int16": np.int16, "int32": np.int32, "int64": np.int64, "float32": np.float32,
      "bool": np.bool_}  # fmt: skip
ACT = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}
PAD = {"SAME": 0, "VALID": 1}


@dataclass
class ModelBuilder:
    buffers: list[Any] = field(default_factory=lambda: [S.BufferT()])
    tensors: list[Any] = field(default_factory=list)
    ops: list[Any] = field(default_factory=list)
    opcodes: list[int] = field(default_factory=list)
    versions: dict[int, int] = field(default_factory=dict)

    def tensor(self, shape, dtype="int8", scale=None, zero_point=None, data=None, axis=0, name=None) -> int:
        t = S.TensorT()
        t.shape = [int(d) for d in shape]
        t.type = DTYPES[dtype]
        t.name = name or f"t{len(self.tensors)}"
        if scale is not None:
            q = S.QuantizationParametersT()
            q.scale = [float(s) for s in np.atleast_1d(scale)]
            zps = np.atleast_1d(zero_point if zero_point is not None else 0)
            if len(zps) == 1 and len(q.scale) > 1:
                zps = np.zeros(len(q.scale), np.int64)
            q.zeroPoint = [int(z) for z in zps]
            q.quantizedDimension = axis
            t.quantization = q
        if data is not None:
            b = S.BufferT()
            b.data = np.ascontiguousarray(data).astype(NP[dtype]).tobytes()
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        else:
            t.buffer = 0
        self.tensors.append(t)
        return len(self.tensors) - 1

    def op(self, kind: str, inputs, outputs, options=None, options_type: str | None = None, version: int = 1) -> None:
        code = getattr(S.BuiltinOperator, kind)
        if code not in self.opcodes:
            self.opcodes.append(code)
        self.versions[code] = max(self.versions.get(code, 1), version)
        o = S.OperatorT()
        o.opcodeIndex = self.opcodes.index(code)
        o.inputs = list(inputs)
        o.outputs = list(outputs)
        if options is not None:
            o.builtinOptionsType = getattr(S.BuiltinOptions, options_type)
            o.builtinOptions = options
        self.ops.append(o)

    def build(self, inputs, outputs) -> bytes:
        sg = S.SubGraphT()
        sg.tensors = self.tensors
        sg.operators = self.ops
        sg.inputs = list(inputs)
        sg.outputs = list(outputs)
        m = S.ModelT()
        m.version = 3
        m.description = "edgeneuro test model"
        m.buffers = self.buffers
        m.subgraphs = [sg]
        m.operatorCodes = []
        for code in self.opcodes:
            oc = S.OperatorCodeT()
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, 127)
            oc.version = self.versions.get(code, 1)
            m.operatorCodes.append(oc)
        b = flatbuffers.Builder(1024)
        b.Finish(m.Pack(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def conv2d_options(padding: str, stride_h: int, stride_w: int, dil_h: int, dil_w: int, act: str):
    o = S.Conv2DOptionsT()
    o.padding, o.strideH, o.strideW = PAD[padding], stride_h, stride_w
    o.dilationHFactor, o.dilationWFactor = dil_h, dil_w
    o.fusedActivationFunction = ACT[act]
    return o


def pool_options(padding: str, fh: int, fw: int, sh: int, sw: int, act: str):
    o = S.Pool2DOptionsT()
    o.padding, o.filterHeight, o.filterWidth, o.strideH, o.strideW = PAD[padding], fh, fw, sh, sw
    o.fusedActivationFunction = ACT[act]
    return o


def fc_options(act: str, keep_num_dims: bool = False):
    o = S.FullyConnectedOptionsT()
    o.fusedActivationFunction = ACT[act]
    o.keepNumDims = keep_num_dims
    return o


def softmax_options(beta: float):
    o = S.SoftmaxOptionsT()
    o.beta = beta
    return o


def reducer_options(keep_dims: bool):
    o = S.ReducerOptionsT()
    o.keepDims = keep_dims
    return o


def reshape_options(shape):
    o = S.ReshapeOptionsT()
    o.newShape = [int(d) for d in shape]
    return o


def squeeze_options(dims):
    o = S.SqueezeOptionsT()
    o.squeezeDims = [int(d) for d in dims]
    return o


def options(kind: str, **fields):
    """Any builtin options table by its schema name, e.g. ``options("AddOptions",
    fusedActivationFunction=ACT["RELU"])``; field names as in the schema's object API."""
    o = getattr(S, kind + "T")()
    for k, v in fields.items():
        if not hasattr(o, k):
            raise AttributeError(f"{kind} has no field {k}")
        setattr(o, k, v)
    return o
