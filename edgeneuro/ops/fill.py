"""FILL and ZEROS_LIKE: an output set to one value, int8 and float32 (and int32 where TFLM has it).

Spec:

* FILL (TFLM ``fill.cc``; inputs: dims, value): TFLM's Prepare requires a scalar ``value`` of the
  output's type and, when ``dims`` is constant, dims equal to the output's shape; every output
  element is ``value``. TFLM fills float32, int32 and int8. The value is copied bytewise, so
  quantization plays no part; edgeneuro requires a quantized value and output to share scale and
  zero point (so the value means the same). With constant dims and value the fold-constants pass
  computes it at compile time; a value computed by the model is read at run time.
* ZEROS_LIKE (TFLM ``zeros_like.cc``): an output of the input's shape and type, all zeros; TFLM
  takes int32, int64 and float32 (no int8), and so does edgeneuro except int64.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.graph import DTYPE_BYTES
from edgeneuro.ops.base import Kernel, check_shape, unsupported

KINDS = ("FILL", "ZEROS_LIKE")
C_FILE = "fill"
MAX_VERSION = {"FILL": 4, "ZEROS_LIKE": 1}  # newest TFLite op versions handled (newer ones add types)
FILL_TYPES = ("int8", "int32", "float32")
ZEROS_TYPES = ("int32", "float32")


def lower(op: Op, g: Graph) -> Kernel:
    y = g.t(op.outputs[0])
    if op.kind == "ZEROS_LIKE":
        x = g.t(op.inputs[0])
        if x.dtype != y.dtype or x.dtype not in ZEROS_TYPES:
            raise unsupported(g, op, f"{x.dtype} to {y.dtype}; TFLM gives zeros like {', '.join(ZEROS_TYPES)}")
        check_shape(g, op, y, tuple(x.shape))
        return Kernel(op=op, fn="en_zeros_like", params={"nbytes": y.nbytes}, inputs=(x.name,), outputs=(y.name,))
    dims, value = g.t(op.inputs[0]), g.t(op.inputs[1])
    if value.shape != () or value.dtype != y.dtype or y.dtype not in FILL_TYPES:
        raise unsupported(
            g, op, f"value {value.dtype} {list(value.shape)}: TFLM fills {', '.join(FILL_TYPES)} from a scalar"
        )
    if (value.quant is None) != (y.quant is None) or (
        y.quant is not None and (value.scale, value.zero_point) != (y.scale, y.zero_point)
    ):
        raise unsupported(g, op, "value and output are quantized differently (TFLM copies the value's bytes)")
    if dims.data is not None and [int(d) for d in np.asarray(dims.data).reshape(-1)] != list(y.shape):
        raise unsupported(g, op, f"dims {np.asarray(dims.data).tolist()} differ from the output shape {list(y.shape)}")
    esize = DTYPE_BYTES[y.dtype]
    return Kernel(
        op=op,
        fn="en_fill",
        params={"count": y.size, "esize": esize},
        inputs=(value.name,),
        outputs=(y.name,),
        summary=f"{list(y.shape)}",
    )


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    if k.op.kind == "ZEROS_LIKE":
        return np.zeros(np.asarray(x).size, np.asarray(x).dtype)
    return np.full(k.params["count"], np.asarray(x).reshape(()), np.asarray(x).dtype)
