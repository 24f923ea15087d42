"""ADD, SUB and MUL, int8, with numpy-style broadcasting (up to 5-D).

Spec (TFLM ``add_common.cc`` / ``sub_common.cc`` / ``mul_common.cc`` and the reference integer
kernels):

- ADD / SUB: both inputs are shifted left by 20 bits (15 for int16) after removing their zero points, scaled to a
  common scale ``2 * max(s1, s2)`` with ``QuantizeMultiplier(s_i / (2 max))``, added (subtracted),
  then rescaled with ``QuantizeMultiplier(2 max / (2**shift * s_out))``; every rescale is
  ``MultiplyByQuantizedMultiplier``. ADD computes ``2 max`` in double, SUB in float32 (TFLM's
  ``sub_common.cc``), which is the same number (twice a float32); both take the quotients in double.
- MUL: ``MBQM((x1 - zp1) * (x2 - zp2), QuantizeMultiplier(s1 * s2 / s_out)) + zp_out``.

All results are clamped to the fused activation's range. float32: ``a + b``, ``a - b``, ``a * b``.

DSP variant (``en_binary_s8_dsp``, firmware/kernels/binary_dsp.c; int8, both inputs of the
output's size, no broadcasting): the same bits in one flat loop, about 15 instructions an element
on a Cortex-M4 where the portable kernel takes about 119. Every rescale takes the short form of
conv2d.py's ``channel_fields`` (one SMMLAR, a sign correction, a shift), its constants folded at
compile time (``dsp_params``). For ADD / SUB the input with the larger scale has the ratio 1/2
exactly (multiplier 2^30, shift 0), so its ``x << 20`` becomes ``x << 19`` without rounding (the
linear input); only the other is rounded, the linear one is added (times its sign and 2^e) before
the rounded one's final shift, both zero points ride in constants, and twice the sum feeds the
output's SMMLAR. MUL doubles ``(a - zp_a) * (b - zp_b)``. Where both scales are equal the rounded
input is linear too, and the multiplier -2^31 gives it exactly, negated. The kernel has an entry
point per form (``dsp_form``: ``Kernel.entry``), and a fused activation narrower than int8 is a
second pass over the output. ``variant`` takes the kernel only where it is exact: ``dsp_params``
runs its steps (``_dsp_compute``, which ``reference`` also uses) on all 65,536 pairs of int8
inputs against the spec, with every intermediate value within int32. That leaves out ADD / SUB
whose input scales are more than about 8x apart (the linear term times 2^e would leave int32) and
MUL whose multiplier is 1/2 or more (no rounding shift to fold the zero point into).
"""

from __future__ import annotations

import functools

import numpy as np

from edgeneuro.ir import Graph, Op, Tensor
from edgeneuro.ir.quant import (
    INT32_MAX,
    INT32_MIN,
    activation_range,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
)
from edgeneuro.ops.base import (
    Kernel,
    activation,
    broadcast,
    broadcast_inputs,
    check_accumulator,
    deviation,
    float_activation_range,
    float_clamp,
    requant_limit,
    require_int8,
    unsupported,
)

KINDS = ("ADD", "SUB", "MUL")
C_FILE = "binary"
MAX_VERSION = {"ADD": 4, "SUB": 5, "MUL": 6}  # newest TFLite op versions handled
DSP_FN = "en_binary_s8_dsp"


def _int_multipliers(kind: str, a: Tensor, b: Tensor, y: Tensor, left_shift: int) -> dict[str, int]:
    if kind == "MUL":
        m, s = quantize_multiplier(a.scale * b.scale / y.scale)
        return dict(a_mult=0, a_shift=0, b_mult=0, b_shift=0, left_shift=0, out_mult=m, out_shift=s)
    # ADD and SUB alike: 2 * max in double (SUB's float32 2 * max is the same number, the scales
    # being float32), the quotients in double
    twice_max = 2 * max(a.scale, b.scale)
    ra, rb, ro = a.scale / twice_max, b.scale / twice_max, twice_max / ((1 << left_shift) * y.scale)
    (am, ash), (bm, bsh), (om, osh) = (quantize_multiplier(r) for r in (ra, rb, ro))
    return dict(a_mult=am, a_shift=ash, b_mult=bm, b_shift=bsh, left_shift=left_shift, out_mult=om, out_shift=osh)


