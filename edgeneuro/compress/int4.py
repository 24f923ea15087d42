"""``compress --quantize int8w4``: int8 activations, int4 weights (TFLite INT4 tensors, two a byte)
for FULLY_CONNECTED and CONV_2D layers.

What TensorFlow 2.21's TFLite converter can do: it writes INT4 weights only for a weight that passes
through a 4-bit FakeQuant op (``tf.quantization.fake_quant_with_min_max_vars(num_bits=4)``, what
low-bit quantization-aware training leaves in a graph); with ``converter._experimental_low_bit_qat =
True`` it does so while a representative dataset calibrates the int8 activations. A Keras model or
SavedModel as given has no such ops, post-training quantization has no 4-bit option
(``target_spec.supported_types`` takes int8, int16 and float16), and putting FakeQuant ops in front
of every kernel of an arbitrary model is graph surgery that differs between tf_keras, Keras 3 and
SavedModels. So edgeneuro writes the int4 weights itself, from the converter's int8 model:

1. before the conversion, the float kernels of Dense layers are snapped to a 4-bit grid with one
   scale per tensor (TFLM's FULLY_CONNECTED takes int4 weights per tensor only) and those of Conv1D
   / Conv2D layers with one scale per output channel: ``s = max|w| / 7``, ``w = s * round(w / s)``
   in [-7 s, 7 s] (``snap_kernels``);
2. the converter quantizes that model to int8 as for ``--quantize int8`` (per-channel int8 weights:
   each snapped value is an int8 step ``127 / 7`` times its 4-bit code, within rounding);
3. ``rewrite_int4`` turns each FULLY_CONNECTED and CONV_2D filter of the int8 flatbuffer into an
   INT4 tensor: scale ``127 / 7`` times the int8 scale (the largest of a FULLY_CONNECTED's channels),
   codes ``round(q8 * s8 / s4)`` in [-7, 7], and the int32 bias re-expressed at the new scale
   (``round(b * s8 / s4)``). Depthwise, LSTM and other weights stay int8.

Where a kernel was not snapped (a SavedModel without Keras layers), step 3 rounds the int8 weights
to 4 bits, a second rounding. The report scores the int8 model and the int8w4 model alike."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edgeneuro.errors import ModelError

SNAPPED_LAYERS = {"Dense": "tensor", "Conv1D": "channel", "Conv2D": "channel"}  # Keras class -> scale granularity
INT4_OPS = ("FULLY_CONNECTED", "CONV_2D")


def snap(w: np.ndarray, per_channel: bool) -> np.ndarray:
    """``w`` on the symmetric 4-bit grid ``s * [-7, 7]``, ``s = max|w| / 7`` over the whole tensor or
    per output channel (the last axis of a Keras kernel)."""
    w = np.asarray(w, np.float32)
    axes = tuple(range(w.ndim - 1)) if per_channel else None
    s = np.max(np.abs(w), axis=axes, keepdims=per_channel) / 7.0
    s = np.where(s > 0, s, 1.0)
    return (np.clip(np.round(w / s), -7, 7) * s).astype(np.float32)


@contextlib.contextmanager
def snap_kernels(weights: list) -> Iterator[list[str]]:
    """While inside: the kernels of Dense, Conv1D and Conv2D layers among ``weights``
    (anymodel.Weight) on their 4-bit grid (``snap``); afterwards the original values. Yields the
    names of the kernels it snapped."""
    saved = []
    try:
        for w in weights:
            how = SNAPPED_LAYERS.get(w.layer)
            if how is None:
                continue
            value = w.numpy()
            saved.append((w, value))
            w.var.assign(snap(value, how == "channel"))
        yield [w.name for w, _ in saved]
    finally:
        for w, value in saved:
            w.var.assign(value)


def rewrite_int4(blob: bytes, source: Path | str = "model") -> tuple[bytes, list[dict[str, Any]]]:
    """The int8 TFLite flatbuffer ``blob`` with the int8 filters of its FULLY_CONNECTED and CONV_2D
    operators stored as INT4 (see the module's docstring); returns it and one entry per rewritten
    filter (name, operator, values, per-channel, largest rounding change in codes). A model with no
    such filter is an error."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as S

    model = S.ModelT.InitFromPackedBuf(bytearray(blob), 0)
    codes = {v: k for k, v in vars(S.BuiltinOperator).items() if not k.startswith("_")}
    done: list[dict[str, Any]] = []
    shared: dict[int, int] = {}  # buffer -> tensors that name it (the converter shares equal constants)
    for sg in model.subgraphs or []:
        for t in sg.tensors or []:
            shared[t.buffer] = shared.get(t.buffer, 0) + 1
    for sg in model.subgraphs or []:
        users: dict[int, list[str]] = {}
        for op in sg.operators or []:
            oc = model.operatorCodes[op.opcodeIndex]
            kind = codes.get(max(oc.builtinCode, oc.deprecatedBuiltinCode), "?")
            for slot, t in enumerate(op.inputs if op.inputs is not None else []):
                if t >= 0:
                    users.setdefault(int(t), []).append(kind if slot == 1 else f"{kind}:{slot}")
        for op in sg.operators or []:
            oc = model.operatorCodes[op.opcodeIndex]
            kind = codes.get(max(oc.builtinCode, oc.deprecatedBuiltinCode), "?")
            if kind not in INT4_OPS or op.inputs is None or len(op.inputs) < 2:
                continue
            fi = int(op.inputs[1])
            f = sg.tensors[fi]
            if f.type != S.TensorType.INT8 or set(users.get(fi, [])) != {kind}:
                continue  # already rewritten, not int8, or shared with another kind of use
            data = model.buffers[f.buffer].data if f.buffer else None
            if data is None or f.quantization is None or _len(f.quantization.scale) == 0:
                continue
            q8 = np.frombuffer(bytes(bytearray(data)), np.int8).astype(np.int64).reshape(f.shape)
            s8 = np.asarray(f.quantization.scale, np.float64)
            channels = f.shape[0]
            s8c = np.broadcast_to(s8, (channels,)) if len(s8) in (1, channels) else None
            zero_points = f.quantization.zeroPoint if _len(f.quantization.zeroPoint) else [0]
            if s8c is None or np.any(np.asarray(zero_points) != 0):
                continue
            per_channel = kind == "CONV_2D" and len(s8) > 1  # TFLM's FC takes int4 per tensor only
            s4 = s8c * 127.0 / 7.0 if per_channel else np.full(channels, float(s8c.max()) * 127.0 / 7.0)
            s4 = s4.astype(np.float32).astype(np.float64)  # the scale as the file stores it
            ratio = (s8c / s4).reshape((channels,) + (1,) * (q8.ndim - 1))
            exact = q8 * ratio
            q4 = np.clip(np.round(exact), -7, 7).astype(np.int64)
            _own_buffer(model, f, shared, S)
            f.type = S.TensorType.INT4
            f.quantization.scale = [float(v) for v in (s4 if per_channel else s4[:1])]
            f.quantization.zeroPoint = [0] * (channels if per_channel else 1)
            f.quantization.quantizedDimension = 0
            model.buffers[f.buffer].data = np.frombuffer(_pack(q4), np.uint8)
            if len(op.inputs) > 2 and op.inputs[2] >= 0:
                bias = sg.tensors[int(op.inputs[2])]
                _own_buffer(model, bias, shared, S)
                _rescale_bias(model, bias, s8c / s4, per_channel, S)
            done.append({"name": _name(f.name), "op": kind, "values": int(q4.size), "per_channel": per_channel,
                         "max_rounding": float(np.max(np.abs(exact - q4))) if q4.size else 0.0})  # fmt: skip
    if not done:
        raise ModelError(f"{source}: --quantize int8w4 stores FULLY_CONNECTED and CONV_2D weights as int4, "
                         "and the int8 model has none (Dense, Conv1D or Conv2D layers make them); "
                         "use --quantize int8")  # fmt: skip
    b = flatbuffers.Builder(len(blob) + 1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output()), done


def _own_buffer(model, t, shared: dict[int, int], S) -> None:
    """Give tensor ``t`` a buffer of its own when others share its buffer, before changing it."""
    if shared.get(t.buffer, 0) <= 1:
        return
    shared[t.buffer] -= 1
    copy = S.BufferT()
    copy.data = np.array(model.buffers[t.buffer].data, np.uint8)
    model.buffers.append(copy)
    t.buffer = len(model.buffers) - 1
    shared[t.buffer] = 1


def _pack(q: np.ndarray) -> bytes:
    """TFLite INT4 data: value 2i in the low nibble of byte i, 2i + 1 in its high nibble."""
    from edgeneuro.ir.quant import pack_int4

    return pack_int4(q).tobytes()


def _rescale_bias(model, bias, factor: np.ndarray, per_channel: bool, S) -> None:
    """The int32 bias (scale s_in * s8[c]) re-expressed at s_in * s4[c]: ``round(b * s8 / s4)``."""
    if bias.type != S.TensorType.INT32 or not bias.buffer or model.buffers[bias.buffer].data is None:
        raise ModelError(f"bias '{_name(bias.name)}' is not a constant int32 vector; int8w4 cannot rescale it")
    b = np.frombuffer(bytes(bytearray(model.buffers[bias.buffer].data)), np.int32).astype(np.float64)
    if b.size != factor.size:
        raise ModelError(f"bias '{_name(bias.name)}' has {b.size} values for {factor.size} channels")
    new = np.round(b * factor)
    model.buffers[bias.buffer].data = np.frombuffer(new.astype("<i4").tobytes(), np.uint8)
    if bias.quantization is not None and _len(bias.quantization.scale):
        scale = np.broadcast_to(np.asarray(bias.quantization.scale, np.float64), factor.shape) / factor
        if not per_channel:  # one scale, as the filter's
            scale = scale[:1]
        bias.quantization.scale = [float(v) for v in scale]
        bias.quantization.zeroPoint = [0] * scale.size


def _len(v) -> int:
    """The length of an object-API vector field (None, a list or a numpy array)."""
    return 0 if v is None else len(v)


def _name(n) -> str:
    return n.decode() if isinstance(n, bytes) else str(n)


def int8w4(convert, weights: list, int8_path: Path, source: Path) -> tuple[bytes, Any, dict[str, Any]]:
    """The int8w4 model of a Keras model or SavedModel: ``convert()`` (its int8 conversion) run with
    ``weights`` snapped (``snap_kernels``), the result rewritten (``rewrite_int4``) and written
    beside ``int8_path`` and scored (anymodel.tflite_result). Returns the flatbuffer, the scored
    result and the report's ``int4`` entry."""
    from edgeneuro.compress.anymodel import tflite_result

    with snap_kernels(weights) as snapped:
        blob = convert()
    blob, layers = rewrite_int4(blob, source)
    path = int8_path.with_name(int8_path.stem + ".int8w4.tflite")
    path.write_bytes(blob)
    result = tflite_result(path)
    how = ("Dense kernels snapped to 4 bits per tensor, Conv1D / Conv2D kernels per output channel, then the "
           "converter's int8 filters stored as INT4" if snapped else
           "the converter's int8 filters rounded to 4 bits (no Keras Dense or Conv kernels to snap first)")  # fmt: skip
    return blob, result, {"method": how, "snapped": snapped, "layers": layers}
