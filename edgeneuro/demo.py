"""The end-to-end job (`edgeneuro demo`, `make demo`): SYNTHETIC EEG recordings → seizure detectors of
the three families (DNN, 1-D CNN, LSTM) trained by subject → pruned 50 % and quantized to int8 →
compiled to C → run on the simulated board over the held-out subject's recordings → seizure metrics
from what the board computed, checked bit for bit against TensorFlow Lite Micro.

The data is synthetic (edgeneuro.data.synthetic): it exercises the pipeline and says nothing about
detection on patients."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from edgeneuro import boards
from edgeneuro.boards import Board

NAMES = {"dnn": "DNN", "cnn": "1-D CNN", "lstm": "LSTM"}
EPOCHS = {"dnn": 12, "cnn": 12, "lstm": 12}


def _family(family: str, data: Path, out: Path, board: Board) -> dict[str, Any]:
    """Train, compress, run on the board and score one family; returns its report."""
    from tflite_micro.python.tflite_micro import runtime

    from edgeneuro import frontends
    from edgeneuro.compress.compress import compress
    from edgeneuro.compress.quantize import quantize_input
    from edgeneuro.runner import run_on_board
    from edgeneuro.train import Meta, discover, evaluate, train

    name = NAMES[family]
    trained = train(data, family, out, epochs=EPOCHS[family], verbose=0)
    print(f"  {name}: trained on chb01, chb02; window accuracy on chb03 {trained['window']['accuracy']:.3f}")
    model = out / "int8" / "model.tflite"
    report = compress(out / "model.keras", model, prune_to=0.5)
    steps = ", ".join(f"{s['step']} {s['weights_bytes']:,} B {s['window']['accuracy']:.3f}" for s in report["steps"])
    print(f"    compressed (weights, window accuracy): {steps}")

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
            interp.reset()  # TFLM keeps recurrent state between calls; every window starts from reset
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
    e, w = chip["event"], chip["window"]
    host = report["steps"][-1]  # the int8 model scored on the host by edgeneuro's reference kernels
    same = host["event"] == e and host["window"] == w
    print(f"    on {board.name}: {w['windows']} windows, outputs == TFLM {equal}/{compared}, "
          f"metrics identical to the host's: {same}")  # fmt: skip
    return {
        "train": {k: trained[k] for k in ("event", "window")},
        "compress": report,
        "board": {**r, "metrics": chip, "outputs_equal_tflm": equal, "outputs_compared": compared,
                  "metrics_equal_host": same},
    }  # fmt: skip


def _table(results: dict[str, dict[str, Any]], board: Board) -> str:
    head = ("", "event sens", "precision", "FP/h", "window sens", "spec", "instructions", "ms", "flash B", "RAM B")
    rows = [head]
    for family, res in results.items():
        b = res["board"]
        e, w = b["metrics"]["event"], b["metrics"]["window"]
        rows.append((NAMES[family], f"{e['sensitivity']:.3f}", f"{e['precision']:.3f}", f"{e['fp_per_hour']:.2f}",
                     f"{w['sensitivity']:.3f}", f"{w['specificity']:.3f}", f"{b['instructions']:,}",
                     f"{b['est_latency_ms']:.1f}", f"{b['flash_bytes']:,}", f"{b['ram_bytes']:,}"))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.rjust(n) if i else c.ljust(n) for i, (c, n) in enumerate(zip(r, widths, strict=True)))
             for r in rows]  # fmt: skip
    note = (f"  (metrics from the board's outputs on chb03; instructions per window counted on QEMU, ms at "
            f"{board.clock_hz / 1e6:g} MHz assuming one instruction per cycle)")  # fmt: skip
    return "\n".join("    " + line for line in lines) + "\n" + note


def main(out: Path, board_name: str = "mps2-an386", families: tuple[str, ...] = ("dnn", "cnn", "lstm")) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter
    from edgeneuro.data.synthetic import NOTICE, write_dataset

    board = boards.load(board_name)
    out.mkdir(parents=True, exist_ok=True)
    print(f"edgeneuro demo: {NOTICE}")
    data = out / "data"
    write_dataset(data, subjects=3, recordings=2, seconds=600, seed=7)
    print(f"  data: 3 subjects x 2 recordings x 10 min, 4 channels at 256 Hz -> {data}/")
    results = {family: _family(family, data, out / family, board) for family in families}
    print(f"  seizure detection on {board.name} ({board.core}, QEMU):")
    print(_table(results, board))
    summary = {"data": NOTICE, "board": board.name, "families": results}
    (out / "report.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(f"  report: {out / 'report.json'}")
    bad = [f for f, r in results.items()
           if r["board"]["outputs_equal_tflm"] != r["board"]["outputs_compared"]
           or not r["board"]["metrics_equal_host"]]  # fmt: skip
    if bad:
        print(f"edgeneuro demo: FAILED: the board's outputs or metrics differ from TFLM's and the host's for {bad}")
        return 1
    return 0