def _quant_params(kind: str, a: Tensor, b: Tensor, y: Tensor, act: str, left_shift: int) -> dict[str, int]:
    """The integer kernels' zero points, activation range and multipliers."""
    act_min, act_max = activation_range(act, y.scale, y.zero_point, y.dtype)
    p = dict(op=KINDS.index(kind), a_zp=a.zero_point, b_zp=b.zero_point, out_zp=y.zero_point)
    p.update(act_min=act_min, act_max=act_max)
    p.update(_int_multipliers(kind, a, b, y, left_shift))
    return p


def _check_intermediates(g: Graph, op: Op, a: Tensor, b: Tensor, y: Tensor, q: dict[str, int]) -> None:
    """Refuses scales whose intermediates (binary.c ``combine``) could overflow int32: MUL's product
    ``(x - a_zp) * (y - b_zp)``, ADD/SUB's ``(x - zp) << left_shift`` and the sum of the two rescaled
    inputs, each shifted left by the output multiplier's shift (exact: the rescaling is monotone,
    so its extremes are at the inputs' extremes)."""
    da, db = deviation(a), deviation(b)
    if op.kind == "MUL":
        raw, what = da * db, f"product (|a - zp| <= {da}, |b - zp| <= {db})"
    else:
        left = q["left_shift"]
        check_accumulator(g, op, max(da, db) << left, f"input shifted left {left} bits (|x - zp| <= {max(da, db)})")
        ends = [
            int(np.abs(multiply_by_quantized_multiplier(np.array([d << left, -(d << left)]), m, s)).max())
            for d, m, s in ((da, q["a_mult"], q["a_shift"]), (db, q["b_mult"], q["b_shift"]))
        ]
        raw, what = ends[0] + ends[1], f"sum of the rescaled inputs ({ends[0]:,} + {ends[1]:,})"
    check_accumulator(g, op, raw, what, left_shift=q["out_shift"], limit=requant_limit(y.zero_point))


def lower(op: Op, g: Graph) -> Kernel:
    a, b, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    is_float = a.dtype == b.dtype == y.dtype == "float32"
    is_int16 = a.dtype == b.dtype == y.dtype == "int16" and all(t.quant for t in (a, b, y))
    if not is_float and not is_int16:
        require_int8(g, op, a, b, y)
    params = broadcast(g, op, a, b, y)
    params["op"] = KINDS.index(op.kind)  # 0 ADD, 1 SUB, 2 MUL
    if is_float:
        act_min, act_max = float_activation_range(op)
        params.update(act_min=act_min, act_max=act_max)
    else:
        quant = _quant_params(op.kind, a, b, y, activation(op), left_shift=15 if is_int16 else 20)
        _check_intermediates(g, op, a, b, y, quant)
        params.update(a_zp=quant["a_zp"], b_zp=quant["b_zp"], out_zp=quant["out_zp"])
        params.update({k: quant[k] for k in ("act_min", "act_max")})
        params.update({k: v for k, v in quant.items() if k.endswith(("_mult", "_shift"))})
    fn = "en_binary_f32" if is_float else ("en_binary_s16" if is_int16 else "en_binary_s8")
    c_file = entry = None
    if op.attrs.get("variant") == "dsp":
        dsp = dsp_params(params, y.size)
        if dsp is None:
            raise unsupported(g, op, "the DSP kernel is not exact for this layer's scales")
        fn, c_file, params = DSP_FN, "binary_dsp", dsp
        entry = f"{DSP_FN}_{dsp_form(dsp)}"
    return Kernel(
        op=op,
        fn=fn,
        params=params,
        inputs=(a.name, b.name),
        outputs=(y.name,),
        inplace=tuple(i for i, t in enumerate((a, b)) if t.size == y.size),
        summary=f"{list(a.shape)} {op.kind.lower()} {list(b.shape)}"
        + ("" if activation(op) == "NONE" else f" {activation(op)}"),
        c_file=c_file,
        entry=entry,
    )


def dsp_form(q: dict) -> str:
    """The DSP kernel's form, which names its entry point: ``addsub`` (r = 2u), ``addsub_neg``
    (r = -2u: SUB with b rounded, or ADD of equal scales) or ``mul``."""
    if q["op"] == 1:
        return "mul"
    return "addsub_neg" if q["dbl"] < 0 else "addsub"


def variant(op: Op, g: Graph, features: tuple[str, ...]) -> str | None:
    """``dsp`` (binary_dsp.c) on cores with SIMD32 for int8 layers whose inputs both have the
    output's size (no broadcasting), where the kernel's short requantization gives the spec's bits
    for every pair of inputs (``dsp_params``)."""
    if "dsp" not in features or len(op.inputs) != 2:
        return None
    a, b, y = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    if not all(t.dtype == "int8" and t.quant is not None for t in (a, b, y)):
        return None
    if not a.size == b.size == y.size:
        return None
    p = _quant_params(op.kind, a, b, y, activation(op), left_shift=20)
    return "dsp" if dsp_params(p, y.size) is not None else None


