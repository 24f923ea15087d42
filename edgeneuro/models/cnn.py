"""A 1-D CNN window classifier sized for a microcontroller."""

from __future__ import annotations


def build_cnn1d(samples: int, channels: int, classes: int, filters: tuple[int, ...] = (8, 16), batch_size=None):
    """Conv1D(k7, s2) → MaxPool(2) → Conv1D(k5) → global average → Dense → softmax."""
    import tf_keras as keras

    layers = [keras.layers.Input((samples, channels), batch_size=batch_size)]
    layers.append(keras.layers.Conv1D(filters[0], 7, strides=2, activation="relu"))
    layers.append(keras.layers.MaxPooling1D(2))
    for f in filters[1:]:
        layers.append(keras.layers.Conv1D(f, 5, activation="relu"))
    layers += [keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(classes), keras.layers.Softmax()]
    model = keras.Sequential(layers, name="cnn1d")
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
