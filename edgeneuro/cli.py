"""The ``edgeneuro`` command: one verb per stage. Thin: parse, call, print."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from edgeneuro import __version__
from edgeneuro.errors import EdgeNeuroError, InputError
from edgeneuro.files import write_atomic


def _save_outputs(path: Path, suffix: str, outputs: dict) -> None:
    """One output → .npy; several → .npz keyed by output name."""
    import numpy as np

    with open(path, "wb") as f:
        if suffix == ".npz":
            np.savez(f, **outputs)
        elif len(outputs) == 1:
            np.save(f, next(iter(outputs.values())))
        else:
            raise InputError(f"the model has {len(outputs)} outputs ({', '.join(outputs)}); give --output FILE.npz")


def _write_html(a: argparse.Namespace, report: dict) -> None:
    """``--html REPORT.html``: the command's report as one self-contained page (edgeneuro/report/)."""
    if getattr(a, "html", None):
        from edgeneuro.report import write_html

        write_html(report, Path(a.html))


def _shapes(a: argparse.Namespace) -> dict[str, tuple[int, ...]]:
    from edgeneuro.frontends.onnx import parse_shapes

    return parse_shapes(getattr(a, "shape", None))


def _model(a: argparse.Namespace, work: Path) -> Path:
    """The model to compile: the given file, or with --calibrate its int8 QDQ quantization
    (onnxruntime's quantize_static on the calibration samples), written into ``work``."""
    model = Path(a.model)
    if not getattr(a, "calibrate", None) or model.suffix.lower() == ".nir":  # NIR: calibration inputs, see _options
        return model
    if getattr(a, "precision", None) == "float":
        from edgeneuro.errors import InputError

        raise InputError(f"{model}: --calibrate quantizes to int8 and --precision float keeps float32; give one")
    import numpy as np

    from edgeneuro.compress.quantize import quantize_onnx
    from edgeneuro.errors import InputError

    if model.suffix.lower() != ".onnx":
        raise InputError(f"{model}: --calibrate quantizes float ONNX models; quantize TFLite models when converting")
    if not model.is_file():
        raise InputError(f"{model}: no such file")
    try:
        with open(a.calibrate, "rb") as f:
            data = np.load(f, allow_pickle=False)
            if isinstance(data, np.lib.npyio.NpzFile):  # one array per input, keyed by name or index
                data = {k: data[k] for k in data.files}
    except Exception as e:
        raise InputError(f"{a.calibrate}: cannot read the calibration samples ({e})") from e
    from edgeneuro.frontends.onnx import prepare_float

    prepared = prepare_float(model, work / f"{model.stem}.float.onnx")  # opset >= 13, BatchNormalization folded
    return quantize_onnx(prepared, data, work / f"{model.stem}.int8.onnx")


def _options(a: argparse.Namespace, board, model: Path | None = None):
    """The compile options (edgeneuro/options.py) from the command line, once: --shape, --kernels
    with the board's core features, and a NIR graph's --dt, --calibrate, --encode, --synapse-kernels
    and --synapse-weights; an snn-family model brings its own time step and calibration."""
    from edgeneuro.options import from_cli

    model = Path(model or a.model)
    nir = {"dt": getattr(a, "dt", None), "encode": getattr(a, "encode", None),
           "synapse_kernels": getattr(a, "synapse_kernels", None),
           "synapse_weights": getattr(a, "synapse_weights", None)}  # fmt: skip
    if Path(a.model).suffix.lower() == ".nir":  # for other models --calibrate is the ONNX quantizer's
        nir["calibrate"] = getattr(a, "calibrate", None)
    return from_cli(model, None, _shapes(a), board=board, kernels=getattr(a, "kernels", None),
                    sparse=getattr(a, "sparse", None), precision=getattr(a, "precision", None), **nir)  # fmt: skip


def _prepare(a: argparse.Namespace, work: Path, board):
    """The model of the command line through the compile pipeline (compiler.load), once."""
    from edgeneuro import compiler

    model = _model(a, work)
    prepared = compiler.load(model, _options(a, board, model))
    if getattr(a, "debug", False):
        print(render_passes(prepared), file=sys.stderr)
    return prepared


def render_passes(prepared) -> str:
    lines = [f"passes of {prepared.graph.source} (edgeneuro/passes/, in order):"]
    for p in prepared.passes:
        done = f"{p.ops_before} -> {p.ops_after} ops" if p.ran else "skipped: the graph does not need it"
        lines.append(f"  {p.name:<24} {done:<38} {p.doc}")
    return "\n".join(lines)


def cmd_compile(a: argparse.Namespace) -> int:
    import shutil

    from edgeneuro import boards
    from edgeneuro.compiler import compile_model

    board = boards.load(a.board)
    with tempfile.TemporaryDirectory(prefix="edgeneuro-") as d:
        prepared = _prepare(a, Path(d), board)
        det = _detector(a, prepared) if a.app == "detector" else None  # its meta.json checked before writing
        c = compile_model(prepared, board, Path(a.out), host_check=a.host_check)
        if prepared.model != Path(a.model):
            shutil.copy(prepared.model, c.out_dir / prepared.model.name)  # keep the quantized model beside its C
    if det is not None:
        from edgeneuro.data.meta import Meta
        from edgeneuro.detector.app import render

        render(det, prepared, c.out_dir, Meta.load(Path(a.model)).input_scale_uv)
        print(f"  detector: {c.out_dir}/detector.c, detector.h ({len(det.channels)} channels at {det.adc_fs:g} "
              f"Hz, window {det.size} samples every {det.step} at {det.fs:g} Hz, {len(det.sos_q)} biquad "
              "sections)")  # fmt: skip
    p = c.plan
    print(
        f"{a.model} -> {c.out_dir}/ for {c.board.name}: {len(c.kernels)} layers, {p.total_macs:,} MACs, "
        f"weights {p.weights_bytes:,} B, arena {p.arena_bytes:,} B (lower bound {p.lower_bound_bytes:,} B)"
    )
    if c.host_check is not None:
        h = c.host_check
        same = "bit-exact with" if h.bit_exact else f"within {h.max_abs_diff:.3g} of (float arithmetic)"
        print(f"  host check: built with -Werror, ASan and UBSan in two memory layouts, ran clean on {h.samples} "
              f"random inputs, {same} the numpy reference")  # fmt: skip
    return 0


