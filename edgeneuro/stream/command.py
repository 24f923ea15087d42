"""``edgeneuro stream``: windows go to the board over a serial line one at a time (the protocol of
edgeneuro/stream/protocol.py), its outputs and tick counts come back, and they are checked against
the host's reference kernels.

Without ``--port`` the model is built with the stream harness and run on the board's QEMU machine,
whose console UART is a pseudo-terminal; with ``--port`` a board already flashed with that
firmware answers on a real serial port. With ``--edf`` the windows are cut from a recording as
``edgeneuro eval`` cuts them (the model's meta.json), quantized as the predictor quantizes them,
and the seizure metrics are computed from the board's outputs with the functions ``eval`` uses;
they must be identical to the host's."""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeneuro import boards
from edgeneuro.boards import Board
from edgeneuro.errors import BoardError, InputError, ToolError
from edgeneuro.stream import target
from edgeneuro.stream.protocol import Link, StreamError, StreamTimeout


@dataclass
class Result:
    report: dict[str, Any]
    outputs: dict[str, np.ndarray]  # per model output: [N, *sample shape]

    @property
    def ok(self) -> bool:
        return bool(self.report["ok"])


def _quantizer(graph):
    """Float windows -> the model input's dtype, as train.predictor does."""
    from edgeneuro.compress.quantize import quantize_input

    t = graph.t(graph.inputs[0])
    if t.dtype == "int8":
        return lambda x: quantize_input(x, t.scale, t.zero_point)
    if t.dtype == "float32":
        return lambda x: np.asarray(x, np.float32)
    raise InputError(f"{graph.source}: input '{t.name}' is {t.dtype}; streaming windows takes int8 or float32 models")


def _load_inputs(path: Path, graph) -> np.ndarray:
    """WINDOWS.npy: [N, *input sample shape], the input's dtype (float windows for an int8 model are
    quantized with its scale and zero point)."""
    from edgeneuro.runner import read_npy

    x = read_npy(path, graph)
    t = graph.t(graph.inputs[0])
    want = tuple(t.sample_shape)
    if x.ndim != len(want) + 1 or tuple(x.shape[1:]) != want or len(x) == 0:
        raise InputError(f"{path}: shape {list(x.shape)}; the model input '{t.name}' takes [N, "
                         f"{', '.join(map(str, want))}] with N >= 1")  # fmt: skip
    if x.dtype != np.dtype(t.dtype):
        if x.dtype.kind != "f":
            raise InputError(f"{path}: dtype {x.dtype} but the model input '{t.name}' is {t.dtype}")
        x = _quantizer(graph)(x)
    return np.ascontiguousarray(x)


def _decode(graph, raw: list[bytes]) -> dict[str, np.ndarray]:
    arrays, start = {}, 0
    for name in graph.outputs:
        y = graph.t(name)
        arrays[name] = np.stack(
            [np.frombuffer(r[start : start + y.nbytes], np.dtype(y.dtype)).reshape(y.sample_shape) for r in raw]
        )
        start += y.nbytes
    return arrays


class _Session:
    """The link to the board, with serial and simulator failures turned into one-line errors.
    ``sim`` is the running simulator (QEMU or Renode; None for a real board)."""

    def __init__(self, link: Link, sim) -> None:
        self.link, self.sim = link, sim
        self.ticks: list[int] = []
        self.seconds = 0.0  # spent streaming

    def _call(self, fn, *args):
        import serial

        try:
            return fn(*args)
        except serial.SerialTimeoutException as e:
            raise StreamError(f"writing to {self.link.where} timed out after {self.link.timeout:g} s") from e
        except (serial.SerialException, OSError) as e:
            gone = self.sim.exited() if self.sim else None
            if gone:
                raise ToolError(f"{gone} (while streaming)") from e
            raise StreamError(f"{self.link.where}: the serial line failed ({e})") from e
        except StreamError as e:
            gone = self.sim.exited() if self.sim else None
            if gone:
                raise ToolError(f"{gone}; {e}") from e
            raise

    def hello(self, timeout: float, baud: int):
        try:
            return self._call(self.link.hello, timeout)
        except StreamTimeout as e:
            if self.sim:
                raise
            raise StreamTimeout(
                f"{e}; is the board running the stream firmware (`edgeneuro stream MODEL --build "
                f"DIR`, then `edgeneuro flash DIR`) with its UART at {baud} baud?"
            ) from e

    def run(self, x: np.ndarray) -> list[bytes]:
        outs = []
        t0 = time.monotonic()
        for row in x:
            out, ticks = self._call(self.link.infer, row.tobytes())
            outs.append(out)
            self.ticks.append(ticks)
        self.seconds += time.monotonic() - t0
        return outs


