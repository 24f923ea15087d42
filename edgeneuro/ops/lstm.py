"""UNIDIRECTIONAL_SEQUENCE_LSTM, int8 activations and weights, int16 cell state (TFLite's 8x8->16
integer LSTM, what the converter emits for a full-int8 tf_keras ``LSTM`` layer).

Spec (TFLM ``lstm_eval.h`` / ``lstm_eval.cc`` / ``lstm_eval_common.cc``, ``EvalLstm<int8, int8,
int16, int32>``), for every sequence, every time step, with ``h`` the int8 hidden state (zero point
``h_zp``) and ``c`` the int16 cell state (scale ``2^cell_power``):

* gate ``g`` in forget, input, cell, output (computed in that order, all from the previous ``h``):
  ``a = sat16(FC(x_t, W_g, bias_g) + FC(h, R_g))`` where each FC is TFLM's int8 -> int16 fully
  connected (``acc = sum (x - zp) * w [+ bias]``, MultiplyByQuantizedMultiplier with the
  multiplier of ``double(float(s_x * s_w)) / 2^-12``, clamped to int16): a Q3.12 value.
  Forget, input and output gates: ``sigmoid16(a)``; the cell gate: ``tanh16(a)`` (the layer's
  activation, which TFLite's schema can only say is TANH here), Q0.15 results.
* ``c = mul(f, c)`` then ``c = sat16(c + mul(i, g))``, each ``mul`` an int16 product requantized by
  QuantizeMultiplier(2^-15 * s_a * s_b / s_out) (``MulElementwise``); then, when the layer has a
  cell clip, ``c = clamp(c, -q, q)`` with ``q = int16(min(max(clip / s_c, -32768), 32767))``.
* ``h = clamp8(mul(tanh16(c, cell_power), o) + h_zp)`` with the multiplier of 2^-30 / s_h, and
  ``h`` is the output at step t (copied unchanged into the output tensor, whatever its
  quantization says).
* ``sigmoid16`` / ``tanh16`` are TFLite's int16 LOGISTIC / TANH (``reference_integer_ops``): a
  256-entry table of sigmoid(i/24) in 0.16 format interpolated on 9 (sigmoid) or 8 (tanh)
  fractional bits, input scaled by 3 (and by the power of two that brings ``c`` to Q3.12).

State: TFLM keeps ``h`` and ``c`` in variable tensors that survive between Invoke calls until the
application resets them (``ResetVariableTensors``: ``h`` to its zero point, ``c`` to 0). A tf_keras
``LSTM`` layer (``stateful=False``) starts every window from zero state, so edgeneuro's kernel resets
the state at the start of every inference and keeps it in scratch memory; it equals TFLM when TFLM
is reset before each window. Peephole, projection, layer-norm and CIFG variants are refused (TFLM
refuses them too). float32 and 16x8 LSTMs have kernels of their own (``en_lstm_f32``,
``en_lstm_s16``; the section at the end of this module).

DSP variant (``en_lstm_s8_dsp``, firmware/kernels/lstm_dsp.c; ``variant``, ``dsp_kernel``): the
same bits on cores with SIMD32, the zero points folded into per-row biases, the weights widened to
int16 pairs for SMLAD, the requantizations as SMMLAR and the activations as one table read. Its
sparse form (``en_lstm_s8_dsp_sparse``; ``sparse_variant``, ``_stream_sparse``) leaves the all-zero
groups of 4 rows x 4 inputs out of the weight stream (``--sparse auto``, weights pruned in 4x4
blocks).
"""

from __future__ import annotations

import math

import numpy as np

from edgeneuro.errors import UnsupportedOperator
from edgeneuro.ir import Graph, Op, Tensor
from edgeneuro.ir.quant import multiply_by_quantized_multiplier, quantize_multiplier
from edgeneuro.ops.base import (
    Kernel,
    check_accumulator,
    check_wide_requant,
    deviation,
    libm_f32,
    requant_limit,
    require_int8,
    sigmoid_f32,
    unsupported,
)

KINDS = ("UNIDIRECTIONAL_SEQUENCE_LSTM",)
C_FILE = "lstm"
MAX_VERSION = {"UNIDIRECTIONAL_SEQUENCE_LSTM": 4}

# TFLite's operand order: input-to-{input, forget, cell, output} weights (1-4), recurrent-to-{...}
# weights (5-8), peephole (9-11), gate biases (12-15), projection (16-17), state (18 hidden,
# 19 cell), layer norm (20-23). Gates are computed in TFLM's order: forget, input, cell, output.
GATES = ("forget", "input", "cell", "output")
_TFLITE_GATE = {"input": 0, "forget": 1, "cell": 2, "output": 3}
_VARIANTS = {9: "peephole", 10: "peephole", 11: "peephole", 16: "projection", 17: "projection"}
_VARIANTS.update({i: "layer normalization" for i in range(20, 24)})
GATE_FC_SCALE = 2.0**-12  # gate pre-activations are Q3.12
GATE_OUT_SCALE = 2.0**-15  # gate outputs are Q0.15

# TFLite's sigmoid_table_uint16: sigmoid(i / 24) in 0.16 fixed point, i = 0..255 (the values of
# TFLite's and CMSIS-NN's table; they are not a plain rounding of the function, so they are data).
SIGMOID_TABLE = np.array(
    # fmt: off
    [
        32768,
        33451,
        34133,
        34813,
        35493,
        36169,
        36843,
        37513,
        38180,
        38841,
        39498,
        40149,
        40794,
        41432,
        42064,
        42688,
        43304,
        43912,
        44511,
        45102,
        45683,
        46255,
        46817,
        47369,
        47911,
        48443,
        48964,
        49475,
        49975,
        50464,
        50942,
        51409,
        51865,
        52311,
        52745,
        53169,
        53581,
        53983,
        54374,
        54755,
        55125,
        55485,
        55834,
        56174,
        56503,
        56823,
        57133,
        57433,
        57724,
        58007,
        58280,
        58544,
        58800,
        59048,
        59288,
        59519,
        59743,
        59959,
        60168,
        60370,
        60565,
        60753,
        60935,
        61110,
        61279,
        61441,
        61599,
        61750,
        61896,
        62036,
        62172,
        62302,
        62428,
        62549,
        62666,
        62778,
        62886,
        62990,
        63090,
        63186,
        63279,
        63368,
        63454,
        63536,
        63615,
        63691,
        63765,
        63835,
        63903,
        63968,
        64030,
        64090,
        64148,
        64204,
        64257,
        64308,
        64357,
        64405,
        64450,
        64494,
        64536,
        64576,
        64614,
        64652,
        64687,
        64721,
        64754,
        64786,
        64816,
        64845,
        64873,
        64900,
        64926,
        64950,
        64974,
        64997,
        65019,
        65039,
        65060,
        65079,
        65097,
        65115,
        65132,
        65149,
        65164,
        65179,
        65194,
        65208,
        65221,
        65234,
        65246,
        65258,
        65269,
        65280,
        65291,
        65301,
        65310,
        65319,
        65328,
        65337,
        65345,
        65352,
        65360,
        65367,
        65374,
        65381,
        65387,
        65393,
        65399,
        65404,
        65410,
        65415,
        65420,
        65425,
        65429,
        65433,
        65438,
        65442,
        65445,
        65449,
        65453,
        65456,
        65459,
        65462,
        65465,
        65468,
        65471,
        65474,
        65476,
        65479,
        65481,
        65483,
        65485,
        65488,
        65489,
        65491,
        65493,
        65495,
        65497,
        65498,
        65500,
        65501,
        65503,
        65504,
        65505,
        65507,
        65508,
        65509,
        65510,
        65511,
        65512,
        65513,
        65514,
        65515,
        65516,
        65517,
        65517,
        65518,
        65519,
        65520,
        65520,
        65521,
        65522,
        65522,
        65523,
        65523,
        65524,
        65524,
        65525,
        65525,
        65526,
        65526,
        65526,
        65527,
        65527,
        65528,
        65528,
        65528,
        65529,
        65529,
        65529,
        65529,
        65530,
        65530,
        65530,
        65530,
        65531,
        65531,
        65531,
        65531,
        65531,
        65532,
        65532,
        65532,
        65532,
        65532,
        65532,
        65533,
        65533,
        65533,
        65533,
        65533,
        65533,
        65533,
        65533,
        65534,
        65534,
        65534,
        65534,
        65534,
        65534,
        65534,
        65534,
        65534,
        65534,
        65535,
    ],
    # fmt: on
    np.int64,
)