def _spec(p: dict, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The integer kernels (int8 and int16) on raw inputs of the same shape, int64, clamped."""
    xa, xb = a.astype(np.int64) - p["a_zp"], b.astype(np.int64) - p["b_zp"]
    if p["op"] == 2:
        raw = xa * xb
    else:
        sa = multiply_by_quantized_multiplier(xa << p["left_shift"], p["a_mult"], p["a_shift"])
        sb = multiply_by_quantized_multiplier(xb << p["left_shift"], p["b_mult"], p["b_shift"])
        raw = sa + sb if p["op"] == 0 else sa - sb
    y = multiply_by_quantized_multiplier(raw, p["out_mult"], p["out_shift"]) + p["out_zp"]
    return np.clip(y, p["act_min"], p["act_max"])


# The DSP kernel's parameters (binary_dsp.h), in the struct's order.
DSP_FIELDS = ("n", "op", "swap", "k", "mult", "round", "shift", "lin", "dbl", "a_zp2", "b_zp",
              "out_mult", "out_offset", "out_shift", "act_min", "act_max")  # fmt: skip
LINEAR = (1 << 30, 0)  # the multiplier and shift of the ratio 1/2: x << 20 scaled by it is x << 19 exactly


def dsp_params(p: dict, n: int) -> dict[str, int] | None:
    """The DSP kernel's parameters for the portable parameters ``p`` and ``n`` elements, or None
    where its arithmetic would differ from the spec for some pair of int8 inputs (``_dsp_fields``)."""
    fields = _dsp_fields(tuple(p[k] for k in SPEC_FIELDS))
    return None if fields is None else {**fields, "n": n}


# What the integer spec depends on (the portable parameters besides the shape and strides).
SPEC_FIELDS = ("op", "a_zp", "b_zp", "out_zp", "act_min", "act_max", "a_mult", "a_shift", "b_mult", "b_shift",
               "left_shift", "out_mult", "out_shift")  # fmt: skip


@functools.lru_cache(maxsize=256)
def _dsp_fields(spec: tuple[int, ...]) -> dict[str, int] | None:
    """``dsp_params`` without n, for the portable parameters ``SPEC_FIELDS`` (cached: the
    kernel-variants pass lowers each layer more than once, and the check runs 65,536 pairs).

    Every rescale ``MBQM(x, m, -e) + zp`` becomes ``(SMMLAR(2x, m, 2^(e-1) + zp * 2^e) + (x < 0 ?
    -1 : 0)) >> e`` (conv2d.py ``channel_fields``: exact for m > 0, 1 <= e <= 31 and no overflow).
    ADD / SUB: raw = s_a + sigma * s_b (sigma = -1 for SUB), s_i = MBQM(x_i << 20, m_i, shift_i),
    x_i = v_i - zp_i. One input has (m, shift) = (2^30, 0), so its s is x << 19 (L, the linear
    input); the other (P, rounded; b when ``swap``) and L give, with x2 = x_P << 21 = k + (v_P << 21),
    acc = v_L * lin + round, s = SMMLAR(x2, m_P, acc) + (x2 < 0 ? -1 : 0) and u = s >> e_P. With
    lin = rho * sign_P * sign_L * 2^(19+e_P) and round = 2^(e_P-1) - lin * zp_L (L's term is a
    multiple of 2^e_P, which leaves the rounding alone), u = rho * (s_P + sign_P * sign_L *
    (x_L << 19)), and dbl = 2 * rho * sign_P makes r = u * dbl = 2 * raw. rho = 1, except where P
    is linear too (equal scales): then m = -2^31 and e = 1 give SMMLAR(x2, -2^31, acc) = acc - x2 / 2
    (x2 is even), so u is exactly -(x_P << 19) - sign_P * sign_L * (x_L << 19), and rho = -1.
    MUL: r = (2 v_a - 2 zp_a) * (v_b - zp_b) = 2 * raw. Output: y = (SMMLAR(r, out_mult,
    out_offset) + (r < 0 ? -1 : 0)) >> out_shift, saturated to int8 and clamped to the activation
    range. The result is kept only if ``_dsp_compute`` gives the spec's bits for all 65,536 pairs
    of int8 inputs, every step within int32."""
    p = dict(zip(SPEC_FIELDS, spec, strict=True))
    e_out = -p["out_shift"]
    if not 1 <= e_out <= 31 or p["out_mult"] < 0 or p["act_min"] > p["act_max"]:
        return None
    q = dict.fromkeys(DSP_FIELDS, 0)
    q.update(act_min=p["act_min"], act_max=p["act_max"], out_mult=p["out_mult"], out_shift=e_out)
    q["out_offset"] = (1 << (e_out - 1)) + p["out_zp"] * (1 << e_out)
    if p["op"] == 2:
        q.update(op=1, a_zp2=2 * p["a_zp"], b_zp=p["b_zp"])
    else:
        sigma = 1 if p["op"] == 0 else -1
        a_lin, b_lin = (p["a_mult"], p["a_shift"]) == LINEAR, (p["b_mult"], p["b_shift"]) == LINEAR
        if not (a_lin or b_lin):
            return None
        swap = int(not b_lin)  # the rounded input: a when b is linear, else b
        name_p, name_l = ("b", "a") if swap else ("a", "b")
        sign_p, sign_l = (sigma, 1) if swap else (1, sigma)
        if (p[f"{name_p}_mult"], p[f"{name_p}_shift"]) == LINEAR:  # both linear
            rho, mult, e = -1, INT32_MIN, 1
        else:
            rho, mult, e = 1, p[f"{name_p}_mult"], -p[f"{name_p}_shift"]
            if not 1 <= e <= 31 or mult <= 0:
                return None
        lin = rho * sign_p * sign_l * (1 << (19 + e))
        q.update(swap=swap, k=-p[f"{name_p}_zp"] * (1 << 21), mult=mult, shift=e, lin=lin, dbl=2 * rho * sign_p)
        q["round"] = (1 << (e - 1)) - lin * p[f"{name_l}_zp"]
    if any(not INT32_MIN <= v <= INT32_MAX for v in q.values()):
        return None
    va, vb = (v.reshape(-1) for v in np.meshgrid(np.arange(-128, 128), np.arange(-128, 128)))
    y, fits = _dsp_compute(q, va, vb)
    return q if fits and np.array_equal(y, _spec(p, va, vb)) else None


def _smmlar(a: np.ndarray, b: int, acc: int) -> np.ndarray:
    """SMMLAR on exact int64 values: the high word of acc * 2^32 + a * b + 2^31."""
    return ((a * np.int64(b) + (1 << 31)) >> 32) + acc


def _dsp_compute(q: dict, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, bool]:
    """What en_binary_s8_dsp computes from its parameters ``q`` for raw int8 inputs (int64), step
    by step in the C kernel's order, and whether every intermediate value fits int32 (then these
    are the C kernel's values, which it computes in int32)."""
    a, b = a.astype(np.int64), b.astype(np.int64)
    steps = []
    if q["op"] == 1:
        xa2, xb = 2 * a - q["a_zp2"], b - q["b_zp"]
        r = xa2 * xb
        steps += [xa2, xb]
    else:
        vp, vl = (b, a) if q["swap"] else (a, b)
        lin = vl * q["lin"]
        acc = lin + q["round"]
        x2 = q["k"] + (vp << 21)
        t = _smmlar(x2, q["mult"], acc)
        s = t - (x2 < 0)
        steps += [lin, acc, x2, t, s]
        r = (s >> q["shift"]) * q["dbl"]
    y1 = _smmlar(r, q["out_mult"], q["out_offset"])
    y2 = y1 - (r < 0)
    steps += [r, y1, y2]
    fits = all(int(v.min(initial=0)) >= INT32_MIN and int(v.max(initial=0)) <= INT32_MAX for v in steps)
    y = np.clip(np.clip(y2 >> q["out_shift"], -128, 127), q["act_min"], q["act_max"])
    return y, fits


def reference(k: Kernel, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    p = k.params
    if k.fn == DSP_FN:  # the kernel's own steps, from its parameters
        y, fits = _dsp_compute(p, a.reshape(-1), b.reshape(-1))
        assert fits  # dsp_params made sure
        return y.astype(np.int8)
    fa, fb = broadcast_inputs(p, a, b)
    if k.fn == "en_binary_f32":
        fa, fb = fa.astype(np.float32), fb.astype(np.float32)
        r = (fa + fb, fa - fb, fa * fb)[p["op"]]
        return float_clamp(r, p["act_min"], p["act_max"])
    return _spec(p, fa, fb).astype(np.int16 if k.fn == "en_binary_s16" else np.int8)
