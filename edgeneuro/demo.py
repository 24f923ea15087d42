"""The end-to-end job (`edgeneuro demo`, `make demo`): train a small int8 1-D CNN, compile it for a
board, run it on the simulated board, check its outputs against TensorFlow Lite Micro and the numpy
reference, and print latency and memory.

The data is SYNTHETIC: 4-channel windows of 1/f background with an alpha rhythm, and, for the
positive class, an added high-amplitude rhythmic discharge (3-5 Hz spikes). It exists so the
pipeline can run anywhere; it says nothing about real seizure detection performance."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

import edgeneuro.models  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from edgeneuro import boards, compiler, frontends, reference
from edgeneuro.runner import run_on_board

FS = 128  # Hz
SECONDS = 2
CHANNELS = 4


def synthetic_windows(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n windows [FS*SECONDS, CHANNELS] of synthetic EEG-like signal (µV / 100) and 0/1 labels."""
    t = np.arange(FS * SECONDS) / FS
    freqs = np.fft.rfftfreq(len(t), 1 / FS)
    pink = np.where(freqs > 0, 1 / np.sqrt(np.maximum(freqs, 1e-9)), 0)
    x = np.empty((n, len(t), CHANNELS), np.float32)
    y = rng.integers(0, 2, n)
    for i in range(n):
        spec = pink[None, :] * (rng.normal(size=(CHANNELS, len(freqs))) + 1j * rng.normal(size=(CHANNELS, len(freqs))))
        background = np.fft.irfft(spec, n=len(t), axis=1).T * 8
        alpha = 0.4 * np.sin(2 * np.pi * rng.uniform(8, 12) * t + rng.uniform(0, 2 * np.pi))[:, None]
        sig = background + alpha
        if y[i]:
            f = rng.uniform(3, 5)
            phase = (f * t + rng.uniform()) % 1.0
            spikes = (np.exp(-((phase - 0.2) ** 2) / 0.004) - 0.3 * np.sin(2 * np.pi * phase)) * rng.uniform(1.0, 2.0)
            sig = sig + spikes[:, None] * rng.uniform(0.5, 1.0, CHANNELS)[None, :]
        x[i] = sig
    return x, y


def main(out: Path, board_name: str = "mps2-an386") -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter
    import tensorflow as tf

    from edgeneuro.compress.quantize import quantize_input, to_int8_tflite
    from edgeneuro.models.cnn import build_cnn1d

    board = boards.load(board_name)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    tf.keras.utils.set_random_seed(7)
    print("edgeneuro demo: SYNTHETIC EEG-like data (not a clinical data set)")

    t0 = time.time()
    x_train, y_train = synthetic_windows(800, rng)
    x_test, y_test = synthetic_windows(64, rng)
    model = build_cnn1d(FS * SECONDS, CHANNELS, 2)
    model.fit(x_train, y_train, epochs=4, batch_size=32, validation_split=0.1, verbose=0)
    float_acc = float(np.mean(model.predict(x_test, verbose=0).argmax(1) == y_test))
    model_path = out / "seizure_cnn1d_int8.tflite"
    model_path.write_bytes(to_int8_tflite(model, x_train))
    print(f"  trained and quantized a 1-D CNN in {time.time() - t0:.0f} s -> {model_path}")

    graph = frontends.load(model_path)
    tin = graph.t(graph.inputs[0])
    xq = quantize_input(x_test, tin.scale, tin.zero_point)
    inputs = out / "test_windows_int8.npy"
    np.save(inputs, xq)

    res = run_on_board(model_path, board, inputs, out / "build")
    y_board = res.output
    np.save(out / "outputs_on_board.npy", y_board)

    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_file(str(model_path))
    tflm = []
    for s in xq:
        interp.set_input(s[None], 0)
        interp.invoke()
        tflm.append(interp.get_output(0)[0].copy())
    tflm = np.stack(tflm)
    ref = reference.run_batch(*compiler.prepare(graph), xq)
    same_tflm = int(np.sum(y_board == tflm))
    same_ref = int(np.sum(y_board == ref))
    int8_acc = float(np.mean(y_board.argmax(1) == y_test))

    r = res.report
    r.update(
        {
            "bitexact_vs_tflm": same_tflm == tflm.size,
            "bitexact_vs_reference": same_ref == ref.size,
            "values_compared": int(tflm.size),
            "accuracy_float_keras": float_acc,
            "accuracy_int8_on_board": int8_acc,
            "data": "synthetic",
        }
    )
    (out / "report.json").write_text(json.dumps(r, indent=2) + "\n")
    print(f"  ops: {', '.join(sorted({op.kind for op in graph.ops}))}")
    print(f"  board {board.name} (QEMU, {board.core}): {len(xq)} windows of {list(tin.sample_shape)}")
    print(
        f"  outputs == TFLM reference kernels: {same_tflm}/{tflm.size} values; "
        f"== numpy reference: {same_ref}/{ref.size}"
    )
    print(f"  accuracy on synthetic test windows: float {float_acc:.3f}, int8 on the board {int8_acc:.3f}")
    print(
        f"  latency: {r['instructions']:,} instructions per inference (counted, resolution "
        f"{r['instructions_resolution']:g}); ~{r['est_latency_ms']:.3f} ms at {board.clock_hz / 1e6:g} MHz "
        f"(1 instruction/cycle); {r['instructions_per_mac']} instructions per MAC ({r['macs']:,} MACs)"
    )
    print(
        f"  memory: flash {r['flash_bytes']:,} B (weights {r['weights_bytes']:,} B), RAM {r['ram_bytes']:,} B "
        f"(arena {r['arena_bytes']:,} B, lower bound {r['arena_lower_bound_bytes']:,} B; stack {r['stack_bytes']:,} B)"
    )
    print(f"  report: {out / 'report.json'}")
    if same_tflm != tflm.size or same_ref != ref.size:
        print("edgeneuro demo: FAILED: the board's outputs differ from the references")
        return 1
    return 0
