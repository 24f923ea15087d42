"""`edgeneuro compress` for models edgeneuro did not train: a Keras model file (``.keras``, ``.h5``;
tf_keras or Keras 3), a SavedModel folder, or a float ONNX model, with calibration samples
``[N, *input shape without batch]`` (an .npy), or for a model with several inputs one such array
per input in an .npz keyed by input name or index (``Multi``).

Pruning is magnitude pruning of every weight tensor (2-D or more: kernels, not biases). With labels
(``--fit X.npy Y.npy``) it is gradual and fine-tuned: tensorflow-model-optimization's polynomial
schedule for a tf_keras model whose weight layers it knows, else the same schedule as weight masks
kept through a Keras fine-tuning loop (Keras 3 models, layers tfmot does not know). Without labels it
is one-shot, and the report says so. ``--prune-pattern`` (edgeneuro/compress/patterns.py) places
the zeros in blocks of R output rows x C inputs or at most N of every M inputs, with tfmot's block
and M-by-N pruning where it makes the pattern as defined, else with numpy masks.

Keras models and SavedModels become full-int8 TFLite (the TFLite converter); ONNX models become QDQ
int8 ONNX (onnxruntime's ``quantize_static``). Each step is reported with its weight bytes,
sparsity and, where labels are given, its accuracy; after pruning, the int8 weights are read back
and checked against the pattern, layer by layer."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeneuro import progress
from edgeneuro.compress import patterns
from edgeneuro.compress.patterns import UNSTRUCTURED, Layout, Pattern
from edgeneuro.errors import EdgeNeuroError, InputError, ModelError
from edgeneuro.files import by_input, load_npz, provenance, write_atomic

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
REPORT = "compress_report.json"
ONE_SHOT = "one-shot: no labels to fine-tune"
NO_LABELS = "not measured: no labels (give --fit X.npy Y.npy)"
TAKES = "compress takes a Keras model (.keras, .h5), a SavedModel folder or a float ONNX model (.onnx)"
QUANTIZED_ONNX = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "ConvInteger",
                  "MatMulInteger", "DynamicQuantizeLinear"}  # fmt: skip


# --------------------------------------------------------------------------------------- inputs


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return (text.splitlines() or [type(e).__name__])[0].strip()


def shape_text(shape) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def read_npy(path: Path, flag: str) -> np.ndarray:
    """A numeric array from a .npy file, or an InputError naming the flag and the file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{flag} {path}: no such file")
    try:
        a = np.load(path, allow_pickle=False)
    except Exception as e:
        raise InputError(f"{flag} {path}: not a .npy array ({type(e).__name__}: {_first_line(e)})") from e
    if not isinstance(a, np.ndarray):
        raise InputError(f"{flag} {path}: an .npz archive; give one array as .npy")
    if a.dtype.kind not in "biuf":
        raise InputError(f"{flag} {path}: {a.dtype} values; give numbers")
    return a


def read_arrays(path: Path, flag: str) -> np.ndarray | dict[str, np.ndarray]:
    """The array of a .npy file, or the arrays of a .npz archive by key (one per model input, keyed
    by input name or index, as `run --input` takes them)."""
    path = Path(path)
    if path.suffix.lower() != ".npz":
        return read_npy(path, flag)
    arrays = load_npz(path, f"{flag} {path}")
    if not arrays:
        raise InputError(f"{flag} {path}: an empty .npz; give one array per model input")
    for k, a in arrays.items():
        if a.dtype.kind not in "biuf":
            raise InputError(f"{flag} {path}: array '{k}' holds {a.dtype} values; give numbers")
    return arrays


def check_samples(x: np.ndarray, shape: tuple, flag: str, path: Path, name: str | None = None) -> np.ndarray:
    """``x`` as float32 samples ``[N, *shape]`` (``None`` in ``shape``: any size); ``name``: the
    model input they are for, when it has several."""
    ok = x.ndim == len(shape) + 1 and all(d is None or d == s for d, s in zip(shape, x.shape[1:], strict=False))
    what = "" if name is None else f"input '{name}': "
    if not ok:
        raise InputError(
            f"{flag} {path}: {what}samples shaped {shape_text(x.shape)}; the model's input "
            f"{'' if name is None else repr(name) + ' '}is {shape_text(shape)} "
            f"without the batch axis, so give [N, {shape_text(shape)[1:-1]}]"
        )
    if len(x) == 0:
        raise InputError(f"{flag} {path}: {what}no samples")
    return x.astype(np.float32)


class Multi:
    """The samples of a model with several inputs: one float32 array [N, *input shape without
    batch] per input, by name, in the model's input order. Indexing takes the same samples of
    every input."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = dict(arrays)

    @property
    def names(self) -> list[str]:
        return list(self.arrays)

    def __len__(self) -> int:
        return len(next(iter(self.arrays.values())))

    def __getitem__(self, idx) -> Multi:
        return Multi({n: a[idx] for n, a in self.arrays.items()})

    def list(self) -> list[np.ndarray]:
        return list(self.arrays.values())


Samples = np.ndarray | Multi


def inputs_text(inputs: tuple) -> str:
    """A model's inputs as an .npz wants them: 'name' (or 'index') [N, *shape]."""
    return ", ".join(f"'{n}' (or '{i}') [N, {shape_text(s)[1:-1]}]" for i, (n, s) in enumerate(inputs))


def samples_for(raw: np.ndarray | dict[str, np.ndarray], inputs: tuple, flag: str, path: Path) -> Samples:
    """The samples of ``raw`` (``read_arrays``) for a model's ``inputs`` ((name, shape without
    batch) each): an array for a model with one input, a ``Multi`` for several; a clear error
    naming the file and the input otherwise."""
    if isinstance(raw, np.ndarray):
        if len(inputs) > 1:
            raise InputError(f"{flag} {path}: one array for a model with {len(inputs)} inputs; give an .npz with one "
                             f"array per input, keyed by name or index: {inputs_text(inputs)}")  # fmt: skip
        return check_samples(raw, inputs[0][1], flag, path)
    names = [n for n, _ in inputs]
    got = by_input(raw, names, f"{flag} {path}")
    checked = {n: check_samples(got[n], s, flag, path, n if len(inputs) > 1 else None) for n, s in inputs}
    counts = {n: len(a) for n, a in checked.items()}
    if len(set(counts.values())) > 1:
        raise InputError(f"{flag} {path}: the inputs hold different numbers of samples "
                         f"({', '.join(f'{n!r}: {c}' for n, c in counts.items())}); give the same N")  # fmt: skip
    return checked[names[0]] if len(inputs) == 1 else Multi(checked)


def sample_count(raw: np.ndarray | dict[str, np.ndarray]) -> int | None:
    """N of ``read_arrays``' result (None for an .npz: known once matched to the model)."""
    return len(raw) if isinstance(raw, np.ndarray) else None


