"""`edgeneuro compress`: magnitude pruning with a schedule and fine-tuning
(tensorflow-model-optimization; unstructured, or in blocks or N:M groups, see
edgeneuro/compress/patterns.py), then full-int8 post-training quantization, with the size and the
seizure metrics of each step measured on the model's held-out subjects. Models that `edgeneuro
train` did not write (no meta.json beside them), SavedModels, float ONNX models, and any model given
labels with ``fit``, go through edgeneuro/compress/anymodel.py."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from edgeneuro import progress
from edgeneuro.compress import patterns
from edgeneuro.compress.anymodel import check_samples, compress_any, read_npy
from edgeneuro.compress.patterns import UNSTRUCTURED, Pattern
from edgeneuro.data.dataset import class_weights, discover, training_windows
from edgeneuro.data.meta import META, Meta
from edgeneuro.errors import InputError
from edgeneuro.evaluate import predictor
from edgeneuro.files import provenance
from edgeneuro.metrics.seizures import evaluate


def _sparsity(model) -> float:
    weights = [w for layer in model.layers for w in layer.get_weights() if w.ndim > 1]
    total = sum(w.size for w in weights)
    return float(sum(int((w == 0).sum()) for w in weights) / total) if total else 0.0


def _int8_weight_bytes(path: Path) -> int:
    """Flash for the constants of a quantized model: edgeneuro's plan when it compiles the model,
    else the constant tensors of the flatbuffer."""
    from edgeneuro import frontends
    from edgeneuro.compiler import prepare
    from edgeneuro.errors import UnsupportedOperator

    graph = frontends.load(path)
    try:
        return prepare(graph, model=path).plan.weights_bytes
    except UnsupportedOperator:
        return sum(t.nbytes for t in graph.tensors.values() if t.is_const)


def fine_tune(model, x: np.ndarray, y: np.ndarray, epochs: int, classes: int):
    """A few epochs of training with balanced class weights (after structured pruning)."""
    from edgeneuro import models

    keras = models.keras()
    keras.utils.set_random_seed(0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])  # fmt: skip
    with progress.fitting(keras, "fine-tuning the pruned channels") as bar:
        model.fit(x, y, epochs=epochs, batch_size=64, class_weight=class_weights(y, classes), verbose=0, callbacks=bar)
    return model


def pruned_weights(model) -> list:
    """The weight tensors pruning acts on (trainable, 2-D or more: kernels, not biases)."""
    from edgeneuro.compress.anymodel import weight_of

    return [weight_of(v, type(layer).__name__) for layer in model.layers for v in layer.trainable_weights
            if len(v.shape) >= 2]  # fmt: skip


def prune(model, x: np.ndarray, y: np.ndarray, target: float, epochs: int, classes: int,
          pattern: Pattern | None = None) -> tuple[Any, str]:  # fmt: skip
    """Magnitude pruning of every weight matrix to ``target`` sparsity in ``pattern`` (default
    unstructured) on a polynomial schedule over ``epochs`` of fine-tuning; returns the plain model
    and how. tensorflow-model-optimization where it makes the pattern on every layer, else the
    same schedule as weight masks (edgeneuro/compress/anymodel.py)."""
    import tensorflow_model_optimization as tfmot

    from edgeneuro import models
    from edgeneuro.compress import anymodel

    pattern = (pattern or UNSTRUCTURED).with_sparsity(target)
    keras = models.keras()
    keras.utils.set_random_seed(0)
    steps = max(1, int(np.ceil(len(x) / 64))) * epochs
    end, freq = max(1, steps - 1), max(1, steps // 20)
    what = f"fine-tuned {epochs} epoch{'s' if epochs > 1 else ''} on {len(x)} windows"
    weights = pruned_weights(model)
    if anymodel.tfmot_fits(weights, pattern):
        sk = tfmot.sparsity.keras
        schedule = sk.PolynomialDecay(0.0, target, begin_step=0, end_step=end, frequency=freq)
        pruned = sk.prune_low_magnitude(model, pruning_schedule=schedule, **anymodel.tfmot_options(pattern))
        pruned.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                       metrics=["accuracy"])  # fmt: skip
        with progress.fitting(keras, f"pruning to {target:.0%} {pattern}") as bar:
            pruned.fit(x, y, epochs=epochs, batch_size=64, class_weight=class_weights(y, classes), verbose=0,
                       callbacks=[tfmot.sparsity.keras.UpdatePruningStep(), *bar])  # fmt: skip
        model = tfmot.sparsity.keras.strip_pruning(pruned)
        how = f"{anymodel.tfmot_method(pattern)} ({what})"
    else:
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])  # fmt: skip
        with progress.fitting(keras, f"pruning to {target:.0%} {pattern}") as bar:
            model.fit(x, y, epochs=epochs, batch_size=64, class_weight=class_weights(y, classes), verbose=0,
                      callbacks=[anymodel.mask_callback(keras, weights, pattern, end, freq), *bar])  # fmt: skip
        why = f"tensorflow-model-optimization cannot make {pattern} on every layer"
        how = f"{anymodel.mask_method(pattern)} ({why}; {what})"
    if pattern.kind != "unstructured":  # the schedule's last step reaches the target; make sure
        anymodel.prune_one_shot(pruned_weights(model), pattern)
    return model, how


def _onnx_weight_bytes(path: Path) -> int:
    import onnx
    from onnx import numpy_helper

    return sum(numpy_helper.to_array(t).nbytes for t in onnx.load(str(path)).graph.initializer)


def export_onnx(model, path: Path, calibration: np.ndarray) -> tuple[Path, Path]:
    """The model as float ONNX (tf2onnx, opset 17) and as QDQ int8 ONNX (onnxruntime's
    quantize_static on ``calibration``): ``path`` and ``<stem>.int8.onnx``."""
    import tensorflow as tf
    import tf2onnx

    from edgeneuro.compress.quantize import quantize_onnx

    spec = (tf.TensorSpec((None, *model.input_shape[1:]), tf.float32, name="x"),)
    tf2onnx.convert.from_keras(model, input_signature=spec, opset=17, output_path=str(path))
    return path, quantize_onnx(path, calibration, path.with_name(path.stem + ".int8.onnx"))


def compress(model_path: Path, out: Path, prune_to: float | None = None, quantize: str = "int8",
             calibrate: Path | None = None, data: Path | None = None, epochs: int = 3,
             onnx: bool = False, channels: float = 0.0, qat: bool = False,
             fit: tuple[Path, Path] | None = None, float_io: bool = False,
             holdout: float = 0.2, pattern: str | Pattern = "unstructured") -> dict[str, Any]:  # fmt: skip
    """Prune (optional) and quantize a model; write ``out`` with compress_report.json beside it.

    ``prune_to`` is the fraction of zeros (None: no pruning, or 1 - N/M for an N:M ``pattern``);
    ``pattern``: unstructured, block:RxC or N:M (edgeneuro/compress/patterns.py defines them).

    A model that `edgeneuro train` wrote (meta.json beside it), without ``fit``: fine-tuned and
    scored on its EEG recordings (``data``, default: its training folder), ``out`` (.tflite) with
    meta.json beside it; with ``onnx``, also ``<out stem>.onnx`` (float) and ``<out stem>.int8.onnx``
    (QDQ int8), scored with onnxruntime. Any other model (Keras file, SavedModel folder, float
    ONNX), or any model with labels ``fit`` = (X.npy, Y.npy): edgeneuro.compress.anymodel."""
    model_path, out = Path(model_path), Path(out)
    if quantize not in ("int8", "int8w4"):
        raise InputError(f"--quantize {quantize}: edgeneuro quantizes to int8, or int8w4 (int4 weights)")
    if prune_to is not None and not 0.0 <= prune_to < 1.0:
        raise InputError(f"--prune {prune_to}: give a sparsity in [0, 1)")
    pat = patterns.parse_pattern(str(pattern), prune_to)
    prune_to = pat.sparsity
    if not 0.0 <= channels < 1.0:
        raise InputError(f"--prune-channels {channels}: give a fraction in [0, 1)")
    if epochs < 1:
        raise InputError(f"--epochs {epochs}: give at least 1")
    trained = model_path.is_file() and (model_path.parent / META).is_file()
    if trained and Meta.load(model_path).family == "snn":
        raise InputError(f"{model_path}: the snn family has no compress step; the NIR front end quantizes it when "
                         "it compiles (int8 weights, int32 state): compile or run model.nir with --dt")  # fmt: skip
    if fit is not None and data is not None:
        raise InputError("give --fit X.npy Y.npy or --data FOLDER, not both")
    if not trained or fit is not None or model_path.suffix.lower() not in (".keras", ".h5"):
        if data is not None:
            raise InputError(f"--data {data}: fine-tuning and scoring on EEG recordings needs the {META} that "
                             f"`edgeneuro train` writes beside the model (window, rate, montage); for {model_path} "
                             "give labelled samples with --fit X.npy Y.npy")  # fmt: skip
        for flag, on in (("--prune-channels", channels > 0), ("--qat", qat), ("--onnx", onnx)):
            if on:
                raise InputError(f"{flag}: only for models `edgeneuro train` wrote (a {META} beside them and no --fit)")
        return compress_any(model_path, out, prune_to, calibrate, fit, epochs, float_io, holdout,
                            model_path.parent if trained else None, pat, quantize)  # fmt: skip
    return _compress_trained(model_path, out, prune_to, calibrate, data, epochs, onnx, channels, qat, float_io, pat,
                             quantize)  # fmt: skip


def _compress_trained(model_path: Path, out: Path, prune_to: float, calibrate: Path | None,
                      data: Path | None, epochs: int, onnx: bool, channels: float, qat: bool,
                      float_io: bool, pattern: Pattern = UNSTRUCTURED,
                      quantize: str = "int8") -> dict[str, Any]:  # fmt: skip
    """A model `edgeneuro train` wrote, fine-tuned and scored on its EEG recordings."""
    from edgeneuro import models
    from edgeneuro.compress.quantize import to_int8_tflite

    meta = Meta.load(model_path)
    try:
        model = models.keras().models.load_model(model_path)
    except (OSError, ValueError) as e:
        raise InputError(f"{model_path}: not a tf_keras model ({e})") from e
    data = Path(data or meta.data)
    items = discover(data)
    test = [i for i in items if i.subject in meta.test_subjects]
    classes = 3 if meta.labels == "ictal" else 2
    report: dict[str, Any] = {"model": str(model_path), "io": "float32" if float_io else "int8", "pruning": None,
                              "steps": [], "int8_pattern": None}  # fmt: skip

    def step(name: str, predict, weights_bytes: int, sparsity: float) -> None:
        """``weights_bytes``: dense storage of the parameters (float32: 4 B each; int8: the flash
        the compiled model's constants take). Pruning zeroes weights; the dense kernels still
        store them."""
        scores = evaluate(predict, test, meta)
        report["steps"].append({"step": name, "weights_bytes": weights_bytes, "sparsity": sparsity,
                                "runtime": getattr(predict, "runtime", "tf_keras"), "event": scores["event"],
                                "window": scores["window"]})  # fmt: skip

    def float_step(name: str) -> None:
        step(name, lambda v: model.predict(v, verbose=0).argmax(1), 4 * int(model.count_params()), _sparsity(model))

    float_step("float")
    if channels > 0 or prune_to > 0 or qat:
        x, y = training_windows(items, meta)  # fine-tuning data, read once
    if channels > 0:
        from edgeneuro.compress.structured import shrink

        model = fine_tune(shrink(model, meta.family, channels), x, y, epochs, classes)
        float_step(f"channels -{channels:.0%}")
    if prune_to > 0:
        from edgeneuro.compress.anymodel import pruned_step, pruning_entry, weights_report

        pattern = pattern.with_sparsity(prune_to)
        model, how = prune(model, x, y, prune_to, epochs, classes, pattern)
        report["pruning"] = pruning_entry(pattern, how, None, weights_report(pruned_weights(model), pattern))
        float_step(pruned_step(pattern))
    if qat:
        from edgeneuro.compress.qat import quantize_aware

        model = quantize_aware(model, meta.family, x, y, epochs, class_weights(y, classes))
        float_step("qat")
    if calibrate is None:
        calibrate = model_path.parent / "calibration.npy"
        if not calibrate.is_file():
            raise InputError(f"{model_path}: give --calibrate X.npy (no calibration.npy beside the model)")
    cal = check_samples(read_npy(calibrate, "--calibrate"), tuple(model.input_shape[1:]), "--calibrate", calibrate)
    if onnx:
        for path in export_onnx(model, out.with_suffix(".onnx"), cal):
            step(path.name, predictor(path), _onnx_weight_bytes(path), _sparsity(model))
    if meta.family == "lstm":  # the int8 LSTM converts only with a fixed batch size
        keras = models.keras()
        fixed = keras.models.clone_model(model, input_tensors=keras.Input(model.input_shape[1:], batch_size=1))
        fixed.set_weights(model.get_weights())
        model = fixed
    blob = to_int8_tflite(model, cal, float_io=float_io)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as d:  # the model appears complete or not at all
        tmp = Path(d) / out.name
        tmp.write_bytes(blob)
        step("int8", predictor(tmp), _int8_weight_bytes(tmp), _sparsity(model))
        if prune_to > 0:
            report["int8_pattern"] = patterns.int8_check(tmp, pattern)
        if quantize == "int8w4":  # edgeneuro/compress/int4.py: int4 FULLY_CONNECTED and CONV_2D weights
            from edgeneuro.compress.anymodel import Net
            from edgeneuro.compress.int4 import int8w4

            net = Net("tf_keras", model_path, model)
            blob, _, report["int4"] = int8w4(lambda: to_int8_tflite(model, cal, float_io=float_io),
                                             net.pruned_weights(), tmp, model_path)  # fmt: skip
            tmp.write_bytes(blob)
            step("int8w4", predictor(tmp), _int8_weight_bytes(tmp), _sparsity(model))
        if out.parent.resolve() != model_path.parent.resolve():
            shutil.copy(model_path.parent / META, out.parent / META)  # what the model expects of its input
        tmp.replace(out)
    first, last = report["steps"][0]["window"]["accuracy"], report["steps"][-1]["window"]["accuracy"]
    report["window_accuracy_change_pp"] = None if first is None or last is None else 100 * (last - first)
    report.update(provenance(out))  # the hash of the compressed model written
    (out.parent / "compress_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
