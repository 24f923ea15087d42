"""Tensor, Op and Graph: the typed IR every front end produces and every later stage reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# int4: TFLite INT4 constants, two values a byte (``Tensor.nbytes``); ``data`` holds them unpacked as int8
DTYPE_BYTES = {"int4": 1, "int8": 1, "uint8": 1, "int16": 2, "int32": 4, "int64": 8, "float32": 4, "bool": 1}
C_TYPES = {
    "int8": "int8_t",
    "uint8": "uint8_t",
    "int16": "int16_t",
    "int32": "int32_t",
    "int64": "int64_t",
    "float32": "float",
    "bool": "uint8_t",  # TFLite bool: one byte, 0 or 1
}


@dataclass(frozen=True)
class QuantParams:
    """Affine quantization: real = scale * (q - zero_point); per-channel along ``axis``."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1

    def to_json(self) -> dict[str, Any]:
        return {"scale": list(self.scale), "zero_point": list(self.zero_point), "axis": self.axis}


@dataclass(frozen=True)
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: QuantParams | None = None
    data: np.ndarray | None = field(default=None, compare=False, repr=False)
    # a TFLite variable tensor (an LSTM's state): no operator need write it; it reads as zero after reset
    variable: bool = False

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of one sample in a stack of N (IN.npy / OUT.npy): the shape without its batch
        axis when that axis is 1, else the whole shape."""
        return self.shape[1:] if self.shape and self.shape[0] == 1 else self.shape

    @property
    def nbytes(self) -> int:
        if self.dtype == "int4":
            return (self.size + 1) // 2
        return self.size * DTYPE_BYTES[self.dtype]

    @property
    def scale(self) -> float:
        assert self.quant is not None, f"tensor {self.name} is not quantized"
        return self.quant.scale[0]

    @property
    def zero_point(self) -> int:
        assert self.quant is not None, f"tensor {self.name} is not quantized"
        return self.quant.zero_point[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "quant": self.quant.to_json() if self.quant else None,
            "const": self.is_const,
        }


@dataclass(frozen=True)
class Op:
    """One operator. ``index`` is its position in the source model, used in every message."""

    kind: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: dict[str, Any]
    index: int

    def label(self) -> str:
        return f"{self.kind} #{self.index}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "index": self.index,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "attrs": self.attrs,
        }


@dataclass(frozen=True)
class Graph:
    name: str
    source: str
    tensors: dict[str, Tensor]
    ops: tuple[Op, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    # A temporal graph (a spiking network from NIR) computes one time step per invocation; its
    # ``state`` tensors keep their values between invocations (a recurrent edge reads the value of
    # the previous step) until the application resets them to zero.
    temporal: bool = False
    state: tuple[str, ...] = ()
    # The other subgraphs of a TFLite model (index 0 is this graph's own place, left empty), which
    # its WHILE and IF operators name; the ``inline-subgraphs`` pass copies them in and clears this.
    subgraphs: tuple[Graph | None, ...] = ()

    def t(self, name: str) -> Tensor:
        return self.tensors[name]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "temporal": self.temporal,
            "state": list(self.state),
            "tensors": [t.to_json() for t in self.tensors.values()],
            "ops": [op.to_json() for op in self.ops],
        }
