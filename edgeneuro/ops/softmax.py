"""SOFTMAX over the last axis: float32, or int8 in and int8 out (output scale 1/256, zero point -128).

float32 (TFLite's reference): ``e = exp((x - max) * beta)``, ``y = e * (1 / sum(e))``; the result
depends on the C library's ``expf`` in the last bits, so float softmax agrees within 4 ulp, not
bit for bit (3 ulp measured against TFLM).


Spec: TFLite's quantized ``reference_ops::Softmax`` built on gemmlowp fixed point: the input
difference to the row maximum is scaled into Q5.26 by ``PreprocessSoftmaxScaling(beta, s_in, 5)``,
exponentiated with ``exp_on_negative_values``, summed in Q12.19, and divided with a Newton-Raphson
reciprocal (``one_over_one_plus_x_for_x_in_0_1``); edgeneuro/ir/gemmlowp.py has that arithmetic in
numpy, scalar by scalar where gemmlowp is, vectorized over the row.

Bounds: the Q12.19 sum of a row takes up to 2^19 per element (int32 in TFLM too), so edgeneuro
refuses rows of 4,096 or more. A row whose sum reaches 2^28 (512 or more elements at or near the
maximum) makes the final rounding shift 32 bits or more, where TFLM's gemmlowp asserts (undefined in
a release build); edgeneuro gives the exact quotient there, 0 (output -128), in C as in numpy.
"""

from __future__ import annotations

import math

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.gemmlowp import exp_on_negative_values, one_over_one_plus_x
from edgeneuro.ir.quant import (
    multiply_by_quantized_multiplier,
    quantize_multiplier_greater_than_one,
    rounding_divide_by_pot,
)
from edgeneuro.ir.quant import saturating_rounding_doubling_high_mul as srdhm
from edgeneuro.ops.base import Kernel, check_exp_sum, require_int8, unsupported

KINDS = ("SOFTMAX",)
C_FILE = "softmax"
MAX_VERSION = {"SOFTMAX": 3}  # newest TFLite op versions handled
SCALED_DIFF_INTEGER_BITS = 5
ACCUM_INTEGER_BITS = 12


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    beta = float(op.attrs.get("beta", 1.0))
    depth = x.shape[-1]
    if x.dtype == y.dtype == "float32":
        return Kernel(op=op, fn="en_softmax_f32", params=dict(rows=x.size // depth, depth=depth, beta=beta),
                      inputs=(x.name,), outputs=(y.name,), summary=f"beta {beta:g}")  # fmt: skip
    require_int8(g, op, x, y)
    check_exp_sum(g, op, depth)
    if y.zero_point != -128 or abs(y.scale - 1 / 256) > 1e-3 / 256:
        raise unsupported(
            g, op, f"int8 output must have scale 1/256 and zero point -128 (has {y.scale}, {y.zero_point})"
        )
    real = min(beta * x.scale * (1 << (31 - SCALED_DIFF_INTEGER_BITS)), (1 << 31) - 1.0)
    mult, left_shift = quantize_multiplier_greater_than_one(real, max_shift=31)  # diff_min: 0 only
    max_rescaled = (
        1.0 * ((1 << SCALED_DIFF_INTEGER_BITS) - 1) * (1 << (31 - SCALED_DIFF_INTEGER_BITS)) / (1 << left_shift)
    )
    diff_min = -int(math.floor(max_rescaled))
    return Kernel(
        op=op,
        fn="en_softmax_s8",
        params=dict(rows=x.size // depth, depth=depth, mult=mult, left_shift=left_shift, diff_min=diff_min),
        inputs=(x.name,),
        outputs=(y.name,),
        summary=f"beta {beta:g}",
    )


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    p = k.params
    if k.fn == "en_softmax_f32":  # exp((x - max) * beta) / sum, in float32; expf may differ by an ulp
        rows = x.reshape(p["rows"], p["depth"]).astype(np.float32)
        e = np.exp((rows - rows.max(axis=1, keepdims=True)) * np.float32(p["beta"]))
        total = np.zeros(p["rows"], np.float32)
        for c in range(p["depth"]):
            total = total + e[:, c]
        return (e * (np.float32(1) / total)[:, None]).astype(np.float32).reshape(-1)
    rows = x.reshape(p["rows"], p["depth"]).astype(np.int64)
    out = np.empty(rows.shape, np.int8)
    for r, row in enumerate(rows):
        diff = row - row.max()
        valid = diff >= p["diff_min"]
        scaled = multiply_by_quantized_multiplier(diff, p["mult"], p["left_shift"])
        e = exp_on_negative_values(scaled, SCALED_DIFF_INTEGER_BITS)
        sum_of_exps = int(np.sum(np.where(valid, rounding_divide_by_pot(e, ACCUM_INTEGER_BITS), 0)))
        headroom_plus_one = 32 - sum_of_exps.bit_length()  # count leading zeros of a positive int32
        num_bits_over_unit = ACCUM_INTEGER_BITS - headroom_plus_one
        shifted_sum_minus_one = ((sum_of_exps << headroom_plus_one) - (1 << 31)) & 0xFFFFFFFF
        if shifted_sum_minus_one >= 1 << 31:
            shifted_sum_minus_one -= 1 << 32
        shifted_scale = one_over_one_plus_x(shifted_sum_minus_one)
        unsat = rounding_divide_by_pot(srdhm(shifted_scale, e), num_bits_over_unit + 31 - 8)
        out[r] = np.where(valid, np.clip(unsat - 128, -128, 127), -128)
    return out.reshape(-1)
