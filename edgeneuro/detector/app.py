"""The detector application: detector.c/.h rendered beside a compiled model (``compile --app
detector``), built with the detector harness (firmware/detector_main.c), run over a whole recording
on the board's simulator (``edgeneuro detect``), checked against the host chain
(edgeneuro.detector.chain) and measured like a device."""

from __future__ import annotations

import statistics
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeneuro import __version__
from edgeneuro.detector import COEF_BITS, SIGNAL_BITS, SIGNAL_LIMIT, Detector
from edgeneuro.errors import ToolError

HEAD = struct.Struct("<II")  # input.bin: samples, channels
WORD = struct.Struct("<I")
STATE_SYMBOL = "en_det"  # detector.c's static state: rings, filter state, votes, counters


def render(det: Detector, prepared, out_dir: Path, input_scale_uv: float) -> list[Path]:
    """detector.c and detector.h for ``det`` into ``out_dir``, beside the compiled model."""
    from edgeneuro.codegen import c_literal, env
    from edgeneuro.ir.graph import C_TYPES

    ctx = {
        "version": __version__, "source_name": Path(prepared.model or prepared.graph.source).name,
        "family": det.family, "channels": det.channels, "adc_fs": f"{det.adc_fs:g}", "fs": f"{det.fs:g}",
        "lsb_uv": f"{det.lsb_uv:g}", "input_scale_uv": f"{input_scale_uv:g}", "adc_bits": det.adc_bits,
        "adc_min": det.adc_min, "adc_max": det.adc_max, "filters": det.filters, "sections": len(det.sos_q),
        "sos_q": [[str(int(v)) for v in s] for s in det.sos_q], "decimate": det.decimate, "size": det.size,
        "step": det.step, "classes": det.classes, "seizure": det.seizure, "vote": det.vote,
        "out_ctype": C_TYPES[det.output_dtype], "coef_bits": COEF_BITS, "signal_bits": SIGNAL_BITS,
        "signal_limit": SIGNAL_LIMIT, "pool": det.pool, "steps": det.steps,
        "feature_scale": c_literal(det.feature_scale), "feature_scale_text": f"{det.feature_scale:.6g}",
        "in_mult": det.in_mult, "in_shift": det.in_shift, "in_zp": det.in_zp,
        "in_real": f"{det.in_mult * 2.0 ** (det.in_shift - 31):.6g}",
        # the int8 families scale each sample as it arrives (the window step is then two copies); the snn
        # family sums the filtered counts per time step
        "ring_ctype": "int16_t" if det.pool else "int8_t",
        "ring_what": "filtered counts" if det.pool else "the model input's int8",
        "outputs_what": "the network's outputs summed over the window's time steps" if det.pool
        else "the model's output tensor",
    }  # fmt: skip
    written = []
    for name in ("detector.h", "detector.c"):
        path = Path(out_dir) / name
        path.write_text(env().get_template(f"{name}.j2").render(**ctx))
        written.append(path)
    return written


def encode_samples(counts: np.ndarray) -> bytes:
    """input.bin of the detector harness: the header, then the samples (int16 LE)."""
    counts = np.ascontiguousarray(counts, "<i2")
    return HEAD.pack(*counts.shape) + counts.tobytes()


@dataclass(frozen=True)
class BoardRun:
    """What the detector harness wrote (firmware/detector_main.c)."""

    outputs: np.ndarray
    decisions: np.ndarray
    window_samples: list[int]  # samples pushed when each window was decided
    window_ticks: list[int]  # ticks of the push that ran each window
    events: list[tuple[int, int]]
    alarms: list[tuple[int, int]]
    samples: int
    clipped: int
    events_counted: int
    worst_ticks: int
    worst_plain_ticks: int
    total_ticks: int
    stack_used: int
    stack_size: int


def decode(raw: bytes, det: Detector) -> BoardRun:
    """output.bin of the detector harness."""
    out_dtype = np.dtype(det.output_dtype).newbyteorder("<")
    out_bytes = det.classes * out_dtype.itemsize
    outputs, decisions, at, ticks, events, alarms = [], [], [], [], [], []
    pos = 0
    try:
        while True:
            (tag,) = WORD.unpack_from(raw, pos)
            if tag == 1:
                _, cls, samples, dt = struct.unpack_from("<IIIQ", raw, pos + 4)
                pos += 24
                outputs.append(np.frombuffer(raw[pos : pos + out_bytes], out_dtype))
                decisions.append(cls)
                at.append(samples)
                ticks.append(dt)
                pos += out_bytes
            elif tag in (2, 3):
                a, b = struct.unpack_from("<II", raw, pos + 4)
                (events if tag == 2 else alarms).append((a, b))
                pos += 12
            elif tag == 4:
                samples, clipped, _, counted, worst, plain, total, used, size = struct.unpack_from(
                    "<IIIIQQQII", raw, pos + 4
                )
                break
            else:
                raise ToolError(f"the detector harness wrote an unknown record {tag} at byte {pos}")
    except struct.error as e:
        raise ToolError(f"the detector harness stopped early: {len(raw)} B of results ({e})") from e
    y = np.stack(outputs) if outputs else np.zeros((0, det.classes), out_dtype)
    return BoardRun(y, np.array(decisions, np.int64), at, ticks, events, alarms, samples, clipped, counted, worst,
                    plain, total, used, size)  # fmt: skip


