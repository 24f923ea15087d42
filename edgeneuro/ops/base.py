"""What an operator module gives the rest of the compiler.

``lower(op, graph) -> Kernel`` fixes everything that is known at compile time (shapes, padding,
requantization multipliers, activation bounds) into a :class:`Kernel`. The numpy reference
(``reference(kernel, *arrays)``) and the generated C call read the *same* Kernel, so the C and the
reference cannot disagree about parameters, only about arithmetic, which is what the tests check.

C calling convention of every kernel: ``fn(&params, activations..., constants..., outputs...)``
where ``params`` is a ``<fn>_params`` struct with the fields of ``Kernel.params``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgeneuro.errors import UnsupportedOperator
from edgeneuro.ir import Graph, Op, Tensor


@dataclass(frozen=True)
class Kernel:
    op: Op
    fn: str | None  # C function; None means a view: the output aliases the input's bytes
    params: dict[str, int] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    consts: tuple[tuple[str, np.ndarray], ...] = ()
    outputs: tuple[str, ...] = ()
    macs: int = 0
    summary: str = ""

    @property
    def const_bytes(self) -> int:
        return sum(int(a.nbytes) for _, a in self.consts)


def unsupported(graph: Graph, op: Op, why: str) -> UnsupportedOperator:
    return UnsupportedOperator(graph.source, op.kind, op.index, why)


def require_int8(graph: Graph, op: Op, *tensors: Tensor) -> None:
    for t in tensors:
        if t.dtype != "int8" or t.quant is None:
            raise unsupported(
                graph, op, f"tensor '{t.name}' is {t.dtype}; this slice compiles int8-quantized tensors only"
            )


def per_tensor(graph: Graph, op: Op, t: Tensor) -> None:
    if t.quant is not None and t.quant.per_channel:
        raise unsupported(graph, op, f"tensor '{t.name}' has per-channel quantization where per-tensor is required")


def same_quant(a: Tensor, b: Tensor) -> bool:
    return a.quant is not None and b.quant is not None and a.scale == b.scale and a.zero_point == b.zero_point


def padding(kind: str, in_size: int, k: int, stride: int, dilation: int, out_size: int) -> int:
    """TFLite ``ComputePaddingWithOffset``: the padding before the first element."""
    if kind == "VALID":
        return 0
    eff = (k - 1) * dilation + 1
    total = max(0, (out_size - 1) * stride + eff - in_size)
    return total // 2


def out_size(kind: str, in_size: int, k: int, stride: int, dilation: int) -> int:
    eff = (k - 1) * dilation + 1
    if kind == "SAME":
        return (in_size + stride - 1) // stride
    return (in_size + stride - eff) // stride


def check_shape(graph: Graph, op: Op, t: Tensor, expected: tuple[int, ...]) -> None:
    if tuple(t.shape) != tuple(expected):
        raise unsupported(graph, op, f"output '{t.name}' has shape {list(t.shape)}, expected {list(expected)}")


def fmt_attrs(**kw: Any) -> str:
    return " ".join(f"{k}{v}" for k, v in kw.items())


def requantize(acc: np.ndarray, mult, shift, out_zp: int, act_min: int, act_max: int) -> np.ndarray:
    from edgeneuro.ir.quant import multiply_by_quantized_multiplier

    y = multiply_by_quantized_multiplier(acc, mult, shift) + out_zp
    return np.clip(y, act_min, act_max).astype(np.int8)