def _operand(g: Graph, op: Op, i: int) -> Tensor | None:
    return g.t(op.inputs[i]) if i < len(op.inputs) and op.inputs[i] else None


def _scaled_input(x: np.ndarray, mult: int, shift: int) -> np.ndarray:
    """``(x * mult + round) >> shift`` of TFLite's int16 LOGISTIC / TANH."""
    rnd = (1 << (shift - 1)) if shift > 0 else 0
    return (x.astype(np.int64) * mult + rnd) >> shift


def _interpolate(a: np.ndarray, frac_bits: int) -> np.ndarray:
    """The table interpolated at ``|a|`` with ``frac_bits`` fractional bits; saturated at 255."""
    ua_idx = np.minimum(a >> frac_bits, 254)
    ua, ub = SIGMOID_TABLE[ua_idx], SIGMOID_TABLE[ua_idx + 1]
    return (ua << frac_bits) + (a & ((1 << frac_bits) - 1)) * (ub - ua), (a >> frac_bits) >= 255


def sigmoid16(x: np.ndarray, mult: int = 3, shift: int = 0) -> np.ndarray:
    """TFLite ``reference_integer_ops::Logistic`` (int16 in and out)."""
    v = _scaled_input(x, mult, shift)
    r, saturated = _interpolate(np.abs(v), 9)
    r = np.where(saturated, 0x7FFF << 10, r)
    r = np.where(v >= 0, r + (1 << 9), (1 << 25) - r + (1 << 9) - 1)
    return (r >> 10).astype(np.int16)


def tanh16(x: np.ndarray, mult: int = 3, shift: int = 0) -> np.ndarray:
    """TFLite ``reference_integer_ops::Tanh`` (int16 in and out)."""
    v = _scaled_input(x, mult, shift)
    r, saturated = _interpolate(np.abs(v), 8)
    r = np.where(saturated, 0xFFFF << 8, r)
    r = np.where(v >= 0, r - (1 << 23) + (1 << 7), -r + (1 << 23) + (1 << 7) - 1)
    return (r >> 8).astype(np.int16)


def tanh_input_scaling(cell_power: int) -> tuple[int, int]:
    """TFLM's ``lstm_internal::Tanh`` for a Q(cell_power) input: the (multiplier, shift) it hands to
    the int16 TANH, whose power-of-two case turns (0, s) into (3 << s, 0)."""
    left_shift = 15 + cell_power - 3
    if left_shift < 0:
        return 3, -left_shift
    return 3 << left_shift, 0


def _sat16(v: np.ndarray) -> np.ndarray:
    return np.minimum(np.maximum(v, -32768), 32767)  # np.clip, at a third of its cost on small arrays


def lower(op: Op, g: Graph) -> Kernel:
    dtype = g.t(op.inputs[0]).dtype
    if dtype in ("float32", "int16"):  # en_lstm_f32 / en_lstm_s16, see _lower_f32_s16
        return _lower_f32_s16(op, g, dtype)
    k = _lower_portable(op, g)
    variant = op.attrs.get("variant")
    return dsp_kernel(k, sparse=variant == "dsp_sparse") if variant in ("dsp", "dsp_sparse") else k