def state_bytes(elf: Path) -> int:
    """The bytes of detector.c's static state in the ELF (its symbol's size)."""
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        sizes = [s["st_size"] for s in symtab.iter_symbols() if s.name == STATE_SYMBOL] if symtab else []
    return int(sizes[0]) if sizes else 0


def compile_detector(prepared, det: Detector, board, out_dir: Path, input_scale_uv: float):
    """The model compiled for ``board`` into ``out_dir`` with detector.c/.h beside it."""
    from edgeneuro.compiler import compile_model

    c = compile_model(prepared, board, out_dir)
    render(det, prepared, c.out_dir, input_scale_uv)
    return c


def build(prepared, det: Detector, board, out_dir: Path, input_scale_uv: float):
    """``compile_detector`` and the detector harness's firmware: (compiled, firmware.elf)."""
    from edgeneuro import build as builder

    c = compile_detector(prepared, det, board, out_dir, input_scale_uv)
    return c, builder.build_firmware(c.out_dir, board, harness="detector_main")


def check_on_host(out_dir: Path, det: Detector, counts: np.ndarray) -> BoardRun:
    """The detector's C built for this machine under the sanitizers (build.build_host_detector) and
    run over ``counts``."""
    from edgeneuro import build as builder
    from edgeneuro.targets import host

    exe = builder.build_host_detector(out_dir)
    return decode(host.run(exe, encode_samples(counts)).records, det)


def equal(board: BoardRun, host) -> dict[str, bool]:
    """The board's run against the host chain's (chain.Run), part by part."""
    return {
        "outputs": board.outputs.shape == host.outputs.shape and bool(np.array_equal(board.outputs, host.outputs)),
        "decisions": bool(np.array_equal(board.decisions, host.decisions)),
        "events": board.events == host.events,
        "alarms": board.alarms == host.alarms,
        "clipped": board.clipped == host.clipped,
    }


def device(board_run: BoardRun, c, elf: Path, det: Detector, board, real: bool = False) -> dict[str, Any]:
    """Measured like a device: RAM (the detector's state, the model's arena and state, the stack's
    high-water mark), flash, instructions per second of EEG, the duty cycle at the board's clock,
    the worst instructions of one incoming sample, with and without a window step. From a ``real``
    board (not a simulator) SysTick counts cycles, and the "instructions" figures are cycles
    (``counted`` says which)."""
    from edgeneuro.build import elf_sizes

    per_tick = board.clock_hz / board.systick_hz if real else board.instructions_per_tick
    sizes = elf_sizes(elf)
    seconds = board_run.samples / det.adc_fs
    per_second = board_run.total_ticks * per_tick / seconds if seconds else 0.0
    windows = [round(t * per_tick) for t in board_run.window_ticks]
    detector_ram = state_bytes(elf)
    plan = c.plan
    return {
        "flash_bytes": sizes.flash,
        "detector_state_bytes": detector_ram,
        "arena_bytes": plan.arena_bytes,
        "model_state_bytes": plan.state_bytes,
        "stack_used_bytes": board_run.stack_used,
        "ram_detector_bytes": detector_ram + plan.arena_bytes + plan.state_bytes + board_run.stack_used,
        "static_ram_bytes": sizes.data + sizes.bss,
        "ram_note": "ram_detector_bytes: detector.c's state + the model's arena and state + the stack's high-water "
        "mark; static_ram_bytes also holds the harness's input buffer and the C library's data",
        "instructions_per_second_of_eeg": round(per_second),
        "duty_cycle": per_second / board.clock_hz,
        "clock_hz": board.clock_hz,
        "worst_instructions_per_sample": round(board_run.worst_ticks * per_tick),
        "worst_instructions_per_sample_without_window": round(board_run.worst_plain_ticks * per_tick),
        "instructions_per_window_mean": statistics.fmean(windows) if windows else None,
        "instructions_per_window_max": max(windows) if windows else None,
        "worst_sample_ms": board_run.worst_ticks * per_tick / board.clock_hz * 1e3,
        "counted": "cycles" if real else "instructions",
        "instructions_note": f"SysTick ticks x {per_tick:g}: cycles of the board's core clock" if real else
        f"SysTick ticks x {per_tick:g} (QEMU -icount: one instruction per ns); ms at {board.clock_hz / 1e6:g} MHz "
        "assuming one instruction per cycle",
    }  # fmt: skip


