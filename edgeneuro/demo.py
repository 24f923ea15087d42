"""The end-to-end job (`edgeneuro demo`, `make demo`): SYNTHETIC EEG recordings → seizure detectors of
the three families (DNN, 1-D CNN, LSTM) trained by subject → pruned (the DNN and the LSTM in 4x4
blocks, the CNN in 2x4 blocks: the patterns of the sparse kernels) and quantized to int8 →
compiled to C dense and with sparse kernels where the compiler takes them → run on the simulated
board over the held-out subject's recordings → seizure metrics from what the board computed,
checked bit for bit against TensorFlow Lite Micro. Each family's steps (float → pruned → int8 →
int8 + sparse) are reported with the weight bytes each stores. Beside them, a spiking (LIF)
detector trained with surrogate gradients, exported to NIR and compiled to fixed point, run on the
same board and checked bit for bit against edgeneuro's fixed-point reference. Then each family's
whole detector (``edgeneuro detect``: samples in one by one, filters, windows, the model, smoothing
and events on the chip) over the held-out subject's recordings on the board, checked against the
host chain and measured like a device.

The data is synthetic (edgeneuro.data.synthetic): it exercises the pipeline and says nothing about
detection on patients."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from edgeneuro import boards, progress
from edgeneuro.boards import Board
from edgeneuro.files import provenance

NAMES = {"dnn": "DNN", "cnn": "1-D CNN", "lstm": "LSTM", "snn": "spiking (LIF)"}
# Each family is pruned in the pattern its sparse kernel skips (README: Sparse weights on the chip):
# FULLY_CONNECTED and the LSTM's gate matrices in 4x4 blocks, CONV_2D in 2x4 blocks. The CNN at 70 %
# and the LSTM at 50 %: on the demo's synthetic set the CNN at 80 % lost every seizure of the
# held-out subject, the int8 LSTM at 70 % too.
PRUNE = {"dnn": (0.8, "block:4x4"), "cnn": (0.7, "block:2x4"), "lstm": (0.5, "block:4x4")}
EPOCHS = {"dnn": 12, "cnn": 12, "lstm": 12, "snn": 12}
SPARSE_STEP = "int8 + sparse"


def _family(family: str, data: Path, out: Path, board: Board, stages: progress.Bar) -> dict[str, Any]:
    """Train, prune, quantize, run on the board and score one family. Its ``steps``: float and pruned
    (Keras, scored on the host; dense float32), int8 compiled dense (``--sparse off``) and int8
    compiled with ``--sparse auto`` (the same model: run on the board where the compiler chose a
    sparse kernel for a layer, else recorded as the dense form with the plan that says so)."""
    from edgeneuro import compiler
    from edgeneuro.compress.compress import compress
    from edgeneuro.options import from_cli
    from edgeneuro.train import train

    name = NAMES[family]
    stages.update(note=f"{name}: training")
    trained = train(data, family, out, epochs=EPOCHS[family], verbose=0)
    stages.update(1, note=f"{name}: pruning and int8")
    print(f"  {name}: trained on chb01, chb02; window accuracy on chb03 {trained['window']['accuracy']:.3f}")
    model = out / "int8" / "model.tflite"
    prune_to, pattern = PRUNE[family]
    report = compress(out / "model.keras", model, prune_to=prune_to, pattern=pattern)
    stages.update(1)
    accuracy = ", ".join(f"{s['step']} {s['window']['accuracy']:.3f}" for s in report["steps"])
    print(f"    compressed (window accuracy on the host): {accuracy}")
    steps: list[dict[str, Any]] = [
        {"step": s["step"], "on": "host (Keras)", "weights_bytes": s["weights_bytes"], "sparsity": s["sparsity"],
         "metrics": {"event": s["event"], "window": s["window"]}}
        for s in report["steps"][:-1]
    ]  # fmt: skip
    host = report["steps"][-1]  # the int8 model scored on the host by edgeneuro's reference kernels
    for step, sparse in (("int8", "off"), (SPARSE_STEP, "auto")):
        stages.update(note=f"{name}: {step} on {board.name}")
        build = out / ("build" if sparse == "off" else "sparse")
        prepared = compiler.load(model, from_cli(model, board=board, sparse=sparse))  # the board's fastest kernels
        chosen = [{"layer": k.op.label(), "kernel": k.fn} for k in prepared.kernels if (k.fn or "").endswith("_sparse")]
        entry = {"step": step, "sparsity": host["sparsity"], "sparse": sparse, "sparse_layers": chosen,
                 "build": str(build)}  # fmt: skip
        if sparse == "auto" and not chosen:  # nothing to run: the plan (written for the record) is the dense one
            compiler.compile_model(prepared, board, build)
            print(f"    {step}: --sparse auto found no layer it saves on and keeps every layer dense "
                  f"(weights {prepared.plan.weights_bytes:,} B)")  # fmt: skip
            steps.append({**entry, "on": None, "weights_bytes": prepared.plan.weights_bytes,
                          "note": "no layer sparse enough: stays dense"})  # fmt: skip
            stages.update(1)
            continue
        how = "dense kernels, --sparse off" if sparse == "off" else "--sparse auto: " + ", ".join(
            f"{c['layer']} {c['kernel']}" for c in chosen)  # fmt: skip
        print(f"    {step} ({how})")
        steps.append({**entry, "on": board.name, **_on_board(prepared, model, host, data, build, board)})
        stages.update(1)
    return {"train": {k: trained[k] for k in ("event", "window")}, "compress": report, "steps": steps}


def _on_board(
    prepared: Any, model: Path, host: dict[str, Any], data: Path, build: Path, board: Board
) -> dict[str, Any]:
    """The compiled int8 ``model`` (``prepared``) run on the board over the held-out subject's
    windows, its outputs checked against TFLM's and its metrics against the host's (``host``:
    compress's int8 step, scored by edgeneuro's reference kernels)."""
    from tflite_micro.python.tflite_micro import runtime

    from edgeneuro.data.dataset import discover
    from edgeneuro.data.meta import Meta
    from edgeneuro.ir.quant import quantize_input
    from edgeneuro.metrics.seizures import evaluate
    from edgeneuro.runner import build_for, run_firmware

    meta = Meta.load(model)
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
    same = host["event"] == e and host["window"] == w
    print(f"      on {board.name}: {w['windows']} windows, outputs == TFLM {equal}/{compared}, "
          f"metrics identical to the host's: {same}")  # fmt: skip
    return {**runs[-1], "weights_bytes": prepared.plan.weights_bytes, "metrics": chip, "outputs_equal_tflm": equal,
            "outputs_compared": compared, "metrics_equal_host": same}  # fmt: skip


def _snn_family(data: Path, out: Path, board: Board, stages: progress.Bar) -> dict[str, Any]:
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

    stages.update(note=f"{NAMES['snn']}: training")
    trained = train(data, "snn", out, epochs=EPOCHS["snn"], verbose=0)
    stages.update(1, note=f"{NAMES['snn']}: on {board.name}")
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
    stages.update(1)
    print(f"    on {board.name}: {chip['window']['windows']} windows, outputs == edgeneuro fixed-point reference "
          f"{equal}/{compared}, metrics identical to the host's: {same}; hidden spike rate {rate:.1%}")  # fmt: skip
    return {
        "train": {k: trained[k] for k in ("event", "window", "float")},
        "spike_rate": rate,
        # one calibration sample's hidden spikes as [time step, neuron] pairs: the report page's raster
        "spike_raster": {"dt_s": meta.dt, "time_steps": int(spikes.shape[1]), "neurons": int(spikes[0, 0].size),
                         "spikes": np.argwhere(spikes[0].reshape(spikes.shape[1], -1) > 0).tolist()},  # fmt: skip
        "steps": [{"step": "fixed point (NIR)", "on": board.name, **r, "instructions": r["instructions_per_sample"],
                   "weights_bytes": prepared.plan.weights_bytes, "metrics": chip, "outputs_equal_reference": equal,
                   "outputs_compared": compared, "metrics_equal_host": same, "build": str(out / "build")}],
    }  # fmt: skip


def _params(model: Path) -> dict[str, np.ndarray]:
    """The float weights of an snn-family NIR file."""
    import nir

    g = nir.read(str(model))
    return {"w1": g.nodes["fc1"].weight.T, "b1": g.nodes["fc1"].bias, "w2": g.nodes["fc2"].weight.T,
            "b2": g.nodes["fc2"].bias}  # fmt: skip


def _detect_job(job: tuple[str, str, str, str]) -> dict[str, Any]:
    """One held-out recording through one family's whole detector (``detect``), in a worker."""
    from edgeneuro.detector.app import detect

    model, edf, board, build = job
    return detect(Path(model), Path(edf), boards.load(board), Path(build), host_check=False, eval_host=False)