def _check_info(info, board: Board, model: Path, in_bytes: int, out_bytes: int, where: str) -> None:
    if info.board != board.name:
        raise BoardError(f"{where} runs firmware built for board {info.board}, not {board.name} (--board); "
                         f"stream to it with --board {info.board}, or flash the stream firmware built for "
                         f"{board.name}")  # fmt: skip
    mid = target.model_id(model)
    if info.model_id != mid:
        raise StreamError(f"{where} runs model {info.model} (id {info.model_id.hex()}), not {model.name} "
                          f"(id {mid.hex()}); flash the stream firmware built from {model.name}")  # fmt: skip
    if (info.in_bytes, info.out_bytes) != (in_bytes, out_bytes):
        raise StreamError(f"{where}: the firmware takes {info.in_bytes} B and gives {info.out_bytes} B per "
                          f"inference; {model.name} takes {in_bytes} B and gives {out_bytes} B")  # fmt: skip
    if info.systick_hz != board.systick_hz:
        raise BoardError(f"{where}: the firmware's SysTick runs at {info.systick_hz:,} Hz; board {board.name} "
                         f"says {board.systick_hz:,} Hz")  # fmt: skip


def _timing(ticks: list[int], board: Board, simulated: bool) -> dict[str, Any]:
    worst = max(ticks)
    out: dict[str, Any] = {"ticks_max": worst, "ticks_min": min(ticks), "ticks_mean": statistics.fmean(ticks)}
    if simulated:  # QEMU -icount shift=0: one instruction per ns of virtual time
        per_tick = board.instructions_per_tick
        instr = [round(t * per_tick) for t in ticks]
        out.update(instructions=max(instr), instructions_min=min(instr), instructions_mean=statistics.fmean(instr),
                   instructions_resolution=per_tick, est_latency_ms=round(max(instr) / board.clock_hz * 1e3, 4),
                   est_latency_note=f"instructions / {board.clock_hz / 1e6:g} MHz, assuming one instruction "
                   "per cycle")  # fmt: skip
    else:  # real silicon: SysTick counts the processor clock's cycles
        out.update(latency_ms=round(worst / board.systick_hz * 1e3, 4),
                   cycles=round(worst * board.clock_hz / board.systick_hz))  # fmt: skip
    return out