@dataclass(frozen=True)
class Task:
    """A classifier: how its outputs become classes and the loss to fine-tune it with."""

    classes: int  # the output's width (1: one sigmoid or logit output)
    probabilities: bool  # softmax / sigmoid outputs (else logits)
    onehot: bool = False

    def decide(self, out: np.ndarray) -> np.ndarray:
        out = np.asarray(out, np.float64).reshape(len(out), -1)
        if self.classes == 1:
            return (out[:, 0] > (0.5 if self.probabilities else 0.0)).astype(np.int64)
        return out.argmax(1)

    def loss(self, keras):
        logits = not self.probabilities
        if self.classes == 1:
            return keras.losses.BinaryCrossentropy(from_logits=logits)
        if self.onehot:
            return keras.losses.CategoricalCrossentropy(from_logits=logits)
        return keras.losses.SparseCategoricalCrossentropy(from_logits=logits)


def _probabilities(out: np.ndarray, classes: int) -> bool:
    out = np.asarray(out, np.float64).reshape(len(out), -1)
    if classes == 1:
        return bool(out.min() >= 0.0 and out.max() <= 1.0)
    return bool(out.min() >= -1e-6 and np.allclose(out.sum(1), 1.0, atol=1e-3))


def labels_for(y: np.ndarray, n: int, output_shape: tuple, y_path: Path, x_path: Path):
    """Check the labels against the samples and the model's output; returns (classes, one-hot?,
    the labels to fit, the class of each sample)."""
    if len(y) != n:
        raise InputError(f"--fit {y_path}: {len(y)} labels for the {n} samples of {x_path}")
    if len(output_shape) != 1 or output_shape[0] is None:
        raise InputError(f"--fit {y_path}: labels need a classifier whose output is [batch, classes]; this model's "
                         f"output is [batch, {shape_text(output_shape)[1:-1]}]")  # fmt: skip
    c = int(output_shape[0])
    if c > 1 and y.ndim == 2 and y.shape[1] == c:  # one-hot (or soft) targets
        return c, True, y.astype(np.float32), y.argmax(1)
    if not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
        want = f"class indices [N] (0..{c - 1}) or one-hot [N, {c}]" if c > 1 else "0/1 labels [N]"
        raise InputError(f"--fit {y_path}: labels shaped {shape_text(y.shape)}; the model has {c} output"
                         f"{'s' if c > 1 else ''}: give {want}")  # fmt: skip
    flat = y.reshape(-1)
    top = c - 1 if c > 1 else 1
    if not np.all(flat == np.round(flat)) or flat.min() < 0 or flat.max() > top:
        raise InputError(f"--fit {y_path}: labels must be whole class indices 0..{top} for a model with {c} "
                         f"output{'s' if c > 1 else ''} (found {flat.min():g}..{flat.max():g})")  # fmt: skip
    cls = flat.astype(np.int64)
    return c, False, (cls if c > 1 else cls.astype(np.float32)[:, None]), cls


# --------------------------------------------------------------------------------------- models


@dataclass
class Weight:
    """A weight tensor pruning acts on: its variable, name, layer class and [out, in] layout."""

    name: str
    var: Any
    layout: Layout
    layer: str = ""

    def numpy(self) -> np.ndarray:
        return np.asarray(self.var.numpy())

    def oi(self) -> np.ndarray:
        return self.layout.to_oi(self.numpy())


def weight_of(v, layer: str = "") -> Weight:
    """A Keras or TensorFlow variable as a Weight: Keras kernels are [in, out] or [..., in, out];
    a depthwise kernel (its layer or its name says so) is [..., in, multiplier]."""
    name = str(getattr(v, "path", None) or v.name).removesuffix(":0")
    depthwise = "depthwise" in name.rsplit("/", 1)[-1].lower() or layer.startswith("Depthwise")
    kind = "keras_depthwise" if depthwise and len(v.shape) >= 3 else "keras"
    return Weight(name, v, patterns.layout(kind, len(v.shape)), layer)


def weights_report(weights: list[Weight], pattern: Pattern) -> list[dict]:
    """Per pruned tensor: name, layer, [out, in] shape, sparsity, and whether ``pattern`` holds."""
    out = []
    for w in weights:
        a = w.oi()
        out.append({"name": w.name, "layer": w.layer or None, "shape_oi": list(a.shape),
                    "sparsity": patterns.sparsity_of(a), "holds": patterns.pattern_holds(a, pattern)})  # fmt: skip
    return out


@dataclass
class Net:
    """A loaded float model: a tf_keras or Keras 3 model, or a SavedModel's serving function."""

    kind: str  # "tf_keras" | "keras3" | "saved_model"
    source: Path
    model: Any  # the Keras model, or the object tf.saved_model.load returned
    fn: Any = None  # SavedModel: the serving signature
    inputs: tuple = ()  # (name, shape without the batch axis; None where free), in the model's order
    output_shape: tuple = ()  # of the first output, without the batch axis
    outputs: int = 1

    @property
    def input_name(self) -> str:
        return self.inputs[0][0]

    @property
    def input_shape(self) -> tuple:
        return self.inputs[0][1]

    @property
    def described(self) -> str:
        return {"tf_keras": "tf_keras model", "keras3": "Keras 3 model",
                "saved_model": "SavedModel (no Keras metadata)"}[self.kind]  # fmt: skip

    @property
    def keras(self):
        if self.kind == "keras3":
            import keras

            return keras
        from edgeneuro import models

        return models.keras()

    def predict(self, x: Samples) -> np.ndarray:
        """The first output for float samples ``x`` (a ``Multi`` for several inputs)."""
        if self.kind != "saved_model":
            feed = x.list() if isinstance(x, Multi) else np.asarray(x, np.float32)
            out = self.model.predict(feed, batch_size=256, verbose=0)
            return np.asarray(out[0] if isinstance(out, list | tuple) else out)
        import tensorflow as tf

        key = sorted(self.fn.structured_outputs)[0]
        arrays = x.arrays if isinstance(x, Multi) else {self.input_name: np.asarray(x, np.float32)}
        return np.concatenate([self.fn(**{n: tf.constant(a[i : i + 256]) for n, a in arrays.items()})[key].numpy()
                               for i in range(0, len(x), 256)])  # fmt: skip

    def all_variables(self) -> list:
        vs = self.model.weights if self.kind != "saved_model" else self.fn.variables
        seen: dict[int, Any] = {}
        for v in vs:
            seen.setdefault(id(v), v)
        return list(seen.values())

    def prunable(self) -> list:
        """The weight tensors pruning acts on: trainable, two or more dimensions (kernels, not biases)."""
        vs = self.model.trainable_weights if self.kind != "saved_model" else (self.fn.trainable_variables or
                                                                               self.fn.variables)  # fmt: skip
        seen: dict[int, Any] = {}
        for v in vs:
            if len(v.shape) >= 2:
                seen.setdefault(id(v), v)
        return list(seen.values())

    def pruned_weights(self) -> list[Weight]:
        """``prunable`` with names and the layout that views each as [out, in]."""
        owner: dict[int, str] = {}
        todo = list(getattr(self.model, "layers", []) if self.kind != "saved_model" else [])
        while todo:
            layer = todo.pop()
            todo.extend(getattr(layer, "layers", []))
            for v in getattr(layer, "weights", []):
                owner.setdefault(id(v), type(layer).__name__)
        return [weight_of(v, owner.get(id(v), "")) for v in self.prunable()]

    def weights_bytes(self) -> int:
        """Dense storage of every parameter (float32: 4 B each). Pruning zeroes weights; the dense
        kernels still store them."""
        return int(sum(np.asarray(v.numpy()).nbytes for v in self.all_variables()))

    def sparsity(self) -> float:
        ws = [np.asarray(v.numpy()) for v in self.prunable()]
        total = sum(w.size for w in ws)
        return float(sum(int((w == 0).sum()) for w in ws) / total) if total else 0.0

    def layers(self) -> dict[str, str]:
        """Layer name -> class name, nested models included (to name a layer in an error)."""
        found: dict[str, str] = {}
        todo = list(getattr(self.model, "layers", []) if self.kind != "saved_model" else [])
        while todo:
            layer = todo.pop()
            found[layer.name] = type(layer).__name__
            todo.extend(getattr(layer, "layers", []))
        return found


