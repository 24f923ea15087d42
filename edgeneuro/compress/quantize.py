"""Full-int8 post-training quantization with the TFLite converter."""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np

import edgeneuro.models  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)


def to_int8_tflite(model, calibration: np.ndarray, max_samples: int = 200) -> bytes:
    """Quantize a tf_keras model to a full-int8 TFLite flatbuffer (int8 input and output, per-channel
    weights), calibrating activation ranges on ``calibration`` (float inputs of the model's shape)."""
    import tensorflow as tf

    def representative() -> Iterable[list[np.ndarray]]:
        for x in calibration[:max_samples]:
            yield [x[None].astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    with warnings.catch_warnings():
        # int8 inputs take their range from the calibration data; the converter warns regardless
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs were expected")
        return conv.convert()


def quantize_input(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Float samples → int8 with the model input's quantization (round half away from zero)."""
    q = np.floor(np.abs(x / scale) + 0.5) * np.sign(x) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)