def cmd_run(a: argparse.Namespace) -> int:

    from edgeneuro import boards
    from edgeneuro.runner import run_on_board

    board = boards.load(a.board)
    if a.sim == "renode":
        return _run_on_renode(a, board)
    board.require_qemu()  # before any work: a board without a QEMU machine cannot run here
    with tempfile.TemporaryDirectory(prefix="edgeneuro-build-") as d:
        build_dir = Path(a.build_dir) if a.build_dir else Path(d) / "build"
        res = run_on_board(_prepare(a, Path(d), board), board, Path(a.input), build_dir, profile=a.profile,
                           cycles=a.cycles, feedback=a.feedback)  # fmt: skip
        if not a.build_dir:
            res.report.pop("elf")
    if a.output:
        write_atomic(Path(a.output), lambda p: _save_outputs(p, Path(a.output).suffix, res.outputs))
    if a.report:
        write_atomic(Path(a.report), lambda p: p.write_text(json.dumps(res.report, indent=2) + "\n"))
    _write_html(a, res.report)
    r = res.report
    cycles = f"~{r['est_cycles']:,} cycles ({r['cycle_model']['table']} table), " if "est_cycles" in r else ""
    print(
        f"{r['board']}: {r['inferences']} inference(s), {r['instructions']:,} instructions each "
        f"({cycles}~{r['est_latency_ms']:.3f} ms at {board.clock_hz / 1e6:g} MHz)\n"
        f"  flash {r['flash_bytes']:,} B (weights {r['flash_weights_bytes']:,}, code and the rest "
        f"{r['flash_code_bytes']:,}); RAM {r['ram_bytes']:,} B (static {r['static_ram_bytes']:,} with the arena "
        f"{r['arena_bytes']:,}; stack used {r['stack_used_bytes']:,} of {r['stack_reserved_bytes']:,} reserved)"
    )
    if "time_steps" in r:
        print(f"  spiking network: {r['samples']} sample(s) x {r['time_steps']} time steps; "
              f"{r['instructions_per_step']:,} instructions per step (mean {r['instructions_per_step_mean']:,.0f}), "
              f"{r['instructions_per_sample']:,} per sample; state {r['state_bytes']:,} B")  # fmt: skip
    if a.profile:
        print(f"  {'#':>3}  {'op':<30} {'kernel':<26} {'instructions':>13}  share")
        for layer in r["profile"]:
            print(f"  {layer['step']:>3}  {layer['op']:<30} {layer['kernel']:<26} {layer['instructions']:>13,}  "
                  f"{100 * layer['share']:5.1f} %")  # fmt: skip
    return 0


def _run_on_renode(a: argparse.Namespace, board) -> int:
    """`run --sim renode`: Renode has no semihosting files, so the inputs go through the stream
    firmware and its serial protocol (the same code as `edgeneuro stream --sim renode`)."""
    from edgeneuro.stream.command import render, stream

    if a.profile:
        raise InputError("--profile runs on QEMU only")
    if a.cycles:
        raise InputError("--cycles runs on QEMU only")
    nir = Path(a.model).suffix.lower() == ".nir"  # its options go through, as `edgeneuro stream` takes them
    with tempfile.TemporaryDirectory(prefix="edgeneuro-build-") as d:
        res = stream(_model(a, Path(d)), board, inputs=Path(a.input), build_dir=Path(a.build_dir) if a.build_dir
                     else None, shapes=_shapes(a), sim="renode", dt=a.dt, calibrate=a.calibrate if nir else None,
                     encode=a.encode, synapse_kernels=a.synapse_kernels, synapse_weights=a.synapse_weights,
                     kernels=a.kernels, sparse=a.sparse, feedback=a.feedback, precision=a.precision)  # fmt: skip
    if a.output:
        write_atomic(Path(a.output), lambda p: _save_outputs(p, Path(a.output).suffix, res.outputs))
    if a.report:
        write_atomic(Path(a.report), lambda p: p.write_text(json.dumps(res.report, indent=2) + "\n"))
    _write_html(a, res.report)
    print(render(res.report, board))
    return 0 if res.ok else 1


def cmd_inspect(a: argparse.Namespace) -> int:
    from edgeneuro import boards
    from edgeneuro.inspect import inspect_model, render_text

    board = boards.load(a.board)
    with tempfile.TemporaryDirectory(prefix="edgeneuro-") as d:
        prepared = _prepare(a, Path(d), board)
        doc = inspect_model(prepared, board)
    if a.passes:
        doc["passes"] = [p.to_json() for p in prepared.passes]
    _write_html(a, doc)
    print(json.dumps(doc, indent=2) if a.json else render_text(doc))
    if a.passes and not a.json:
        print(render_passes(prepared))
    return 0 if doc["fits"] else 3


def _print_scores(r: dict) -> None:
    def pct(v):
        return "n/a" if v is None else f"{100 * v:.1f} %"

    e, w = r["event"], r["window"]
    fp_h = "n/a" if e["fp_per_hour"] is None else f"{e['fp_per_hour']:.3f}"
    print(f"event-based  sensitivity {pct(e['sensitivity'])}, precision {pct(e['precision'])}, F1 {pct(e['f1'])}, "
          f"{fp_h} false positives per hour ({e['true_positives']}/{e['reference_events']} seizures, "
          f"{e['hours']:.2f} h)")  # fmt: skip
    print(f"window-based sensitivity {pct(w['sensitivity'])}, specificity {pct(w['specificity'])}, "
          f"accuracy {pct(w['accuracy'])} ({w['windows']} windows)")  # fmt: skip


def cmd_train(a: argparse.Namespace) -> int:
    from contextlib import redirect_stdout

    from edgeneuro import progress
    from edgeneuro.train import leave_one_subject_out, train

    # Keras prints its epochs on stdout; they are progress, so they go to stderr, under its policy
    verbose = 2 if progress.shown() else 0
    if a.loso:
        with redirect_stdout(sys.stderr):
            r = leave_one_subject_out(Path(a.data), a.family, Path(a.out), window=a.window, stride=a.stride,
                                      epochs=a.epochs, fs=a.fs, labels=a.labels, seed=a.seed, verbose=verbose,
                                      channels=tuple(a.channels.split(",")) if a.channels else None)  # fmt: skip
        print(f"{a.family}: leave-one-subject-out over {', '.join(r['folds'])} -> {a.out}/<subject>/")
        _print_scores(r)
        return 0
    with redirect_stdout(sys.stderr):
        r = train(Path(a.data), a.family, Path(a.out), a.window, a.stride, a.epochs, tuple(a.test_subject or ()),
                  a.fs, tuple(a.channels.split(",")) if a.channels else None, a.labels, a.seed, verbose)  # fmt: skip
    print(f"{a.family} model -> {r['model']} (tested on {', '.join(r['test_subjects'])})")
    _print_scores(r)
    return 0


def cmd_compress(a: argparse.Namespace) -> int:
    from edgeneuro.compress.quiet import native_stderr_quiet

    with native_stderr_quiet(not a.debug):  # TensorFlow's C++ log lines; --debug shows them
        from edgeneuro.compress.compress import compress

        r = compress(Path(a.model), Path(a.out), a.prune, a.quantize, Path(a.calibrate) if a.calibrate else None,
                     Path(a.data) if a.data else None, a.epochs, a.onnx, a.prune_channels, a.qat,
                     tuple(Path(f) for f in a.fit) if a.fit else None, a.float_io, a.holdout,
                     a.prune_pattern)  # fmt: skip
    _write_html(a, r)
    if a.json:
        print(json.dumps(r, indent=2))
    elif "format" in r:
        _print_compress_any(r)
    else:
        if r.get("pruning"):
            p = r["pruning"]
            print(f"pruning to {p['target']:.0%}, {p['pattern']}: {p['method']}")
        width = max(16, *(len(s["step"]) for s in r["steps"]))
        print(f"{'step':{width}} {'weights B':>9} {'sparsity':>9} {'window acc':>11} {'event sens':>11} {'FP/h':>7}")
        for s in r["steps"]:
            e, w = s["event"], s["window"]
            sens = "n/a" if e["sensitivity"] is None else f"{100 * e['sensitivity']:.1f} %"
            fph = "n/a" if e["fp_per_hour"] is None else f"{e['fp_per_hour']:.2f}"
            print(f"{s['step']:{width}} {s['weights_bytes']:>9,} {100 * s['sparsity']:>8.1f}% "
                  f"{100 * w['accuracy']:>10.2f}% {sens:>11} {fph:>7}")  # fmt: skip
        _print_int8_pattern(r.get("int8_pattern"), "")
        print(f"-> {a.out} (window accuracy change {r['window_accuracy_change_pp']:+.2f} pp)")
    return 0


