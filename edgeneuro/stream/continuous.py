"""``edgeneuro stream MODEL --edf REC.edf --continuous``: the whole detector on the board (the detector
application of ``compile --app detector`` with the stream harness firmware/stream_detector.c) fed the
recording's raw ADC samples over the serial line in SAMPLES frames, as fast as it takes them or at
the recording's rate (``realtime``). The board answers each window's decision (WINDOW), its events
and alarms (EVENT) and its counters (STATUS); the host scores the board's events with SzCORE against
the recording's annotations, gives each seizure's detection latency, and checks the window outputs,
classes, events and alarms against the same chain in numpy (edgeneuro.detector.chain), sample for
sample. The protocol is edgeneuro/stream/protocol.py's (version 4)."""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgeneuro import progress
from edgeneuro.boards import Board
from edgeneuro.errors import BoardError, InputError
from edgeneuro.files import provenance
from edgeneuro.stream import protocol as P
from edgeneuro.stream import target

FRAME_PAYLOAD = 512  # the board's receive buffer: the largest SAMPLES payload (4 + samples x channels x 2)
SIMULATORS = {"qemu": "QEMU", "renode": "Renode", "host": "the host build"}  # what served the pty, for the text
FRAMES_PER_SECOND = 8  # default frame size: an eighth of a second of samples (a realtime ADC's latency)