def stream(
    source: Path,
    board: Board | str,
    *,
    edf: Path | None = None,
    inputs: Path | None = None,
    port: str | None = None,
    build_dir: Path | None = None,
    baud: int | None = None,
    timeout: float = 5.0,
    retries: int = 3,
    shapes: dict[str, tuple[int, ...]] | None = None,
    sim: str = "qemu",
) -> Result:
    """Stream the windows of ``edf`` (or the samples of ``inputs``) through the board; ``source`` is
    a model file or a folder built by ``target.build``. Without ``port`` the board runs on its
    simulator ``sim``: "qemu" or "renode" (edgeneuro.targets.renode)."""
    from edgeneuro import frontends, reference
    from edgeneuro.build import elf_sizes
    from edgeneuro.compiler import prepare

    if (edf is None) == (inputs is None):
        raise InputError("give the windows to stream: --edf RECORDING.edf or --input WINDOWS.npy")
    board = boards.load(board) if isinstance(board, str) else board
    source = Path(source)
    built = None
    if source.is_dir():
        built = target.load(source, board)
        model = built.model
    elif source.is_file():
        model = source
    else:
        raise InputError(f"{source}: no such model or build folder")
    if port is None:  # before any work: without --port the board runs on a simulator
        if sim == "renode":
            from edgeneuro.targets import renode

            renode.script(board)
        elif sim == "qemu":
            board.require_qemu()
        else:
            raise InputError(f"unknown simulator '{sim}': qemu or renode")
        target.require_rx(board)
    graph = frontends.load(model, shapes)
    if graph.temporal:
        raise InputError(f"{model}: a spiking network runs one time step per call; streaming it over the serial "
                         "protocol is not supported yet (use `edgeneuro run`)")  # fmt: skip
    lowered, kernels = prepare(graph)
    in_bytes, out_bytes = target.io_bytes(graph)

    item = meta = x = None
    if edf is not None:
        from edgeneuro.train import Meta, item_of

        meta = Meta.load(model)
        item = item_of(Path(edf))
        if len(graph.inputs) != 1:
            raise InputError(f"{model}: --edf streams windows to models with one input, not {len(graph.inputs)}")
    else:
        x = _load_inputs(Path(inputs), graph)

    quantize = _quantizer(graph) if edf is not None else None
    streamed: list[np.ndarray] = []  # what went to the board, in the model input's dtype
    raw: list[bytes] = []  # what came back
    decisions: dict[str, np.ndarray] = {}

    with contextlib.ExitStack() as stack:  # the simulator and the port: closed once the windows are through
        simulator = None
        if port is None:
            if built is None:
                folder = Path(build_dir) if build_dir else Path(stack.enter_context(tempfile.TemporaryDirectory(
                    prefix="edgeneuro-stream-"))) / "build"  # fmt: skip
                built = target.build(model, board, folder, graph)
            if sim == "renode":
                from edgeneuro.targets.renode import Renode

                simulator = stack.enter_context(Renode(board, built.elf))
                where = f"Renode {board.renode['platform']} ({board.name}) on {simulator.port}"
            else:
                simulator = stack.enter_context(target.Qemu(board, built.elf))
                where = f"QEMU {board.qemu['machine']} ({board.name}) on {simulator.port}"
            port_path = simulator.port
        else:
            where = f"the board on {port}"
            port_path = port
        sizes = elf_sizes(built.elf).to_json() if built is not None else {}  # the firmware's memory
        baud = baud or board.uart.baud
        ser = target.open_port(port_path, baud, timeout)
        stack.callback(ser.close)
        session = _Session(Link(ser, timeout=timeout, retries=retries, where=where), simulator)
        # QEMU notices a newly opened pty within a second
        info = session.hello(max(timeout, 3.0) if simulator else timeout, baud)
        _check_info(info, board, model, in_bytes, out_bytes, where)

        def on_board(xf: np.ndarray) -> np.ndarray:
            xq = quantize(xf)
            streamed.append(xq)
            out = session.run(xq)
            raw.extend(out)
            decisions["board"] = _decode(graph, out)[graph.outputs[0]].reshape(len(xq), -1).argmax(1)
            return decisions["board"]

        if edf is not None:
            from edgeneuro.train import evaluate

            chip = evaluate(on_board, [item], meta)  # the windows go to the board in here
        else:
            streamed.append(x)
            raw = session.run(x)

    report: dict[str, Any] = {
        "board": board.name,
        "port": port_path,
        "simulator": sim if simulator else None,
        "model": str(model),
        "firmware_model": info.model,
    }
    xs = np.concatenate(streamed)
    outputs = _decode(graph, raw)
    expected = [reference.run(lowered, kernels, [s]) for s in xs]
    equal = sum(
        all(np.array_equal(outputs[name][i], np.asarray(e[j]).reshape(outputs[name][i].shape))
            for j, name in enumerate(graph.outputs))
        for i, e in enumerate(expected)
    )  # fmt: skip
    ok = equal == len(xs)
    if edf is not None:
        from edgeneuro.train import evaluate, predictor

        def reference_predict(xf: np.ndarray) -> np.ndarray:
            return reference.run_batch(lowered, kernels, quantize(xf)).reshape(len(xf), -1).argmax(1)

        # a .tflite: train.predictor, edgeneuro's reference kernels as `edgeneuro eval` runs them
        predict = predictor(model) if model.suffix == ".tflite" else reference_predict

        def on_host(xf: np.ndarray) -> np.ndarray:
            decisions["host"] = np.asarray(predict(xf))
            return decisions["host"]

        host = evaluate(on_host, [item], meta)
        same_decisions = bool(np.array_equal(decisions["board"], decisions["host"]))
        same_metrics = all(chip[k] == host[k] for k in ("event", "window", "latency_s"))
        ok = ok and same_decisions and same_metrics
        report.update(recording=str(edf), windows=len(xs), decisions_equal_host=same_decisions,
                      metrics_identical_to_host=same_metrics, metrics=chip, metrics_host=host)  # fmt: skip
    else:
        report["windows"] = len(xs)
    report.update(sizes)
    report.update(outputs_equal_reference=equal, outputs_compared=len(xs), seconds=round(session.seconds, 3))
    report.update(_timing(session.ticks, board, simulated=simulator is not None))
    if simulator is not None and sim == "renode":
        report["instructions_note"] = "Renode's virtual time follows its performance model: estimates, not counts"
    report["protocol"] = dict(session.link.stats)
    report["ok"] = bool(ok)
    return Result(report, outputs)


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f} %"


