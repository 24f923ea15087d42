"""A fully connected window classifier (the seed paper's DNN family), sized for a microcontroller."""

from __future__ import annotations


def build_dnn(samples: int, channels: int, classes: int, units: tuple[int, ...] = (32, 16), batch_size=None):
    """Average-pool the window by 4 in time, flatten, then Dense layers with ReLU and a softmax."""
    import tf_keras as keras

    layers = [keras.layers.Input((samples, channels), batch_size=batch_size), keras.layers.AveragePooling1D(4),
              keras.layers.Flatten()]  # fmt: skip
    layers += [keras.layers.Dense(u, activation="relu") for u in units]
    layers += [keras.layers.Dense(classes), keras.layers.Softmax()]
    model = keras.Sequential(layers, name="dnn")
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