def _dims(shape) -> tuple:
    dims = shape.as_list() if hasattr(shape, "as_list") else list(shape)
    return tuple(None if d is None else int(d) for d in dims)


def _keras_version(path: Path) -> str:
    """The Keras version that wrote a .keras or .h5 file ('' if it does not say)."""
    try:
        if path.suffix.lower() == ".keras":
            with zipfile.ZipFile(path) as z:
                return str(json.loads(z.read("metadata.json")).get("keras_version", ""))
        import h5py

        with h5py.File(path, "r") as f:
            v = f.attrs.get("keras_version", "")
            return v.decode() if isinstance(v, bytes) else str(v)
    except Exception as e:
        kind = "a Keras .keras archive" if path.suffix.lower() == ".keras" else "an HDF5 Keras model"
        raise ModelError(f"{path}: not {kind} ({type(e).__name__}: {_first_line(e)})") from e


def load_net(path: Path) -> Net:
    """Load a Keras model file or a SavedModel folder with the Keras that wrote it."""
    from edgeneuro import models

    if path.is_dir():
        if not (path / "saved_model.pb").is_file():
            raise ModelError(f"{path}: a folder but not a SavedModel (no saved_model.pb); {TAKES}")
        if (path / "keras_metadata.pb").is_file():  # written by tf_keras's model.save
            try:
                return _keras_net("tf_keras", path, models.keras().models.load_model(path, compile=False))
            except EdgeNeuroError:
                raise
            except Exception:  # custom objects Keras cannot rebuild: the serving function still converts
                pass
        return _saved_model_net(path)
    version = _keras_version(path)
    kind = "keras3" if version.startswith("3") else "tf_keras"
    try:
        if kind == "keras3":
            import keras

            model = keras.models.load_model(path, compile=False)
        else:
            model = models.keras().models.load_model(path, compile=False)
    except Exception as e:
        raise ModelError(f"{path}: {'Keras ' + version if version else 'Keras'} cannot load it "
                         f"({type(e).__name__}: {_first_line(e)})") from e  # fmt: skip
    return _keras_net(kind, path, model)


def _keras_net(kind: str, path: Path, model) -> Net:
    inputs, outputs = getattr(model, "inputs", None), getattr(model, "outputs", None)
    if not inputs or not outputs:
        raise ModelError(f"{path}: the model has no fixed input (a subclassed model never called); save it "
                         "after building it on an input, or as a SavedModel with a serving signature")  # fmt: skip
    names = list(getattr(model, "input_names", None) or [str(i.name).removesuffix(":0") for i in inputs])
    shapes = [_dims(i.shape)[1:] for i in inputs]
    return Net(kind, path, model, inputs=tuple(zip(names, shapes, strict=True)),
               output_shape=_dims(outputs[0].shape)[1:], outputs=len(outputs))  # fmt: skip


def _saved_model_net(path: Path) -> Net:
    import tensorflow as tf

    try:
        obj = tf.saved_model.load(str(path))
    except Exception as e:
        raise ModelError(f"{path}: TensorFlow cannot load the SavedModel ({type(e).__name__}: {_first_line(e)})") from e
    sigs = getattr(obj, "signatures", {})
    if "serving_default" not in sigs:
        raise ModelError(f"{path}: the SavedModel has no serving_default signature to convert")
    fn = sigs["serving_default"]
    specs, outs = fn.structured_input_signature[1], fn.structured_outputs
    first = outs[sorted(outs)[0]]
    # by name: the order TensorFlow flattens the signature's inputs in (a loaded signature's dict
    # order is not the order it was written in), which is what an .npz index refers to
    inputs = tuple((name, _dims(specs[name].shape)[1:]) for name in sorted(specs))
    return Net("saved_model", path, obj, fn, inputs, _dims(first.shape)[1:], len(outs))


def _magnitude_mask(w: np.ndarray, sparsity: float) -> np.ndarray:
    """Zero the ``round(sparsity * size)`` weights of smallest magnitude (exactly that many)."""
    k = int(round(sparsity * w.size))
    mask = np.ones(w.size, w.dtype)
    if k:
        mask[np.argsort(np.abs(w), axis=None, kind="stable")[:k]] = 0
    return mask.reshape(w.shape)


def pattern_mask(w: np.ndarray, pattern: Pattern, lay: Layout, sparsity: float | None = None) -> np.ndarray:
    """The magnitude mask of ``pattern`` at ``sparsity`` (default: the pattern's) for a tensor of
    layout ``lay``, as 0/1 of its dtype. Unstructured: the smallest weights of the whole tensor."""
    s = pattern.sparsity if sparsity is None else sparsity
    if pattern.kind == "unstructured":
        return _magnitude_mask(w, s)
    return patterns.mask(w, pattern, lay, s).astype(w.dtype)


def prune_one_shot(weights: list[Weight], pattern: Pattern) -> None:
    """Magnitude pruning of each tensor to ``pattern`` at its sparsity: a no-op where a tensor has
    it already (unstructured: as many zeros; else: ``pattern_holds``). Zeros stay zero."""
    for wt in weights:
        w = wt.numpy()
        if pattern.kind == "unstructured":
            short = (w == 0).sum() < int(round(pattern.sparsity * w.size))
        else:
            short = not patterns.pattern_holds(wt.layout.to_oi(w), pattern)
        if short:
            wt.var.assign(w * pattern_mask(w, pattern, wt.layout))