def latencies(ref, events_s: list[tuple[float, float]], alarm_s: list[float]) -> list[dict[str, Any]]:
    """Per reference seizure the first event within SzCORE's tolerance (30 s before, 60 s after):
    its onset minus the seizure's (``eval``'s latency) and when the chip raised the alarm for it,
    minus the seizure's onset (the delay a patient sees)."""
    from edgeneuro.metrics.events import SZCORE

    out = []
    for a, b in ref.events:
        hits = [i for i, (ha, hb) in enumerate(events_s)
                if hb >= a - SZCORE["toleranceStart"] and ha <= b + SZCORE["toleranceEnd"]]  # fmt: skip
        first = min(hits, key=lambda i: events_s[i][0]) if hits else None
        out.append({"seizure_s": [a, b], "detected": first is not None,
                    "onset_latency_s": None if first is None else events_s[first][0] - a,
                    "alarm_delay_s": None if first is None else alarm_s[first] - a})  # fmt: skip
    return out


def host_eval(model: Path, item, meta) -> dict[str, Any]:
    """What ``edgeneuro eval`` makes of the recording on the host (float windows quantized by the
    model's input scale, edgeneuro's reference kernels): its window classes and events."""
    from edgeneuro.data.dataset import seizure_class, windows_of
    from edgeneuro.evaluate import predictor
    from edgeneuro.metrics.events import smooth, to_events

    w, x = windows_of(item, meta)
    pred = np.asarray(predictor(model)(x))
    hyp = to_events(smooth(pred == seizure_class(meta), 3), w.start, meta.window, item.seizures.duration)
    return {"decisions": pred.astype(int).tolist(), "events_s": [list(e) for e in hyp.events]}


def detect(model: Path, edf: Path, board, build_dir: Path | None = None, adc_fs: float | None = None,
           lsb_uv: float | None = None, adc_bits: int = 16, bandpass=None, notch: float | None = None,
           host_check: bool | None = None, eval_host: bool = True) -> dict[str, Any]:  # fmt: skip
    """``edgeneuro detect``: the detector of ``model`` built for ``board``, run over every sample of
    ``edf`` on its simulator, checked against the host chain (and, ``host_check``, its C built for
    the host under the sanitizers), scored with SzCORE against the recording's annotations,
    compared with ``eval``'s events (``eval_host``; the demo leaves that out), and measured."""
    import tempfile

    from edgeneuro import progress
    from edgeneuro.data.annotations import Seizures
    from edgeneuro.detector import load_recording
    from edgeneuro.detector.chain import run as run_chain
    from edgeneuro.metrics.events import score
    from edgeneuro.targets import host, qemu

    model, edf = Path(model), Path(edf)
    board.require_qemu()
    r = load_recording(model, edf, board, adc_fs, lsb_uv, adc_bits, bandpass, notch)
    meta, prepared, det, item, counts, outside = r.meta, r.prepared, r.det, r.item, r.counts, r.outside
    with tempfile.TemporaryDirectory(prefix="edgeneuro-detect-") as d:
        out_dir = Path(build_dir) if build_dir else Path(d) / "build"
        c, elf = build(prepared, det, board, out_dir, meta.input_scale_uv)
        with progress.bar(f"{board.name} (QEMU)", len(counts), "samples") as bar:
            res = qemu.run(board, elf, encode_samples(counts), timeout=3600.0)
            bar.update(completed=len(counts))
        on_board = decode(res.records, det)
        measured = device(on_board, c, elf, det, board)
        checked = None
        if host.checks_wanted() if host_check is None else host_check:
            checked = equal(check_on_host(c.out_dir, det, counts), on_board_as_chain(on_board))
    on_host = run_chain(det, prepared.graph, prepared.kernels, counts)
    same = equal(on_board, on_host)
    fs = det.adc_fs
    events_s = [(a / fs, b / fs) for a, b in on_board.events]
    hyp = Seizures(tuple(events_s), item.seizures.duration, str(edf))
    scores = score(item.seizures, hyp)
    alarm_on = [s / fs for on, s in on_board.alarms if on]
    evaluated = host_eval(model, item, meta) if eval_host else None
    n = min(len(evaluated["decisions"]), len(on_board.decisions)) if evaluated else 0
    agree = int(np.sum(np.array(evaluated["decisions"][:n]) == on_board.decisions[:n])) if evaluated else 0
    return {
        "kind": "detect", "model": str(model), "recording": str(edf), "board": board.name, "simulator": "qemu",
        "detector": det.to_json(), "samples": on_board.samples, "duration_s": on_board.samples / fs,
        "windows": len(on_board.decisions), "outside_adc_range": outside, "clipped_on_chip": on_board.clipped,
        "events_samples": [list(e) for e in on_board.events], "events_s": [list(e) for e in events_s],
        "alarms": [list(a) for a in on_board.alarms], "reference_s": [list(e) for e in item.seizures.events],
        "equal_host_chain": same, "host_build_checked": checked,
        "metrics": {k: scores[k] for k in ("sensitivity", "precision", "f1", "fp_per_hour", "true_positives",
                                             "false_positives", "reference_events", "hours")},
        "latency": latencies(item.seizures, events_s, alarm_on),
        "eval_on_host": {**evaluated, "window_decisions_agree": agree, "windows_compared": n} if evaluated else None,
        "device": measured,
    }  # fmt: skip


