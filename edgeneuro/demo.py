"""The end-to-end job (`edgeneuro demo`, `make demo`): SYNTHETIC EEG recordings → seizure detectors of
the three families (DNN, 1-D CNN, LSTM) trained by subject → pruned 50 % and quantized to int8 →
compiled to C → run on the simulated board over the held-out subject's recordings → seizure metrics
from what the board computed, checked bit for bit against TensorFlow Lite Micro. The DNN also
pruned in 4x4 blocks (80 %), which the compiler stores and multiplies sparse. Beside them, a
spiking (LIF) detector trained with surrogate gradients, exported to NIR and compiled to fixed
point, run on the same board and checked bit for bit against edgeneuro's fixed-point reference.

The data is synthetic (edgeneuro.data.synthetic): it exercises the pipeline and says nothing about
detection on patients."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from edgeneuro import boards
from edgeneuro.boards import Board

NAMES = {"dnn": "DNN", "dnn_sparse": "DNN, 80 % 4x4", "cnn": "1-D CNN", "lstm": "LSTM", "snn": "spiking (LIF)"}
SPARSE_PATTERN = "block:4x4"  # what the sparse FULLY_CONNECTED kernel skips (README: Sparse weights)
EPOCHS = {"dnn": 12, "cnn": 12, "lstm": 12, "snn": 12}


def _family(family: str, data: Path, out: Path, board: Board) -> dict[str, dict[str, Any]]:
    """Train, compress, run on the board and score one family; returns its report (the DNN also
    its block-pruned sparse form's, under ``dnn_sparse``)."""
    from edgeneuro.compress.compress import compress
    from edgeneuro.train import train

    name = NAMES[family]
    trained = train(data, family, out, epochs=EPOCHS[family], verbose=0)
    print(f"  {name}: trained on chb01, chb02; window accuracy on chb03 {trained['window']['accuracy']:.3f}")
    model = out / "int8" / "model.tflite"
    report = compress(out / "model.keras", model, prune_to=0.5)
    steps = ", ".join(f"{s['step']} {s['weights_bytes']:,} B {s['window']['accuracy']:.3f}" for s in report["steps"])
    print(f"    compressed (weights, window accuracy): {steps}")
    train_metrics = {k: trained[k] for k in ("event", "window")}
    results = {family: {"train": train_metrics, "compress": report,
                        "board": _on_board(model, report, data, out / "build", board)}}  # fmt: skip
    if family == "dnn":  # the family with a sparse kernel: 80 % of its 4x4 weight blocks pruned
        sparse = out / "sparse" / "model.tflite"
        report = compress(out / "model.keras", sparse, prune_to=0.8, pattern=SPARSE_PATTERN)
        step = report["steps"][-1]
        print(f"    {SPARSE_PATTERN} 80 %: int8 {step['weights_bytes']:,} B dense, window accuracy "
              f"{step['window']['accuracy']:.3f}; compiled sparse (--sparse auto)")  # fmt: skip
        results["dnn_sparse"] = {"train": train_metrics, "compress": report,
                                 "board": _on_board(sparse, report, data, out / "sparse" / "build", board)}  # fmt: skip
    return results


def _on_board(model: Path, report: dict[str, Any], data: Path, build: Path, board: Board) -> dict[str, Any]:
    """The int8 ``model`` with the board's fastest kernels, run on the board over the held-out
    subject's windows, its outputs checked against TFLM's and its metrics against the host's
    (``report``: compress's, whose last step scored the int8 model on the host)."""
    from tflite_micro.python.tflite_micro import runtime

    from edgeneuro import compiler
    from edgeneuro.data.dataset import discover
    from edgeneuro.data.meta import Meta
    from edgeneuro.ir.quant import quantize_input
    from edgeneuro.metrics.seizures import evaluate
    from edgeneuro.options import from_cli
    from edgeneuro.runner import build_for, run_firmware

    meta = Meta.load(model)
    prepared = compiler.load(model, from_cli(model, board=board))  # the board's fastest kernels
    firmware = build_for(prepared, board, build)
    t = prepared.graph.t(prepared.graph.inputs[0])
    interp = runtime.Interpreter.from_file(str(model))
    compared = equal = 0
    runs = []

    def on_the_board(x: np.ndarray) -> np.ndarray:
        nonlocal compared, equal
        xq = quantize_input(x, t.scale, t.zero_point)
        res = run_firmware(firmware, xq)
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
    e, w = chip["event"], chip["window"]
    host = report["steps"][-1]  # the int8 model scored on the host by edgeneuro's reference kernels
    same = host["event"] == e and host["window"] == w
    print(f"    on {board.name}: {w['windows']} windows, outputs == TFLM {equal}/{compared}, "
          f"metrics identical to the host's: {same}")  # fmt: skip
    return {**runs[-1], "weights_bytes": prepared.plan.weights_bytes, "metrics": chip, "outputs_equal_tflm": equal,
            "outputs_compared": compared, "metrics_equal_host": same}  # fmt: skip


def _snn_family(data: Path, out: Path, board: Board) -> dict[str, Any]:
    """The spiking detector: trained with surrogate gradients, exported to NIR, compiled by the NIR
    front end (fixed point), run on the board over the held-out windows as time steps, scored from
    the board's outputs and checked bit for bit against edgeneuro's fixed-point reference."""
    import nir

    from edgeneuro import compiler, reference
    from edgeneuro.data.dataset import discover
    from edgeneuro.data.meta import Meta
    from edgeneuro.metrics.seizures import evaluate
    from edgeneuro.models import snn
    from edgeneuro.options import from_cli
    from edgeneuro.runner import build_for, run_firmware
    from edgeneuro.train import train

    trained = train(data, "snn", out, epochs=EPOCHS["snn"], verbose=0)
    model = Path(trained["model"])
    meta = Meta.load(model)
    w = trained["window"]
    print(f"  {NAMES['snn']}: trained on chb01, chb02 ({trained['time_steps']} steps of {meta.dt * 1e3:g} ms per "
          f"window); window accuracy on chb03 {w['accuracy']:.3f} (float network "
          f"{trained['float']['window']['accuracy']:.3f})")  # fmt: skip
    options = from_cli(model, board=board)  # the snn family's time step and calibration.npy, from its meta.json
    cal = options.calibration
    prepared = compiler.load(model, options)
    firmware = build_for(prepared, board, out / "build")
    compared = equal = 0
    runs = []

    def on_the_board(x: np.ndarray) -> np.ndarray:
        nonlocal compared, equal
        fx = snn.features(x, meta.pool)
        res = run_firmware(firmware, fx)
        expected = reference.run_batch(prepared.graph, prepared.kernels, fx)
        compared += res.output.size
        equal += int(np.sum(res.output == expected))
        runs.append(res.report)
        return snn.decide(res.output)

    test_items = [i for i in discover(data) if i.subject in meta.test_subjects]
    chip = evaluate(on_the_board, test_items, meta)
    same = trained["event"] == chip["event"] and trained["window"] == chip["window"]
    # spike rate of the hidden layer, from the fixed-point reference of the same network with its
    # spikes as a second output
    probe = out / "probe.nir"
    nir.write(str(probe), snn.to_nir(_params(model), meta.dt, spikes_out=True))
    p2 = compiler.load(probe, options)
    spikes = np.stack([reference.run_steps(p2.graph, p2.kernels, s)[1] for s in cal[:50]])
    rate = float(np.mean(spikes > 0))
    r = runs[-1]
    print(f"    on {board.name}: {chip['window']['windows']} windows, outputs == edgeneuro fixed-point reference "
          f"{equal}/{compared}, metrics identical to the host's: {same}; hidden spike rate {rate:.1%}")  # fmt: skip
    return {
        "train": {k: trained[k] for k in ("event", "window", "float")},
        "spike_rate": rate,
        "board": {**r, "instructions": r["instructions_per_sample"], "weights_bytes": prepared.plan.weights_bytes,
                  "metrics": chip, "outputs_equal_reference": equal, "outputs_compared": compared,
                  "metrics_equal_host": same},
    }  # fmt: skip


def _params(model: Path) -> dict[str, np.ndarray]:
    """The float weights of an snn-family NIR file."""
    import nir

    g = nir.read(str(model))
    return {"w1": g.nodes["fc1"].weight.T, "b1": g.nodes["fc1"].bias, "w2": g.nodes["fc2"].weight.T,
            "b2": g.nodes["fc2"].bias}  # fmt: skip


def _table(results: dict[str, dict[str, Any]], board: Board) -> str:
    head = (
        "",
        "event sens",
        "precision",
        "FP/h",
        "window sens",
        "spec",
        "instructions",
        "ms",
        "weights B",
        "flash B",
        "RAM B",
    )
    rows = [head]
    for family, res in results.items():
        b = res["board"]
        e, w = b["metrics"]["event"], b["metrics"]["window"]
        b = {**b, "est_latency_ms": b["instructions"] / board.clock_hz * 1e3}
        rows.append((NAMES[family], f"{e['sensitivity']:.3f}", f"{e['precision']:.3f}", f"{e['fp_per_hour']:.2f}",
                     f"{w['sensitivity']:.3f}", f"{w['specificity']:.3f}", f"{b['instructions']:,}",
                     f"{b['est_latency_ms']:.1f}", f"{b['weights_bytes']:,}", f"{b['flash_bytes']:,}",
                     f"{b['ram_bytes']:,}"))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.rjust(n) if i else c.ljust(n) for i, (c, n) in enumerate(zip(r, widths, strict=True)))
             for r in rows]  # fmt: skip
    note = (f"  (metrics from the board's outputs on chb03; instructions per window counted on QEMU, ms at "
            f"{board.clock_hz / 1e6:g} MHz assuming one instruction per cycle)")  # fmt: skip
    return "\n".join("    " + line for line in lines) + "\n" + note


