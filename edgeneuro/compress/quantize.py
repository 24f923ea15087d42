"""Full-int8 post-training quantization with the TFLite converter."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np

import edgeneuro.models  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)


def to_int8_tflite(model, calibration: np.ndarray | dict[str, np.ndarray], max_samples: int = 200,
                   float_io: bool = False) -> bytes:  # fmt: skip
    """Quantize a Keras model (tf_keras or Keras 3) to a full-int8 TFLite flatbuffer (int8 input and
    output unless ``float_io``, per-channel weights), calibrating activation ranges on
    ``calibration`` (float inputs of the model's shape; several inputs: ``int8_convert``)."""
    import tensorflow as tf

    return int8_convert(tf.lite.TFLiteConverter.from_keras_model(model), calibration, max_samples, float_io)


def int8_convert(conv, calibration: np.ndarray | dict[str, np.ndarray], max_samples: int = 200,
                 float_io: bool = False) -> bytes:  # fmt: skip
    """Run a ``tf.lite.TFLiteConverter`` as full-int8 post-training quantization: int8 builtins
    only, activation ranges from ``calibration``, int8 input and output unless ``float_io``.

    A model with several inputs takes a dict {input name: samples [N, *shape]} in the model's
    input order. The representative dataset then yields a dict keyed by the serving signature's
    input names (the Keras Input names), which TensorFlow matches by name; a model the converter
    gives no signature (an input name a signature key cannot take) gets a list in the model's
    order, which is the order of the converted model's inputs (tests/test_compress_multi.py)."""
    import tensorflow as tf

    arrays = calibration if isinstance(calibration, dict) else None
    n = min(max_samples, len(next(iter(arrays.values())) if arrays else calibration))

    def one() -> Iterable[list[np.ndarray]]:
        for x in calibration[:n]:
            yield [x[None].astype(np.float32)]

    def by_name() -> Iterable[dict[str, np.ndarray]]:
        for k in range(n):
            yield {name: a[k][None].astype(np.float32) for name, a in arrays.items()}

    def in_order() -> Iterable[list[np.ndarray]]:
        for k in range(n):
            yield [a[k][None].astype(np.float32) for a in arrays.values()]

    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = one if arrays is None else by_name
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if not float_io:
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    with warnings.catch_warnings():
        # int8 inputs take their range from the calibration data; the converter warns regardless
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs were expected")
        if arrays is None or len(arrays) == 1:
            if arrays is not None:
                conv.representative_dataset = in_order
            return conv.convert()
        try:
            return conv.convert()
        except (ValueError, KeyError) as e:
            if "signature" not in str(e).lower() and not isinstance(e, KeyError):
                raise
        conv.representative_dataset = in_order  # no signature to match names with
        return conv.convert()


def quantized_op_types() -> list[str]:
    """The ONNX operators onnxruntime's quantizer should quantize: its own defaults and those it
    leaves float by default but edgeneuro runs in int8 (onnx.EXTRA_QUANTIZED_OPS)."""
    from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

    from edgeneuro.frontends.onnx import EXTRA_QUANTIZED_OPS

    return sorted(set(QLinearOpsRegistry) | set(QDQRegistry) | set(EXTRA_QUANTIZED_OPS))


def quantize_onnx(float_model, calibration: np.ndarray | dict[str, np.ndarray], out, per_channel: bool = True):
    """Quantize a float32 ONNX model to QDQ int8 (int8 activations and weights, per-channel
    weights) with onnxruntime's ``quantize_static``, calibrating on ``calibration``: samples of
    the model's input, batch axis first, or for a model with several inputs one such array per
    input keyed by input name or index (the arrays of an .npz). Returns ``out``."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    from edgeneuro.errors import InputError
    from edgeneuro.files import by_input

    model = onnx.load(str(float_model))
    names = [i.name for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
    given = calibration if isinstance(calibration, dict) else {"0": calibration}
    data = {n: np.asarray(a, np.float32) for n, a in by_input(given, names, f"{float_model}: calibration").items()}
    counts = {len(a) for a in data.values()}
    if len(counts) != 1:
        raise InputError(f"{float_model}: the calibration arrays hold different numbers of samples "
                         f"({', '.join(f'{n!r}: {len(a)}' for n, a in data.items())})")  # fmt: skip
    count = counts.pop()

    ranks = {i.name: len(i.type.tensor_type.shape.dim) for i in model.graph.input}
    # samples are [N, *input shape without batch], or [N, *input shape] when the input has no batch
    # axis of 1 (a recurrent layer's [T, B, I] input), as `edgeneuro run` takes them
    feeds = [{n: a[k] if a[k].ndim == ranks.get(n) else a[k][None] for n, a in data.items()} for k in range(count)]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(feeds)

        def get_next(self):
            return next(self.it, None)

    from edgeneuro.frontends.onnx_recurrent import expand_recurrent, quantize_lstms

    # GRUs (and LSTMs the fused int8 kernel cannot take) unrolled into operators the quantizer
    # calibrates; the other LSTMs calibrated for the fused kernel after it (quantize_lstms)
    source = Path(float_model)
    recurrent = any(n.op_type in ("LSTM", "GRU") for n in model.graph.node)
    if recurrent:
        source = Path(out).with_name(f"{Path(out).stem}.unrolled.onnx")
        onnx.save(expand_recurrent(model, float_model), str(source))
    logging.getLogger().setLevel(logging.ERROR)  # onnxruntime's quantizer advertises pre-processing
    try:
        try:
            quantize_static(str(source), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=per_channel,
                            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                            op_types_to_quantize=quantized_op_types())  # fmt: skip
        except Exception as e:
            shapes = ", ".join(f"'{n}' [N, *its shape without batch]" for n in names)
            raise InputError(f"{float_model}: calibration failed ({type(e).__name__}: {str(e).splitlines()[0]}); "
                             f"give samples shaped {shapes}") from e  # fmt: skip
        if recurrent:
            quantize_lstms(out, source, feeds)
    finally:
        if recurrent:
            source.unlink(missing_ok=True)
    return out