def on_board_as_chain(r: BoardRun):
    """A BoardRun seen as a chain.Run (for ``equal`` between two harness runs)."""
    from edgeneuro.detector.chain import Run

    return Run(r.outputs, r.decisions, np.zeros(0), r.events, r.alarms, r.clipped, r.samples)


def render_text(r: dict[str, Any]) -> str:
    """``edgeneuro detect``'s report for a terminal."""
    d, m, e = r["device"], r["metrics"], r["equal_host_chain"]

    def pct(v) -> str:
        return "n/a" if v is None else f"{100 * v:.1f} %"

    det = r["detector"]
    lines = [f"{r['recording']}: {r['duration_s']:.0f} s, {len(det['channels'])} channels at {det['adc_fs']:g} Hz "
             f"({r['samples']:,} samples, {r['windows']} windows) through the detector of {r['model']} on "
             f"{r['board']} (QEMU)"]  # fmt: skip
    if det["filters"]:
        lines.append(f"  filters: {'; '.join(det['filters'])}")
    if r["outside_adc_range"] or r["clipped_on_chip"]:
        lines.append(f"  clipped: {r['outside_adc_range']} values outside the ADC range when converting the "
                     f"recording, {r['clipped_on_chip']} on the chip")  # fmt: skip
    lines.append("  events (s): " + (", ".join(f"{a:.1f}-{b:.1f}" for a, b in r["events_s"]) or "none"))
    lines.append("  reference (s): " + (", ".join(f"{a:.1f}-{b:.1f}" for a, b in r["reference_s"]) or "none"))
    lines.append(f"  equal to the host chain: {', '.join(f'{k} {v}' for k, v in e.items())}")
    if r["host_build_checked"] is not None:
        ok = all(r["host_build_checked"].values())
        lines.append(f"  host build (-Werror, ASan, UBSan): {'same results' if ok else 'DIFFERENT results'}")
    ev = r.get("eval_on_host")  # `stream --continuous` has none
    if ev:
        lines.append(f"  eval on the host: window classes agree {ev['window_decisions_agree']}/"
                     f"{ev['windows_compared']}, events (s): "
                     + (", ".join(f"{a:.1f}-{b:.1f}" for a, b in ev["events_s"]) or "none"))  # fmt: skip
    fph = "n/a" if m["fp_per_hour"] is None else f"{m['fp_per_hour']:.2f}"
    lines.append(f"  SzCORE: sensitivity {pct(m['sensitivity'])}, precision {pct(m['precision'])}, F1 {pct(m['f1'])}, "
                 f"{fph} FP/h ({m['true_positives']}/{m['reference_events']} seizures)")  # fmt: skip
    for s in r["latency"]:
        a, b = s["seizure_s"]
        what = (f"event onset {s['onset_latency_s']:+.1f} s, alarm {s['alarm_delay_s']:+.1f} s after the onset"
                if s["detected"] else "missed")  # fmt: skip
        lines.append(f"  seizure {a:.1f}-{b:.1f} s: {what}")
    lines.append(f"  RAM {d['ram_detector_bytes']:,} B (detector state {d['detector_state_bytes']:,}, model arena "
                 f"{d['arena_bytes']:,}, model state {d['model_state_bytes']:,}, stack used "
                 f"{d['stack_used_bytes']:,}); flash {d['flash_bytes']:,} B")  # fmt: skip
    unit = d.get("counted", "instructions")
    lines.append(f"  {d['instructions_per_second_of_eeg']:,} {unit} per second of EEG: duty cycle "
                 f"{100 * d['duty_cycle']:.2f} % at {d['clock_hz'] / 1e6:g} MHz; worst sample "
                 f"{d['worst_instructions_per_sample']:,} {unit} ({d['worst_sample_ms']:.2f} ms, window step "
                 f"included), {d['worst_instructions_per_sample_without_window']:,} without a window")  # fmt: skip
    return "\n".join(lines)