def render(r: dict[str, Any], board: Board) -> str:
    where = {"qemu": f"QEMU {board.qemu['machine']}" if board.qemu else "QEMU",
             "renode": f"Renode {board.renode['platform']}" if board.renode else "Renode"}  # fmt: skip
    where = where.get(r["simulator"], "the board")
    what = f"windows of {Path(r['recording']).name}" if "recording" in r else "inputs"
    p = r["protocol"]
    lines = [
        f"{r['board']}: streamed {r['windows']} {what} over {r['port']} ({where}) in {r['seconds']:.1f} s",
        f"  protocol: {p.get('sent', 0)} frames sent, {p.get('retransmits', 0)} retransmitted, "
        f"{p.get('damaged_crc', 0) + p.get('damaged_length', 0)} damaged, {p.get('stale', 0)} stale, "
        f"{p.get('nak', 0)} NAKs, {p.get('timeouts', 0)} timeouts",
    ]
    if r["simulator"]:
        lines.append(f"  instructions per inference: {r['instructions']:,} (min {r['instructions_min']:,}, "
                     f"resolution {r['instructions_resolution']:g}), ~{r['est_latency_ms']:.3f} ms at "
                     f"{board.clock_hz / 1e6:g} MHz")  # fmt: skip
    else:
        lines.append(f"  per inference: {r['ticks_max']:,} SysTick ticks = {r['latency_ms']:.3f} ms, "
                     f"~{r['cycles']:,} cycles at {board.clock_hz / 1e6:g} MHz")  # fmt: skip
    lines.append(f"  outputs == edgeneuro reference: {r['outputs_equal_reference']}/{r['outputs_compared']}")
    if "metrics" in r:
        e, w = r["metrics"]["event"], r["metrics"]["window"]
        fph = "n/a" if e["fp_per_hour"] is None else f"{e['fp_per_hour']:.3f}"
        lines += [
            f"  event-based  sensitivity {_pct(e['sensitivity'])}, precision {_pct(e['precision'])}, "
            f"F1 {_pct(e['f1'])}, {fph} false positives per hour ({e['true_positives']}/{e['reference_events']} "
            f"seizures, {e['hours']:.2f} h)",
            f"  window-based sensitivity {_pct(w['sensitivity'])}, specificity {_pct(w['specificity'])}, "
            f"accuracy {_pct(w['accuracy'])} ({w['windows']} windows)",
            f"  decisions identical to the host's: {r['decisions_equal_host']}; metrics identical to the host's: "
            f"{r['metrics_identical_to_host']}",
        ]
    return "\n".join(lines)
