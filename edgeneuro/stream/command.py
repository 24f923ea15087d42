"""``edgeneuro stream``: windows go to the board over a serial line one at a time (the protocol of
edgeneuro/stream/protocol.py), its outputs and tick counts come back, and they are checked against
the host's reference kernels.

Without ``--port`` the model is built with the stream harness and run on the board's QEMU machine,
whose console UART is a pseudo-terminal; with ``--port`` a board already flashed with that
firmware answers on a real serial port. With ``--edf`` the windows are cut from a recording as
``edgeneuro eval`` cuts them (the model's meta.json), quantized as the predictor quantizes them,
and the seizure metrics are computed from the board's outputs with the functions ``eval`` uses;
they must be identical to the host's.

A spiking network (a NIR graph: one ``en_model_invoke()`` per time step) streams each sample as
RESET and then one INFER per time step; its outputs come back per step, [samples, T, ...], and are
checked against edgeneuro's fixed-point reference (``reference.run_steps``). With ``--edf`` (the
snn family) each window becomes its time steps with ``models.snn.features`` and its class is
``models.snn.decide`` of the steps' outputs, as ``eval``'s predictor computes it."""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeneuro import boards, progress
from edgeneuro.boards import Board
from edgeneuro.errors import BoardError, InputError, ToolError
from edgeneuro.files import provenance
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
    """Float windows -> the model input's dtype, as evaluate.predictor does."""
    from edgeneuro.ir.quant import quantize_input

    t = graph.t(graph.inputs[0])
    if t.dtype == "int8":
        return lambda x: quantize_input(x, t.scale, t.zero_point)
    if t.dtype == "float32":
        return lambda x: np.asarray(x, np.float32)
    raise InputError(f"{graph.source}: input '{t.name}' is {t.dtype}; streaming windows takes int8 or float32 models")


def _load_inputs(path: Path, graph) -> np.ndarray:
    """WINDOWS.npy: [N, *input sample shape], the input's dtype (float windows for an int8 model are
    quantized with its scale and zero point); WINDOWS.npz for a model with several inputs, one such
    array per input (of its dtype), keyed by input name or index, as `edgeneuro run` takes them."""
    from edgeneuro.runner import load_inputs, read_npy

    if Path(path).suffix.lower() == ".npz":
        return load_inputs(Path(path), graph)
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