def _detectors(results: dict[str, dict[str, Any]], data: Path, out: Path, board: str) -> None:
    """Each family's whole detector (``detect``: samples pushed one by one on the board, checked
    against the host chain) over each held-out recording, into ``results[family]["detector"]``.
    The host chain's reference kernels take most of the time, so the runs go to one process per
    core (spawned: this process has TensorFlow's threads)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from edgeneuro.data.dataset import discover
    from edgeneuro.data.meta import Meta

    jobs = {}
    for f in results:
        model = out / f / ("model.nir" if f == "snn" else "int8/model.tflite")
        held_out = Meta.load(model).test_subjects
        for i in (i for i in discover(data) if i.subject in held_out):
            jobs[f, i.edf] = (str(model), str(i.edf), board, str(out / f / "detector" / i.edf.stem))
    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        done = dict(zip(jobs, pool.map(_detect_job, jobs.values()), strict=True))
    for f in results:
        results[f]["detector"] = _detector(NAMES[f], [r for (g, _), r in done.items() if g == f], boards.load(board))


def _detector(name: str, runs: list[dict[str, Any]], board: Board) -> dict[str, Any]:
    """A family's whole detector over the held-out recordings (``detect``'s reports): the device's
    numbers over all of them (the worst of each measure; every seizure's latency)."""
    import statistics

    d = [r["device"] for r in runs]
    delays = [s["alarm_delay_s"] for r in runs for s in r["latency"] if s["detected"]]
    onsets = [s["onset_latency_s"] for r in runs for s in r["latency"] if s["detected"]]
    seizures = sum(len(r["latency"]) for r in runs)
    summary = {
        "ram_detector_bytes": max(x["ram_detector_bytes"] for x in d), "flash_bytes": d[0]["flash_bytes"],
        "instructions_per_second_of_eeg": max(x["instructions_per_second_of_eeg"] for x in d),
        "duty_cycle": max(x["duty_cycle"] for x in d),
        "worst_instructions_per_sample": max(x["worst_instructions_per_sample"] for x in d),
        "worst_instructions_per_sample_without_window": max(x["worst_instructions_per_sample_without_window"]
                                                            for x in d),
        "alarm_delay_s": [min(delays), statistics.median(delays), max(delays)] if delays else None,
        "onset_latency_s": [min(onsets), statistics.median(onsets), max(onsets)] if onsets else None,
        "seizures_detected": len(delays), "seizures": seizures,
        "equal_host_chain": all(all(r["equal_host_chain"].values()) for r in runs),
    }  # fmt: skip
    late = "n/a" if not delays else f"{min(delays):+.1f}/{statistics.median(delays):+.1f}/{max(delays):+.1f} s"
    print(f"  {name}, the whole detector on {board.name} ({len(runs)} recordings): {len(delays)}/{seizures} "
          f"seizures, alarm {late} after the onset (min/median/max); events == host chain: "
          f"{summary['equal_host_chain']}")  # fmt: skip
    return {"device": summary, "recordings": runs}


def _detector_table(results: dict[str, dict[str, Any]], board: Board) -> str:
    """The whole detector per family, measured like a device, beside the window runs' numbers."""
    head = ("", "RAM B", "flash B", "instr/s of EEG", "duty", "worst instr/sample", "no window", "alarm delay s",
            "window run: RAM B", "flash B", "instr/window", "events == host")  # fmt: skip
    rows = [head]
    for family, res in results.items():
        if "detector" not in res:
            continue
        d = res["detector"]["device"]
        run = [s for s in res["steps"] if "flash_bytes" in s][0]
        late = "-" if d["alarm_delay_s"] is None else "/".join(f"{v:+.1f}" for v in d["alarm_delay_s"])
        rows.append((NAMES[family], f"{d['ram_detector_bytes']:,}", f"{d['flash_bytes']:,}",
                     f"{d['instructions_per_second_of_eeg']:,}", f"{100 * d['duty_cycle']:.2f} %",
                     f"{d['worst_instructions_per_sample']:,}",
                     f"{d['worst_instructions_per_sample_without_window']:,}", late, f"{run['ram_bytes']:,}",
                     f"{run['flash_bytes']:,}", f"{run['instructions']:,}",
                     "yes" if d["equal_host_chain"] else "NO"))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(n) if i == 0 else c.rjust(n) for i, (c, n) in enumerate(zip(r, widths, strict=True)))
             for r in rows]  # fmt: skip
    note = (f"  (the whole detector: `edgeneuro detect` over the held-out recordings, samples pushed one by one; RAM: "
            f"its state + the model's arena and state + the stack used; alarm delay: min/median/max over the "
            f"seizures; the window run: `run` of the int8 model, one window per inference; at "
            f"{board.clock_hz / 1e6:g} MHz)")  # fmt: skip
    return "\n".join("    " + line for line in lines) + "\n" + note


