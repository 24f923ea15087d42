"""What an operator module gives the rest of the compiler.

``lower(op, graph) -> Kernel`` fixes everything that is known at compile time (shapes, padding,
requantization multipliers, activation bounds) into a :class:`Kernel`. The numpy reference
(``reference(kernel, *arrays)``) and the generated C call read the *same* Kernel, so the C and the
reference cannot disagree about parameters, only about arithmetic, which is what the tests check.

C calling convention of every kernel: ``fn(&params, activations..., constants..., outputs...[,
scratch][, state])`` where ``params`` is a ``<fn>_params`` struct with the fields of ``Kernel.params``,
``scratch`` (only for kernels with ``Kernel.scratch`` bytes) is working memory in the arena and
``state`` (only for kernels with ``Kernel.state`` bytes: a spiking neuron's membrane and synaptic
state) is memory that survives between invocations, outside the arena, zeroed by ``en_model_reset()``.
The numpy reference of a kernel with state takes that memory as a last argument (a uint8 array of
``Kernel.state`` bytes) and updates it in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgeneuro.errors import UnsupportedOperator
from edgeneuro.ir import Graph, Op, Tensor
from edgeneuro.ir.quant import INT32_MAX, INT64_MAX, MAX_LEFT_SHIFT_64, activation_range, quantize_multiplier


@dataclass(frozen=True)
class Kernel:
    op: Op
    fn: str | None  # C function; None means a view: the output aliases the input's bytes
    params: dict[str, int] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    consts: tuple[tuple[str, np.ndarray], ...] = ()
    outputs: tuple[str, ...] = ()
    macs: int = 0  # multiply-accumulates with weights (CONV, DEPTHWISE, FC), the MLPerf Tiny convention
    summary: str = ""
    # inputs (by index) whose bytes the output may overwrite: the kernel reads element i of that
    # input before it writes element i of the output, and the two have the same size
    inplace: tuple[int, ...] = ()
    # bytes of working memory the kernel needs while it runs (passed last, 8-byte aligned, in the arena)
    scratch: int = 0
    # bytes of persistent state (passed after scratch, 8-byte aligned, outside the arena)
    state: int = 0
    # the C file (firmware/kernels/<c_file>.c and .h) of a kernel variant; None: the module's C_FILE
    c_file: str | None = None
    # the C function the layer calls where it is one of fn's specializations (e.g. by the form of
    # the requantization): a model links only the entries it calls; fn names the parameters' type
    entry: str | None = None

    @property
    def const_bytes(self) -> int:
        return sum(int(a.nbytes) for _, a in self.consts)


def unsupported(graph: Graph, op: Op, why: str) -> UnsupportedOperator:
    return UnsupportedOperator(graph.source, op.kind, op.index, why)


# The values a quantized integer tensor holds; kernels compute ``x - zero_point`` in int32, so a zero
# point outside its type's range (which no converter writes) could overflow it.
INT_RANGES = {"int4": (-8, 7), "int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}


def check_zero_points(graph: Graph, op: Op) -> None:
    """Refuses an operator with an int4/int8/uint8/int16 tensor whose zero point lies outside the
    tensor type's range (weights included): the kernels' ``x - zp`` and ``zp * sum`` terms assume it."""
    for name in (*op.inputs, *op.outputs):
        t = graph.tensors.get(name) if name else None
        if t is None or t.quant is None or t.dtype not in INT_RANGES:
            continue
        lo, hi = INT_RANGES[t.dtype]
        bad = [int(z) for z in t.quant.zero_point if not lo <= int(z) <= hi]
        if bad:
            raise unsupported(graph, op, f"tensor '{t.name}' ({t.dtype}) has zero point {bad[0]}, outside [{lo}, {hi}]")


def scales_note(graph: Graph, op: Op) -> str:
    """The scales of an operator's quantized tensors, for a message: ``'x' 0.1, 'w' 0.002..0.01``."""
    parts = []
    for name in (*op.inputs, *op.outputs):
        t = graph.tensors.get(name) if name else None
        if t is None or t.quant is None or not t.quant.scale:
            continue
        lo, hi = min(t.quant.scale), max(t.quant.scale)
        parts.append(f"'{t.name}' {lo:.6g}" + (f"..{hi:.6g}" if hi != lo else ""))
    return "scales " + ", ".join(parts) if parts else "no quantized tensors"