def build(prepared, det, board: Board, out_dir: Path, input_scale_uv: float):
    """The detector (``detector.compile_detector``) with the stream harness: (compiled, firmware.elf)."""
    from edgeneuro import build as builder
    from edgeneuro import codegen
    from edgeneuro.detector.app import compile_detector

    model = Path(prepared.model)
    c = compile_detector(prepared, det, board, out_dir, input_scale_uv)
    sample = 2 * len(det.channels)
    in_bytes = P.SAMPLES_HEAD.size + max(1, (FRAME_PAYLOAD - P.SAMPLES_HEAD.size) // sample) * sample
    out_bytes = det.classes * np.dtype(det.output_dtype).itemsize
    codegen.render_stream_info(c.out_dir, in_bytes, out_bytes, target.model_id(model), model.name)
    return c, builder.build_firmware(c.out_dir, board, harness="stream_detector")


class Reports:
    """What the board sends unasked while the samples stream: WINDOW (outputs, class, when, ticks),
    EVENT (numbered: events and alarms) and the periodic STATUS frames."""

    def __init__(self, det) -> None:
        self.dtype = np.dtype(det.output_dtype).newbyteorder("<")
        self.outputs: list[np.ndarray] = []
        self.decisions: list[int] = []
        self.window_index: list[int] = []
        self.window_samples: list[int] = []
        self.window_ticks: list[int] = []
        self.events: list[tuple[int, int]] = []
        self.alarms: list[tuple[int, int]] = []
        self.numbers: list[int] = []
        self.statuses: list[dict[str, int]] = []

    def __call__(self, frame: P.Frame) -> None:
        if frame.kind == P.WINDOW:
            index, cls, samples, ticks = P.WINDOW_HEAD.unpack_from(frame.payload)
            self.outputs.append(np.frombuffer(frame.payload[P.WINDOW_HEAD.size :], self.dtype))
            self.decisions.append(cls)
            self.window_index.append(index)
            self.window_samples.append(samples)
            self.window_ticks.append(ticks)
        elif frame.kind == P.EVENT:
            number, kind, a, b = P.EVENT_BODY.unpack(frame.payload)
            self.numbers.append(number)
            (self.events if kind == P.EVENT_END else self.alarms).append((a, b))
        else:
            self.statuses.append(P.status_of(frame.payload))

    def board_run(self, final: dict[str, int], classes: int):
        """As the semihosting harness's run (detector.app.BoardRun), from the final STATUS."""
        from edgeneuro.detector.app import BoardRun

        y = np.stack(self.outputs) if self.outputs else np.zeros((0, classes), self.dtype)
        return BoardRun(y, np.array(self.decisions, np.int64), self.window_samples, self.window_ticks, self.events,
                        self.alarms, final["samples"], final["clipped"], final["events"], final["worst_ticks"],
                        final["worst_plain_ticks"], final["total_ticks"], final["stack_used"], 0)  # fmt: skip


def _check_info(info: P.Info, board: Board, model: Path, det, out_bytes: int, where: str) -> None:
    if not info.detector:
        raise P.StreamError(f"{where} runs the window stream firmware, not the detector's; build it with "
                            "`edgeneuro stream MODEL --edf REC --continuous`")  # fmt: skip
    if info.board != board.name:
        raise BoardError(f"{where} runs firmware built for board {info.board}, not {board.name} (--board)")
    if info.model_id != target.model_id(model) or info.channels != len(det.channels) or info.out_bytes != out_bytes:
        raise P.StreamError(f"{where} runs the detector of {info.model} ({info.channels} channels, "
                            f"{info.out_bytes} B of outputs), not of {model.name} ({len(det.channels)} channels, "
                            f"{out_bytes} B)")  # fmt: skip


def stream_continuous(model: Path, edf: Path, board: Board, *, build_dir: Path | None = None, realtime: bool = False,
                      timeout: float = 5.0, retries: int = 3, adc_fs: float | None = None, lsb_uv: float | None = None,
                      adc_bits: int = 16, bandpass=None, notch: float | None = None, frame_samples: int | None = None,
                      in_flight: int = 4, wrap: Callable[[Any], Any] | None = None, sanitized: bool = False,
                      sim: str = "qemu", port: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Stream every sample of ``edf`` through the detector of ``model`` on ``board``'s simulator
    ``sim`` ("qemu" or "renode") over its UART (a pty), and check and score what it answers. With
    ``port`` a board already running the detector firmware answers on that serial port instead
    (a real board flashed with the build, or a simulator started by someone else): the firmware is
    still built here, for its flash and RAM figures, and the board's INFO must name the same model.
    ``frame_samples`` per SAMPLES frame (default an eighth of a second's, at most what the board
    takes), ``in_flight`` frames
    unacknowledged at most; ``wrap`` puts a layer between the link and the port (tests: a line
    that loses or repeats frames). ``sanitized``: the same harness built for this machine under ASan
    and UBSan (``build.build_host_stream``) serves the pty instead of QEMU (tests; its tick counts
    are the host's clock, not instructions)."""
    from edgeneuro.data.annotations import Seizures
    from edgeneuro.detector import load_recording
    from edgeneuro.detector.app import device, equal, latencies
    from edgeneuro.detector.chain import run as run_chain
    from edgeneuro.metrics.events import score
    from edgeneuro.stream.command import _Session

    model, edf = Path(model), Path(edf)
    if frame_samples is not None and frame_samples < 1:
        raise InputError(f"--frame-samples {frame_samples}: give 1 or more")
    if port is None:
        target.require_simulator(board, sim)
    r = load_recording(model, edf, board, adc_fs, lsb_uv, adc_bits, bandpass, notch)
    meta, prepared, det, item, counts, outside = r.meta, r.prepared, r.det, r.item, r.counts, r.outside
    out_bytes = det.classes * np.dtype(det.output_dtype).itemsize
    per_frame = frame_samples or max(1, round(det.adc_fs / FRAMES_PER_SECOND))
    reports = Reports(det)
    with contextlib.ExitStack() as stack:
        folder = Path(build_dir) if build_dir else Path(stack.enter_context(
            tempfile.TemporaryDirectory(prefix="edgeneuro-continuous-"))) / "build"  # fmt: skip
        c, elf = build(prepared, det, board, folder, meta.input_scale_uv)
        watched = False  # the alarm pin's stores, logged by Renode
        if port is not None:
            q, where = None, f"{board.name} on {port}"
        elif sanitized:
            from edgeneuro.build import build_host_stream

            q = stack.enter_context(target.HostBoard(build_host_stream(c.out_dir, board, harness="stream_detector")))
            where = f"the detector harness built for the host on {q.port}"
        elif sim == "renode":
            from edgeneuro.targets.renode import Renode

            q = stack.enter_context(Renode(board, elf))
            where = f"Renode {board.renode['platform']} ({board.name}) on {q.port}"
            if board.alarm:  # Renode logs the firmware's stores to the alarm pin's GPIO port from now on
                q.log_writes(board.alarm.on[0])
                watched = True
        else:
            q = stack.enter_context(target.Qemu(board, elf))
            where = f"QEMU {board.qemu['machine']} ({board.name}) on {q.port}"
        ser = target.open_port(port or q.port, board.uart.baud, timeout)
        stack.callback(ser.close)
        link = P.Link(wrap(ser) if wrap else ser, timeout=timeout, retries=retries, where=where, on_report=reports)
        session = _Session(link, q)
        info = session.hello(max(timeout, 3.0), board.uart.baud)  # QEMU notices a newly opened pty within a second
        _check_info(info, board, model, det, out_bytes, where)
        session._call(link.reset)
        per_frame = min(per_frame, info.samples_max)
        t0 = time.monotonic()
        with progress.bar(f"streaming to {board.name}", len(counts), "samples") as bar:
            session._call(link.stream_samples, counts.astype("<i2").tobytes(), per_frame, in_flight,
                          det.adc_fs if realtime else None, lambda n: bar.update(completed=n))  # fmt: skip
        streamed = session._call(link.query)  # before FINISH: what the samples alone did
        final = session._call(link.finish)
        seconds = time.monotonic() - t0
        on_board = reports.board_run(final, det.classes)
        # while the build folder (maybe a temporary one) is there
        measured = device(on_board, c, elf, det, board, real=port is not None)
        pin = alarm_pin(board, q.writes(), on_board.alarms) if watched else None
    on_host = run_chain(det, prepared.graph, prepared.kernels, counts)
    same = equal(on_board, on_host)
    # the board's own account: every sample pushed once, every window and EVENT frame received
    same["samples"] = streamed["samples"] == final["samples"] == len(counts)
    same["windows_received"] = reports.window_index == list(range(final["windows"]))
    same["event_frames_received"] = reports.numbers == list(range(final["reports"]))
    fs = det.adc_fs
    events_s = [(a / fs, b / fs) for a, b in on_board.events]
    scores = score(item.seizures, Seizures(tuple(events_s), item.seizures.duration, str(edf)))
    stats = dict(link.stats)
    frames = stats.get("samples_frames", 0)
    return {
        "kind": "stream-continuous", "model": str(model), **provenance(model), "recording": str(edf),
        "board": board.name, "simulator": "host" if sanitized else None if port else sim, "port": port or q.port,
        "detector": det.to_json(),
        "samples": final["samples"], "duration_s": final["samples"] / fs, "windows": final["windows"],
        "outside_adc_range": outside, "clipped_on_chip": final["clipped"],
        "events_samples": [list(e) for e in on_board.events], "events_s": [list(e) for e in events_s],
        "alarms": [list(a) for a in on_board.alarms], "reference_s": [list(e) for e in item.seizures.events],
        "equal_host_chain": same, "host_build_checked": None, "alarm_pin": pin,
        "metrics": {k: scores[k] for k in ("sensitivity", "precision", "f1", "fp_per_hour", "true_positives",
                                             "false_positives", "reference_events", "hours")},
        "latency": latencies(item.seizures, events_s, [s / fs for on, s in on_board.alarms if on]),
        "device": measured,
        "streaming": {"realtime": realtime, "seconds": round(seconds, 3), "samples_per_frame": per_frame,
                      "frames_sent": frames, "frames_per_second": frames / seconds if seconds else None,
                      "eeg_seconds_per_second": final["samples"] / fs / seconds if seconds else None,
                      "in_flight": in_flight, "board_repeated": final["repeated"], "board_refused": final["refused"],
                      "status_frames": len(reports.statuses), "protocol": stats},
        "ok": all(same.values()) and (pin is None or pin["equal_alarms"]),
    }  # fmt: skip


def alarm_pin(board: Board, writes: list[tuple[int, int]], alarms: list[tuple[int, int]]) -> dict[str, Any]:
    """The alarm pin as the simulator saw the firmware drive it (``writes``: the (address, value)
    stores to its GPIO port, in order, from before the RESET on): its level changes, from off, must
    be the alarms the board reported in its EVENT frames, on and off alike."""
    assert board.alarm is not None
    level, changes, other = 0, [], 0
    for w in writes:
        new = 1 if w == board.alarm.on else 0 if w == board.alarm.off else None
        if new is None:
            other += 1
        elif new != level:
            level = new
            changes.append(new)
    reported = [on for on, _ in alarms]
    return {"pin": board.alarm.pin, "changes": changes, "stores": len(writes), "other_stores": other,
            "reported": reported, "equal_alarms": changes == reported}  # fmt: skip


def render(r: dict[str, Any]) -> str:
    """The report for a terminal: how the samples went, then what ``edgeneuro detect`` prints."""
    from edgeneuro.detector.app import render_text

    s, p = r["streaming"], r["streaming"]["protocol"]
    served = SIMULATORS.get(r["simulator"], "the board")
    pace = "at the recording's rate" if s["realtime"] else "as fast as the board took them"
    lines = [f"{r['board']}: streamed {r['samples']:,} samples of {Path(r['recording']).name} ({r['duration_s']:.0f} s "
             f"of EEG) {pace} over {r['port']} ({served}) in {s['seconds']:.1f} s: {s['frames_sent']:,} SAMPLES frames "
             f"of up to {s['samples_per_frame']} samples, {s['frames_per_second']:.0f} frames/s, "
             f"{s['eeg_seconds_per_second']:.1f} s of EEG per second",
             f"  protocol: {p.get('retransmits', 0)} frames resent, {p.get('nak_6', 0)} NAKs for a gap or overlap, "
             f"{p.get('nak', 0) - p.get('nak_6', 0)} other NAKs, {p.get('timeouts', 0)} timeouts, "
             f"{p.get('stale', 0)} stale answers; the board ACKed {s['board_repeated']} repeated frames "
             f"without pushing them and refused {s['board_refused']}; {s['status_frames']} STATUS frames on the "
             "way"]  # fmt: skip
    if pin := r.get("alarm_pin"):
        verdict = "the same as" if pin["equal_alarms"] else "NOT the same as"
        lines.append(f"  alarm pin {pin['pin']}, as {served} saw the firmware drive it: {len(pin['changes'])} "
                     f"changes ({pin['stores']} stores), {verdict} the {len(pin['reported'])} alarm changes the "
                     "board reported")  # fmt: skip
    return "\n".join(lines + render_text(r).splitlines()[1:])