def _print_compress_any(r: dict) -> None:
    """The report of `compress` for a model edgeneuro did not train (edgeneuro/compress/anymodel.py)."""

    def dims(shape) -> str:
        return "x".join("?" if d is None else str(d) for d in shape)

    note = f" ({r['io_note']})" if r.get("io_note") else ""
    shape = (f"input {dims(r['input_shape'])}" if "inputs" not in r else
             "inputs " + ", ".join(f"{i['name']} {dims(i['shape'])}" for i in r["inputs"]))  # fmt: skip
    print(f"{r['model']} ({r['format']}, {shape}) -> {r['output']}: {r['io']} input and output{note}")
    print(f"  calibration: {r['calibration']}")
    if r["pruning"]:
        p = r["pruning"]
        shape = "" if p.get("pattern", "unstructured") == "unstructured" else f", {p['pattern']} ({p['meaning']})"
        print(f"  pruning to {p['target']:.0%}{shape}: {p['method']}")
    width = max(14, *(len(s["step"]) for s in r["steps"]))
    print(f"  {'step':{width}} {'weights B':>10} {'sparsity':>9} {'accuracy':>9}  runtime")
    for s in r["steps"]:
        sp = "n/a" if s["sparsity"] is None else f"{100 * s['sparsity']:.1f} %"
        acc = "n/a" if s["accuracy"] is None else f"{100 * s['accuracy']:.1f} %"
        print(f"  {s['step']:{width}} {s['weights_bytes']:>10,} {sp:>9} {acc:>9}  {s['runtime']}")
    if r["accuracy_on"]:
        change = r["accuracy_change_pp"]
        print(f"  accuracy on {r['accuracy_on']}" + ("" if change is None else f"; change {change:+.2f} pp"))
    else:
        print(f"  accuracy: {r['accuracy_note']}")
    _print_int8_pattern(r.get("int8_pattern"), "  ")
    e = r["edgeneuro"]
    verdict = "edgeneuro compiles it" if e["compiles"] else "edgeneuro cannot compile it yet"
    print(f"  {verdict}: {e['detail']}")
    print(f"-> {r['output']} (report: {Path(r['output']).parent / 'compress_report.json'})")


def _print_int8_pattern(check: dict | None, indent: str) -> None:
    """The pruning pattern read back from the int8 weights of each FULLY_CONNECTED and CONV_2D."""
    if not check:
        return
    if check["holds"] is None:
        print(f"{indent}{check['pattern']} in the int8 weights: {check.get('note', 'not checked')}")
        return
    bad = sum(not layer["holds"] for layer in check["layers"])
    verdict = "holds in every layer" if not bad else f"BROKEN in {bad} of {len(check['layers'])} layers"
    print(f"{indent}{check['pattern']} in the int8 weights: {verdict}")
    width = max(len(layer["layer"]) for layer in check["layers"])
    print(f"{indent}  {'layer':{width}}  {'[out, in]':>9}  {'sparsity':>8}")
    for layer in check["layers"]:
        shape = "x".join(map(str, layer["shape_oi"]))
        print(f"{indent}  {layer['layer']:{width}}  {shape:>9}  {100 * layer['sparsity']:6.1f} %  "
              f"{'holds' if layer['holds'] else 'does not hold'}")  # fmt: skip


def cmd_eval(a: argparse.Namespace) -> int:
    from edgeneuro.evaluate import evaluate_model

    if a.on_board:
        from edgeneuro.scale.board_eval import evaluate_on_board

        r = evaluate_on_board(Path(a.model), Path(a.data), a.on_board, tuple(a.subject or ()), workers=a.workers,
                              address=a.address, sparse=a.sparse or "auto", timeout=a.timeout)  # fmt: skip
    elif a.workers or a.address:
        raise InputError("--workers and --address shard the recordings over simulated boards: give --on-board BOARD")
    else:
        r = evaluate_model(Path(a.model), Path(a.data), tuple(a.subject or ()))
    _write_html(a, r)
    if a.json:
        print(json.dumps(r, indent=2))
    else:
        print(f"{a.model} on {', '.join(r['subjects'])}" + (f" on {r['runtime']}" if a.on_board else ""))
        _print_scores(r)
        if a.on_board:
            b, t = r["on_board"], r["timing"]
            print(f"board outputs == {b['reference']} {b['outputs_equal_reference']}/{b['outputs_compared']}; "
                  f"{b['instructions']:,} instructions per window at most, flash {b['flash_bytes']:,} B, "
                  f"RAM {b['ram_bytes']:,} B")  # fmt: skip
            print(f"{b['windows']} windows in {t['seconds']:.1f} s ({t['windows_per_second']:.1f} windows/s, "
                  f"{t['workers']} worker(s), {t['backend']})")  # fmt: skip
    return 0


def cmd_sweep(a: argparse.Namespace) -> int:
    from edgeneuro.scale.sweep import sweep, table

    out = Path(a.out) if a.out else Path(a.config).with_suffix("")
    r = sweep(Path(a.config), out, workers=a.workers, address=a.address, backend=a.backend,
              retry_failed=a.retry_failed, max_trials=a.max_trials)  # fmt: skip
    _write_html(a, r)
    print(json.dumps(r, indent=2) if a.json else table(r))
    return 1 if r["counts"]["failed"] else 0


def cmd_score(a: argparse.Namespace) -> int:
    from edgeneuro.data.annotations import read_events_tsv
    from edgeneuro.metrics.events import score

    ref = read_events_tsv(a.ref, a.duration)
    hyp = read_events_tsv(a.hyp, a.duration if a.duration is not None else ref.duration)
    if abs(hyp.duration - ref.duration) > 1.0:
        raise InputError(f"{a.hyp}: recordingDuration {hyp.duration:g} s, but {a.ref} says {ref.duration:g} s")
    r = score(ref, hyp)
    if a.json:
        print(json.dumps(r, indent=2))
        return 0

    def pct(v):
        return "n/a" if v is None else f"{100 * v:.1f} %"

    print(f"reference seizures  {r['reference_events']} in {r['hours']:.2f} h")
    print(f"sensitivity         {pct(r['sensitivity'])} ({r['true_positives']} detected)")
    print(f"precision           {pct(r['precision'])}")
    print(f"F1                  {pct(r['f1'])}")
    print(
        f"false positives     {r['false_positives']} ({r['fp_per_hour']:.3f} per hour, {r['fp_per_day']:.2f} per 24 h)"
    )
    lat = r["mean_latency_s"]
    print(f"detection latency   {'n/a' if lat is None else f'{lat:.1f} s mean'}")
    return 0


def cmd_synth(a: argparse.Namespace) -> int:
    from edgeneuro.data.synthetic import CHANNELS, NOTICE, write_dataset

    paths = write_dataset(Path(a.out), a.subjects, a.recordings, a.minutes * 60, a.fs, CHANNELS[: a.channels], a.seed)
    print(f"{NOTICE}: {len(paths)} EDF+ recordings with SzCORE and CHB-MIT annotations under {a.out}/")
    return 0