def deviation(t: Tensor) -> int:
    """The largest ``|x - zp|`` of a quantized integer tensor's values, exactly."""
    lo, hi = INT_RANGES.get(t.dtype, (-128, 127))
    zp = int(t.zero_point) if t.quant is not None else 0
    return max(hi - zp, zp - lo)


def requant_limit(out_zp: int = 0) -> int:
    """The largest ``|v << left|`` ``en_requant`` may take in a kernel that adds ``out_zp`` to its
    result: ``|en_requant(v)| <= |v << left|`` (its multiplier is below 2^31), so the sum stays in
    int32 when ``|v << left| <= 2^31 - 1 - |out_zp|``."""
    return INT32_MAX - abs(int(out_zp))


def input_deviation(t: Tensor) -> int:
    """The largest ``|x - zp|`` an input of an integer kernel can give, over-approximated as
    ``|qmin| + |zp|`` (int8: 128 + |zp|, int16: 32768 + |zp|): it also bounds the DSP kernels' form,
    whose accumulator starts at ``bias - zp * sum(w)`` and adds ``x * w`` with raw x."""
    lo, _ = INT_RANGES.get(t.dtype, (-128, 127))
    zp = int(t.zero_point) if t.quant is not None else 0
    return abs(lo) + abs(zp)


def check_accumulator(
    graph: Graph,
    op: Op,
    bound: int,
    what: str,
    *,
    left_shift: int = 0,
    limit: int = INT32_MAX,
    acc_type: str = "int32",
    fix: str = "the weights, bias or scales are far beyond what a converter writes: re-quantize the model",
) -> None:
    """Refuses ``op`` when the worst case ``bound`` of an accumulator (or intermediate) ``what``,
    computed at compile time, shifted left by ``left_shift`` bits in the requantization, can pass
    ``limit``: the C would overflow a signed integer (undefined behaviour; TFLM shares it)."""
    shifted = int(bound) << max(int(left_shift), 0)
    if shifted > limit:
        shift_note = f", shifted left {left_shift} bits by the requantization: {shifted:,}" if left_shift > 0 else ""
        limit_note = " (2^31 - 1 less the output zero point)" if acc_type == "int32" and limit < INT32_MAX else ""
        raise unsupported(
            graph,
            op,
            f"the {acc_type} accumulator {what} can reach {int(bound):,}{shift_note}, above {limit:,}{limit_note}: "
            f"the C would overflow (undefined behaviour); {fix}",
        )


EXP_TERM_Q12 = (INT32_MAX >> 12) + 1  # RoundingDivideByPOT(exp(0) = 2^31 - 1 in Q0.31, 12): 2^19


def check_exp_sum(graph: Graph, op: Op, depth: int) -> None:
    """SOFTMAX / LOG_SOFTMAX int8: the int32 sum of a row's ``exp(x - max)`` in Q12.19 (TFLM's
    ``sum_of_exps``, int32 too) takes up to ``2^19`` per element (every element equal to the row's
    maximum gives ``exp(0)``), so a row of ``depth`` elements can reach ``depth * 2^19``."""
    check_accumulator(
        graph,
        op,
        EXP_TERM_Q12 * int(depth),
        f"sum of a row's exponentials ({depth:,} elements x {EXP_TERM_Q12:,}, all equal to the row's maximum)",
        fix="TFLM's int32 sum overflows too; at most 4,095 elements per row (split the axis or use float32)",
    )


