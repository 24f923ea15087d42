"""The comparisons EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER, GREATER_EQUAL and the logical
LOGICAL_AND, LOGICAL_OR, with broadcasting (up to 5-D); the output is bool (one byte, 0 or 1).

Spec (TFLM ``comparisons.cc`` and ``reference_ops`` ``comparisons.h``; ``logical.cc``):

- float32 and int32: the raw values compared (``a == b``, ``a < b``, ...; a NaN compares false,
  except NOT_EQUAL).
- int8: each input is rescaled before the comparison, ``v = ((x - zp) << 8)``,
  ``MultiplyByQuantizedMultiplierSmallerThanOneExp(v, m, shift)`` = ``RoundingDivideByPOT(
  SaturatingRoundingDoublingHighMul(v, m), -shift)`` with ``(m, shift) =
  QuantizeMultiplierSmallerThanOneExp(double(scale))`` of that input's own scale (TFLM checks it
  is below 1; edgeneuro refuses other scales); the two int32 results are compared. Rescaling is
  done even where both inputs share their quantization (the rounding may then make close values
  equal).
- bool (EQUAL, NOT_EQUAL, LOGICAL_AND, LOGICAL_OR): on the truth values.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.quant import quantize_multiplier, rounding_divide_by_pot
from edgeneuro.ir.quant import saturating_rounding_doubling_high_mul as srdhm
from edgeneuro.ops.base import Kernel, broadcast, broadcast_inputs, same_types, unsupported
from edgeneuro.ops.minmax import SUFFIX

KINDS = ("EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "LOGICAL_AND", "LOGICAL_OR")
C_FILE = "comparison"
# newest TFLite op versions handled (2: int8; EQUAL / NOT_EQUAL 3: strings, refused by type)
MAX_VERSION = {"EQUAL": 3, "NOT_EQUAL": 3, "LESS": 2, "LESS_EQUAL": 2, "GREATER": 2, "GREATER_EQUAL": 2,
               "LOGICAL_AND": 1, "LOGICAL_OR": 1}  # fmt: skip
TYPES = {"EQUAL": ("int8", "int32", "float32", "bool"), "NOT_EQUAL": ("int8", "int32", "float32", "bool"),
         "LOGICAL_AND": ("bool",), "LOGICAL_OR": ("bool",)}  # fmt: skip
ORDERED = ("int8", "int32", "float32")
LEFT_SHIFT = 8


def lower(op: Op, g: Graph) -> Kernel:
    a, b, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    dtype = same_types(g, op, TYPES.get(op.kind, ORDERED), a, b)
    if y.dtype != "bool":
        raise unsupported(g, op, f"output '{y.name}' is {y.dtype}, not bool")
    params = broadcast(g, op, a, b, y)
    params["op"] = KINDS.index(op.kind)
    if dtype == "int8":
        if a.quant is None or b.quant is None or a.quant.per_channel or b.quant.per_channel:
            raise unsupported(g, op, "int8 inputs must be quantized per tensor")
        for name, t in (("a", a), ("b", b)):
            if not 0 < t.scale < 1:
                raise unsupported(g, op, f"input '{t.name}' has scale {t.scale}; TFLM takes scales below 1 here")
            mult, shift = quantize_multiplier(float(t.scale))
            params.update({f"{name}_zp": t.zero_point, f"{name}_mult": mult, f"{name}_shift": shift})
    return Kernel(
        op=op,
        fn=f"en_compare_{SUFFIX[dtype]}",
        params=params,
        inputs=(a.name, b.name),
        outputs=(y.name,),
        summary=f"{list(a.shape)} {op.kind.lower()} {list(b.shape)}",
    )


def _rescale(x: np.ndarray, zp: int, mult: int, shift: int) -> np.ndarray:
    v = (x.astype(np.int64) - zp) << LEFT_SHIFT
    return rounding_divide_by_pot(srdhm(v, mult), -shift)


OPS = (np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal, np.logical_and, np.logical_or)


def reference(k: Kernel, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    p = k.params
    fa, fb = broadcast_inputs(p, a, b)
    if k.fn == "en_compare_s8":
        fa = _rescale(fa, p["a_zp"], p["a_mult"], p["a_shift"])
        fb = _rescale(fb, p["b_zp"], p["b_mult"], p["b_shift"])
    return OPS[p["op"]](fa, fb).astype(bool).reshape(-1)