def _lower_portable(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    if x.dtype != "int8":
        raise unsupported(g, op, f"{x.dtype} input; edgeneuro compiles the int8 LSTM (int8 activations, int16 cell)")
    if len(op.inputs) != 24:
        raise unsupported(g, op, f"{len(op.inputs)} operands, expected TFLite's 24")
    for i, variant in _VARIANTS.items():
        if _operand(g, op, i) is not None:
            raise unsupported(g, op, f"LSTM with {variant} (TFLM's integer LSTM has none either)")
    if _operand(g, op, 1) is None:
        raise unsupported(g, op, "coupled input and forget gate (CIFG); TFLM's integer LSTM needs all four gates")
    hidden, cell = _operand(g, op, 18), _operand(g, op, 19)
    if hidden is None or cell is None:
        raise unsupported(g, op, "the hidden and cell state operands (18, 19) are missing")
    require_int8(g, op, x, y, hidden)
    if cell.dtype != "int16" or cell.quant is None or cell.zero_point != 0:
        raise unsupported(g, op, f"cell state '{cell.name}' must be int16 with zero point 0 (is {cell.dtype})")
    log2 = math.log2(cell.scale)
    if abs(log2 - round(log2)) > 1e-3:
        raise unsupported(g, op, f"cell state scale {cell.scale} is not a power of two, as TFLM's LSTM requires")
    cell_power = round(log2)
    act = op.attrs["fused_activation_function"]
    if act != "TANH":
        raise unsupported(g, op, f"cell activation {act}; TFLM's integer LSTM takes TANH")
    if len(x.shape) != 3:
        raise unsupported(g, op, f"input of rank {len(x.shape)}, expected [batch, time, features]")
    time_major = bool(op.attrs["time_major"])
    steps, batches = (x.shape[0], x.shape[1]) if time_major else (x.shape[1], x.shape[0])
    in_dim = x.shape[2]
    w_in, w_rec, biases, mult, shift = [], [], [], [], []
    units = None
    for gate in GATES:
        wi, wr, b = (_operand(g, op, base + _TFLITE_GATE[gate]) for base in (1, 5, 12))
        if wi is None or wr is None or b is None:
            raise unsupported(g, op, f"the {gate} gate's weights or bias are missing")
        require_int8(g, op, wi, wr)
        for w in (wi, wr):
            if w.data is None or w.quant.per_channel or w.zero_point != 0:
                raise unsupported(g, op, f"weights '{w.name}' must be constant, per-tensor and symmetric")
        units = wi.shape[0]
        if wi.shape != (units, in_dim) or wr.shape != (units, units):
            raise unsupported(g, op, f"{gate} gate weights {list(wi.shape)} and {list(wr.shape)} do not fit input "
                                     f"features {in_dim}")  # fmt: skip
        if b.dtype != "int32" or b.data is None or b.size != units:
            raise unsupported(g, op, f"bias '{b.name}' must be a constant int32 vector of {units}")
        w_in.append(wi.data.astype(np.int8))
        w_rec.append(wr.data.astype(np.int8))
        biases.append(b.data.astype(np.int32).reshape(units))
        for src, w in ((x, wi), (hidden, wr)):  # TFLite's per-tensor FC multiplier, float32 product
            m, e = quantize_multiplier(float(np.float32(src.scale) * np.float32(w.scale)) / GATE_FC_SCALE)
            mult.append(m)
            shift.append(e)
    expected = (steps, batches, units) if time_major else (batches, steps, units)
    if tuple(y.shape) != expected or hidden.size != batches * units or cell.size != batches * units:
        raise unsupported(g, op, f"output {list(y.shape)} and state sizes do not match {list(expected)}")
    cell_clip = float(op.attrs["cell_clip"])
    q_clip = int(min(max(cell_clip / cell.scale, -32768.0), 32767.0)) if cell_clip > 0 else 0
    forget_m, forget_e = quantize_multiplier(GATE_OUT_SCALE * cell.scale / cell.scale)
    input_m, input_e = quantize_multiplier(GATE_OUT_SCALE * GATE_OUT_SCALE / cell.scale)
    hidden_m, hidden_e = quantize_multiplier(GATE_OUT_SCALE * GATE_OUT_SCALE / hidden.scale)
    tanh_m, tanh_e = tanh_input_scaling(cell_power)
    _check_accumulators(g, op, (x, hidden), w_in, w_rec, biases, shift, (forget_e, input_e, hidden_e))
    params = dict(
        batches=batches, steps=steps, in_dim=in_dim, units=units, time_major=int(time_major),
        in_zp=x.zero_point, h_zp=hidden.zero_point, cell_clip=q_clip,
        forget_mult=forget_m, forget_shift=forget_e, input_mult=input_m, input_shift=input_e,
        hidden_mult=hidden_m, hidden_shift=hidden_e, tanh_mult=tanh_m, tanh_shift=tanh_e,
    )  # fmt: skip
    return Kernel(
        op=op,
        fn="en_lstm_s8",
        params=params,
        inputs=(x.name,),
        consts=(
            ("w_in", np.stack(w_in)),
            ("w_rec", np.stack(w_rec)),
            ("bias", np.stack(biases)),
            ("mult", np.array(mult, np.int32)),
            ("shift", np.array(shift, np.int32)),
        ),
        outputs=(y.name,),
        macs=batches * steps * 4 * units * (in_dim + units),
        summary=f"{steps} steps x {in_dim}->{units}, cell 2^{cell_power}",
        scratch=scratch_bytes(units),
    )


def scratch_bytes(units: int) -> int:
    """The kernel's working memory: the cell state and four int16 gate buffers, then the hidden state."""
    return 5 * 2 * units + units


def _gate_fc(v: np.ndarray, zp: int, w: np.ndarray, bias, mult: int, shift: int) -> np.ndarray:
    acc = (v.astype(np.int64) - zp) @ w.astype(np.int64).T
    if bias is not None:
        acc = acc + bias
    return _sat16(multiply_by_quantized_multiplier(acc, mult, shift))


def _mul(a: np.ndarray, b: np.ndarray, mult: int, shift: int) -> np.ndarray:
    return multiply_by_quantized_multiplier(a.astype(np.int64) * b.astype(np.int64), mult, shift)


def reference(k: Kernel, x, *consts) -> np.ndarray:
    if k.fn == "en_lstm_f32":
        return _reference_f32(k, x, *consts)
    if k.fn == "en_lstm_s16":
        return _reference_s16(k, x, *consts)
    if k.fn in ("en_lstm_s8_dsp", "en_lstm_s8_dsp_sparse"):  # (weights, gate_rq) laid out for lstm_dsp.c
        return _dsp_reference(k, x, *consts)
    w_in, w_rec, bias, mult, shift = consts
    p = k.params
    batches, steps, units = p["batches"], p["steps"], p["units"]
    xs = x.reshape((steps, batches, -1) if p["time_major"] else (batches, steps, -1))
    out = np.empty((steps, batches, units) if p["time_major"] else (batches, steps, units), np.int8)
    # The four gates as one FC of 4 * units rows (gate-major), each row with its gate's multiplier;
    # the input FC does not depend on h, so it runs for every step at once. The same integer
    # arithmetic as gate by gate and step by step, in a few numpy calls a step instead of dozens.
    w_x = w_in.reshape(4 * units, -1)
    w_h = w_rec.reshape(4 * units, -1)
    bias_rows = bias.astype(np.int64).reshape(-1)
    mult_x, shift_x = (np.repeat(np.asarray(v, np.int64)[0::2], units) for v in (mult, shift))
    mult_h, shift_h = (np.repeat(np.asarray(v, np.int64)[1::2], units) for v in (mult, shift))
    is_cell = np.repeat([g == "cell" for g in GATES], units)
    for b in range(batches):
        xb = xs[:, b] if p["time_major"] else xs[b]
        gate_x = _gate_fc(xb, p["in_zp"], w_x, bias_rows, mult_x, shift_x)  # [steps, 4 * units]
        h = np.full(units, p["h_zp"], np.int64)
        c = np.zeros(units, np.int64)
        for t in range(steps):
            a = _sat16(gate_x[t] + _gate_fc(h, p["h_zp"], w_h, None, mult_h, shift_h))
            act = np.where(is_cell, tanh16(a), sigmoid16(a)).astype(np.int64)
            f, i_gate, g_gate, o = act.reshape(4, units)
            c = _sat16(_mul(f, c, p["forget_mult"], p["forget_shift"]))
            c = _sat16(c + _sat16(_mul(i_gate, g_gate, p["input_mult"], p["input_shift"])))
            if p["cell_clip"] > 0:
                c = np.clip(c, -p["cell_clip"], p["cell_clip"])
            th = tanh16(c, p["tanh_mult"], p["tanh_shift"])
            h = np.minimum(np.maximum(_mul(th, o, p["hidden_mult"], p["hidden_shift"]) + p["h_zp"], -128), 127)
            if p["time_major"]:
                out[t, b] = h
            else:
                out[b, t] = h
    return out


# The DSP variant (``en_lstm_s8_dsp``, firmware/kernels/lstm_dsp.c), for cores with SIMD32: the same
# bits as ``en_lstm_s8`` with everything but the activations fixed at compile time.
#
# * Zero points folded into per-row biases: ``bias - in_zp * sum(W)`` for the input FC, and
#   ``-h_zp * sum(R)`` as the recurrent FC's bias; rows r = gate * units + unit, in TFLM's order.
# * Weights widened to int16, shifted left by ``1 + max(shift, 0)`` of their FC's multiplier (the
#   bias too), and laid out for SMLAD with the biases in one stream, in blocks of 4 rows: the 4
#   biases, then for each pair of input columns the 4 rows' int16 pairs as 4 words (columns
#   zero-padded to a multiple of 4); the input FC, then the recurrent one. The accumulator is then
#   ``x2 = 2 * (acc << left)``, and TFLite's MultiplyByQuantizedMultiplier (double rounding) is
#   ``(SMMLAR(x2, mult, 2^(e-1)) - [x2 < 0]) >> e``: ``(a * b + 2^31) >> 32`` of the doubled value
#   is SaturatingRoundingDoublingHighMul exactly, and RoundingDivideByPOT by e >= 1 rounds on the
#   sign of x2, which is the sign of the high product or makes no difference (it is 0); for e = 0
#   the high product is the result. The cell update's products are doubled the same way.
# * The int16 sigmoid and tanh as one table read each: TFLite interpolates the table at |v|; with
#   ``s = v >> frac_bits`` (arithmetic, clamped to [-256, 255]), interpolating at index ``-1 - s``
#   for negative v gives the same value (the interpolation is continuous at the knots), and the
#   sign and rounding of both functions fold into ``(C[s] + v * D[s]) >> (frac_bits + 2 or 0)``.
DSP_SHIFT_MAX = 30  # rounding shifts the DSP kernel handles (e <= 30)
DSP_ACC_LIMIT = 2**29  # |acc << left| below this: the doubled accumulator and y + 2^(e-1) fit int32


def dsp_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The DSP kernel's activation tables (firmware/kernels/lstm_dsp.c), indexed by ``s + 256`` for
    ``s`` in [-256, 255]: ``sigmoid16(a) = (SIG[s] + v * D[s]) >> 10`` with ``v = 3a``, ``s = v >> 9``,
    and ``tanh16 = (TANH[s] + v * D[s]) >> 8`` with ``s = clamp(v >> 8, -256, 255)``, v scaled as the
    portable kernel scales it. Sigmoid holds for ``|v| < 255 * 512`` (gates: ``|3a| <= 98304``)."""
    s = np.arange(-256, 256)
    idx = np.where(s >= 0, s, -1 - s)  # the table interval whose interpolation holds at v
    sat = idx >= 255
    i = np.minimum(idx, 254)
    t = SIGMOID_TABLE
    delta = np.where(sat, 0, t[i + 1] - t[i])
    neg = s < 0
    # TFLite's interpolation r = (t[idx] << f) + (|v| - (idx << f)) * delta = r0 + |v| * delta
    r0 = np.where(sat, 0x7FFF << 10, (t[i] - idx * delta) << 9)
    sig = np.where(neg, (1 << 25) + (1 << 9) - 1 - r0, r0 + (1 << 9))
    r0 = np.where(sat, 0xFFFF << 8, (t[i] - idx * delta) << 8)
    tanh = np.where(neg, -r0 + (1 << 23) + (1 << 7) - 1, r0 - (1 << 23) + (1 << 7))
    return sig.astype(np.int32), tanh.astype(np.int32), delta.astype(np.int16)


def _dsp_sigmoid(a: np.ndarray) -> np.ndarray:
    sig, _, d = dsp_tables()
    v = 3 * a.astype(np.int64)
    s = (v >> 9) + 256
    return (sig[s] + v * d[s]) >> 10


def _dsp_tanh(x: np.ndarray, mult: int, rnd: int, shift: int) -> np.ndarray:
    _, tanh, d = dsp_tables()
    v = (x.astype(np.int64) * mult + rnd) >> shift
    s = np.clip(v >> 8, -256, 255) + 256
    return (tanh[s] + v * d[s]) >> 8


def _requant2(x2, mult, rnd, e) -> np.ndarray:
    """MultiplyByQuantizedMultiplier of x given doubled, as lstm_dsp.c's ``requant2`` (e >= 1)."""
    x2 = np.asarray(x2, np.int64)
    return (((x2 * mult + (1 << 31)) >> 32) + rnd - (x2 < 0)) >> e


def _fc_shifts(shift: int) -> tuple[int, int]:
    """(left shift folded into the weights including SMMULR's doubling, rounding shift e)."""
    return 1 + max(shift, 0), max(-shift, 0)


def _rows_bound(w: np.ndarray, bias: np.ndarray, zp: int) -> np.ndarray:
    """Per row, a bound on |bias + sum (v - zp) * w| over int8 v."""
    return np.abs(bias.astype(np.int64)) + np.abs(w.astype(np.int64)).sum(axis=1) * max(128 + zp, 127 - zp)


def _pad4(n: int) -> int:
    return -(-n // 4) * 4


def _stream(w_x: np.ndarray, b_x: np.ndarray, w_h: np.ndarray, b_h: np.ndarray) -> np.ndarray:
    """The DSP kernel's constant stream (lstm_dsp.h): per block of 4 rows, the input FC's 4 biases
    and its int16 column pairs (4 words per pair), then the recurrent FC's the same way."""
    parts = []
    for w, b in ((w_x, b_x), (w_h, b_h)):
        rows, n = w.shape
        pairs = w.astype(np.int16).reshape(rows // 4, 4, n // 2, 2).transpose(0, 2, 1, 3)
        words = np.ascontiguousarray(pairs).reshape(rows // 4, -1).view("<i4")
        parts.append(np.concatenate([b.astype(np.int32).reshape(rows // 4, 4), words], axis=1))
    return np.concatenate(parts, axis=1).reshape(-1).astype(np.int32)


def _unstream(words: np.ndarray, rows: int, xp: int, up: int) -> tuple[np.ndarray, ...]:
    """``_stream`` undone: (w_x, b_x, w_h, b_h) as int64."""
    blocks = words.astype("<i4").reshape(rows // 4, -1)
    out, at = [], 0
    for n in (xp, up):
        b = blocks[:, at : at + 4]
        w = np.ascontiguousarray(blocks[:, at + 4 : at + 4 + 2 * n]).view(np.int16)
        w = w.reshape(rows // 4, n // 2, 4, 2).transpose(0, 2, 1, 3).reshape(rows, n)
        out += [w.astype(np.int64), b.reshape(rows).astype(np.int64)]
        at += 4 + 2 * n
    return tuple(out)


def _kept_groups(w: np.ndarray) -> np.ndarray:
    """For each block of 4 rows and group of 4 columns (two column pairs: one step of the DSP
    kernel's dot product) of a padded [rows, n] matrix, whether one of its 16 weights is non-zero."""
    rows, n = w.shape
    return (w.reshape(rows // 4, 4, n // 4, 4) != 0).any(axis=(1, 3))


def _stream_sparse(w_x: np.ndarray, b_x: np.ndarray, w_h: np.ndarray, b_h: np.ndarray) -> np.ndarray:
    """The sparse DSP kernel's constant stream (lstm_dsp.h en_lstm_s8_dsp_sparse): ``_stream``'s
    with, after each FC's 4 biases, the count of its kept groups of 4 columns (``_kept_groups``),
    and each kept group as the word offset of its first column pair in the int16 vector followed
    by its 8 words (the 4 rows' pairs of both column pairs, as in ``_stream``); the all-zero groups
    are left out."""
    dense = _stream(w_x, b_x, w_h, b_h).reshape(w_x.shape[0] // 4, -1)
    out = []
    for blk, words in enumerate(dense):
        at = 0
        for w in (w_x, w_h):
            kept = np.flatnonzero(_kept_groups(w)[blk])
            groups = words[at + 4 : at + 4 + 2 * w.shape[1]].reshape(-1, 8)
            out += [words[at : at + 4], [len(kept)]]
            out += [np.concatenate([[2 * j], groups[j]]) for j in kept]
            at += 4 + 2 * w.shape[1]
    return np.concatenate(out).astype(np.int32)


def _unstream_sparse(words: np.ndarray, rows: int, xp: int, up: int) -> tuple[np.ndarray, ...]:
    """``_stream_sparse`` undone: (w_x, b_x, w_h, b_h) as int64, the left-out groups zero."""
    words = words.astype(np.int32)
    dense = np.zeros((rows // 4, 8 + 2 * xp + 2 * up), np.int32)
    at = 0
    for blk in range(rows // 4):
        base = 0
        for n in (xp, up):
            dense[blk, base : base + 4] = words[at : at + 4]
            count, at = int(words[at + 4]), at + 5
            for _ in range(count):
                j = int(words[at]) // 2
                dense[blk, base + 4 + 8 * j : base + 12 + 8 * j] = words[at + 1 : at + 9]
                at += 9
            base += 4 + 2 * n
    if at != words.size:
        raise ValueError(f"sparse LSTM stream: {words.size} words, read {at}")
    return _unstream(dense.reshape(-1), rows, xp, up)


def _cell_rounding(mult: int, shift: int) -> tuple[int, int, int] | None:
    """(multiplier, 2^(e-1), e) of a cell-update requantization, e >= 1, or None if out of range."""
    if mult == 0:
        return 0, 1, 1
    if not 1 <= -shift <= DSP_SHIFT_MAX:
        return None
    return mult, 1 << (-shift - 1), -shift


def variant(op: Op, g: Graph, features: tuple[str, ...]) -> str | None:
    """``dsp`` (lstm_dsp.c) on cores with SIMD32 when the compile-time layout is exact: every gate
    accumulator, shifted as its requantization needs, stays below 2^29, the shifted weights fit
    int16 and the cell-update rounding shifts are between 1 and 30."""
    if "dsp" not in features:
        return None
    try:
        k = _lower_portable(op, g)
    except UnsupportedOperator:
        return None
    return "dsp" if _dsp_fits(k) else None


# The sparse DSP kernel's break-even (lstm_dsp.c ``EN_DOT4_SPARSE``): a kept group of 4x4 weights
# costs 17 instructions (its offset, the vector's two words, 8 SMLAD) against the dense loop's 15,
# plus a count per row block and FC, and 36 bytes against 32. Measured on mps2-an386
# (bench/sparse_lstm.py: 4 inputs -> 16 units over 16 steps, the whole layer: the gates'
# activations and the state update stay): at 100 % kept groups 1.03x the dense instructions and
# 1.14x the bytes, at 78 % 0.95x and 0.94x, at 45 % 0.84x and 0.64x, at 26 % 0.78x and 0.47x.
SPARSE_KEPT_MAX = 0.75


def sparse_variant(op: Op, g: Graph, features: tuple[str, ...]) -> str | None:
    """``dsp_sparse`` (lstm_dsp.c ``en_lstm_s8_dsp_sparse``) where the DSP kernel applies
    (``variant``), at most ``SPARSE_KEPT_MAX`` of the groups of 4 rows x 4 columns of the input and
    recurrent weights hold a non-zero weight and the stream is smaller than the dense one: weights
    pruned in 4x4 blocks (``compress --prune-pattern block:4x4``, the kernels viewed as [4 * units,
    inputs], TFLite's gate rows)."""
    if variant(op, g, features) != "dsp":
        return None
    k = dsp_kernel(_lower_portable(op, g))
    p = k.params
    w_x, _, w_h, _ = _unstream(dict(k.consts)["weights"], 4 * p["units"], p["xp"], p["up"])
    kept = np.concatenate([_kept_groups(w_x).reshape(-1), _kept_groups(w_h).reshape(-1)])
    if kept.mean() > SPARSE_KEPT_MAX:
        return None
    sparse = dsp_kernel(_lower_portable(op, g), sparse=True)
    return "dsp_sparse" if sparse.const_bytes < k.const_bytes else None


def sparse_info(k: Kernel, g: Graph) -> dict | None:
    """What ``inspect`` shows of a sparse layer (fully_connected.py ``sparse_info``)."""
    if k.fn != "en_lstm_s8_dsp_sparse":
        return None
    dense = dsp_kernel(_lower_portable(k.op, g))
    p = k.params
    w_x, _, w_h, _ = _unstream(dict(dense.consts)["weights"], 4 * p["units"], p["xp"], p["up"])
    kept = np.concatenate([_kept_groups(w_x).reshape(-1), _kept_groups(w_h).reshape(-1)])
    return {"format": "4-row blocks, zero groups of 4 columns left out", "kept": float(kept.mean()),
            "weights_bytes": k.const_bytes, "dense_weights_bytes": dense.const_bytes}  # fmt: skip


def _dsp_fits(k: Kernel) -> bool:
    p, c = k.params, dict(k.consts)
    for gate in range(4):
        for part, (w, bias, zp) in enumerate(
            ((c["w_in"][gate], c["bias"][gate], p["in_zp"]), (c["w_rec"][gate], np.zeros(p["units"]), p["h_zp"]))
        ):
            shift = int(c["shift"][2 * gate + part])
            left, e = _fc_shifts(shift)
            if e > DSP_SHIFT_MAX or left > 8 or (np.abs(w.astype(np.int64)).max() << left) > 32767:
                return False
            if np.any(_rows_bound(w, bias, zp) << (left - 1) >= DSP_ACC_LIMIT):
                return False
    return all(_cell_rounding(p[f"{n}_mult"], p[f"{n}_shift"]) is not None for n in ("forget", "input", "hidden"))


def dsp_kernel(k: Kernel, sparse: bool = False) -> Kernel:
    """The portable kernel ``k`` re-laid out for en_lstm_s8_dsp (lstm_dsp.h; ``sparse``:
    en_lstm_s8_dsp_sparse, its all-zero groups of 4x4 weights left out of the stream)."""
    p, c = k.params, dict(k.consts)
    units, in_dim = p["units"], p["in_dim"]
    xp, up, rows = _pad4(in_dim), _pad4(units), 4 * units
    w_x = np.zeros((rows, xp), np.int64)
    w_h = np.zeros((rows, up), np.int64)
    b_x, b_h, gate_rq = np.zeros(rows, np.int64), np.zeros(rows, np.int64), []
    for gate in range(4):
        r = slice(gate * units, (gate + 1) * units)
        wi, wr = c["w_in"][gate].astype(np.int64), c["w_rec"][gate].astype(np.int64)
        for part, (w, folded, dst, bias) in enumerate(
            (
                (wi, c["bias"][gate] - p["in_zp"] * wi.sum(axis=1), w_x, b_x),
                (wr, -p["h_zp"] * wr.sum(axis=1), w_h, b_h),
            )
        ):
            left, e = _fc_shifts(int(c["shift"][2 * gate + part]))
            dst[r, : w.shape[1]] = w << left
            bias[r] = folded << left
            gate_rq += [int(c["mult"][2 * gate + part]), (1 << (e - 1)) if e else 0, e]
    cell_lo, cell_hi = (-p["cell_clip"], p["cell_clip"]) if p["cell_clip"] > 0 else (-32768, 32767)
    params = dict(
        batches=p["batches"], steps=p["steps"], in_dim=in_dim, units=units, time_major=p["time_major"],
        xp=xp, up=up, h_zp=p["h_zp"], cell_lo=cell_lo, cell_hi=cell_hi,
    )  # fmt: skip
    for n in ("forget", "input", "hidden"):
        m, rnd, e = _cell_rounding(p[f"{n}_mult"], p[f"{n}_shift"])
        params.update({f"{n}_mult": m, f"{n}_round": rnd, f"{n}_shift": e})
    ts = p["tanh_shift"]
    params.update(tanh_mult=p["tanh_mult"], tanh_round=(1 << (ts - 1)) if ts > 0 else 0, tanh_shift=ts)
    stream = (_stream_sparse if sparse else _stream)(w_x, b_x, w_h, b_h)
    return Kernel(
        op=k.op,
        fn="en_lstm_s8_dsp_sparse" if sparse else "en_lstm_s8_dsp",
        params=params,
        inputs=k.inputs,
        consts=(("weights", stream), ("gate_rq", np.array(gate_rq, np.int32))),
        outputs=k.outputs,
        macs=k.macs,
        summary=k.summary + (" sparse" if sparse else ""),
        scratch=dsp_scratch_bytes(in_dim, units),
        c_file="lstm_dsp",
    )


def dsp_scratch_bytes(in_dim: int, units: int) -> int:
    """en_lstm_s8_dsp's working memory: both accumulators of every row (int32), the gate outputs,
    the cell and hidden state and the time step's input (int16)."""
    rows = 4 * units
    return 4 * 2 * rows + 2 * rows + 2 * 2 * _pad4(units) + 2 * _pad4(in_dim)


def _dsp_reference(k: Kernel, x, weights, gate_rq) -> np.ndarray:
    """en_lstm_s8_dsp from its own constants, step by step as the C kernel computes."""
    p = k.params
    batches, steps, units, in_dim = p["batches"], p["steps"], p["units"], p["in_dim"]
    rows, xp, up = 4 * units, p["xp"], p["up"]
    unstream = _unstream_sparse if k.fn == "en_lstm_s8_dsp_sparse" else _unstream
    w_x, b_x, w_h, b_h = unstream(weights, rows, xp, up)
    rq = gate_rq.astype(np.int64).reshape(4, 2, 3)
    gate_of_row = np.repeat(np.arange(4), units)

    def requant_gate(acc2, part):
        m, rnd, e = (rq[gate_of_row, part, i] for i in range(3))
        return _sat16(np.where(e > 0, _requant2(acc2, m, rnd, e), (acc2 * m + (1 << 31)) >> 32))

    def requant_cell(v, name):
        return _requant2(2 * v, p[f"{name}_mult"], p[f"{name}_round"], p[f"{name}_shift"])

    xs = x.reshape((steps, batches, -1) if p["time_major"] else (batches, steps, -1))
    out = np.empty((steps, batches, units) if p["time_major"] else (batches, steps, units), np.int8)
    for bi in range(batches):
        h = np.zeros(up, np.int64)
        h[:units] = p["h_zp"]
        c = np.zeros(units, np.int64)
        for t in range(steps):
            xt = np.zeros(xp, np.int64)
            xt[:in_dim] = xs[t, bi] if p["time_major"] else xs[bi, t]
            a = _sat16(requant_gate(b_x + w_x @ xt, 0) + requant_gate(b_h + w_h @ h, 1)).reshape(4, units)
            f, i_gate, o = _dsp_sigmoid(a[0]), _dsp_sigmoid(a[1]), _dsp_sigmoid(a[3])
            g_gate = _dsp_tanh(a[2], 3, 0, 0)
            c = _sat16(_sat16(requant_cell(f * c, "forget")) + _sat16(requant_cell(i_gate * g_gate, "input")))
            c = np.clip(c, p["cell_lo"], p["cell_hi"])
            th = _dsp_tanh(c, p["tanh_mult"], p["tanh_round"], p["tanh_shift"])
            hu = np.clip(requant_cell(th * o, "hidden") + p["h_zp"], -128, 127)
            h[:units] = hu
            if p["time_major"]:
                out[t, bi] = hu
            else:
                out[bi, t] = hu
    return out


# float32 and 16x8 LSTMs (``en_lstm_f32``, ``en_lstm_s16`` in firmware/kernels/lstm.c): TFLM's
# ``EvalLstm<float, float, float, float>`` and ``EvalLstm<int16, int8, int16, int64>``, the same
# step as the int8 kernel's (gates forget, input, cell, output from the previous hidden state; cell
# update; hidden state), with these operations:
#
# * float32 (what the converter emits for a float tf_keras ``LSTM``): each FC is
#   ``reference_ops::FullyConnected``, ``acc = 0.f; acc += x[d] * w[d]`` in depth order, each step
#   rounded to float32 (no fused multiply-add), ``+ bias`` (``+ 0.f`` for the recurrent FC), then
#   clamped to +-FLT_MAX (kTfLiteActNone); the gate is the sum of the two FCs. Sigmoid is
#   ``reference_ops::Logistic``: 1 above 16.619047164916992188f, ``expf(v)`` below -9, else
#   ``1.f / (1.f + expf(-v))``; tanh is ``tanhf``; products are clamped to +-FLT_MAX like the FCs;
#   ``c = f * c + i * g`` (two products, one sum), clamped to +-cell_clip when it is positive; ``h =
#   tanhf(c) * o``. ``expf`` and ``tanhf`` are the C library's: the numpy reference calls the
#   host's (ctypes), so host C, TFLM's host build and the reference agree bit for bit on the same
#   C library; on the board newlib's may differ in the last bit, and the recurrence carries such a
#   difference on (tests: within a few ulp of 1.0, the outputs lying in (-1, 1)). Without a loadable
#   C math library the reference rounds the double-precision functions to float32.
# * 16x8 (int16 activations with zero point 0, int8 weights, int64 biases; TFLM runs it, TF 2.21's
#   converter refuses to emit it: "Quantization to 16x8-bit not yet supported for op:
#   'UNIDIRECTIONAL_SEQUENCE_LSTM'"): each FC is the 16x8 ``reference_integer_ops::FullyConnected``,
#   ``acc = sum x * w + bias`` in int64 (no input offset), ``MultiplyByQuantizedMultiplier`` of the
#   int64 accumulator (multiplier reduced to 16 bits), clamped to int16; the rest is the int8 LSTM's
#   (int16 sigmoid / tanh, cell update), and ``h = clamp16(mul(tanh16(c), o))``.
F32_MAX = np.float32(np.finfo(np.float32).max)


def _lower_f32_s16(op: Op, g: Graph, dtype: str) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    what = "float32" if dtype == "float32" else "16x8"
    if len(op.inputs) != 24:
        raise unsupported(g, op, f"{len(op.inputs)} operands, expected TFLite's 24")
    for i, variant in _VARIANTS.items():
        if _operand(g, op, i) is not None:
            raise unsupported(g, op, f"LSTM with {variant} (TFLM's {what} LSTM has none either)")
    if _operand(g, op, 1) is None:
        raise unsupported(g, op, f"coupled input and forget gate (CIFG); TFLM's {what} LSTM needs all four gates")
    if op.attrs.get("diagonal_recurrent_tensors", False):
        raise unsupported(g, op, "diagonal recurrent weights (TFLM's LSTM takes full matrices)")
    hidden, cell = _operand(g, op, 18), _operand(g, op, 19)
    if hidden is None or cell is None:
        raise unsupported(g, op, "the hidden and cell state operands (18, 19) are missing")
    act = op.attrs["fused_activation_function"]
    if act != "TANH":
        raise unsupported(g, op, f"cell activation {act}; edgeneuro's LSTM takes TANH")
    if len(x.shape) != 3:
        raise unsupported(g, op, f"input of rank {len(x.shape)}, expected [batch, time, features]")
    time_major = bool(op.attrs["time_major"])
    steps, batches = (x.shape[0], x.shape[1]) if time_major else (x.shape[1], x.shape[0])
    in_dim = x.shape[2]
    if dtype == "float32":
        for t in (x, y, hidden, cell):
            if t.dtype != "float32":
                raise unsupported(g, op, f"tensor '{t.name}' is {t.dtype} in a float32 LSTM")
    else:
        for t in (x, y, hidden):
            if t.dtype != "int16" or t.quant is None or t.quant.per_channel or t.zero_point != 0:
                raise unsupported(g, op, f"tensor '{t.name}' must be int16 with zero point 0 (16x8 LSTM)")
        if cell.dtype != "int16" or cell.quant is None or cell.zero_point != 0:
            raise unsupported(g, op, f"cell state '{cell.name}' must be int16 with zero point 0 (is {cell.dtype})")
        log2 = math.log2(cell.scale)
        if abs(log2 - round(log2)) > 1e-3:
            raise unsupported(g, op, f"cell state scale {cell.scale} is not a power of two, as TFLM's LSTM requires")
    w_in, w_rec, biases, mult, shift = [], [], [], [], []
    units = None
    for gate in GATES:
        wi, wr, b = (_operand(g, op, base + _TFLITE_GATE[gate]) for base in (1, 5, 12))
        if wi is None or wr is None or b is None:
            raise unsupported(g, op, f"the {gate} gate's weights or bias are missing")
        units = wi.shape[0]
        if wi.shape != (units, in_dim) or wr.shape != (units, units):
            raise unsupported(g, op, f"{gate} gate weights {list(wi.shape)} and {list(wr.shape)} do not fit input "
                                     f"features {in_dim}")  # fmt: skip
        bias_type = "float32" if dtype == "float32" else "int64"
        if b.dtype != bias_type or b.data is None or b.size != units:
            raise unsupported(g, op, f"bias '{b.name}' must be a constant {bias_type} vector of {units}")
        for w in (wi, wr):
            if dtype == "float32" and (w.dtype != "float32" or w.data is None):
                raise unsupported(g, op, f"weights '{w.name}' must be constant float32 (are {w.dtype})")
            if dtype == "int16" and (
                w.dtype != "int8" or w.quant is None or w.data is None or w.quant.per_channel or w.zero_point != 0
            ):
                raise unsupported(g, op, f"weights '{w.name}' must be constant int8, per-tensor and symmetric")
        wtype = np.float32 if dtype == "float32" else np.int8
        w_in.append(wi.data.astype(wtype))
        w_rec.append(wr.data.astype(wtype))
        biases.append(b.data.astype(np.float32 if dtype == "float32" else np.int64).reshape(units))
        if dtype == "int16":
            for src, w in ((x, wi), (hidden, wr)):  # TFLite's per-tensor FC multiplier, float32 product
                m, e = quantize_multiplier(float(np.float32(src.scale) * np.float32(w.scale)) / GATE_FC_SCALE)
                mult.append(m)
                shift.append(e)
    expected = (steps, batches, units) if time_major else (batches, steps, units)
    if tuple(y.shape) != expected or hidden.size != batches * units or cell.size != batches * units:
        raise unsupported(g, op, f"output {list(y.shape)} and state sizes do not match {list(expected)}")
    cell_clip = float(op.attrs["cell_clip"])
    params = dict(batches=batches, steps=steps, in_dim=in_dim, units=units, time_major=int(time_major))
    consts = [("w_in", np.stack(w_in)), ("w_rec", np.stack(w_rec)), ("bias", np.stack(biases))]
    if dtype == "float32":
        params["cell_clip"] = float(np.float32(cell_clip))
        fn, summary, scratch = "en_lstm_f32", f"{steps} steps x {in_dim}->{units}, float32", 4 * 6 * units
    else:
        cell_power = round(math.log2(cell.scale))
        q_clip = int(min(max(cell_clip / cell.scale, -32768.0), 32767.0)) if cell_clip > 0 else 0
        forget_m, forget_e = quantize_multiplier(GATE_OUT_SCALE * cell.scale / cell.scale)
        input_m, input_e = quantize_multiplier(GATE_OUT_SCALE * GATE_OUT_SCALE / cell.scale)
        hidden_m, hidden_e = quantize_multiplier(GATE_OUT_SCALE * GATE_OUT_SCALE / hidden.scale)
        tanh_m, tanh_e = tanh_input_scaling(cell_power)
        _check_accumulators(g, op, (x, hidden), w_in, w_rec, biases, shift, (forget_e, input_e, hidden_e))
        params.update(
            cell_clip=q_clip, forget_mult=forget_m, forget_shift=forget_e, input_mult=input_m, input_shift=input_e,
            hidden_mult=hidden_m, hidden_shift=hidden_e, tanh_mult=tanh_m, tanh_shift=tanh_e,
        )  # fmt: skip
        consts += [("mult", np.array(mult, np.int32)), ("shift", np.array(shift, np.int32))]
        fn, scratch = "en_lstm_s16", 12 * units
        summary = f"{steps} steps x {in_dim}->{units}, 16x8, cell 2^{cell_power}"
    return Kernel(
        op=op,
        fn=fn,
        params=params,
        inputs=(x.name,),
        consts=tuple(consts),
        outputs=(y.name,),
        macs=batches * steps * 4 * units * (in_dim + units),
        summary=summary,
        scratch=scratch,
    )


def _check_accumulators(g: Graph, op: Op, sources, w_in, w_rec, biases, shift, cell_shifts) -> None:
    """Refuses weights or scales that could overflow an accumulator of lstm.c: each gate's two
    fully connected sums per unit (int8: ``|bias| + |x - zp| * sum|w|`` in int32, shifted by the
    gate's multiplier; 16x8: in int64, en_requant64) and the int16 x int16 products (at most 2^30)
    of the cell and hidden updates, shifted by their multipliers (the hidden one plus its zero point)."""
    x, hidden = sources
    wide = x.dtype == "int16"
    for gi, gate in enumerate(GATES):
        for src, w, bias, sh in (
            (x, w_in[gi], biases[gi], shift[2 * gi]),
            (hidden, w_rec[gi], None, shift[2 * gi + 1]),
        ):
            sums = np.abs(w.astype(np.int64)).sum(axis=1)
            dev = deviation(src)
            for u in range(len(sums)):
                b = abs(int(bias[u])) if bias is not None else 0
                what = f"of the {gate} gate's unit {u} (|bias| {b:,} + {dev} x sum|w| {int(sums[u]):,})"
                if wide:
                    check_wide_requant(g, op, b + dev * int(sums[u]), what, sh)
                else:
                    check_accumulator(g, op, b + dev * int(sums[u]), what, left_shift=sh)
    for name, sh in zip(("forget", "input", "hidden"), cell_shifts, strict=True):
        limit = requant_limit(hidden.zero_point if name == "hidden" and not wide else 0)
        check_accumulator(g, op, 1 << 30, f"of the {name} product (int16 x int16)", left_shift=sh, limit=limit)


def _clamp_f32(v: np.ndarray) -> np.ndarray:
    """``std::min(std::max(v, -FLT_MAX), FLT_MAX)`` (TFLite's ActivationFunctionWithMinMax)."""
    v = np.where(v < -F32_MAX, -F32_MAX, v)
    return np.where(F32_MAX < v, F32_MAX, v).astype(np.float32)


def _fc_f32(v: np.ndarray, w: np.ndarray, bias) -> np.ndarray:
    acc = np.zeros(w.shape[0], np.float32)
    for d in range(w.shape[1]):
        acc = (acc + (v[d] * w[:, d]).astype(np.float32)).astype(np.float32)
    return _clamp_f32((acc + (bias if bias is not None else np.float32(0))).astype(np.float32))


def _reference_f32(k: Kernel, x, w_in, w_rec, bias) -> np.ndarray:
    p = k.params
    batches, steps, units = p["batches"], p["steps"], p["units"]
    clip = np.float32(p["cell_clip"])
    xs = np.asarray(x, np.float32).reshape((steps, batches, -1) if p["time_major"] else (batches, steps, -1))
    out = np.empty((steps, batches, units) if p["time_major"] else (batches, steps, units), np.float32)
    for b in range(batches):
        h = np.zeros(units, np.float32)
        c = np.zeros(units, np.float32)
        for t in range(steps):
            xt = xs[t, b] if p["time_major"] else xs[b, t]
            pre = [(_fc_f32(xt, w_in[i], bias[i]) + _fc_f32(h, w_rec[i], None)).astype(np.float32) for i in range(4)]
            f, i_gate, o = sigmoid_f32(pre[0]), sigmoid_f32(pre[1]), sigmoid_f32(pre[3])
            g_gate = libm_f32("tanhf", pre[2])
            c = (_clamp_f32(f * c) + _clamp_f32(i_gate * g_gate)).astype(np.float32)
            if clip > 0:
                c = np.where(c < clip, c, clip)
                c = np.where(c < -clip, -clip, c).astype(np.float32)
            h = _clamp_f32(libm_f32("tanhf", c) * o)
            if p["time_major"]:
                out[t, b] = h
            else:
                out[b, t] = h
    return out


def _reference_s16(k: Kernel, x, w_in, w_rec, bias, mult, shift) -> np.ndarray:
    from edgeneuro.ir.quant import multiply_by_quantized_multiplier_int64

    p = k.params
    batches, steps, units = p["batches"], p["steps"], p["units"]
    xs = np.asarray(x).reshape((steps, batches, -1) if p["time_major"] else (batches, steps, -1))
    out = np.empty((steps, batches, units) if p["time_major"] else (batches, steps, units), np.int16)

    def fc(v, w, b, m, e):
        acc = v.astype(np.int64) @ w.astype(np.int64).T + (b if b is not None else 0)
        return _sat16(multiply_by_quantized_multiplier_int64(acc, int(m), int(e)))

    for b in range(batches):
        h = np.zeros(units, np.int64)
        c = np.zeros(units, np.int64)
        for t in range(steps):
            xt = xs[t, b] if p["time_major"] else xs[b, t]
            gates = []
            for i in range(4):
                a = _sat16(
                    fc(xt, w_in[i], bias[i].astype(np.int64), mult[2 * i], shift[2 * i])
                    + fc(h, w_rec[i], None, mult[2 * i + 1], shift[2 * i + 1])
                )
                gates.append(tanh16(a) if GATES[i] == "cell" else sigmoid16(a))
            f, i_gate, g_gate, o = gates
            c = _sat16(_mul(f, c, p["forget_mult"], p["forget_shift"]))
            c = _sat16(c + _sat16(_mul(i_gate, g_gate, p["input_mult"], p["input_shift"])))
            if p["cell_clip"] > 0:
                c = np.clip(c, -p["cell_clip"], p["cell_clip"])
            th = tanh16(c, p["tanh_mult"], p["tanh_shift"])
            h = _sat16(_mul(th, o, p["hidden_mult"], p["hidden_shift"]))
            if p["time_major"]:
                out[t, b] = h
            else:
                out[b, t] = h
    return out