def check_layer_accumulators(
    graph: Graph,
    op: Op,
    x: Tensor,
    w: np.ndarray,
    bias: np.ndarray,
    shift: np.ndarray,
    channel_axis: int,
    out_zp: int = 0,
) -> None:
    """The accumulator bound of a weighted layer (FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D,
    TRANSPOSE_CONV; dense, sparse, int4 and DSP kernels alike), per output channel c:
    ``|bias[c]| + input_deviation(x) * sum |w[c, ...]|`` (exact in Python integers), which bounds
    every partial sum of the portable kernels (bias added last) and of the DSP kernels (folded bias
    first). TRANSPOSE_CONV: an output takes only some of the taps, so the sum over all of them
    over-approximates. int8 kernels accumulate in int32 and shift it left by ``max(shift, 0)``
    (en_requant); the 16x8 kernels in int64, multiplied by a 16-bit multiplier (en_requant64)."""
    rows = np.moveaxis(np.abs(w.astype(np.int64)), channel_axis, 0).reshape(w.shape[channel_axis], -1)
    sums = rows.sum(axis=1)
    dev = input_deviation(x)
    wide = x.dtype == "int16"
    for c in range(len(sums)):
        b = abs(int(bias[c]))
        bound = b + dev * int(sums[c])
        what = f"of output channel {c} (|bias| {b:,} + {dev} x sum|w| {int(sums[c]):,})"
        if wide:
            check_wide_requant(graph, op, bound, what, int(shift[c]))
        else:
            check_accumulator(graph, op, bound, what, left_shift=int(shift[c]), limit=requant_limit(out_zp))


def check_wide_requant(graph: Graph, op: Op, bound: int, what: str, shift: int) -> None:
    """The int64 accumulator of a 16x8 kernel: ``en_requant64`` multiplies it by a 16-bit multiplier
    and shifts it right by ``15 - shift`` bits (>= 1), in int64."""
    if int(shift) > MAX_LEFT_SHIFT_64:
        raise unsupported(
            graph,
            op,
            f"the multiplier needs a left shift of {int(shift)} bits; the 16x8 kernels take at most "
            f"{MAX_LEFT_SHIFT_64} ({scales_note(graph, op)})",
        )
    check_accumulator(graph, op, bound, what, left_shift=15, limit=INT64_MAX >> 1, acc_type="int64")


def require_int8(graph: Graph, op: Op, *tensors: Tensor) -> None:
    for t in tensors:
        if t.dtype != "int8" or t.quant is None:
            raise unsupported(
                graph, op, f"tensor '{t.name}' is {t.dtype}; this slice compiles int8-quantized tensors only"
            )


def weighted_operands(graph: Graph, op: Op, channel_axis: int = 0) -> tuple[Tensor, Tensor, np.ndarray, Tensor]:
    """Input, constant symmetric int8 weights (output channels on ``channel_axis``), bias (zeros
    when the model has none) and output of a CONV_2D / FULLY_CONNECTED-like operator. Activations
    are int8 (bias int32) or, in TFLite's 16x8 mode, int16 with zero point 0 (bias int64)."""
    x, w, y = graph.t(op.inputs[0]), graph.t(op.inputs[1]), graph.t(op.outputs[0])
    b = graph.t(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] else None
    int4 = w.dtype == "int4"  # TFLite INT4 weights (data unpacked to int8), with int8 activations only
    if int4 and w.quant is None:
        raise unsupported(graph, op, f"int4 weights '{w.name}' carry no quantization")
    if x.dtype == y.dtype == "int16" and x.quant and y.quant:
        if x.zero_point != 0 or y.zero_point != 0:
            raise unsupported(graph, op, "int16 activations must have zero point 0")
        if int4:
            raise unsupported(graph, op, f"int4 weights '{w.name}' with int16 activations (TFLM takes int8 only)")
        require_int8(graph, op, w)
        bias_type = np.int64
    else:
        require_int8(graph, op, x, y, *(() if int4 else (w,)))
        bias_type = np.int32
    if w.data is None:
        raise unsupported(graph, op, "weights must be constant")
    if any(z != 0 for z in w.quant.zero_point):
        raise unsupported(graph, op, "weights must be symmetric (zero point 0)")
    channels = w.shape[channel_axis]
    if w.quant.per_channel and (w.quant.axis != channel_axis or len(w.quant.scale) != channels):
        raise unsupported(
            graph, op, f"{len(w.quant.scale)} weight scales on axis {w.quant.axis} for {channels} output channels"
        )
    if b is None:
        return x, w, np.zeros(channels, bias_type), y
    if b.dtype not in ("int32", "int64") or b.data is None or b.size != channels:
        raise unsupported(graph, op, f"bias '{b.name}' must be a constant integer vector of {channels}")
    if bias_type is np.int32 and b.dtype != "int32":
        raise unsupported(graph, op, f"bias '{b.name}' is {b.dtype}; int8 kernels take int32 biases")
    return x, w, b.data.astype(bias_type).reshape(channels), y