def _feeder(graph, feedback: Sequence[tuple[int, int, int]]) -> Callable[[bytes, bytes], bytes]:
    """A sample's input bytes with the fed-back inputs replaced by the previous answer's outputs."""
    in_at = np.cumsum([0] + [graph.t(n).nbytes for n in graph.inputs])
    out_at = np.cumsum([0] + [graph.t(n).nbytes for n in graph.outputs])

    def feed(data: bytes, previous: bytes) -> bytes:
        b = bytearray(data)
        for o, i, n in feedback:
            b[in_at[i] : in_at[i] + n] = previous[out_at[o] : out_at[o] + n]
        return bytes(b)

    return feed


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
        self.ticks: list[int] = []  # per inference (of a spiking network: per time step)
        self.sample_ticks: list[int] = []  # a spiking network: per sample, its steps' sum
        self.seconds = 0.0  # spent streaming

    def _call(self, fn, *args):
        import serial

        try:
            return fn(*args)
        except serial.SerialTimeoutException as e:
            raise StreamError(f"writing to {self.link.where} timed out after {self.link.timeout:g} s") from e
        except (serial.SerialException, OSError) as e:
            gone = self._gone()
            if gone:
                raise ToolError(f"{gone} (while streaming)") from e
            raise StreamError(f"{self.link.where}: the serial line failed ({e})") from e
        except StreamError as e:
            gone = self._gone()
            if gone:
                raise ToolError(f"{gone}; {e}") from e
            raise

    def _gone(self) -> str | None:
        """Why the simulator is gone, or None (a pty simulator gets 2 s to end: a dying process
        closes the line before it has exited)."""
        if self.sim is None:
            return None
        return self.sim.exited(wait=2.0) if isinstance(self.sim, target.PtyBoard) else self.sim.exited()

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

    def run(self, x: np.ndarray, feed: Callable[[bytes, bytes], bytes] | None = None) -> list[bytes]:
        """One INFER per sample; ``feed`` (``_feeder``) puts the previous answer's outputs into the
        next sample's inputs."""
        outs = []
        t0 = time.monotonic()
        with progress.bar("streaming", len(x)) as bar:
            for row in x:
                data = row.tobytes()
                out, ticks = self._call(self.link.infer, feed(data, outs[-1]) if feed and outs else data)
                outs.append(out)
                self.ticks.append(ticks)
                bar.update(1, note=self._frames())
        self.seconds += time.monotonic() - t0
        return outs

    def run_samples(self, x: np.ndarray) -> list[bytes]:
        """A spiking network's samples [N, T, ...]: per sample RESET, then T INFERs; the outputs
        of every step, sample after sample."""
        outs = []
        t0 = time.monotonic()
        with progress.bar("streaming", len(x), "samples") as bar:
            for sample in x:
                answers = self._call(self.link.sample, [step.tobytes() for step in sample])
                outs += [out for out, _ in answers]
                self.ticks += [ticks for _, ticks in answers]
                self.sample_ticks.append(sum(ticks for _, ticks in answers))
                bar.update(1, note=self._frames())
        self.seconds += time.monotonic() - t0
        return outs

    def _frames(self) -> str:
        """The protocol so far, for the progress bar's note."""
        stats = self.link.stats
        return f"{stats['sent']} frames sent, {stats['retransmits']} retransmitted"


def _check_info(info, board: Board, model: Path, in_bytes: int, out_bytes: int, where: str, stateful: bool = False,
                state_bytes: int = 0) -> None:  # fmt: skip
    if info.detector:
        raise StreamError(f"{where} runs the whole detector's stream firmware, which takes samples, not windows; "
                          "stream the recording to it with --continuous")  # fmt: skip
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
    if info.stateful != stateful:
        has = ("has state (a spiking network, one time step per inference)", "has no state")
        raise StreamError(f"{where}: the firmware's model {has[not info.stateful]}, but {model.name} "
                          f"{has[not stateful]}; flash the stream firmware built from {model.name}")  # fmt: skip
    if info.state_bytes != state_bytes:
        raise StreamError(f"{where}: the firmware's model keeps {info.state_bytes:,} B of state; {model.name} "
                          f"compiled with these options keeps {state_bytes:,} B (was the firmware built with "
                          "another --dt, --calibrate or --encode?)")  # fmt: skip
    if info.systick_hz != board.systick_hz:
        raise BoardError(f"{where}: the firmware's SysTick runs at {info.systick_hz:,} Hz; board {board.name} "
                         f"says {board.systick_hz:,} Hz")  # fmt: skip


