"""`edgeneuro eval`: the class predictions of a model file (edgeneuro's reference kernels, TFLM,
onnxruntime or tf_keras) scored on the recordings of a model's test subjects."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgeneuro.data.dataset import discover
from edgeneuro.data.meta import META, Meta
from edgeneuro.errors import InputError, UnsupportedOperator
from edgeneuro.files import provenance
from edgeneuro.metrics.seizures import evaluate


def predictor(model: Path) -> Callable[[np.ndarray], np.ndarray]:
    """Class predictions of a model file for float windows: a tf_keras model (.keras, .h5), an
    ONNX model (onnxruntime), or a .tflite model run by edgeneuro's own reference kernels (int8
    inputs quantized first), which compute what the generated C computes on the chip."""
    model = Path(model)
    if not model.exists():
        raise InputError(f"{model}: no such model")
    if model.suffix == ".nir":
        return _nir_predictor(model)
    if model.suffix == ".tflite":
        from edgeneuro import frontends, reference
        from edgeneuro.compiler import prepare
        from edgeneuro.ir.quant import quantize_input

        parsed = frontends.load(model)
        t = parsed.t(parsed.inputs[0])

        def prepare_input(x: np.ndarray) -> np.ndarray:
            return quantize_input(x, t.scale, t.zero_point) if t.dtype == "int8" else x.astype(np.float32)

        try:
            prepared = prepare(parsed, model=model)
        except UnsupportedOperator:  # an operator edgeneuro cannot compile yet: TFLM runs the model
            return _tflm_predictor(model, prepare_input)
        graph, kernels = prepared.graph, prepared.kernels

        def run(x: np.ndarray) -> np.ndarray:
            return reference.run_batch(graph, kernels, prepare_input(x)).reshape(len(x), -1).argmax(1)

        run.runtime = "edgeneuro reference kernels"  # type: ignore[attr-defined]
        return run
    if model.suffix == ".onnx":
        import onnxruntime as ort

        sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name

        def run_onnx(x: np.ndarray) -> np.ndarray:
            return np.concatenate([sess.run(None, {name: s[None].astype(np.float32)})[0] for s in x]).argmax(1)

        run_onnx.runtime = "onnxruntime"  # type: ignore[attr-defined]
        return run_onnx
    from edgeneuro import models

    try:
        net = models.keras().models.load_model(model)
    except (OSError, ValueError) as e:
        raise InputError(f"{model}: not a tf_keras model ({e})") from e

    def run_keras(x: np.ndarray) -> np.ndarray:
        return net.predict(x, verbose=0).argmax(1)

    run_keras.runtime = "tf_keras"  # type: ignore[attr-defined]
    return run_keras


def _nir_predictor(model: Path) -> Callable[[np.ndarray], np.ndarray]:
    """A spiking model of the snn family: its features, edgeneuro's fixed-point reference over the
    window's time steps (what the chip computes), the class of the mean output."""
    from edgeneuro import compiler, reference
    from edgeneuro.models import snn
    from edgeneuro.options import from_cli

    meta = Meta.load(model)
    if not meta.pool:
        raise InputError(f"{model}: its {META} has no time step (pool); train it with `edgeneuro train --family snn`")
    prepared = compiler.load(model, from_cli(model))  # its time step and calibration.npy, from meta.json
    graph, kernels = prepared.graph, prepared.kernels

    def run(x: np.ndarray) -> np.ndarray:
        return snn.decide(reference.run_batch(graph, kernels, snn.features(x, meta.pool)))

    run.runtime = "edgeneuro reference kernels"  # type: ignore[attr-defined]
    return run


def _tflm_predictor(model: Path, prepare_input: Callable[[np.ndarray], np.ndarray]) -> Callable:
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError as e:
        raise InputError(f"{model}: edgeneuro cannot run it yet and tflite-micro is not installed") from e
    interp = runtime.Interpreter.from_file(str(model))

    def run(x: np.ndarray) -> np.ndarray:
        out = []
        for s in prepare_input(x):
            interp.reset()  # every window from the reset state (TFLM keeps recurrent state between calls)
            interp.set_input(s[None], 0)
            interp.invoke()
            out.append(int(np.argmax(interp.get_output(0))))
        return np.array(out)

    run.runtime = "tflite-micro"  # type: ignore[attr-defined]
    return run


def evaluate_model(model: Path, data: Path, subjects: tuple[str, ...] = ()) -> dict[str, Any]:
    """Scores of ``model`` on the recordings of ``subjects`` under ``data`` (default: the model's
    test subjects)."""
    meta = Meta.load(model)
    items = discover(data)
    chosen = set(subjects or meta.test_subjects)
    picked = [i for i in items if i.subject in chosen]
    if not picked:
        raise InputError(f"{data}: no recordings of subject(s) {', '.join(sorted(chosen))}")
    predict = predictor(model)
    return {
        "model": str(model),
        **provenance(model),
        "runtime": predict.runtime,
        "subjects": sorted(chosen),
        **evaluate(predict, picked, meta, eeg=True),
    }
