"""Quantization-aware training with tensorflow-model-optimization: fake-quantized int8 weights and
activations during a few epochs of fine-tuning, so the int8 model learns around its rounding.
Layers tfmot's default registry lacks (Conv1D, the 1-D pools) get explicit configurations:
per-tensor int8 weights for Conv1D, pass-through for max pooling, a quantized output otherwise.
Weights that pruning set to zero stay zero."""

from __future__ import annotations

import numpy as np

from edgeneuro import progress
from edgeneuro.errors import InputError


def quantize_aware(model, family: str, x: np.ndarray, y: np.ndarray, epochs: int, weights: dict[int, float]):
    """A QAT copy of ``model``, fine-tuned on ``x``, ``y``; the TFLite converter turns it into int8."""
    import tensorflow_model_optimization as tfmot
    from tensorflow_model_optimization.python.core.quantization.keras.default_8bit import (
        default_8bit_quantize_configs as configs,
    )
    from tensorflow_model_optimization.python.core.quantization.keras.default_8bit import (
        default_8bit_quantize_registry as registry,
    )

    from edgeneuro import models

    if family == "lstm":
        raise InputError(
            "quantization-aware training of the lstm family is not supported (dnn and cnn are): the TFLite "
            "converter cannot turn tfmot's fake-quantized LSTM into an int8 UNIDIRECTIONAL_SEQUENCE_LSTM "
            "('Failed to duplicate values for the stateful op'); compress it without --qat"
        )
    keras = models.keras()
    known = registry.Default8BitQuantizeRegistry()
    annotate_layer = tfmot.quantization.keras.quantize_annotate_layer

    def annotate(layer):
        if known.supports(layer):
            return annotate_layer(layer)
        if isinstance(layer, keras.layers.Conv1D):
            return annotate_layer(layer, registry.Default8BitQuantizeConfig(["kernel"], ["activation"], False))
        if isinstance(layer, keras.layers.MaxPooling1D):
            return annotate_layer(layer, configs.NoOpQuantizeConfig())
        return annotate_layer(layer, configs.Default8BitOutputQuantizeConfig())

    scope = {
        "Default8BitQuantizeConfig": registry.Default8BitQuantizeConfig,
        "NoOpQuantizeConfig": configs.NoOpQuantizeConfig,
        "Default8BitOutputQuantizeConfig": configs.Default8BitOutputQuantizeConfig,
    }
    with tfmot.quantization.keras.quantize_scope(scope):
        qat = tfmot.quantization.keras.quantize_apply(keras.models.clone_model(model, clone_function=annotate))
    # Keep weights that pruning set to zero at zero while fine-tuning (pruning-preserving QAT).
    kernels = [v for layer in qat.layers for v in layer.trainable_weights if v.shape.rank and v.shape.rank > 1]
    masks = [np.asarray(w != 0, np.float32) for layer in model.layers for w in layer.get_weights()[:1] if w.ndim > 1]
    if len(masks) != len(kernels) or any(
        tuple(m.shape) != tuple(k.shape) for m, k in zip(masks, kernels, strict=False)
    ):
        raise InputError("quantization-aware training: the weight layout of the model is not the one expected")

    class KeepZeros(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            for k, m in zip(kernels, masks, strict=True):
                k.assign(k * m)

    keras.utils.set_random_seed(0)
    qat.compile(optimizer=keras.optimizers.Adam(5e-4), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    with progress.fitting(keras, "quantization-aware fine-tuning") as bar:
        qat.fit(x, y, epochs=epochs, batch_size=64, class_weight=weights, verbose=0, callbacks=[KeepZeros(), *bar])
    return qat