def float_operands(graph: Graph, op: Op, channel_axis: int = 0) -> tuple[Tensor, Tensor, np.ndarray, Tensor]:
    """Input, constant float32 weights, float32 bias (zeros when absent) and output of a float
    CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED."""
    x, w, y = graph.t(op.inputs[0]), graph.t(op.inputs[1]), graph.t(op.outputs[0])
    b = graph.t(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] else None
    for t in (x, w, y) + ((b,) if b is not None else ()):
        if t.dtype != "float32":
            raise unsupported(graph, op, f"tensor '{t.name}' is {t.dtype} in a float32 operator")
    if w.data is None or (b is not None and b.data is None):
        raise unsupported(graph, op, "weights and bias must be constant")
    channels = w.shape[channel_axis]
    bias = b.data.astype(np.float32).reshape(channels) if b is not None else np.zeros(channels, np.float32)
    return x, w, bias, y


def layer_operands(graph: Graph, op: Op, channel_axis: int = 0) -> tuple[Tensor, Tensor, np.ndarray, Tensor]:
    """The operands of a weighted layer, float32 or quantized by the input's type."""
    if graph.t(op.inputs[0]).dtype == "float32":
        return float_operands(graph, op, channel_axis)
    return weighted_operands(graph, op, channel_axis)


VARIANTS = {"int8": "s8", "int16": "s16", "float32": "f32"}


def layer_kernel(
    graph: Graph,
    op: Op,
    name: str,
    x: Tensor,
    w: Tensor,
    bias: np.ndarray,
    y: Tensor,
    params: dict,
    variants: tuple[str, ...] = ("s8", "s16", "f32"),
    multipliers: tuple[np.ndarray, np.ndarray] | None = None,
    channel_axis: int = 0,
) -> tuple[str, tuple[tuple[str, np.ndarray], ...]]:
    """The type-specific half of a weighted layer: adds the activation range (and zero points) to
    ``params`` and returns the kernel ``en_<name>_<s8|s16|f32>`` and its constants (weights, bias,
    and for integer kernels the per-channel multipliers, ``multipliers`` or from the scales)."""
    variant = VARIANTS.get(x.dtype)
    if variant not in variants:
        raise unsupported(graph, op, f"{x.dtype} activations (edgeneuro has {', '.join(variants)} kernels for it)")
    if variant == "f32":
        params.update(zip(("act_min", "act_max"), float_activation_range(op), strict=True))
        return f"en_{name}_f32", (("weights", w.data.astype(np.float32)), ("bias", bias))
    mult, shift = multipliers if multipliers is not None else channel_multipliers(x, w, y)
    check_layer_accumulators(graph, op, x, w.data, bias, shift, channel_axis, y.zero_point)
    act_min, act_max = activation_range(activation(op), y.scale, y.zero_point, y.dtype)
    params.update(in_zp=x.zero_point, out_zp=y.zero_point, act_min=act_min, act_max=act_max)
    consts = (("weights", w.data.astype(np.int8)), ("bias", bias), ("mult", mult), ("shift", shift))
    return f"en_{name}_{variant}", consts


FLT_MAX = float(np.finfo(np.float32).max)


def float_activation_range(op: Op) -> tuple[float, float]:
    """TFLite ``CalculateActivationRange`` for float kernels."""
    return {"NONE": (-FLT_MAX, FLT_MAX), "RELU": (0.0, FLT_MAX), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}[
        activation(op)
    ]