def main(out: Path, board_name: str = "mps2-an386", families: tuple[str, ...] = ("dnn", "cnn", "lstm", "snn")) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter
    from edgeneuro.data.synthetic import NOTICE, write_dataset

    board = boards.load(board_name)
    out.mkdir(parents=True, exist_ok=True)
    print(f"edgeneuro demo: {NOTICE}")
    data = out / "data"
    write_dataset(data, subjects=3, recordings=2, seconds=600, seed=7)
    print(f"  data: 3 subjects x 2 recordings x 10 min, 4 channels at 256 Hz -> {data}/")
    results = {}
    for f in families:
        results.update({f: _snn_family(data, out / f, board)} if f == "snn" else _family(f, data, out / f, board))
    print(f"  seizure detection on {board.name} ({board.core}, QEMU):")
    print(_table(results, board))
    summary = {"data": NOTICE, "board": board.name, "families": results}
    (out / "report.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(f"  report: {out / 'report.json'}")
    bad = [f for f, r in results.items()
           if r["board"].get("outputs_equal_tflm", r["board"].get("outputs_equal_reference"))
           != r["board"]["outputs_compared"] or not r["board"]["metrics_equal_host"]]  # fmt: skip
    if bad:
        print(f"edgeneuro demo: FAILED: the board's outputs or metrics differ from TFLM's and the host's for {bad}")
        return 1
    return 0