def _table(results: dict[str, dict[str, Any]], board: Board) -> str:
    """One row per family and step: its weights as stored (float32 dense for the Keras steps,
    pruned or not; int8: the compiled plan's constants, sparse where the compiler chose it), and
    for the steps run on the board their flash, RAM and instructions per window; the seizure
    metrics from Keras on the host (float, pruned) or from the board's outputs."""
    head = ("", "step", "zeros", "weights B", "flash B", "RAM B", "instructions", "ms", "event sens", "precision",
            "FP/h", "window sens", "spec", "measured on")  # fmt: skip
    rows = [head]
    for family, res in results.items():
        for i, s in enumerate(res["steps"]):
            name = NAMES[family] if i == 0 else ""
            zeros = "-" if "sparsity" not in s else f"{s['sparsity']:.0%}"
            if "metrics" not in s:  # the compiler chose no sparse kernel: nothing more to run
                rows.append((name, s["step"], zeros, f"{s['weights_bytes']:,}", *("",) * 9, f"({s['note']})"))
                continue
            e, w = s["metrics"]["event"], s["metrics"]["window"]
            chip = ("-",) * 4  # flash, RAM, instructions, ms: for the steps run on the board
            if "flash_bytes" in s:
                ms = s["instructions"] / board.clock_hz * 1e3
                chip = (f"{s['flash_bytes']:,}", f"{s['ram_bytes']:,}", f"{s['instructions']:,}", f"{ms:.1f}")
            rows.append((name, s["step"], zeros, f"{s['weights_bytes']:,}", *chip, f"{e['sensitivity']:.3f}",
                         f"{e['precision']:.3f}", f"{e['fp_per_hour']:.2f}", f"{w['sensitivity']:.3f}",
                         f"{w['specificity']:.3f}", s["on"]))  # fmt: skip
    full = [r for r in rows if not r[-1].startswith("(")]  # a note row fills only the first 4 columns
    widths = [max(len(r[i]) for r in (full if i > 3 else rows)) for i in range(len(head))]
    lines = []
    for r in rows:
        cells = [c.ljust(n) if i < 2 or i == len(head) - 1 else c.rjust(n)
                 for i, (c, n) in enumerate(zip(r, widths, strict=True))]  # fmt: skip
        lines.append("  ".join(cells[:4] + [r[-1]] if r[-1].startswith("(") else cells).rstrip())
    note = (f"  (float, pruned: Keras on the host, float32 weights stored dense, zeros included; int8: the compiled "
            f"weights in flash and the metrics from the board's outputs on chb03; instructions per window counted "
            f"on QEMU, ms at {board.clock_hz / 1e6:g} MHz assuming one instruction per cycle)")  # fmt: skip
    return "\n".join("    " + line for line in lines) + "\n" + note