def float_clamp(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.minimum(np.maximum(v, np.float32(lo)), np.float32(hi)).astype(np.float32)


def channel_multipliers(x: Tensor, w: Tensor, y: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per output channel: QuantizeMultiplier(double(s_in) * double(s_w[c]) / double(s_out))."""
    scales = w.quant.scale if w.quant.per_channel else w.quant.scale * w.shape[w.quant.axis]
    pairs = [quantize_multiplier(x.scale * s / y.scale) for s in scales]
    return np.array([m for m, _ in pairs], np.int32), np.array([e for _, e in pairs], np.int32)


def byte_copy_operands(graph: Graph, op: Op, max_rank: int) -> tuple[Tensor, Tensor]:
    """Input and output of an int8 operator that moves bytes without arithmetic (PAD, TRANSPOSE,
    STRIDED_SLICE): one per-tensor quantization on both sides, rank 1 to ``max_rank``."""
    x, y = graph.t(op.inputs[0]), graph.t(op.outputs[0])
    require_int8(graph, op, x, y)
    if not same_quant(x, y) or x.quant.per_channel or y.quant.per_channel:
        raise unsupported(graph, op, "input and output quantization differ (TFLM would copy the bytes unchanged)")
    if not 1 <= len(x.shape) <= max_rank:
        raise unsupported(graph, op, f"input rank {len(x.shape)}; TFLM takes 1-D to {max_rank}-D tensors here")
    return x, y


def const_operand(graph: Graph, op: Op, index: int, what: str) -> Tensor:
    """A constant int32 operand (paddings, permutation, slice bounds)."""
    t = graph.t(op.inputs[index])
    if t.data is None:
        raise unsupported(graph, op, f"the {what} must be a constant tensor")
    if t.dtype != "int32":
        raise unsupported(graph, op, f"the {what} '{t.name}' must be int32, not {t.dtype}")
    return t


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


def activation(op: Op) -> str:
    """The fused activation (NONE, RELU, RELU6, RELU_N1_TO_1)."""
    return op.attrs.get("fused_activation_function", "NONE")


def window(attrs: dict, ih: int, iw: int, kh: int, kw: int, sh: int, sw: int, dh: int = 1, dw: int = 1):
    """Output size and top/left padding of a sliding window: TFLite's SAME / VALID, or EXPLICIT
    padding ``attrs["pads"] = [top, left, bottom, right]`` (what the ONNX front end produces).
    Returns (out_h, out_w, pad_top, pad_left); taps in the padding contribute nothing."""
    if attrs["padding"] == "EXPLICIT":
        top, left, bottom, right = attrs["pads"]
        oh = (ih + top + bottom - ((kh - 1) * dh + 1)) // sh + 1
        ow = (iw + left + right - ((kw - 1) * dw + 1)) // sw + 1
        return oh, ow, top, left
    oh, ow = out_size(attrs["padding"], ih, kh, sh, dh), out_size(attrs["padding"], iw, kw, sw, dw)
    return oh, ow, padding(attrs["padding"], ih, kh, sh, dh, oh), padding(attrs["padding"], iw, kw, sw, dw, ow)


def taps(p: dict, x: np.ndarray, kh: int, kw: int):
    """The filter taps of a sliding window (CONV_2D, DEPTHWISE_CONV_2D) over NHWC ``x``, in
    TFLite's order (rows, then columns): yields ``(i, j, patch, live)`` where ``patch`` is the
    [n, out_h, out_w, c] input that tap (i, j) meets at every output position, zero in the padding,
    and ``live`` marks the positions where the tap lies inside the image."""
    n, ih, iw, _ = x.shape
    oh, ow, sh, sw = p["out_h"], p["out_w"], p["stride_h"], p["stride_w"]
    dh, dw, pt, pl = p["dil_h"], p["dil_w"], p["pad_h"], p["pad_w"]
    pb = max(0, (oh - 1) * sh + (kh - 1) * dh + 1 - ih - pt)
    pr = max(0, (ow - 1) * sw + (kw - 1) * dw + 1 - iw - pl)
    xs = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    inside = np.pad(np.ones((ih, iw), bool), ((pt, pb), (pl, pr)))
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + (oh - 1) * sh + 1, sh)
            cols = slice(j * dw, j * dw + (ow - 1) * sw + 1, sw)
            yield i, j, xs[:, rows, cols, :], inside[rows, cols][None, :, :, None]


def check_shape(graph: Graph, op: Op, t: Tensor, expected: tuple[int, ...]) -> None:
    if tuple(t.shape) != tuple(expected):
        raise unsupported(graph, op, f"output '{t.name}' has shape {list(t.shape)}, expected {list(expected)}")


def requantize16(acc: np.ndarray, mult, shift, act_min: int, act_max: int) -> np.ndarray:
    """The 16x8 kernels' requantization: int64 accumulator, reduced multiplier, int16 result."""
    from edgeneuro.ir.quant import multiply_by_quantized_multiplier_int64

    y = multiply_by_quantized_multiplier_int64(acc, mult, shift)
    return np.clip(y, act_min, act_max).astype(np.int16)


def requantize(acc: np.ndarray, mult, shift, out_zp: int, act_min: int, act_max: int) -> np.ndarray:
    from edgeneuro.ir.quant import multiply_by_quantized_multiplier

    y = multiply_by_quantized_multiplier(acc, mult, shift) + out_zp
    return np.clip(y, act_min, act_max).astype(np.int8)


COPY_DTYPES = ("int8", "int16", "float32")


def copy_operands(graph: Graph, op: Op, xs, ys, dtypes: tuple[str, ...] = COPY_DTYPES) -> int:
    """The element size in bytes of an operator that moves elements without arithmetic (SPLIT,
    PACK, GATHER, ...) between the tensors ``xs`` and ``ys``: all of one dtype in ``dtypes`` and,
    if quantized, with one per-tensor scale and zero point (TFLM copies the bytes unchanged, so
    edgeneuro refuses quantizations that would give them another meaning)."""
    from edgeneuro.ir.graph import DTYPE_BYTES

    tensors = [*xs, *ys]
    for t in tensors:
        if t.dtype not in dtypes:
            raise unsupported(graph, op, f"tensor '{t.name}' is {t.dtype}; TFLM moves {', '.join(dtypes)} here")
        if t.dtype != tensors[0].dtype:
            raise unsupported(graph, op, f"tensor '{t.name}' is {t.dtype}, '{tensors[0].name}' {tensors[0].dtype}")
    quantized = [t for t in tensors if t.quant is not None]
    if quantized:
        first = quantized[0]
        for t in tensors:
            if t.quant is None or t.quant.per_channel or not same_quant(t, first):
                raise unsupported(
                    graph,
                    op,
                    f"'{t.name}' and '{first.name}' are quantized differently; TFLM copies the bytes unchanged",
                )
    return DTYPE_BYTES[tensors[0].dtype]


# float32 math as TFLM's float kernels do it: the C library's expf / tanhf, called through ctypes so
# the numpy reference, the host C build and TFLM's host build agree bit for bit on the same library
# (on the board, newlib's may differ in the last bit).
F32_SIGMOID_UPPER = np.float32(16.619047164916992188)  # reference_ops::Logistic's cutoffs
F32_SIGMOID_LOWER = np.float32(-9.0)
_LIBM: dict[str, object] = {}


def _libm(name: str):
    """The C library's float function ``name`` (``expf``, ``tanhf``) over a float32 array, or None."""
    import ctypes
    import ctypes.util

    path = ctypes.util.find_library("m")
    try:
        fn = getattr(ctypes.CDLL(path), name)
    except (OSError, AttributeError, TypeError):
        return None
    fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
    return np.frompyfunc(fn, 1, 1)


def libm_f32(name: str, v: np.ndarray) -> np.ndarray:
    """The C library's ``name`` (``expf``, ``tanhf``) of each float32 in ``v``; without a loadable
    C math library, the double-precision value rounded to float32."""
    if name not in _LIBM:
        _LIBM[name] = _libm(name)
    fn = _LIBM[name]
    v = np.asarray(v, np.float32)
    if fn is None:
        return getattr(np, name[:-1])(v.astype(np.float64)).astype(np.float32)
    return np.asarray(fn(v), np.float64).astype(np.float32).reshape(v.shape)


def sigmoid_f32(v: np.ndarray) -> np.ndarray:
    """TFLite's float ``reference_ops::Logistic``: 1 above 16.619047164916992188f, ``expf(v)``
    below -9, else ``1.f / (1.f + expf(-v))`` (en_float.h's ``en_sigmoid_f32``)."""
    v = np.asarray(v, np.float32)
    mid = (np.float32(1) / (np.float32(1) + libm_f32("expf", -v))).astype(np.float32)
    low = libm_f32("expf", v)
    return np.where(v > F32_SIGMOID_UPPER, np.float32(1), np.where(v < F32_SIGMOID_LOWER, low, mid)).astype(np.float32)


# Broadcasting of the binary elementwise operators (ADD / SUB / MUL, MAXIMUM, DIV, the comparisons,
# ...), numpy's rules, shapes padded to 5-D; the C loop nest is firmware/kernels/en_broadcast.h.
BROADCAST_RANK = 5


def broadcast_strides(shape: tuple[int, ...], out: tuple[int, ...]) -> list[int]:
    """Element strides of ``shape`` broadcast to ``out`` (both padded to BROADCAST_RANK); 0 where broadcast."""
    shape = (1,) * (BROADCAST_RANK - len(shape)) + tuple(shape)
    strides, step = [0] * BROADCAST_RANK, 1
    for i in reversed(range(BROADCAST_RANK)):
        strides[i] = step if shape[i] == out[i] else 0
        step *= shape[i]
    return strides


def broadcast(g: Graph, op: Op, a: Tensor, b: Tensor, y: Tensor, max_rank: int = BROADCAST_RANK) -> dict[str, int]:
    """The output shape padded to 5-D (``d0..d4``) and each input's element strides (``a0..a4``,
    ``b0..b4``, 0 along a broadcast axis), numpy's broadcasting rules; ``max_rank`` is TFLM's limit
    for the operator."""
    try:
        shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except ValueError as e:
        raise unsupported(g, op, f"shapes {list(a.shape)} and {list(b.shape)} do not broadcast") from e
    if int(np.prod(shape, dtype=np.int64)) != y.size:
        raise unsupported(g, op, f"output '{y.name}' has shape {list(y.shape)}, expected {list(shape)}")
    if len(shape) > max_rank:
        raise unsupported(g, op, f"rank {len(shape)} above {max_rank} (TFLM's limit for {op.kind})")
    out = (1,) * (BROADCAST_RANK - len(shape)) + tuple(shape)
    params = {f"d{i}": out[i] for i in range(BROADCAST_RANK)}
    params.update({f"a{i}": s for i, s in enumerate(broadcast_strides(a.shape, out))})
    params.update({f"b{i}": s for i, s in enumerate(broadcast_strides(b.shape, out))})
    return params


def broadcast_inputs(p: dict, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both inputs broadcast to the padded 5-D output shape of ``broadcast``'s parameters."""
    out = tuple(p[f"d{i}"] for i in range(BROADCAST_RANK))
    fa = np.broadcast_to(a.reshape((1,) * (BROADCAST_RANK - a.ndim) + a.shape), out)
    fb = np.broadcast_to(b.reshape((1,) * (BROADCAST_RANK - b.ndim) + b.shape), out)
    return fa, fb


def same_types(g: Graph, op: Op, types: tuple[str, ...], *tensors: Tensor) -> str:
    """The one dtype of ``tensors``, which must be among ``types``."""
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) != 1 or next(iter(dtypes)) not in types:
        names = ", ".join(f"'{t.name}' {t.dtype}" for t in tensors)
        raise unsupported(g, op, f"tensors {names}; TFLM's {op.kind} takes one type of {', '.join(types)}")
    return next(iter(dtypes))
