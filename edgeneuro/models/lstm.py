"""A recurrent window classifier (the seed paper's LSTM family), sized for a microcontroller."""

from __future__ import annotations


def build_lstm(samples: int, channels: int, classes: int, units: int = 16, batch_size=None):
    """Average-pool the window by 8 in time, one LSTM layer, Dense and softmax. The TFLite
    converter emits an int8 UNIDIRECTIONAL_SEQUENCE_LSTM only for a fixed batch size: build the
    model to convert with ``batch_size=1`` and copy the trained weights into it."""
    import tf_keras as keras

    model = keras.Sequential(
        [
            keras.layers.Input((samples, channels), batch_size=batch_size),
            keras.layers.AveragePooling1D(8),
            keras.layers.LSTM(units),
            keras.layers.Dense(classes),
            keras.layers.Softmax(),
        ],
        name="lstm",
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