def _schedule(n: int, epochs: int, batch: int) -> tuple[int, int]:
    """(end step, frequency) of the polynomial schedule: the target sparsity is reached after about
    70 % of the fine-tuning steps, the rest fine-tunes the final mask."""
    steps = int(np.ceil(n / batch)) * epochs
    freq = max(1, steps // 20)
    end = max(0, int(0.7 * steps) - 1)
    return (end // freq) * freq, freq


def _tfmot_takes(net: Net) -> bool:
    """tfmot wraps the weight layers of a tf_keras Sequential or functional model it knows."""
    if net.kind != "tf_keras" or not getattr(net.model, "_is_graph_network", False):
        return False
    from tensorflow_model_optimization.python.core.sparsity.keras.prune_registry import PruneRegistry

    return all(PruneRegistry.supports(layer) for layer in net.model.layers if layer.weights)


def tfmot_fits(weights: list[Weight], pattern: Pattern) -> bool:
    """Whether tensorflow-model-optimization 0.8.1 makes ``pattern`` as defined in
    edgeneuro/compress/patterns.py on every tensor. Its ``block_size=(h, w)`` tiles a 2-D Keras
    kernel [in, out] (so block:RxC is ``(C, R)``), rejects other ranks, and fails when a tensor
    pools down to one block along an axis; its ``sparsity_m_by_n`` groups inputs per output row
    of a Dense kernel, and per (output, kh, kw) of a Conv2D kernel (our groups when C_in is a
    multiple of M), and rejects Conv1D kernels."""
    if pattern.kind == "unstructured":
        return True
    for w in weights:
        shape = tuple(w.var.shape)
        if w.layout.name != "keras":
            return False
        if pattern.kind == "block" and not (len(shape) == 2 and shape[0] > pattern.cols and shape[1] > pattern.rows):
            return False
        if pattern.kind == "n:m" and not (
            len(shape) == 2 or (len(shape) == 4 and (shape[2] % pattern.m == 0 or shape[0] * shape[1] == 1))
        ):
            return False
    return True


def tfmot_options(pattern: Pattern) -> dict:
    """``prune_low_magnitude`` keyword arguments for ``pattern`` (tfmot's (zeros, M) for N:M)."""
    if pattern.kind == "block":
        return {"block_size": (pattern.cols, pattern.rows), "block_pooling_type": "AVG"}
    if pattern.kind == "n:m":
        return {"sparsity_m_by_n": (pattern.m - pattern.n, pattern.m)}
    return {}


def tfmot_method(pattern: Pattern) -> str:
    if pattern.kind == "block":
        return (f"gradual {pattern} pruning with tensorflow-model-optimization (block_size=({pattern.cols}, "
                f"{pattern.rows}) on the Keras [in, out] kernels, blocks ranked by their mean |w|)")  # fmt: skip
    if pattern.kind == "n:m":
        return (f"{pattern} pruning with tensorflow-model-optimization (sparsity_m_by_n=({pattern.m - pattern.n}, "
                f"{pattern.m}): the mask is chosen at the first training step and kept)")  # fmt: skip
    return "gradual magnitude pruning with tensorflow-model-optimization"


def mask_method(pattern: Pattern) -> str:
    if pattern.kind == "n:m":
        return f"{pattern} pruning as weight masks in the Keras fine-tuning loop (chosen at the first step and kept)"
    what = "magnitude" if pattern.kind == "unstructured" else str(pattern)
    return f"gradual {what} pruning as weight masks in the Keras fine-tuning loop"


def mask_callback(keras, weights: list[Weight], pattern: Pattern, end: int, freq: int):
    """tfmot's algorithm as weight masks: recomputed on the polynomial schedule (``end``,
    ``freq``) up to ``pattern``'s sparsity, applied after every training step. N:M, as tfmot
    does it, chooses its mask once, after the first step."""
    masks: list[np.ndarray] = [np.ones(w.var.shape, np.float32) for w in weights]

    class Masks(keras.callbacks.Callback):
        step = 0

        def on_train_batch_end(self, batch, logs=None):
            s = self.step
            update = s == 0 if pattern.kind == "n:m" else s <= end and s % freq == 0
            if update:
                now = pattern.sparsity * (1.0 - (1.0 - (s / end if end else 1.0)) ** 3)
                masks[:] = [pattern_mask(w.numpy(), pattern, w.layout, now) for w in weights]
            for w, m in zip(weights, masks, strict=True):
                w.var.assign(w.numpy() * m)
            self.step += 1

    return Masks()


def prune_fine_tuned(net: Net, x, y, task: Task, target: float, epochs: int, batch: int = 32,
                     pattern: Pattern | None = None) -> str:  # fmt: skip
    """Gradual magnitude pruning to ``target`` in ``pattern`` (default unstructured) while
    fine-tuning on ``x``, ``y``; returns how."""
    pattern = (pattern or UNSTRUCTURED).with_sparsity(target)
    keras = net.keras
    keras.utils.set_random_seed(0)
    end, freq = _schedule(len(x), epochs, batch)
    total = int(np.ceil(len(x) / batch)) * epochs
    what = f"fine-tuned {epochs} epoch{'s' if epochs > 1 else ''} on {len(x)} samples"
    if pattern.kind != "n:m":
        what += f"; polynomial schedule, target reached at step {end + 1} of {total}"
    weights = net.pruned_weights()
    feed = x.list() if isinstance(x, Multi) else x
    if _tfmot_takes(net) and tfmot_fits(weights, pattern):
        import tensorflow_model_optimization as tfmot

        sk = tfmot.sparsity.keras
        schedule = (sk.PolynomialDecay(0.0, target, begin_step=0, end_step=end, frequency=freq) if end > 0
                    else sk.ConstantSparsity(target, begin_step=0, frequency=1))  # fmt: skip
        options = tfmot_options(pattern)

        def wrap(layer):
            return sk.prune_low_magnitude(layer, pruning_schedule=schedule, **options) if layer.weights else layer

        pruned = keras.models.clone_model(net.model, clone_function=wrap)
        pruned.compile(optimizer=keras.optimizers.Adam(1e-3), loss=task.loss(keras))
        with progress.fitting(keras, f"pruning to {target:.0%} {pattern}") as bar:
            pruned.fit(feed, y, epochs=epochs, batch_size=batch, verbose=0, callbacks=[sk.UpdatePruningStep(), *bar])
        net.model = sk.strip_pruning(pruned)
        how = f"{tfmot_method(pattern)} ({what})"
    else:
        net.model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=task.loss(keras))
        with progress.fitting(keras, f"pruning to {target:.0%} {pattern}") as bar:
            net.model.fit(feed, y, epochs=epochs, batch_size=batch, verbose=0,
                          callbacks=[mask_callback(keras, weights, pattern, end, freq), *bar])  # fmt: skip
        if net.kind == "keras3":
            why = "a Keras 3 model"
        elif not _tfmot_takes(net):
            why = "layers tensorflow-model-optimization does not wrap"
        else:
            why = f"tensorflow-model-optimization cannot make {pattern} on every layer"
        how = f"{mask_method(pattern)} ({why}; {what})"
    prune_one_shot(net.pruned_weights(), pattern)  # the schedule's last step reaches the target; make sure
    return how


def _recurrent(net: Net):
    """The first recurrent layer of a Keras model (or None)."""
    keras = net.keras
    kinds = tuple(k for k in (getattr(keras.layers, "RNN", None), getattr(keras.layers, "Bidirectional", None)) if k)
    layers = list(getattr(net.model, "layers", []))[::-1]
    while layers:
        layer = layers.pop()
        if isinstance(layer, kinds):
            return layer
        layers.extend(getattr(layer, "layers", [])[::-1])
    return None


def _converter_model(net: Net):
    """The Keras model the converter takes: tf_keras recurrent layers convert to int8 only with
    batch 1 (a Keras 3 model cloned so crashes TensorFlow 2.21's calibrator: it is left as it is)."""
    if net.kind != "tf_keras" or _recurrent(net) is None:
        return net.model
    keras = net.keras
    try:
        if len(net.inputs) == 1:
            tensors = keras.Input(net.input_shape, batch_size=1)
        else:
            tensors = [keras.Input(s, batch_size=1, name=n) for n, s in net.inputs]
        fixed = keras.models.clone_model(net.model, input_tensors=tensors)
        fixed.set_weights(net.model.get_weights())
        return fixed
    except Exception:  # not a Sequential or functional model: let the converter try the original
        return net.model


def converter_error(net: Net, e: Exception) -> ModelError:
    """The converter's failure in one line, naming the layer its location points to."""
    layers = net.layers()
    first = None
    rnn = _recurrent(net) if net.kind != "saved_model" else None
    if rnn is not None and "tensor list" in str(e).lower():
        how = "a tf_keras model converts with batch size 1" if net.kind == "keras3" else "its loop could not be lowered"
        return ModelError(f"{net.source}: the TFLite converter cannot take recurrent layer '{rnn.name}' "
                          f"({type(rnn).__name__}) of this {net.described} to int8 builtins ({how})")  # fmt: skip
    for d in getattr(e, "errors", None) or []:
        msg = (d.error_message.strip().splitlines() or [""])[0]
        op = d.operator.name
        first = first or (op, msg)
        for call in d.location.call:
            parts = call.name.split("@")[0].split("/")
            hits = [p for p in parts[1:] if p in layers] or [p for p in parts if p in layers]
            if hits:
                name = hits[-1]
                return ModelError(f"{net.source}: the TFLite converter cannot take layer '{name}' ({layers[name]}): "
                                  f"{msg} (edgeneuro needs int8 TFLite builtin operators)")  # fmt: skip
        if not net.layers() and call_names(d):  # a SavedModel: its function names the op's scope
            return ModelError(f"{net.source}: the TFLite converter cannot take '{call_names(d)}': {msg}")
    if first is not None:
        return ModelError(f"{net.source}: the TFLite converter cannot take the model: {first[1]}")
    return ModelError(f"{net.source}: the TFLite converter failed ({type(e).__name__}: {_first_line(e)})")


def call_names(d) -> str:
    names = [c.name.split("@")[0] for c in d.location.call if c.name]
    return names[0] if names else ""


def convert(net: Net, calibration: Samples, float_io: bool) -> bytes:
    import tensorflow as tf

    from edgeneuro.compress.quantize import int8_convert

    try:
        if net.kind == "saved_model":
            conv = tf.lite.TFLiteConverter.from_concrete_functions([net.fn], net.model)
        else:
            conv = tf.lite.TFLiteConverter.from_keras_model(_converter_model(net))
        with contextlib.redirect_stdout(io.StringIO()):  # Keras 3's export prints its signature
            cal = calibration.arrays if isinstance(calibration, Multi) else calibration
            return int8_convert(conv, cal, float_io=float_io)
    except EdgeNeuroError:
        raise
    except Exception as e:
        raise converter_error(net, e) from e


# ------------------------------------------------------------------------------- int8 results


@dataclass
class Compiled:
    """What edgeneuro makes of a quantized model: its outputs, weight bytes, int8 sparsity."""

    run: Callable[[Samples], np.ndarray]  # float samples -> float (dequantized) first output
    runtime: str
    weights_bytes: int
    sparsity: float | None
    compiles: bool
    detail: str


def _const_sparsity(arrays: list[np.ndarray]) -> float | None:
    ws = [a for a in arrays if a.ndim >= 2 and a.dtype == np.int8]
    total = sum(w.size for w in ws)
    return float(sum(int((w == 0).sum()) for w in ws) / total) if total else None


def tflite_order(path: Path, names: list[str]) -> list[str]:
    """``names`` (the Keras or signature input names) in the order of a TFLite model's inputs, as
    its serving signature maps them; without one, as given (the converter keeps the model's order:
    tests/test_compress_multi.py checks it)."""
    import tensorflow as tf

    interp = tf.lite.Interpreter(model_path=str(path))
    sigs = interp.get_signature_list()
    if len(sigs) == 1:
        details = interp.get_signature_runner(next(iter(sigs))).get_input_details()
        by_index = {d["index"]: n for n, d in details.items()}
        order = [by_index.get(d["index"]) for d in interp.get_input_details()]
        if sorted(map(str, order)) == sorted(names):
            return [str(n) for n in order]
    return list(names)


def graph_order(path: Path, graph_inputs: list[str], names: list[str]) -> list[str]:
    """The sample names feeding each of a compiled graph's inputs."""
    if sorted(graph_inputs) == sorted(names):  # ONNX: the graph keeps the input names
        return list(graph_inputs)
    return tflite_order(path, names) if path.suffix.lower() == ".tflite" else list(names)


def _edgeneuro(path: Path, shapes: tuple = ()) -> Compiled | str:
    """The quantized model through edgeneuro's pipeline (the reference kernels compute what the
    generated C computes), or why it does not go through."""
    from edgeneuro import frontends, reference
    from edgeneuro.compiler import prepare
    from edgeneuro.ir.quant import quantize_input
    from edgeneuro.options import CompileOptions

    try:
        graph = frontends.load(path, dict(shapes))
        prepared = prepare(graph, CompileOptions(shapes=shapes), model=path)
    except EdgeNeuroError as e:
        return _first_line(e)
    g = prepared.graph
    t_out = g.t(g.outputs[0])

    def as_input(x: np.ndarray, name: str) -> np.ndarray:
        t = g.t(name)
        return quantize_input(x, t.scale, t.zero_point) if t.dtype == "int8" else x.astype(np.float32)

    def run(x: Samples) -> np.ndarray:
        if isinstance(x, Multi):
            from edgeneuro.runner import input_records

            xin = np.empty(len(x), input_records(g))
            for gname, name in zip(g.inputs, graph_order(path, list(g.inputs), x.names), strict=True):
                xin[gname] = as_input(x.arrays[name], gname).reshape(len(x), *g.t(gname).sample_shape)
        else:
            xin = as_input(x, g.inputs[0])
        y = reference.run_batch(g, prepared.kernels, xin)
        return (y.astype(np.float64) - t_out.zero_point) * t_out.scale if t_out.dtype == "int8" else y

    p = prepared.plan
    detail = (
        f"{len(prepared.kernels)} layers, {p.total_macs:,} MACs, weights {p.weights_bytes:,} B, "
        f"arena {p.arena_bytes:,} B"
    )
    sparsity = _const_sparsity([t.data for t in graph.tensors.values() if t.is_const])
    return Compiled(run, "edgeneuro reference kernels", p.weights_bytes, sparsity, True, detail)


def tflite_result(path: Path) -> Compiled:
    got = _edgeneuro(path)
    if isinstance(got, Compiled):
        return got
    import tensorflow as tf

    interp = tf.lite.Interpreter(model_path=str(path))
    interp.allocate_tensors()
    ins, o = interp.get_input_details(), interp.get_output_details()[0]

    def run(x: Samples) -> np.ndarray:
        arrays = [x.arrays[n] for n in tflite_order(path, x.names)] if isinstance(x, Multi) else [x]
        out = []
        for k in range(len(x)):
            vs = []
            for i, a in zip(ins, arrays, strict=True):
                v = a[k][None].astype(np.float32)
                if i["dtype"] == np.int8:
                    scale, zp = i["quantization"]
                    v = np.clip(np.round(v / scale) + zp, -128, 127).astype(np.int8)
                interp.resize_tensor_input(i["index"], v.shape)
                vs.append(v)
            interp.allocate_tensors()
            for i, v in zip(ins, vs, strict=True):
                interp.set_tensor(i["index"], v)
            interp.invoke()
            y = interp.get_tensor(o["index"]).astype(np.float64)
            if o["dtype"] == np.int8:
                y = (y - o["quantization"][1]) * o["quantization"][0]
            out.append(y[0])
        return np.stack(out)

    import tflite

    m = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
    nbytes = sum(m.Buffers(k).DataLength() for k in range(m.BuffersLength()))
    return Compiled(run, "TensorFlow Lite", nbytes, None, False, got)


# ------------------------------------------------------------------------------------ compress


@dataclass
class Labels:
    x_path: Path
    y_path: Path
    x: Any  # read_arrays' result, then the model's Samples
    y: np.ndarray


def _split(n: int, holdout: float, training: bool) -> tuple[np.ndarray, np.ndarray, str]:
    """(fit indices, score indices, what the accuracy is measured on)."""
    every = np.arange(n)
    if not training:
        return every, every, f"all {n} samples of --fit (nothing is trained on them)"
    held = int(round(n * holdout))
    if held < 1 or held >= n:
        return every, every, f"the {n} samples of --fit it was fine-tuned on (--holdout {holdout:g} leaves none out)"
    order = np.random.default_rng(0).permutation(n)
    return np.sort(order[held:]), np.sort(order[:held]), (f"{held} held-out samples of --fit ({holdout:.0%}); "
                                                          f"fine-tuned on the other {n - held}")  # fmt: skip


def _check_paths(model: Path, out: Path) -> str:
    """The kind of model (keras, saved_model, onnx) from its path, and a matching output suffix."""
    if not model.exists():
        raise InputError(f"{model}: no such file or folder")
    suffix = model.suffix.lower()
    if model.is_dir():
        kind, wants = "saved_model", ".tflite"
    elif suffix in KERAS_SUFFIXES:
        kind, wants = "keras", ".tflite"
    elif suffix == ".onnx":
        kind, wants = "onnx", ".onnx"
    elif suffix == ".tflite":
        raise InputError(f"{model}: already a TFLite model; {TAKES} (compile or run a .tflite as it is)")
    elif suffix == ".nir":
        raise InputError(f"{model}: a NIR graph is quantized when it compiles (compile or run it with --dt)")
    else:
        raise InputError(f"{model}: unknown model type '{model.suffix or model.name}'; {TAKES} "
                         "(export PyTorch models to ONNX first)")  # fmt: skip
    if out.suffix.lower() != wants:
        what = "an ONNX model compresses to QDQ int8 .onnx" if kind == "onnx" else "a Keras model compresses to .tflite"
        raise InputError(f"-o {out}: {what}; give -o NAME{wants}")
    if out.is_dir():
        raise InputError(f"-o {out}: a folder; give the {wants} file to write")
    return kind


def compress_any(model: Path, out: Path, prune_to: float = 0.0, calibrate: Path | None = None,
                 fit: tuple[Path, Path] | None = None, epochs: int = 3, float_io: bool = False,
                 holdout: float = 0.2, meta_dir: Path | None = None,
                 pattern: Pattern | None = None, quantize: str = "int8") -> dict[str, Any]:  # fmt: skip
    """Prune (optional; in ``pattern``, default unstructured) and quantize any Keras, SavedModel or
    float ONNX model; write ``out`` and compress_report.json beside it (and the meta.json of
    ``meta_dir`` when the model has one)."""
    model, out = Path(model), Path(out)
    pattern = (pattern or UNSTRUCTURED).with_sparsity(prune_to)
    kind = _check_paths(model, out)
    if not 0.0 <= holdout < 1.0:
        raise InputError(f"--holdout {holdout}: give a fraction in [0, 1)")
    cal = read_arrays(calibrate, "--calibrate") if calibrate is not None else None
    labels = None
    if fit is not None:
        x_path, y_path = map(Path, fit)
        labels = Labels(x_path, y_path, read_arrays(x_path, "--fit"), read_npy(y_path, "--fit"))
        n = sample_count(labels.x)
        if n is not None and len(labels.y) != n:
            raise InputError(f"--fit {y_path}: {len(labels.y)} labels for the {n} samples of {x_path}")
    if calibrate is None and labels is None and (model.parent / "calibration.npy").is_file() and not model.is_dir():
        calibrate = model.parent / "calibration.npy"
        cal = read_npy(calibrate, "--calibrate")
    if kind == "onnx":
        if quantize != "int8":
            raise InputError(f"--quantize {quantize}: an ONNX model quantizes to QDQ int8 (onnxruntime); int4 "
                             "weights are written for Keras models and SavedModels (the TFLite path)")  # fmt: skip
        report = _compress_onnx(model, out, prune_to, calibrate, cal, labels, float_io, pattern)
    else:
        report = _compress_keras(model, out, prune_to, calibrate, cal, labels, epochs, float_io, holdout, pattern,
                                 quantize)  # fmt: skip
    first, last = report["steps"][0]["accuracy"], report["steps"][-1]["accuracy"]
    report["accuracy_change_pp"] = None if first is None or last is None else 100 * (last - first)
    report.update(provenance(out))  # the hash of the compressed model written
    if meta_dir is not None and out.parent.resolve() != Path(meta_dir).resolve():
        from edgeneuro.data.meta import META

        write_atomic(out.parent / META, lambda p: shutil.copy(Path(meta_dir) / META, p))
    write_atomic(out.parent / REPORT, lambda p: p.write_text(json.dumps(report, indent=2) + "\n"))
    return report


def _calibration(cal, calibrate, labels: Labels | None, fit_idx, inputs: tuple, source: Path) -> tuple[Samples, str]:
    if cal is not None:
        x = samples_for(cal, inputs, "--calibrate", calibrate)
        return x, f"{len(x)} samples of {calibrate}"
    if labels is not None:
        return labels.x[fit_idx], f"{len(fit_idx)} samples of --fit {labels.x_path} (no --calibrate)"
    if len(inputs) > 1:
        raise InputError(f"{source}: give --calibrate X.npz for the int8 ranges, one array per model input keyed by "
                         f"name or index: {inputs_text(inputs)}")  # fmt: skip
    raise InputError(f"{source}: give --calibrate X.npy, samples [N, {shape_text(inputs[0][1])[1:-1]}] of the model's "
                     "input for the int8 ranges")  # fmt: skip


def pruned_step(pattern: Pattern) -> str:
    """The report's name of the pruning step: 'pruned 50%', 'pruned 75% block:1x4', 'pruned 50% 2:4'."""
    name = f"pruned {pattern.sparsity:.0%}"
    return name if pattern.kind == "unstructured" else f"{name} {pattern}"


def pruning_entry(pattern: Pattern, how: str, fine_tuned: bool | None, layers: list[dict]) -> dict[str, Any]:
    entry: dict[str, Any] = {"target": pattern.sparsity, "pattern": str(pattern), "meaning": pattern.describe(),
                             "method": how}  # fmt: skip
    if fine_tuned is not None:
        entry["fine_tuned"] = fine_tuned
    entry["layers"] = layers
    return entry


def one_shot_method(pattern: Pattern, what: str) -> str:
    if pattern.kind == "unstructured":
        return f"magnitude pruning of each {what}"
    return f"{pattern} magnitude pruning of each {what} viewed as [out, in]"


def _step(name: str, weights_bytes: int, sparsity: float | None, runtime: str, accuracy: float | None) -> dict:
    return {"step": name, "weights_bytes": int(weights_bytes), "sparsity": sparsity, "runtime": runtime,
            "accuracy": accuracy}  # fmt: skip


def _compress_keras(model: Path, out: Path, prune_to: float, calibrate, cal, labels: Labels | None, epochs: int,
                    float_io: bool, holdout: float, pattern: Pattern,
                    quantize: str = "int8") -> dict[str, Any]:  # fmt: skip
    net = load_net(model)
    task = y_fit = y_cls = None
    fit_idx = score_idx = np.arange(0)
    scored_on = None
    can_train = net.kind != "saved_model"
    if labels is not None:
        if net.outputs != 1:
            raise InputError(f"--fit: the model has {net.outputs} outputs; labels fine-tune and score models "
                             "with one output (several outputs are not supported yet: give --calibrate)")  # fmt: skip
        x = samples_for(labels.x, net.inputs, "--fit", labels.x_path)
        labels.x = x
        c, onehot, y_fit, y_cls = labels_for(labels.y, len(x), net.output_shape, labels.y_path, labels.x_path)
        fit_idx, score_idx, scored_on = _split(len(x), holdout, training=prune_to > 0 and can_train)
    cal_x, cal_from = _calibration(cal, calibrate, labels, fit_idx, net.inputs, model)
    if labels is not None:
        probe = net.predict(labels.x[: min(len(labels.x), 64)])
        task = Task(c, _probabilities(probe, c), onehot)

    def accuracy(predict) -> float | None:
        if task is None:
            return None
        return float(np.mean(task.decide(predict(labels.x[score_idx])) == y_cls[score_idx]))

    report: dict[str, Any] = {
        "model": str(model), "format": net.described, "output": str(out),
        "input_shape": list(net.input_shape), "io": "float32" if float_io else "int8",
        "calibration": cal_from, "labels": None if labels is None else str(labels.y_path), "accuracy_on": scored_on,
        "accuracy_note": None if labels is not None else NO_LABELS, "pruning": None, "steps": [],
        "int8_pattern": None,
    }  # fmt: skip
    if len(net.inputs) > 1:
        report["inputs"] = [{"name": n, "shape": list(sh)} for n, sh in net.inputs]
    runtime = "tf_keras" if net.kind == "tf_keras" else "Keras 3" if net.kind == "keras3" else "TensorFlow"
    report["steps"].append(_step("float", net.weights_bytes(), net.sparsity(), runtime, accuracy(net.predict)))
    if prune_to > 0:
        if labels is not None and can_train:
            how = prune_fine_tuned(net, labels.x[fit_idx], y_fit[fit_idx], task, prune_to, epochs, pattern=pattern)
            fine_tuned = True
        else:
            prune_one_shot(net.pruned_weights(), pattern)
            how = (ONE_SHOT if labels is None else
                   "one-shot: a SavedModel without Keras metadata has no training loop to fine-tune with")  # fmt: skip
            how += f" ({one_shot_method(pattern, 'weight tensor')})"
            fine_tuned = False
        report["pruning"] = pruning_entry(pattern, how, fine_tuned, weights_report(net.pruned_weights(), pattern))
        report["steps"].append(_step(pruned_step(pattern), net.weights_bytes(), net.sparsity(), runtime,
                                     accuracy(net.predict)))  # fmt: skip
    blob = convert(net, cal_x, float_io)
    with tempfile.TemporaryDirectory(prefix="edgeneuro-compress-") as d:
        tmp = Path(d) / out.name
        tmp.write_bytes(blob)
        r = tflite_result(tmp)
        if len(net.inputs) > 1:  # the names `run --input IN.npz` takes for each
            import tensorflow as tf

            details = tf.lite.Interpreter(model_path=str(tmp)).get_input_details()
            order = tflite_order(tmp, [n for n, _ in net.inputs])
            for entry in report["inputs"]:
                k = order.index(entry["name"])
                entry["int8_input"] = {"index": k, "name": details[k]["name"]}
        report["steps"].append(_step("int8", r.weights_bytes, r.sparsity, r.runtime, accuracy(r.run)))
        report["edgeneuro"] = {"compiles": r.compiles, "detail": r.detail}
        if prune_to > 0:
            report["int8_pattern"] = patterns.int8_check(tmp, pattern)
        if quantize == "int8w4":  # edgeneuro/compress/int4.py: int4 FULLY_CONNECTED and CONV_2D weights
            from edgeneuro.compress.int4 import int8w4

            blob, r, report["int4"] = int8w4(lambda: convert(net, cal_x, float_io), net.pruned_weights(), tmp, model)
            report["steps"].append(_step("int8w4", r.weights_bytes, r.sparsity, r.runtime, accuracy(r.run)))
            report["edgeneuro"] = {"compiles": r.compiles, "detail": r.detail}
        write_atomic(out, lambda p: p.write_bytes(blob))
    return report


# -------------------------------------------------------------------------------------- ONNX

ONNX_WEIGHT_OPS = {"Conv", "ConvTranspose", "Gemm", "MatMul"}


def _ort_run(path: Path, name: str):
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def run(x: Samples) -> np.ndarray:
        arrays = x.arrays if isinstance(x, Multi) else {name: x}
        return np.concatenate([sess.run(None, {n: a[k][None].astype(np.float32) for n, a in arrays.items()})[0]
                               for k in range(len(x))])  # fmt: skip

    return run, sess


def onnx_layout(node, k: int, ndim: int) -> Layout:
    """The [out, in] view of input ``k`` of an ONNX weight node (Conv W [out, in, kh, kw], Gemm B
    [out, in] with transB else [in, out], MatMul B [in, out])."""
    if node.op_type == "Conv" and k == 1:
        return patterns.layout("onnx_conv", ndim)
    if node.op_type == "ConvTranspose" and k == 1:
        return patterns.layout("onnx_conv_transpose", ndim)
    if node.op_type == "Gemm" and k == 1 and any(a.name == "transB" and a.i for a in node.attribute):
        return patterns.layout("oi", ndim)
    return patterns.layout("keras", ndim)


def _compress_onnx(model: Path, out: Path, prune_to: float, calibrate, cal, labels: Labels | None,
                   float_io: bool, pattern: Pattern) -> dict[str, Any]:  # fmt: skip
    import onnx
    from onnx import numpy_helper

    from edgeneuro.compress.quantize import quantize_onnx

    try:
        m = onnx.load(str(model))
    except Exception as e:
        raise ModelError(f"{model}: not an ONNX model ({type(e).__name__}: {_first_line(e)})") from e
    quantized = sorted({n.op_type for n in m.graph.node} & QUANTIZED_ONNX)
    if quantized:
        raise InputError(f"{model}: already quantized ({', '.join(quantized)} nodes); compile it as it is")
    inits = {t.name: t for t in m.graph.initializer}
    graph_inputs = [i for i in m.graph.input if i.name not in inits]
    if not graph_inputs:
        raise ModelError(f"{model}: the model has no inputs to calibrate")
    for inp in graph_inputs:
        if inp.type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
            raise ModelError(f"{model}: input '{inp.name}' is not float32; compress quantizes float models")
    inputs = tuple((i.name, tuple(d.dim_value if d.HasField("dim_value") else None
                                  for d in i.type.tensor_type.shape.dim)[1:]) for i in graph_inputs)  # fmt: skip
    inp, shape = graph_inputs[0], inputs[0][1]
    float_run, sess = _ort_run(model, inp.name)
    out_dims = sess.get_outputs()[0].shape
    out_shape = tuple(d if isinstance(d, int) else None for d in out_dims[1:])
    task = y_cls = None
    scored_on = None
    if labels is not None:
        labels.x = samples_for(labels.x, inputs, "--fit", labels.x_path)
        c, onehot, _, y_cls = labels_for(labels.y, len(labels.x), out_shape, labels.y_path, labels.x_path)
        task = Task(c, _probabilities(float_run(labels.x[:64]), c), onehot)
        scored_on = f"all {len(labels.x)} samples of --fit (ONNX models are not fine-tuned)"
    cal_x, cal_from = _calibration(cal, calibrate, labels, np.arange(len(labels.x)) if labels else None, inputs, model)
    cal_arrays = cal_x.arrays if isinstance(cal_x, Multi) else {inp.name: cal_x}
    shapes = tuple((n, (1, *a.shape[1:])) for n, a in cal_arrays.items())

    def accuracy(predict) -> float | None:
        return None if task is None else float(np.mean(task.decide(predict(labels.x)) == y_cls))

    weights = {n.input[k]: onnx_layout(n, k, len(inits[n.input[k]].dims)) for n in m.graph.node
               if n.op_type in ONNX_WEIGHT_OPS for k in range(len(n.input))
               if n.input[k] in inits and len(inits[n.input[k]].dims) >= 2}  # fmt: skip

    def facts(mm) -> tuple[int, float]:
        arrays = {t.name: numpy_helper.to_array(t) for t in mm.graph.initializer}
        ws = [arrays[w] for w in weights if w in arrays]
        total = sum(w.size for w in ws)
        return sum(a.nbytes for a in arrays.values()), (sum(int((w == 0).sum()) for w in ws) / total if total else 0.0)

    report: dict[str, Any] = {
        "model": str(model), "format": "float ONNX model", "output": str(out), "input_shape": list(shape),
        "io": "float32", "io_note": "QDQ: int8 inside, QuantizeLinear at the input, DequantizeLinear at the output",
        "calibration": cal_from, "labels": None if labels is None else str(labels.y_path), "accuracy_on": scored_on,
        "accuracy_note": None if labels is not None else NO_LABELS, "pruning": None, "steps": [],
        "int8_pattern": None,
    }  # fmt: skip
    if len(inputs) > 1:
        report["inputs"] = [{"name": n, "shape": list(sh)} for n, sh in inputs]
    if float_io:
        report["io_note"] += "; --float-io changes nothing here"
    nbytes, sparsity = facts(m)
    report["steps"].append(_step("float", nbytes, sparsity, "onnxruntime", accuracy(float_run)))
    with tempfile.TemporaryDirectory(prefix="edgeneuro-compress-") as d:
        source = model
        if prune_to > 0:
            layers = []
            for t in m.graph.initializer:
                if t.name in weights:
                    w = numpy_helper.to_array(t)
                    w = (w * pattern_mask(w, pattern, weights[t.name])).astype(w.dtype)
                    t.CopyFrom(numpy_helper.from_array(w, t.name))
                    a = weights[t.name].to_oi(w)
                    holds = patterns.pattern_holds(a, pattern)
                    layers.append({"name": t.name, "layer": None, "shape_oi": list(a.shape),
                                   "sparsity": patterns.sparsity_of(a), "holds": holds})  # fmt: skip
            source = Path(d) / "pruned.onnx"
            onnx.save(m, str(source))
            how = ONE_SHOT if labels is None else "one-shot: ONNX models are not fine-tuned"
            how += f" ({one_shot_method(pattern, 'weight initializer')})"
            report["pruning"] = pruning_entry(pattern, how, False, layers)
            nbytes, sparsity = facts(m)
            report["steps"].append(_step(pruned_step(pattern), nbytes, sparsity, "onnxruntime",
                                         accuracy(_ort_run(source, inp.name)[0])))  # fmt: skip
        tmp = Path(d) / out.name
        quantize_onnx(source, cal_arrays, tmp)
        q = onnx.load(str(tmp))
        qbytes, _ = facts(q)
        qsparsity = _const_sparsity([numpy_helper.to_array(t) for t in q.graph.initializer])
        got = _edgeneuro(tmp, shapes)
        if isinstance(got, Compiled):
            run, runtime, detail = got.run, got.runtime, got.detail
        else:
            run, runtime, detail = _ort_run(tmp, inp.name)[0], "onnxruntime", got
        qbytes = got.weights_bytes if isinstance(got, Compiled) else qbytes  # what the chip stores
        report["steps"].append(_step("int8", qbytes, qsparsity, runtime, accuracy(run)))
        shape = " ".join(f"--shape {n}={'x'.join(map(str, sh))}" for n, sh in shapes)
        report["edgeneuro"] = {"compiles": isinstance(got, Compiled), "detail": detail, "shape": shape}
        if prune_to > 0:
            report["int8_pattern"] = patterns.int8_check(tmp, pattern, shapes)
        write_atomic(out, lambda p: shutil.copyfile(tmp, p))
    return report