def _size(n: int) -> str:
    return f"{n // (1 << 20)} MiB" if n >= 1 << 20 and n % (1 << 20) == 0 else f"{n // 1024} KiB"


def _simulators_installed() -> dict[str, bool]:
    """Whether each simulator's program is there: QEMU on PATH, Renode also in the venv (scripts/setup.sh)."""
    from edgeneuro.targets import renode

    return {"qemu": shutil.which("qemu-system-arm") is not None, "renode": renode.find() is not None}


def cmd_boards(a: argparse.Namespace) -> int:
    from edgeneuro import boards

    listed = [boards.load(name) for name in boards.available()]
    fits = _fits_each(a, listed) if a.model else {}
    installed = _simulators_installed()
    if a.json:
        print(json.dumps([b.to_json() | {"simulators_installed": {s: installed[s] for s in _sims(b)}}
                          | ({"model": fits[b.name]} if fits else {}) for b in listed], indent=2))  # fmt: skip
        return 0
    rows = [("board", "core", "fpu", "dsp", "mve", "flash", "ram", "clock", "qemu", "renode", "installed")]
    if fits:
        rows[0] += (Path(a.model).name,)
    for b in listed:
        rows.append(
            (
                b.name,
                b.core,
                b.fpu or "none",
                "yes" if b.dsp else "no",
                "yes" if b.mve else "no",
                _size(b.flash_bytes),
                _size(b.ram_bytes),
                f"{b.clock_hz / 1e6:g} MHz",
                b.qemu["machine"] if b.qemu else "none",
                b.renode["platform"] if b.renode else "none",
                ", ".join(f"{s} {'yes' if installed[s] else 'NO'}" for s in _sims(b)),
            )
            + ((fits[b.name]["summary"],) if fits else ())
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def _sims(board) -> list[str]:
    """The simulators that model ``board``, the one `run` uses by default first."""
    return [s for s, there in (("qemu", board.qemu), ("renode", board.renode)) if there]


def _fits_each(a: argparse.Namespace, listed) -> dict[str, dict]:
    """`boards --model`: the model prepared for each board (its kernels, its memory plan) and
    whether it fits: the weights against the flash, the arena, state and stack against the RAM."""
    from edgeneuro.compiler import check_fits
    from edgeneuro.errors import BoardError

    out = {}
    with tempfile.TemporaryDirectory(prefix="edgeneuro-") as d:
        for b in listed:
            prepared = _prepare(a, Path(d), b)
            plan = prepared.plan
            ram = plan.arena_bytes + plan.state_bytes + b.stack_bytes
            try:
                check_fits(prepared, b)
                why = None
            except BoardError as e:
                why = str(e).split(": ", 1)[-1]
            need = f"{plan.weights_bytes:,} B weights, {ram:,} B RAM"
            out[b.name] = {
                "fits": why is None,
                "weights_bytes": plan.weights_bytes,
                "ram_bytes_needed": ram,
                "why": why,
                "summary": f"fits ({need})" if why is None else f"too big ({need})",
            }  # fmt: skip
    return out


def cmd_stream(a: argparse.Namespace) -> int:
    from edgeneuro import boards
    from edgeneuro.stream.command import render, stream

    board = boards.load(a.board)
    if a.continuous or a.realtime:
        return _stream_continuous(a, board)
    if a.frame_samples or a.adc_fs or a.adc_lsb_uv or a.adc_bits != 16 or a.bandpass or a.notch is not None:
        raise InputError("--frame-samples and the ADC options (--adc-fs, --adc-lsb-uv, --adc-bits, --bandpass, "
                         "--notch) are for --continuous; add --continuous")  # fmt: skip
    res = stream(Path(a.model), board, edf=Path(a.edf) if a.edf else None, inputs=Path(a.input) if a.input else None,
                 port=a.port, build_dir=Path(a.build) if a.build else None, baud=a.baud, timeout=a.timeout,
                 retries=a.retries, shapes=_shapes(a), sim=a.sim, dt=a.dt, calibrate=a.calibrate, encode=a.encode,
                 synapse_kernels=a.synapse_kernels, synapse_weights=a.synapse_weights, kernels=a.kernels,
                 sparse=a.sparse, feedback=a.feedback, precision=a.precision)  # fmt: skip
    if a.output:
        write_atomic(Path(a.output), lambda p: _save_outputs(p, Path(a.output).suffix, res.outputs))
    _write_html(a, res.report)
    print(json.dumps(res.report, indent=2) if a.json else render(res.report, board))
    if not res.ok:
        print("edgeneuro: error: what the board computed differs from the host's reference", file=sys.stderr)
        return 1
    return 0


def _stream_continuous(a: argparse.Namespace, board) -> int:
    """`stream --continuous`: the whole detector on the board, fed the recording's samples."""
    from edgeneuro.detector import parse_band
    from edgeneuro.stream.continuous import render, stream_continuous

    if not a.continuous:
        raise InputError("--realtime paces the samples of --continuous; add --continuous")
    if not a.edf or Path(a.model).is_dir():
        raise InputError("--continuous streams the samples of --edf RECORDING.edf to the detector of a model file "
                         "(meta.json beside it)")  # fmt: skip
    if a.output:
        raise InputError("--continuous has no outputs file (its report has the windows, events and alarms): drop "
                         "--output")  # fmt: skip
    r = stream_continuous(Path(a.model), Path(a.edf), board, sim=a.sim, port=a.port,
                          build_dir=Path(a.build) if a.build else None,
                          realtime=a.realtime, timeout=a.timeout, retries=a.retries, adc_fs=a.adc_fs,
                          lsb_uv=a.adc_lsb_uv, adc_bits=a.adc_bits, bandpass=parse_band(a.bandpass), notch=a.notch,
                          frame_samples=a.frame_samples)  # fmt: skip
    _write_html(a, r)
    print(json.dumps(r, indent=2) if a.json else render(r))
    bad = ", ".join(k for k, v in r["equal_host_chain"].items() if not v)
    if bad:
        print(f"edgeneuro: error: what the board's detector computed differs from the host chain: {bad}",
              file=sys.stderr)  # fmt: skip
    pin = r["alarm_pin"]
    if pin and not pin["equal_alarms"]:
        print(f"edgeneuro: error: the alarm pin {pin['pin']} changed {pin['changes']} under {r['simulator']}, not as "
              f"the alarms the board reported ({pin['reported']}): see the board's alarm in {board.source}",
              file=sys.stderr)  # fmt: skip
    return 0 if r["ok"] else 1


def cmd_report(a: argparse.Namespace) -> int:
    from edgeneuro.report import kind_of, read_report, write_html

    data = read_report(Path(a.result))
    write_html(data, Path(a.out), source=a.result)
    print(f"{a.result} ({kind_of(data)} report) -> {a.out}")
    return 0


def _detector(a: argparse.Namespace, prepared):
    """The detector of `compile --app detector` from the model's meta.json and the ADC options."""
    from edgeneuro.detector import DEFAULT_LSB_UV, design, parse_band

    return design(Path(a.model), prepared.graph, a.adc_fs, a.adc_lsb_uv or DEFAULT_LSB_UV, a.adc_bits,
                  parse_band(a.bandpass), a.notch)  # fmt: skip


def cmd_detect(a: argparse.Namespace) -> int:
    from edgeneuro import boards
    from edgeneuro.detector import parse_band
    from edgeneuro.detector.app import detect, render_text

    r = detect(Path(a.model), Path(a.edf), boards.load(a.board), Path(a.build) if a.build else None, a.adc_fs,
               a.adc_lsb_uv, a.adc_bits, parse_band(a.bandpass), a.notch)  # fmt: skip
    _write_html(a, r)
    print(json.dumps(r, indent=2) if a.json else render_text(r))
    if not all(r["equal_host_chain"].values()):
        print("edgeneuro: error: what the board's detector computed differs from the host chain", file=sys.stderr)
        return 1
    return 0


def cmd_demo(a: argparse.Namespace) -> int:
    from edgeneuro.demo import main

    return main(Path(a.out), a.board)


def cmd_sim(a: argparse.Namespace) -> int:
    """An unprogrammed board on Renode: flash empty, GDB server and console UART up, until stopped."""
    import signal
    import time

    from edgeneuro import boards
    from edgeneuro.errors import ToolError
    from edgeneuro.targets import renode
    from edgeneuro.targets.renode import Renode

    board = boards.load(a.board)
    renode.script(board)  # a board Renode does not model is refused before Renode is looked for
    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.append(True))
    with Renode(board, None, gdb_port=a.gdb) as sim:
        host, port = sim.gdb
        info = {"board": board.name, "simulator": "renode", "platform": board.renode["platform"],
                "gdb": f"{host}:{port}", "port": sim.port}  # fmt: skip
        if a.json:
            print(json.dumps(info), flush=True)
        else:
            print(f"{board.name} on Renode ({info['platform']}): flash empty, core paused\n"
                  f"  GDB server    {info['gdb']}   edgeneuro flash BUILD --gdb {info['gdb']} --board {board.name}\n"
                  f"  console UART  {sim.port}   edgeneuro stream BUILD --port {sim.port} --board {board.name}\n"
                  "Ctrl-C stops it.", flush=True)  # fmt: skip
        while not stop:
            if why := sim.exited():
                raise ToolError(why)
            time.sleep(0.2)
    return 0