def _timing(ticks: list[int], board: Board, simulated: bool, sample_ticks: list[int] | None = None) -> dict[str, Any]:
    """Per inference (a spiking network's: per time step; with ``sample_ticks``, per sample too)."""
    worst = max(ticks)
    out: dict[str, Any] = {"ticks_max": worst, "ticks_min": min(ticks), "ticks_mean": statistics.fmean(ticks)}
    if simulated:  # QEMU -icount shift=0: one instruction per ns of virtual time
        per_tick = board.instructions_per_tick
        instr = [round(t * per_tick) for t in ticks]
        out.update(instructions=max(instr), instructions_min=min(instr), instructions_mean=statistics.fmean(instr),
                   instructions_resolution=per_tick, est_latency_ms=round(max(instr) / board.clock_hz * 1e3, 4),
                   est_latency_note=f"instructions / {board.clock_hz / 1e6:g} MHz, assuming one instruction "
                   "per cycle")  # fmt: skip
        if sample_ticks:
            per_sample = [round(t * per_tick) for t in sample_ticks]
            out.update(instructions_per_step=max(instr), instructions_per_step_mean=statistics.fmean(instr),
                       instructions_per_sample=max(per_sample),
                       instructions_per_sample_mean=statistics.fmean(per_sample),
                       est_latency_per_sample_ms=round(max(per_sample) / board.clock_hz * 1e3, 4))  # fmt: skip
    else:  # real silicon: SysTick counts the processor clock's cycles
        out.update(latency_ms=round(worst / board.systick_hz * 1e3, 4),
                   cycles=round(worst * board.clock_hz / board.systick_hz))  # fmt: skip
        if sample_ticks:
            out.update(ticks_per_sample=max(sample_ticks),
                       latency_per_sample_ms=round(max(sample_ticks) / board.systick_hz * 1e3, 4),
                       cycles_per_sample=round(max(sample_ticks) * board.clock_hz / board.systick_hz))  # fmt: skip
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
    dt: float | None = None,
    calibrate: Path | None = None,
    encode: str | None = None,
    synapse_kernels: str | None = None,
    synapse_weights: str | None = None,
    kernels: str | None = None,
    sparse: str | None = None,
    precision: str | None = None,
    feedback: Sequence[str] = (),
) -> Result:
    """Stream the windows of ``edf`` (or the samples of ``inputs``) through the board; ``source`` is
    a model file or a folder built by ``target.build``. Without ``port`` the board runs on its
    simulator ``sim``: "qemu" or "renode" (edgeneuro.targets.renode). A spiking network (.nir)
    takes ``dt``, ``calibrate``, ``encode``, ``synapse_kernels`` and ``synapse_weights`` as ``edgeneuro run`` does
    (``options.from_cli``: an snn-family model defaults them from its meta.json and calibration.npy).
    ``feedback`` ("OUT=IN", runner.parse_feedback) streams the samples as one sequence, each
    answer's output OUT sent as the next sample's input IN, as the application would.
    Three steps: what to stream (``_Windows``), the session with the board (``_on_board``, which
    builds the firmware when there is none) and the check against the host (``_check``)."""
    from edgeneuro import compiler
    from edgeneuro.options import from_cli

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
    options = from_cli(model, built, shapes, board=board, kernels=kernels, sparse=sparse, precision=precision,
                       dt=dt, calibrate=calibrate,
                       encode=encode, synapse_kernels=synapse_kernels, synapse_weights=synapse_weights)  # fmt: skip
    if port is None:  # before any work: without --port the board runs on a simulator
        target.require_simulator(board, sim)
    prepared = compiler.load(model, options)
    windows = _Windows(prepared, edf, inputs)
    if feedback:
        from edgeneuro.runner import parse_feedback

        if edf is not None:
            raise InputError("--feedback streams the samples of --input, not the windows of --edf")
        windows.feedback = parse_feedback(feedback, prepared.graph)
    link = {"port": port, "build_dir": build_dir, "baud": baud, "timeout": timeout, "retries": retries, "sim": sim}
    run = _on_board(prepared, board, built, windows, **link)
    return _check(prepared, board, windows, run)


