"""Shared helpers: the TFLM reference interpreter, edgeneuro's reference and its host C build."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

from edgeneuro import boards, build, frontends, ops, reference, runner
from edgeneuro.compiler import Prepared, compile_model, load
from edgeneuro.options import CompileOptions
from edgeneuro.plan import plan_memory
from edgeneuro.runner import run_on_host
from edgeneuro.targets import host

# Every model the tests compile is checked on the host (compiler.compile_model with
# EDGENEURO_HOST_CHECKS=1: runner.check_on_host), and every host build of the tests is a checked one
# (edgeneuro/targets/host.py): warnings as errors, ASan and UBSan, and a second build in the host
# debug layout (each tensor its own array) whose output must be the same bytes. The variable reaches
# the CLI's subprocesses too. EDGENEURO_HOST_CHECKS=0 turns it off for a quick local loop.
os.environ.setdefault("EDGENEURO_HOST_CHECKS", "1")
_HOST_CHECKED: set[str] = set()


def _host_check_feedback(fw: runner.Firmware, x: np.ndarray) -> None:
    """A firmware that carries outputs into inputs (``--feedback``) runs the harness's feedback code,
    which the check at compile time does not: its checked host build runs once over (at most two
    of) the samples the firmware ran. No comparison with the board (float rounding may differ)."""
    c = fw.compiled
    key = hashlib.sha256((c.out_dir / "model.c").read_bytes() + repr(fw.feedback).encode()).hexdigest()
    if key in _HOST_CHECKED:
        return
    exe = build.build_host(c.out_dir, c.out_dir / "model_host_checked", feedback=fw.feedback, checks=True)
    host.run(exe, runner.encode_inputs(c.graph, runner.check_inputs(x, c.graph)[:2]))
    _HOST_CHECKED.add(key)


def _run_firmware_and_host(fw: runner.Firmware, x: np.ndarray, *args, **kwargs):
    result = _run_firmware(fw, x, *args, **kwargs)
    if fw.feedback and host.checks_wanted():
        _host_check_feedback(fw, x)
    return result


# installed before the test modules import it (run_on_board finds it in the module at each call)
_run_firmware, runner.run_firmware = runner.run_firmware, _run_firmware_and_host

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MLPERF = SHARED / "models" / "mlperf_tiny"

# Developers explore new random cases on every run; CI (CI=true) replays a fixed sequence so that a
# landing is decided by the code, not by the draw. HYPOTHESIS_PROFILE=quick for a short loop.
settings.register_profile("explore", deadline=None, print_blob=True)
settings.register_profile("ci", deadline=None, print_blob=True, derandomize=True)
settings.register_profile("quick", deadline=None, max_examples=10)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "explore"))
# The kernel-variant property tests build C for every example: CI runs 40 % of their examples,
# a developer all of them; EDGENEURO_EXAMPLES=3 runs three times as many (a longer search).
EXAMPLES_SCALE = float(os.environ.get("EDGENEURO_EXAMPLES", "0.4" if os.environ.get("CI") else "1"))


def pytest_collection_modifyitems(config, items):
    """Tests marked ``fuzz`` (long fuzzing runs) run only when the -m expression names fuzz."""
    if "fuzz" in (config.option.markexpr or ""):
        return
    keep = [item for item in items if item.get_closest_marker("fuzz") is None]
    if len(keep) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item.get_closest_marker("fuzz")])
        items[:] = keep


def examples(n: int) -> int:
    """``n`` hypothesis examples, scaled by EDGENEURO_EXAMPLES (see above), at least 5."""
    return max(5, round(n * EXAMPLES_SCALE))


def tflm_run(model: bytes | Path, samples: np.ndarray) -> np.ndarray:
    """TensorFlow Lite Micro's reference kernels on the host, one inference per sample, each from
    the reset state (TFLM keeps an LSTM's state between Invoke calls until reset)."""
    from tflite_micro.python.tflite_micro import runtime

    data = Path(model).read_bytes() if isinstance(model, Path) else model
    interp = runtime.Interpreter.from_bytes(data, arena_size=max(1 << 20, len(data) * 4))
    outs = []
    for s in samples:
        interp.reset()
        interp.set_input(s.reshape(interp.get_input_details(0)["shape"]), 0)
        interp.invoke()
        y = interp.get_output(0)
        outs.append((y[0] if y.shape[0] == 1 else y).copy())
    return np.stack(outs)


def tflm_run_outputs(model: bytes, samples: np.ndarray) -> list[np.ndarray]:
    """``tflm_run`` for a model with several outputs: per output, [N, *output sample_shape]."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model, arena_size=max(1 << 20, len(model) * 4))
    outs, count = [], _num_outputs(model)
    for s in samples:
        interp.reset()
        interp.set_input(s.reshape(interp.get_input_details(0)["shape"]), 0)
        interp.invoke()
        ys = [interp.get_output(i) for i in range(count)]
        outs.append([(y[0] if y.shape and y.shape[0] == 1 else y).copy() for y in ys])
    return [np.stack([o[i] for o in outs]) for i in range(len(outs[0]))]


def _num_outputs(model: bytes) -> int:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as S

    return len(S.ModelT.InitFromPackedBuf(model, 0).subgraphs[0].outputs)


def reference_run(model: Path, samples: np.ndarray, options: CompileOptions | None = None) -> np.ndarray:
    """The numpy reference of the kernels ``options`` choose (default: the portable ones)."""
    p = load(model, options or CompileOptions())
    return reference.run_batch(p.graph, p.kernels, samples)


def host_c_run(model: Path, samples: np.ndarray, out_dir: Path, features: tuple[str, ...] = ()) -> np.ndarray:
    """The generated C built for the host; ``features`` (e.g. ``("dsp",)``) picks the kernel
    variants of such a core, whose SIMD operations run as their plain-C twins (en_simd.h)."""
    c = compile_model(load(model, CompileOptions(features=features)), boards.load("mps2-an386"), out_dir)
    (y,) = run_on_host(c, samples).values()
    return y


def forced_variant(prepared: Prepared, kind: str, variant: str | None = None) -> Prepared:
    """``prepared`` with its ``kind`` layers on ``variant`` (None: what the op module's ``variant``
    chooses for the prepared features) whatever the variant's scratch costs: the kernel-variants
    pass gives up a variant whose scratch grows a one-layer model's arena, and a test of the
    variant itself wants it anyway."""
    g = prepared.graph
    module = ops.MODULES[kind]

    def chosen(op):
        v = variant or module.variant(op, g, prepared.options.features)
        return dataclasses.replace(op, attrs={**op.attrs, "variant": v}) if v else op

    g = dataclasses.replace(g, ops=tuple(chosen(op) if op.kind == kind else op for op in g.ops))
    kernels = tuple(ops.lower(op, g) for op in g.ops)
    return dataclasses.replace(prepared, graph=g, kernels=kernels, plan=plan_memory(g, list(kernels)))


@pytest.fixture(scope="session")
def mps2():
    return boards.load("mps2-an386")


@pytest.fixture(scope="session")
def cnn1d_trained():
    """A small Conv1D classifier trained for a few steps with TensorFlow, and its training windows."""
    import tensorflow as tf

    from edgeneuro.data.synthetic import recording
    from edgeneuro.data.windows import cut
    from edgeneuro.models.cnn import build_cnn1d

    tf.keras.utils.set_random_seed(3)
    w = cut(*recording(np.random.default_rng(3), 300.0, 128.0), window=2.0, stride=3.0)
    x, y = w.x / np.float32(100), w.y
    model = build_cnn1d(x.shape[1], x.shape[2], 2)
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    return model, x


@pytest.fixture(scope="session")
def cnn1d_model(cnn1d_trained, tmp_path_factory):
    """The trained Conv1D classifier converted to full int8, and int8 test windows for it."""
    from edgeneuro.compress.quantize import to_int8_tflite
    from edgeneuro.ir.quant import quantize_input

    model, x = cnn1d_trained
    path = tmp_path_factory.mktemp("cnn1d") / "cnn1d_int8.tflite"
    path.write_bytes(to_int8_tflite(model, x))
    g = frontends.load(path)
    t = g.t(g.inputs[0])
    return path, quantize_input(x[:6], t.scale, t.zero_point)


@pytest.fixture(scope="session")
def cnn1d_float_model(cnn1d_trained, tmp_path_factory):
    """The same classifier converted without quantization (float32 TFLite), and float windows."""
    import tensorflow as tf

    model, x = cnn1d_trained
    path = tmp_path_factory.mktemp("cnn1d") / "cnn1d_float.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return path, x[:4].astype(np.float32)
