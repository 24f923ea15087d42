"""The end-to-end job (`edgeneuro demo`, `make demo`): SYNTHETIC EEG recordings → a 1-D CNN seizure
detector trained by subject → pruned 50 % and quantized to int8 → compiled to C → run on the
simulated board over the held-out subject's recordings → seizure metrics from what the board
computed, checked bit for bit against TensorFlow Lite Micro.

The data is synthetic (edgeneuro.data.synthetic): it exercises the pipeline and says nothing about
detection on patients."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from edgeneuro import boards


def main(out: Path, board_name: str = "mps2-an386") -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter
    from tflite_micro.python.tflite_micro import runtime

    from edgeneuro import frontends
    from edgeneuro.compress.compress import compress
    from edgeneuro.compress.quantize import quantize_input
    from edgeneuro.data.synthetic import NOTICE, write_dataset
    from edgeneuro.runner import run_on_board
    from edgeneuro.train import Meta, discover, evaluate, train

    board = boards.load(board_name)
    out.mkdir(parents=True, exist_ok=True)
    print(f"edgeneuro demo: {NOTICE}")
    data = out / "data"
    write_dataset(data, subjects=3, recordings=2, seconds=600, seed=7)
    print(f"  1. data: 3 subjects x 2 recordings x 10 min, 4 channels at 256 Hz -> {data}/")
    trained = train(data, "cnn", out / "cnn", epochs=12, verbose=0)
    print(f"  2. trained a 1-D CNN on chb01, chb02; window accuracy on chb03 {trained['window']['accuracy']:.3f}")
    report = compress(out / "cnn" / "model.keras", out / "cnn" / "int8" / "model.tflite", prune_to=0.5)
    model = out / "cnn" / "int8" / "model.tflite"
    steps = ", ".join(f"{s['step']} {s['weights_bytes']:,} B {s['window']['accuracy']:.3f}" for s in report["steps"])
    print(f"  3. compressed (weights, window accuracy on chb03): {steps}")

    meta = Meta.load(model)
    graph = frontends.load(model)
    t = graph.t(graph.inputs[0])
    interp = runtime.Interpreter.from_file(str(model))
    compared = equal = 0
    runs = []

    def on_the_board(x: np.ndarray) -> np.ndarray:
        nonlocal compared, equal
        xq = quantize_input(x, t.scale, t.zero_point)
        with tempfile.TemporaryDirectory() as d:
            np.save(Path(d) / "in.npy", xq)
            res = run_on_board(model, board, Path(d) / "in.npy", out / "build")
        tflm = []
        for s in xq:
            interp.set_input(s[None], 0)
            interp.invoke()
            tflm.append(interp.get_output(0)[0].copy())
        compared += res.output.size
        equal += int(np.sum(res.output == np.stack(tflm)))
        runs.append(res.report)
        return res.output.reshape(len(x), -1).argmax(1)

    test_items = [i for i in discover(data) if i.subject in meta.test_subjects]
    chip = evaluate(on_the_board, test_items, meta)
    r = runs[-1]
    print(f"  4. ran {chip['window']['windows']} windows of chb03 on {board.name} (QEMU, {board.core}); "
          f"outputs == TFLM reference kernels: {equal}/{compared}")  # fmt: skip
    e, w = chip["event"], chip["window"]
    host = report["steps"][-1]  # the int8 model scored on the host by edgeneuro's reference kernels
    same = host["event"] == e and host["window"] == w
    print(f"  5. metrics from the board's outputs: event sensitivity {e['sensitivity']:.3f}, precision "
          f"{e['precision']:.3f}, {e['fp_per_hour']:.2f} false positives per hour; window sensitivity "
          f"{w['sensitivity']:.3f}, specificity {w['specificity']:.3f}; identical to the host's: {same}")  # fmt: skip
    print(f"     latency {r['instructions']:,} instructions per window (counted, resolution "
          f"{r['instructions_resolution']:g}; ~{r['est_latency_ms']:.2f} ms at {board.clock_hz / 1e6:g} MHz, "
          f"1 instruction/cycle); flash {r['flash_bytes']:,} B, RAM {r['ram_bytes']:,} B (arena "
          f"{r['arena_bytes']:,} B, lower bound {r['arena_lower_bound_bytes']:,} B)")  # fmt: skip
    summary = {"data": NOTICE, "train": {k: trained[k] for k in ("event", "window")}, "compress": report,
               "board": {**r, "metrics": chip, "outputs_equal_tflm": equal, "outputs_compared": compared}}  # fmt: skip
    (out / "report.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(f"  report: {out / 'report.json'}")
    if equal != compared or not same:
        print("edgeneuro demo: FAILED: the board's outputs or metrics differ from TFLM's and the host's")
        return 1
    return 0