def _eeg(results: dict[str, dict[str, Any]]) -> dict[str, dict]:
    """A decimated strip of each recording the board's steps were scored on, once for all of them."""
    from edgeneuro.data.dataset import eeg_excerpt, item_of

    paths = {r["recording"] for _, s in _board_steps(results) for r in s["metrics"]["recordings"]}
    return {p: eeg_excerpt(item_of(Path(p))) for p in sorted(paths)}


def _board_steps(results: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(family, step) for every step that ran on the board."""
    return [(f, s) for f, r in results.items() for s in r["steps"] if "outputs_compared" in s]


def main(out: Path, board_name: str = "mps2-an386", families: tuple[str, ...] = ("dnn", "cnn", "lstm", "snn")) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter
    from edgeneuro.data.synthetic import NOTICE, write_dataset
    from edgeneuro.report import write_html

    board = boards.load(board_name)
    out.mkdir(parents=True, exist_ok=True)
    print(f"edgeneuro demo: {NOTICE}")
    data = out / "data"
    # the stages: the data, then per family its training, compression and two board runs (snn: one run), then
    # the whole detectors
    with progress.bar("demo", 2 + sum(2 if f == "snn" else 4 for f in families), "stages") as stages:
        stages.update(note="writing the synthetic EEG")
        write_dataset(data, subjects=3, recordings=2, seconds=600, seed=7)
        stages.update(1)
        print(f"  data: 3 subjects x 2 recordings x 10 min, 4 channels at 256 Hz -> {data}/")
        results = {f: _snn_family(data, out / f, board, stages) if f == "snn" else
                   _family(f, data, out / f, board, stages) for f in families}  # fmt: skip
        stages.update(note=f"the whole detectors on {board.name}")
        _detectors(results, data, out, board_name)
        stages.update(1)
    print(f"  seizure detection on {board.name} ({board.core}, QEMU):")
    print(_table(results, board))
    print(f"  the whole detector on {board.name} (edgeneuro detect):")
    print(_detector_table(results, board))
    summary = {"data": NOTICE, "board": board.name, **provenance(None), "families": results, "eeg": _eeg(results)}
    (out / "report.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    write_html(json.loads((out / "report.json").read_text()), out / "report.html")
    print(f"  report: {out / 'report.json'}, {out / 'report.html'}")
    bad = [f"{f} {s['step']}" for f, s in _board_steps(results)
           if s.get("outputs_equal_tflm", s.get("outputs_equal_reference")) != s["outputs_compared"]
           or not s["metrics_equal_host"]] + [f"{f} detector" for f, r in results.items()
                                               if not r["detector"]["device"]["equal_host_chain"]]  # fmt: skip
    if bad:
        print(f"edgeneuro demo: FAILED: the board's outputs or metrics differ from TFLM's and the host's for {bad}")
        return 1
    return 0