def cmd_flash(a: argparse.Namespace) -> int:
    from edgeneuro import boards, flash

    image = flash.load_image(Path(a.build), boards.load(a.board) if a.board else None)
    if a.probe:
        r = flash.flash_pyocd(image, run=not a.no_run, target=a.target, probe_id=a.probe_id)
    else:
        host, port = flash.parse_address(a.gdb)
        r = flash.flash_gdb(image, host, port, run=not a.no_run, timeout=a.timeout, reset=not a.no_reset)
    print(json.dumps(r, indent=2) if a.json else flash.render_text(r))
    return 0


QUIET_HELP = "no progress bars (they are drawn on stderr, and only when it is a terminal)"


HTML_HELP = "also write the report as one self-contained HTML page with charts (as `edgeneuro report`)"


def scale_args(sp: argparse.ArgumentParser, what: str) -> None:
    """--workers and --address: the work spread by edgeneuro.scale (Ray, or the process pool)."""
    sp.add_argument("--workers", type=int, metavar="N",
                    help=f"run the {what} on N worker processes: Ray tasks on a local Ray when Ray is installed "
                    "(pip install 'edgeneuro[scale]'), else the standard library's process pool (default: all "
                    "in this process)")  # fmt: skip
    sp.add_argument("--address", metavar="ray://HOST:PORT|auto",
                    help=f"run the {what} on a Ray cluster (auto: the one `ray start --head` started "
                    "here)")  # fmt: skip