class _Windows:
    """What goes to the board: the windows of a recording (``edf``, cut and quantized as ``eval``
    does, with the model's meta.json) or the samples of ``inputs``, and how the board's outputs
    become decisions."""

    def __init__(self, prepared, edf: Path | None, inputs: Path | None) -> None:
        graph, model = prepared.graph, prepared.model
        self.graph, self.edf, self.temporal = graph, edf, graph.temporal
        self.item = self.meta = self.x = None
        self.feedback: tuple[tuple[int, int, int], ...] = ()  # (output, input, bytes): runner.parse_feedback
        if edf is not None:
            from edgeneuro.data.dataset import item_of
            from edgeneuro.data.meta import META, Meta

            self.meta = Meta.load(model)
            self.item = item_of(Path(edf))
            if len(graph.inputs) != 1:
                raise InputError(f"{model}: --edf streams windows to models with one input, not {len(graph.inputs)}")
            if self.temporal and not self.meta.pool:
                raise InputError(f"{model}: --edf streams the windows of spiking networks of the snn family, whose "
                                 f"{META} gives the time step (pool); train one with `edgeneuro train --family snn`, "
                                 "or stream time steps with --input X.npy")  # fmt: skip
            if self.temporal and graph.t(graph.inputs[0]).dtype != "float32":
                raise InputError(f"{model}: --edf feeds the snn family's float32 features; a network with --encode "
                                 "takes raw int16 samples: stream them with --input X.npy")  # fmt: skip
            self.quantize = _quantizer(graph)
        elif self.temporal:
            from edgeneuro.runner import load_inputs

            self.x = load_inputs(Path(inputs), graph)  # [N, T, *input shape], the input's dtype, as `run` takes it
        else:
            self.x = _load_inputs(Path(inputs), graph)

    def steps_of(self, xf: np.ndarray) -> np.ndarray:
        """Float windows -> what goes to the board: a spiking network's time steps [n, T, F]."""
        if not self.temporal:
            return self.quantize(xf)
        from edgeneuro.models import snn

        return self.quantize(snn.features(xf, self.meta.pool))

    def decide(self, y: np.ndarray) -> np.ndarray:
        """The first output [n, ...] ([n, T, ...] for a spiking network) -> classes."""
        if not self.temporal:
            return y.reshape(len(y), -1).argmax(1)
        from edgeneuro.models import snn

        return snn.decide(y.reshape(*y.shape[:2], -1))


@dataclass
class _BoardRun:
    """What one streaming session sent and got back."""

    session: _Session
    port: str
    simulator: Any  # the simulator it ran on, None for a real board
    sim: str
    info: Any  # the board's INFO
    sizes: dict[str, Any]  # the firmware's memory (when it was built here or given as a folder)
    streamed: list[np.ndarray]  # what went to the board, in the model input's dtype
    raw: list[bytes]  # what came back (a spiking network: one per time step)
    board_decisions: np.ndarray | None = None
    chip: dict[str, Any] | None = None  # the seizure metrics of the board's decisions (--edf)


def _on_board(prepared, board: Board, built, windows: _Windows, *, port, build_dir, baud, timeout, retries,
              sim) -> _BoardRun:  # fmt: skip
    """Build the stream firmware (unless ``built`` or a real ``port``), start the simulator, open
    the serial line, check the board's INFO, and stream the windows."""
    from edgeneuro.build import elf_sizes

    graph, model, temporal = prepared.graph, prepared.model, prepared.temporal
    in_bytes, out_bytes = target.io_bytes(graph)
    state_bytes = prepared.plan.state_bytes if temporal else 0  # what the firmware's INFO must say
    with contextlib.ExitStack() as stack:  # the simulator and the port: closed once the windows are through
        simulator = None
        if port is None:
            if built is None:
                folder = Path(build_dir) if build_dir else Path(stack.enter_context(tempfile.TemporaryDirectory(
                    prefix="edgeneuro-stream-"))) / "build"  # fmt: skip
                built = target.build(prepared, board, folder)
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
        sizes = elf_sizes(built.elf).to_json() if built is not None else {}
        baud = baud or board.uart.baud
        ser = target.open_port(port_path, baud, timeout)
        stack.callback(ser.close)
        session = _Session(Link(ser, timeout=timeout, retries=retries, where=where), simulator)
        # QEMU notices a newly opened pty within a second
        info = session.hello(max(timeout, 3.0) if simulator else timeout, baud)
        _check_info(info, board, model, in_bytes, out_bytes, where, temporal, state_bytes)
        run = _BoardRun(session, port_path, simulator, sim, info, sizes, [], [])
        send = session.run_samples if temporal else session.run
        if windows.edf is None:
            run.streamed.append(windows.x)
            run.raw = send(windows.x, _feeder(graph, windows.feedback)) if windows.feedback else send(windows.x)
            return run

        def on_board(xf: np.ndarray) -> np.ndarray:
            xq = windows.steps_of(xf)
            run.streamed.append(xq)
            out = send(xq)
            run.raw.extend(out)
            y = _decode(graph, out)[graph.outputs[0]]
            run.board_decisions = windows.decide(y.reshape(xq.shape[:2] + y.shape[1:]) if temporal else y)
            return run.board_decisions

        from edgeneuro.metrics.seizures import evaluate

        run.chip = evaluate(on_board, [windows.item], windows.meta, eeg=True)  # the windows go to the board here
    return run


