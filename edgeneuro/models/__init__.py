"""Model builders (tf_keras, so that tensorflow-model-optimization and int8 conversion work)."""

import os

# Keras 3 models are rejected by tensorflow-model-optimization; use the legacy tf_keras.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


FAMILIES = ("dnn", "cnn", "lstm")


def keras():
    """The tf_keras module, imported after TF_USE_LEGACY_KERAS is set."""
    import tf_keras

    return tf_keras


def build(family: str, samples: int, channels: int, classes: int, batch_size=None):
    """A compiled tf_keras model of ``family`` (dnn, cnn or lstm) for [samples, channels] windows."""
    from edgeneuro.errors import InputError

    if family == "dnn":
        from edgeneuro.models.dnn import build_dnn

        return build_dnn(samples, channels, classes, batch_size=batch_size)
    if family == "cnn":
        from edgeneuro.models.cnn import build_cnn1d

        return build_cnn1d(samples, channels, classes, batch_size=batch_size)
    if family == "lstm":
        from edgeneuro.models.lstm import build_lstm

        return build_lstm(samples, channels, classes, batch_size=batch_size)
    raise InputError(f"model family '{family}': choose one of {', '.join(FAMILIES)}")
