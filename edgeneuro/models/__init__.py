"""Model builders (tf_keras, so that tensorflow-model-optimization and int8 conversion work)."""

import os

# Keras 3 models are rejected by tensorflow-model-optimization; use the legacy tf_keras.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