def _check(prepared, board: Board, windows: _Windows, run: _BoardRun) -> Result:
    """The board's outputs against the reference kernels (and with --edf its decisions and metrics
    against the host's), and the report."""
    from edgeneuro import reference

    graph, kernels, model = prepared.graph, prepared.kernels, prepared.model
    report: dict[str, Any] = {
        "board": board.name,
        "port": run.port,
        "simulator": run.sim if run.simulator else None,
        "model": str(model),
        **provenance(model),
        "firmware_model": run.info.model,
    }
    xs = np.concatenate(run.streamed)
    outputs = _decode(graph, run.raw)
    if windows.temporal:  # [N * T, ...] -> [N, T, ...]
        outputs = {k: v.reshape(xs.shape[:2] + v.shape[1:]) for k, v in outputs.items()}
        expected = [reference.run_steps(graph, kernels, s) for s in xs]  # each sample from the reset state
        same = np.array([[all(_bits_equal(outputs[name][i][t], e[j][t]) for j, name in enumerate(graph.outputs))
                          for t in range(xs.shape[1])] for i, e in enumerate(expected)])  # fmt: skip
        equal = int(same.all(axis=1).sum())  # samples whose every step equals the reference
        report.update(samples=len(xs), time_steps=int(xs.shape[1]), state_bytes=prepared.plan.state_bytes,
                      steps_equal_reference=int(same.sum()), steps_compared=int(same.size))  # fmt: skip
        if model.suffix.lower() == ".nir":
            report["dt_s"] = prepared.options.dt
    else:
        seq = reference.run_sequence(graph, kernels, xs, windows.feedback)  # samples in order, state fed back
        expected = [[seq[name][i] for name in graph.outputs] for i in range(len(xs))]
        equal = sum(
            all(np.array_equal(outputs[name][i], np.asarray(e[j]).reshape(outputs[name][i].shape))
                for j, name in enumerate(graph.outputs))
            for i, e in enumerate(expected)
        )  # fmt: skip
    ok = equal == len(xs)
    if windows.edf is not None:
        from edgeneuro.evaluate import predictor
        from edgeneuro.metrics.seizures import evaluate

        def reference_predict(xf: np.ndarray) -> np.ndarray:
            xq = windows.steps_of(xf)
            if windows.temporal:  # what `eval`'s predictor computes for the snn family (evaluate._nir_predictor)
                return windows.decide(np.stack([reference.run_steps(graph, kernels, s)[0] for s in xq]))
            return windows.decide(reference.run_batch(graph, kernels, xq))

        # a .tflite: evaluate.predictor, edgeneuro's reference kernels as `edgeneuro eval` runs them
        predict = predictor(model) if model.suffix == ".tflite" else reference_predict
        host_decisions: list[np.ndarray] = []

        def on_host(xf: np.ndarray) -> np.ndarray:
            host_decisions.append(np.asarray(predict(xf)))
            return host_decisions[-1]

        host = evaluate(on_host, [windows.item], windows.meta)
        same_decisions = bool(np.array_equal(run.board_decisions, host_decisions[-1]))
        same_metrics = all(run.chip[k] == host[k] for k in ("event", "window", "latency_s"))
        ok = ok and same_decisions and same_metrics
        report.update(recording=str(windows.edf), windows=len(xs), decisions_equal_host=same_decisions,
                      metrics_identical_to_host=same_metrics, metrics=run.chip, metrics_host=host)  # fmt: skip
    else:
        report["windows"] = len(xs)
    session = run.session
    report.update(run.sizes)
    report.update(outputs_equal_reference=equal, outputs_compared=len(xs), seconds=round(session.seconds, 3))
    report.update(_timing(session.ticks, board, simulated=run.simulator is not None,
                          sample_ticks=session.sample_ticks if windows.temporal else None))  # fmt: skip
    report["protocol"] = dict(session.link.stats)
    report["ok"] = bool(ok)
    return Result(report, outputs)