def parser() -> argparse.ArgumentParser:
    from edgeneuro.ops import SUPPORTED

    p = argparse.ArgumentParser(prog="edgeneuro", description="Compile neural networks to C for Cortex-M and run them.")
    p.add_argument("--version", action="version", version=f"edgeneuro {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    p.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    sub = p.add_subparsers(dest="cmd", required=True)

    def model_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("model", help="a .tflite model (int8, 16x8 or float32), an .onnx model (QDQ int8; float with "
                        "--calibrate or --precision float) or a "
                        ".nir spiking network")  # fmt: skip
        sp.add_argument("--board", default="mps2-an386", help="target board (see `edgeneuro boards`) or a board .yaml")
        sp.add_argument(
            "--shape",
            action="append",
            metavar="NAME=D0xD1...",
            help="bind an input's dynamic dimensions (ONNX), e.g. input=1x23x256; repeatable",
        )
        sp.add_argument("--precision", choices=("int8", "float"),
                        help="an ONNX model's arithmetic: int8 (default) reads a QDQ int8 model; float computes a "
                        "float model (no QDQ) with the float32 kernels, without quantizing it")  # fmt: skip
        sp.add_argument("--calibrate", metavar="DATA.npy",
                        help="quantize a float ONNX model to int8 first, calibrating on these samples "
                        "[N, *input shape without batch] (DATA.npz for a model with several inputs: one array per "
                        "input, keyed by input name or index); for a .nir graph, input samples [N, T, features] "
                        "that set the input's int8 scale and give the spike rates of --synapse-kernels auto (with "
                        "--encode: raw int16 samples [N, T, channels], as --input, that only give the spike "
                        "rates)")  # fmt: skip
        sp.add_argument("--dt", type=float, metavar="SECONDS",
                        help="the time step of a spiking network (.nir, NIR graph; required there)")  # fmt: skip
        sp.add_argument("--encode", metavar="RULE:N[,channels=C][,scale=S]",
                        help="a .nir network takes raw int16 EEG samples [T, channels] and encodes them to spikes on "
                        "the chip: delta:THRESHOLD (up/down spikes, 2 per channel) or rate:FULL (sigma-delta), in "
                        "int16 counts; scale=S records the model units per count")  # fmt: skip
        sp.add_argument("--synapse-kernels", choices=("dense", "event", "auto"),
                        help="a .nir network's synapses on spike inputs: dense, event-driven (only the inputs that "
                        "spiked cost work), or auto (default): event-driven where the spike rate measured on "
                        "--calibrate samples is below the break-even rate, dense without them")  # fmt: skip
        sp.add_argument("--synapse-weights", choices=("auto", "int8", "int16"),
                        help="a .nir network's synapse weights: int8, int16, or auto (default): int16 on the "
                        "synapses into a recurrent population, whose rounding the recurrence amplifies, int8 "
                        "elsewhere")  # fmt: skip
        sp.add_argument("--kernels", choices=("auto", "reference"),
                        help="auto (default): each layer's fastest kernel for the board's core (DSP SIMD on "
                        "M4/M7/M33/M55), bit-exact with the portable C kernels; reference: the portable "
                        "kernels")  # fmt: skip
        sp.add_argument("--sparse", choices=("auto", "off"),
                        help="auto (default): a fully connected layer whose weights leave at most 75%% of its "
                        "4-unit blocks' input words non-zero (compress --prune-pattern block:4x4) stores "
                        "and multiplies only those, with --kernels auto on a DSP core; off: every layer "
                        "dense")  # fmt: skip
        sp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="print the compile passes and what each did; show tracebacks on errors")  # fmt: skip

    def detector_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--adc-fs", type=float, metavar="HZ", help="the ADC's sampling rate, an integer multiple "
                        "of the model's (default: the model's rate, meta.json)")  # fmt: skip
        sp.add_argument("--adc-lsb-uv", type=float, metavar="UV", help="microvolts per ADC count (default 0.1)")
        sp.add_argument("--adc-bits", type=int, default=16, help="the ADC's resolution: counts outside it are "
                        "clipped and counted (default 16)")  # fmt: skip
        sp.add_argument("--bandpass", metavar="LO,HI", help="a Butterworth band-pass (Hz) on the chip, in fixed point")
        sp.add_argument("--notch", type=float, metavar="HZ", help="a notch filter (Hz) on the chip, in fixed point")

    c = sub.add_parser(
        "compile",
        help="model -> C sources and a memory plan",
        description=f"Compile a model to C. Operators: {', '.join(SUPPORTED)}.",
    )
    model_args(c)
    c.add_argument("-o", "--out", required=True, help="output folder for the sources and plan.json")
    c.add_argument("--host-check", action=argparse.BooleanOptionalAction, default=None,
                   help="also build the C for this machine (gcc) with warnings as errors, AddressSanitizer and "
                   "UndefinedBehaviorSanitizer, in the arena layout and with each tensor in its own array, and run "
                   "it on random inputs against the numpy reference (default: on when EDGENEURO_HOST_CHECKS=1, "
                   "which also checks every model `run` and `stream` compile)")  # fmt: skip
    c.add_argument("--app", choices=("detector",), help="detector: also emit detector.c/.h, the whole seizure "
                   "detector on the chip (ADC samples in; filters, windows, the model, smoothing, events out), from "
                   "the meta.json beside the model")  # fmt: skip
    detector_args(c)
    c.set_defaults(fn=cmd_compile)

    r = sub.add_parser("run", help="compile, build, run on the board's simulator, measure")
    model_args(r)
    r.add_argument(
        "--input",
        required=True,
        help="IN.npy: [N, *model input shape without batch]; IN.npz for a "
        "model with several inputs: one such array per input, keyed by input name or index",
    )
    r.add_argument(
        "--feedback",
        action="append",
        default=[],
        metavar="OUT=IN",
        help="run the N samples as one sequence, each call's output OUT fed into the next call's input "
        "IN (names or indices; recurrent state the application carries); repeatable",
    )
    r.add_argument("--output", help="OUT.npy: the N outputs, stacked (OUT.npz for models with several outputs)")
    r.add_argument("--report", help="REPORT.json: instructions, flash, RAM, arena")
    r.add_argument("--build-dir", help="keep the sources and firmware here (default: a temporary folder)")
    r.add_argument("--html", metavar="REPORT.html", help=HTML_HELP)
    r.add_argument("--profile", action="store_true",
                   help="time every layer too (timer reads between layers, counted in the totals)")  # fmt: skip
    r.add_argument("--sim", choices=("qemu", "renode"), default="qemu",
                   help="the simulator (renode: through the stream firmware, see renode/README.md)")  # fmt: skip
    r.add_argument("--cycles", action=argparse.BooleanOptionalAction, default=None,
                   help="estimate cycles per inference with a QEMU plugin (instruction classes weighted by the "
                        "core's timing table; the latency then comes from them). Default: whenever the host gcc "
                        "can build the plugin; --cycles requires it, --no-cycles skips it")  # fmt: skip
    r.set_defaults(fn=cmd_run)

    i = sub.add_parser(
        "inspect",
        help="layers, MACs, weights, arena, and whether the model fits the board",
        description=f"Layers, MACs, weights, arena, and whether the model fits the board. Operators: "
        f"{', '.join(SUPPORTED)}.",
    )
    model_args(i)
    i.add_argument("--json", action="store_true", help="machine-readable output")
    i.add_argument("--passes", action="store_true", help="also list the compile passes and what each did")
    i.add_argument("--html", metavar="REPORT.html", help=HTML_HELP)
    i.set_defaults(fn=cmd_inspect)

    t = sub.add_parser("train", help="train a seizure detector (dnn, cnn, lstm, snn) on EDF recordings, by subject")
    t.add_argument("data", help="folder of EDF+ recordings with SzCORE *_events.tsv or CHB-MIT summaries")
    t.add_argument("--family", default="cnn", choices=("dnn", "cnn", "lstm", "snn"),
                   help="snn: LIF neurons trained with surrogate gradients, written as model.nir")  # fmt: skip
    t.add_argument("-o", "--out", required=True, help="folder for model.keras, meta.json, calibration.npy")
    t.add_argument("--window", type=float, default=4.0, help="window length, s")
    t.add_argument("--stride", type=float, default=2.0, help="window stride, s")
    t.add_argument("--epochs", type=int, default=20)
    t.add_argument("--test-subject", action="append", help="subject held out for testing (default: the last)")
    t.add_argument("--loso", action="store_true", help="leave-one-subject-out: one model per held-out subject")
    t.add_argument("--fs", type=float, help="resample to this rate, Hz (default: the recordings' rate)")
    t.add_argument("--channels", help="comma-separated montage (default: all channels of the first recording)")
    t.add_argument("--labels", default="binary", choices=("binary", "ictal"), help="ictal: 3 classes with pre-ictal")
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(fn=cmd_train)

    cp = sub.add_parser("compress", help="prune and quantize a model to int8 (TFLite or QDQ ONNX), measuring each step")
    cp.add_argument("model", help="a Keras model (.keras, .h5), a SavedModel folder or a float ONNX model; a "
                    "model.keras from `edgeneuro train` (meta.json beside it) is scored on its EEG")  # fmt: skip
    cp.add_argument("-o", "--out", required=True, help="the .tflite to write (.onnx for an ONNX model)")
    cp.add_argument(
        "--prune",
        type=float,
        default=None,
        help="fraction of the weights to zero in each weight tensor, e.g. 0.5 (N:M sets it to 1 - N/M)",
    )
    cp.add_argument("--prune-pattern", default="unstructured", metavar="unstructured|block:RxC|N:M",
                    help="where the zeros go, in each weight matrix viewed as [output units, inputs] (a Conv kernel "
                    "as [out, kh*kw*in]): unstructured (default: the smallest weights anywhere); block:RxC (blocks of "
                    "R output rows x C consecutive inputs zeroed together, ranked by mean |w|; edge blocks may be "
                    "partial), e.g. block:1x4; N:M (at most N non-zero weights in every M consecutive inputs of a "
                    "row, sparsity 1 - N/M), e.g. 2:4")  # fmt: skip
    cp.add_argument("--prune-channels", type=float, default=0.0,
                    help="structured pruning: drop this fraction of each hidden layer's channels")  # fmt: skip
    cp.add_argument("--quantize", default="int8", choices=("int8", "int8w4"),
                    help="int8, or int8w4: int8 activations with int4 FULLY_CONNECTED / CONV_2D weights")  # fmt: skip
    cp.add_argument("--qat", action="store_true", help="quantization-aware fine-tuning before the int8 conversion")
    cp.add_argument("--calibrate", help="X.npy: float samples [N, *input shape without batch] for the int8 ranges "
                    "(default: calibration.npy beside the model, else the --fit samples); X.npz for a model with "
                    "several inputs: one such array per input, keyed by input name or index")  # fmt: skip
    cp.add_argument(
        "--fit",
        nargs=2,
        metavar=("X.npy", "Y.npy"),
        help="labelled samples: fine-tune while pruning and report accuracy (Y: class indices or one-hot; X.npz "
        "for a model with several inputs, as --calibrate; one output only)",
    )
    cp.add_argument("--holdout", type=float, default=0.2,
                    help="fraction of --fit held out to score the steps when it fine-tunes (default 0.2)")  # fmt: skip
    cp.add_argument("--data", help="EEG recordings for fine-tuning and scoring a model from `edgeneuro train` "
                    "(default: its training folder)")  # fmt: skip
    cp.add_argument("--epochs", type=int, default=3, help="fine-tuning epochs while pruning")
    cp.add_argument("--float-io", action="store_true", help="float32 input and output (default: int8)")
    cp.add_argument("--onnx", action="store_true", help="also export float and QDQ int8 ONNX beside the .tflite")
    cp.add_argument("--json", action="store_true", help="print the report as JSON")
    cp.add_argument("--html", metavar="REPORT.html", help=HTML_HELP)
    cp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                    help="show TensorFlow's log lines, and tracebacks on errors")  # fmt: skip
    cp.set_defaults(fn=cmd_compress)

    ev = sub.add_parser("eval", help="window- and event-based seizure metrics of a trained or compressed model")
    ev.add_argument("model", help="model.keras or a .tflite with meta.json beside it")
    ev.add_argument("--data", required=True)
    ev.add_argument("--subject", action="append", help="subjects to evaluate on (default: the model's test subjects)")
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--html", metavar="REPORT.html", help=HTML_HELP)
    ev.add_argument("--on-board", metavar="BOARD",
                    help="score what the simulated board computes (a .tflite, or an snn model.nir), each window "
                    "checked against edgeneuro's reference kernels")  # fmt: skip
    ev.add_argument("--sim", choices=("qemu",), default="qemu", help="the simulator of --on-board")
    ev.add_argument("--sparse", choices=("auto", "off"), help="--on-board: the sparse kernels, as in `run`")
    ev.add_argument("--timeout", type=float, default=600.0,
                    help="--on-board: seconds QEMU may take over one recording before the firmware counts as "
                    "hanging (default 600)")  # fmt: skip
    scale_args(ev, "recordings")
    ev.set_defaults(fn=cmd_eval)

    sw = sub.add_parser("sweep", help="a design sweep: train, compress, compile, run on the board and score every "
                        "point of a grid; the Pareto front of F1, FP/h, instructions, flash and RAM",
                        description="Run the trials of CONFIG.yaml (see the README's Scaling section) that OUT has "
                        "not stored yet; exit status 1 when a trial failed (each has its reason).")  # fmt: skip
    sw.add_argument("config", help="CONFIG.yaml: data, grid (or random: K), timeout, board_timeout, model")
    sw.add_argument("-o", "--out", help="folder for trials.jsonl and each trial's files (default: CONFIG without "
                    ".yaml); run again to resume")  # fmt: skip
    scale_args(sw, "trials")
    sw.add_argument("--backend", choices=("auto", "ray", "process"), default="auto",
                    help="auto (default): Ray when installed, else the process pool; process: the pool even with "
                    "Ray")  # fmt: skip
    sw.add_argument("--retry-failed", action="store_true", help="run the trials stored as failed again")
    sw.add_argument("--max-trials", type=int, metavar="N", help="run at most N new trials this time")
    sw.add_argument("--json", action="store_true", help="print the result as JSON")
    sw.add_argument("--html", metavar="REPORT.html", help=HTML_HELP)
    sw.set_defaults(fn=cmd_sweep)

    sc = sub.add_parser("score", help="SzCORE event scoring of two annotation files of one recording")
    sc.add_argument("ref", help="reference SzCORE/BIDS *_events.tsv")
    sc.add_argument("hyp", help="hypothesis SzCORE/BIDS *_events.tsv")
    sc.add_argument("--duration", type=float, help="recording length in seconds (default: recordingDuration)")
    sc.add_argument("--json", action="store_true")
    sc.set_defaults(fn=cmd_score)

    sy = sub.add_parser("synth", help="write a SYNTHETIC EEG data set (EDF+, SzCORE and CHB-MIT annotations)")
    sy.add_argument("out")
    sy.add_argument("--subjects", type=int, default=2)
    sy.add_argument("--recordings", type=int, default=2, help="recordings per subject")
    sy.add_argument("--minutes", type=float, default=10.0, help="length of each recording")
    sy.add_argument("--fs", type=float, default=256.0, help="sampling rate, Hz")
    sy.add_argument("--channels", type=int, default=4, help="number of bipolar channels (1 to 8)")
    sy.add_argument("--seed", type=int, default=0)
    sy.set_defaults(fn=cmd_synth)

    b = sub.add_parser("boards", help="list the boards: core, FPU, DSP/MVE, memory, clock, simulator")
    b.add_argument("--json", action="store_true", help="every board field, machine-readable")
    b.add_argument("--model", help="a model: whether it fits each board (weights in flash; arena, state and stack "
                   "in RAM), prepared with each board's kernels")  # fmt: skip
    b.add_argument("--shape", action="append", metavar="NAME=D0xD1...", help="bind an input's dynamic dimensions "
                   "(ONNX), as `compile --shape`")  # fmt: skip
    b.set_defaults(fn=cmd_boards)

    st = sub.add_parser("stream", help="stream windows to the board over a serial line (QEMU pty or a real port), "
                        "check its outputs and seizure metrics against the host's")  # fmt: skip
    st.add_argument("model", help="a .tflite or .onnx model or a .nir spiking network (meta.json beside it for "
                    "--edf), or a folder built by `edgeneuro stream MODEL --build DIR`")  # fmt: skip
    st.add_argument("--board", default="mps2-an386", help="target board (see `edgeneuro boards`) or a board .yaml")
    st.add_argument("--shape", action="append", metavar="NAME=D0xD1...", help="bind an ONNX input's dynamic dimensions")
    what = st.add_mutually_exclusive_group(required=True)
    what.add_argument("--edf", metavar="RECORDING.edf",
                      help="cut its windows as `eval` does (meta.json), score the board's decisions")  # fmt: skip
    what.add_argument("--input", metavar="WINDOWS.npy", help="[N, *model input shape without batch]; a .nir "
                      "network: [N, T, *input shape], each sample streamed as RESET + T time steps; WINDOWS.npz "
                      "for a model with several inputs: one such array per input, keyed by input name or "
                      "index")  # fmt: skip
    st.add_argument("--port", help="serial port of a board flashed with the stream firmware (default: QEMU, on a pty)")
    st.add_argument("--baud", type=int, help="baud rate of --port (default: the board's uart baud)")
    st.add_argument("--build", metavar="DIR", help="build the stream firmware here and keep it (default: a temporary "
                    "folder)")  # fmt: skip
    st.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for an answer before retransmitting")
    st.add_argument("--retries", type=int, default=3, help="retransmissions of one frame before giving up")
    st.add_argument("--sim", choices=("qemu", "renode"), default="qemu",
                    help="the simulator without --port (renode: see renode/README.md)")  # fmt: skip
    st.add_argument("--dt", type=float, metavar="SECONDS", help="the time step of a .nir spiking network (default: "
                    "from its meta.json, for the snn family)")  # fmt: skip
    st.add_argument("--calibrate", metavar="DATA.npy", help="a .nir network's input samples [N, T, features] that "
                    "set the input's int8 scale and give the spike rates of --synapse-kernels auto (default: "
                    "calibration.npy beside an snn-family model); with --encode raw int16 samples [N, T, channels] "
                    "that only give the spike rates (as `run`)")  # fmt: skip
    st.add_argument("--encode", metavar="RULE:N[,channels=C][,scale=S]",
                    help="a .nir network takes raw int16 samples, encoded to spikes on chip (as `run`)")  # fmt: skip
    st.add_argument("--synapse-kernels", choices=("dense", "event", "auto"),
                    help="a .nir network's synapse kernels (as `run`; default auto)")  # fmt: skip
    st.add_argument("--synapse-weights", choices=("auto", "int8", "int16"),
                    help="a .nir network's synapse weights (as `run`; default auto)")  # fmt: skip
    st.add_argument("--kernels", choices=("auto", "reference"),
                    help="the board's fastest kernels (auto, default) or the portable ones (as `compile`)")  # fmt: skip
    st.add_argument("--sparse", choices=("auto", "off"),
                    help="sparse kernels where the weights allow (auto, default) or dense (as `compile`)")  # fmt: skip
    st.add_argument("--precision", choices=("int8", "float"),
                    help="an ONNX model's arithmetic: QDQ int8 (default) or float32 (as `compile`)")  # fmt: skip
    st.add_argument(
        "--feedback",
        action="append",
        default=[],
        metavar="OUT=IN",
        help="stream the samples of --input as one sequence, each answer's output OUT sent as the next "
        "sample's input IN (names or indices; recurrent state the application carries); repeatable",
    )
    st.add_argument("--output", help="OUT.npy: the board's outputs (OUT.npz for models with several outputs); a .nir "
                    "network's are [N, T, *output shape]")  # fmt: skip
    st.add_argument("--continuous", action="store_true", help="the whole detector on the board (`compile --app "
                    "detector`): the --edf recording's raw samples go in SAMPLES frames, its window decisions, events "
                    "and alarms come back and are checked against the host chain and scored")  # fmt: skip
    st.add_argument("--realtime", action="store_true", help="with --continuous: send the samples at the "
                    "recording's rate, as an ADC gives them (default: as fast as the board takes them)")  # fmt: skip
    st.add_argument("--frame-samples", type=int, metavar="N", help="with --continuous: samples per SAMPLES frame "
                    "(default an eighth of a second's, at most what the board's buffer takes)")  # fmt: skip
    detector_args(st)
    st.add_argument("--json", action="store_true", help="machine-readable report")
    st.add_argument("--html", metavar="REPORT.html", help=HTML_HELP)
    st.set_defaults(fn=cmd_stream)

    rp = sub.add_parser("report", help="one self-contained HTML page (charts, tables) from a JSON report",
                        description="Render the JSON of run --report, inspect --json, compress --json, eval "
                        "--json, stream --json or the demo's report.json as one HTML page that opens without a "
                        "network.")  # fmt: skip
    rp.add_argument("result", help="RESULT.json")
    rp.add_argument("-o", "--out", required=True, help="the page to write, e.g. report.html")
    rp.set_defaults(fn=cmd_report)

    dt = sub.add_parser("detect", help="the whole detector on the board: a recording's samples in one by one, "
                        "events out; checked against the host chain, scored, measured")  # fmt: skip
    dt.add_argument("model", help="a detector with meta.json beside it: int8/model.tflite of `edgeneuro compress`, "
                    "or model.nir of the snn family")  # fmt: skip
    dt.add_argument("--edf", required=True, metavar="RECORDING.edf", help="the recording (SzCORE or CHB-MIT "
                    "annotations beside it)")  # fmt: skip
    dt.add_argument("--board", default="mps2-an386", help="target board (see `edgeneuro boards`) or a board .yaml")
    detector_args(dt)
    dt.add_argument("--build", metavar="DIR", help="build the detector here and keep it (default: a temporary folder)")
    dt.add_argument("--json", action="store_true", help="machine-readable report")
    dt.add_argument("--html", metavar="REPORT.html", help=HTML_HELP)
    dt.set_defaults(fn=cmd_detect)

    d = sub.add_parser(
        "demo", help="the end-to-end job: DNN, CNN, LSTM and spiking detectors trained, run on QEMU, checked"
    )
    d.add_argument("--out", default="out/demo", help="folder for the model, firmware and report")
    d.add_argument("--board", default="mps2-an386")
    d.set_defaults(fn=cmd_demo)

    sm = sub.add_parser("sim", help="a simulated board as out of the box (Renode): flash empty, a GDB server "
                        "for `edgeneuro flash`, its console UART on a pty for `stream --port`")  # fmt: skip
    sm.add_argument("board", help="a board Renode models (`edgeneuro boards`: renode column)")
    sm.add_argument("--gdb", type=int, default=3333, metavar="PORT", help="the GDB server's TCP port (default 3333)")
    sm.add_argument("--json", action="store_true", help="print the board, the GDB address and the pty as one JSON line")
    sm.set_defaults(fn=cmd_sim)

    fl = sub.add_parser("flash", help="write a built firmware to a board (GDB server or pyOCD), verify it, start it")
    fl.add_argument("build", help="a build folder with firmware.elf (`run --build-dir`) or an ELF file")
    via = fl.add_mutually_exclusive_group(required=True)
    via.add_argument(
        "--gdb", metavar="HOST:PORT", help="a GDB server: OpenOCD, pyOCD gdbserver (3333), JLinkGDBServer (2331), QEMU"
    )
    via.add_argument("--probe", choices=("pyocd",), help="program through pyOCD and a USB debug probe")
    fl.add_argument("--board", help="refuse a build for another board, or an image outside the board's memory")
    fl.add_argument("--no-run", action="store_true", help="leave the core halted after verifying")
    fl.add_argument("--no-reset", action="store_true", help="no `monitor reset halt` before writing flash")
    fl.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each answer of the GDB server")
    fl.add_argument("--target", help="pyOCD target type, e.g. stm32f407vg (default: what the probe reports)")
    fl.add_argument("--probe-id", help="pyOCD: the unique ID (or part of it) of the probe to use")
    fl.add_argument("--json", action="store_true", help="machine-readable report")
    fl.set_defaults(fn=cmd_flash)
    for command in sub.choices.values():  # also after the command, as --debug is
        command.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help=QUIET_HELP)
    return p


def main(argv: list[str] | None = None) -> int:
    from edgeneuro import progress

    args = parser().parse_args(argv)
    try:
        with progress.terminal(quiet=args.quiet):
            return args.fn(args)
    except EdgeNeuroError as e:
        if args.debug:
            raise
        first, _, details = str(e).partition("\n")
        print(f"edgeneuro: error: {first}", file=sys.stderr)
        if details:
            print("edgeneuro: (run with --debug for the full tool output)", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("edgeneuro: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of our output went away (`edgeneuro ... | head`)
        sys.stderr.close()
        return 0
    except Exception as e:  # a bug or an input no check foresaw: one line, never a traceback
        if args.debug:
            raise
        where = f" ({args.model})" if getattr(args, "model", None) else ""
        print(f"edgeneuro: error: internal error{where}: {type(e).__name__}: {e}; please report it, with the "
              "output of --debug", file=sys.stderr)  # fmt: skip
        return 1


def main_exit() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    main_exit()