def _bits_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """The same dtype, shape and bytes (a float's -0.0 is not 0.0)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.size == b.size and a.tobytes() == b.tobytes()


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f} %"


def render(r: dict[str, Any], board: Board) -> str:
    where = {"qemu": f"QEMU {board.qemu['machine']}" if board.qemu else "QEMU",
             "renode": f"Renode {board.renode['platform']}" if board.renode else "Renode"}  # fmt: skip
    where = where.get(r["simulator"], "the board")
    what = f"windows of {Path(r['recording']).name}" if "recording" in r else "inputs"
    steps = r.get("time_steps")
    if steps:  # a spiking network
        what = "windows" if "recording" in r else "samples"
        what += f" x {steps} time steps (RESET + {steps} INFER frames each)"
        if "recording" in r:
            what += f" of {Path(r['recording']).name}"
    p = r["protocol"]
    lines = [
        f"{r['board']}: streamed {r['windows']} {what} over {r['port']} ({where}) in {r['seconds']:.1f} s",
        f"  protocol: {p.get('sent', 0)} frames sent, {p.get('retransmits', 0)} retransmitted, "
        f"{p.get('damaged_crc', 0) + p.get('damaged_length', 0)} damaged, {p.get('stale', 0)} stale, "
        f"{p.get('nak', 0)} NAKs, {p.get('timeouts', 0)} timeouts",
    ]
    if r["simulator"] and steps:
        lines.append(f"  instructions per step: {r['instructions_per_step']:,} (mean "
                     f"{r['instructions_per_step_mean']:,.0f}, resolution {r['instructions_resolution']:g}); per "
                     f"sample: {r['instructions_per_sample']:,} (mean {r['instructions_per_sample_mean']:,.0f}), "
                     f"~{r['est_latency_per_sample_ms']:.3f} ms at {board.clock_hz / 1e6:g} MHz; state "
                     f"{r['state_bytes']:,} B")  # fmt: skip
    elif r["simulator"]:
        lines.append(f"  instructions per inference: {r['instructions']:,} (min {r['instructions_min']:,}, "
                     f"resolution {r['instructions_resolution']:g}), ~{r['est_latency_ms']:.3f} ms at "
                     f"{board.clock_hz / 1e6:g} MHz")  # fmt: skip
    elif steps:
        lines.append(f"  per step: {r['ticks_max']:,} SysTick ticks = {r['latency_ms']:.3f} ms, ~{r['cycles']:,} "
                     f"cycles; per sample: {r['ticks_per_sample']:,} ticks = {r['latency_per_sample_ms']:.3f} ms, "
                     f"~{r['cycles_per_sample']:,} cycles at {board.clock_hz / 1e6:g} MHz; state "
                     f"{r['state_bytes']:,} B")  # fmt: skip
    else:
        lines.append(f"  per inference: {r['ticks_max']:,} SysTick ticks = {r['latency_ms']:.3f} ms, "
                     f"~{r['cycles']:,} cycles at {board.clock_hz / 1e6:g} MHz")  # fmt: skip
    if steps:
        lines.append(f"  outputs == edgeneuro reference: {r['outputs_equal_reference']}/{r['outputs_compared']} "
                     f"samples ({r['steps_equal_reference']}/{r['steps_compared']} time steps)")  # fmt: skip
    else:
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
