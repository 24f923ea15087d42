"""The board end of ``edgeneuro stream``: the stream firmware (firmware/stream.c instead of the
semihosting harness), QEMU with the board's console UART on a pseudo-terminal, and serial ports."""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeneuro.boards import Board
from edgeneuro.errors import BoardError, InputError, ToolError
from edgeneuro.stream.protocol import CRC, MAX_PAYLOAD, TICKS, StreamError

STREAM_JSON = "stream.json"
CALIBRATION = "stream_calibration.npy"  # a NIR graph's calibration samples, as the firmware was built with them
MARKER = "en_stream_protocol_version"  # a symbol only firmware/stream.c defines


def model_id(model: Path) -> bytes:
    """What the board reports as its model: the first 8 bytes of the model file's SHA-256."""
    return hashlib.sha256(Path(model).read_bytes()).digest()[:8]


def io_bytes(graph) -> tuple[int, int]:
    """Input and output bytes of one inference, all tensors back to back."""
    return sum(graph.t(n).nbytes for n in graph.inputs), sum(graph.t(n).nbytes for n in graph.outputs)


def require_rx(board: Board) -> None:
    if board.uart.kind == "nrf-uarte" and board.uart.rx_pin is None:
        raise BoardError(f"board {board.name}: its uart has no rx_pin, so the firmware cannot receive frames")


def require_simulator(board: Board, sim: str) -> None:
    """Before any work: ``board`` runs on simulator ``sim`` ("qemu" or "renode") and can receive frames."""
    if sim == "renode":
        from edgeneuro.targets import renode

        renode.script(board)
    elif sim == "qemu":
        board.require_qemu()
    else:
        raise InputError(f"unknown simulator '{sim}': qemu or renode")
    require_rx(board)


@dataclass(frozen=True)
class StreamBuild:
    """A folder with the stream firmware and what the host needs to talk to it."""

    folder: Path
    elf: Path
    board: str
    model: Path  # the model file, copied into the folder
    model_id: bytes
    in_bytes: int
    out_bytes: int
    # a NIR graph: the compile options the firmware was built with (dt, encode, synapse_kernels,
    # synapse_weights, calibration: the file in ``folder`` or None); None for other models
    nir: dict[str, Any] | None = None


def build(prepared, board: Board, out: Path) -> StreamBuild:
    """Render a prepared model (edgeneuro.compiler.Prepared, from its model file) for ``board``
    into ``out`` and build the stream harness as firmware.elf. The model file (and its meta.json, if
    there is one beside it) is copied into ``out`` and ``stream.json`` records the board, the model
    and the frame sizes; for a spiking network also the compile options it was prepared with (dt,
    encode, synapse_kernels, synapse_weights, and the calibration samples as
    stream_calibration.npy), so the folder streams with the same reference."""
    from edgeneuro import build as builder
    from edgeneuro import codegen
    from edgeneuro.compiler import compile_model

    require_rx(board)
    model = Path(prepared.model)
    graph = prepared.graph
    in_bytes, out_bytes = io_bytes(graph)
    if max(in_bytes, out_bytes + TICKS.size + CRC.size) > MAX_PAYLOAD:
        raise InputError(
            f"{model}: {in_bytes:,} B in and {out_bytes:,} B out per inference; a frame carries at most "
            f"{MAX_PAYLOAD:,} B (with the 8-byte tick count and the 4-byte request CRC for the output)"
        )
    c = compile_model(prepared, board, out)
    mid = model_id(model)
    codegen.render_stream_info(c.out_dir, in_bytes, out_bytes, mid, model.name)
    elf = builder.build_firmware(c.out_dir, board, harness="stream")
    copy = c.out_dir / model.name
    shutil.copyfile(model, copy)
    meta = model.parent / "meta.json"
    if meta.is_file():
        shutil.copyfile(meta, c.out_dir / "meta.json")
    record = None
    if model.suffix.lower() == ".nir":
        import numpy as np

        options = prepared.options
        record = {**options.record(), "calibration": None}
        if options.calibration is not None:
            np.save(c.out_dir / CALIBRATION, np.asarray(options.calibration))
            record["calibration"] = CALIBRATION
    doc = {
        "harness": "stream",
        "board": board.name,
        "model": str(model.resolve()),
        "model_file": model.name,
        "model_sha256": hashlib.sha256(model.read_bytes()).hexdigest(),
        "in_bytes": in_bytes,
        "out_bytes": out_bytes,
    }
    if record is not None:
        doc["nir"] = record
    (c.out_dir / STREAM_JSON).write_text(json.dumps(doc, indent=2) + "\n")
    return StreamBuild(c.out_dir, elf, board.name, copy, mid, in_bytes, out_bytes, record)


def _has_symbol(elf: Path, name: str) -> bool:
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    with open(elf, "rb") as f:
        for s in ELFFile(f).iter_sections():
            if isinstance(s, SymbolTableSection) and s.get_symbol_by_name(name):
                return True
    return False


def load(folder: Path, board: Board) -> StreamBuild:
    """An existing build folder: it must hold the stream firmware, built for ``board``."""
    folder = Path(folder)
    elf = folder / "firmware.elf"
    if not elf.is_file():
        raise InputError(f"{folder}: no firmware.elf; build one with `edgeneuro stream MODEL --build {folder}`")
    doc_path = folder / STREAM_JSON
    if not doc_path.is_file() or not _has_symbol(elf, MARKER):
        raise InputError(
            f"{elf}: not the stream firmware (built by `edgeneuro run`?); build it with "
            f"`edgeneuro stream MODEL --board {board.name} --build {folder}`"
        )
    doc: dict[str, Any] = json.loads(doc_path.read_text())
    if doc["board"] != board.name:
        raise BoardError(
            f"{folder} was built for board {doc['board']}, not {board.name}; rebuild it with "
            f"`edgeneuro stream MODEL --board {board.name} --build DIR` or pass --board {doc['board']}"
        )
    model = folder / doc["model_file"]
    if not model.is_file():
        raise InputError(f"{folder}: the model copy {doc['model_file']} is missing")
    return StreamBuild(folder, elf, doc["board"], model, bytes.fromhex(doc["model_sha256"])[:8], doc["in_bytes"],
                       doc["out_bytes"], doc.get("nir"))  # fmt: skip


class PtyBoard:
    """A process that serves the stream firmware's UART on a pseudo-terminal and prints the pty's
    path (matched by ``PTY_LINE``): ``port`` is that path. A context manager: the process is
    stopped on exit. Subclasses set ``cmd`` and ``what`` (how errors name it)."""

    PTY_LINE: re.Pattern[bytes]

    def __init__(self, cmd: list[str], what: str, start_timeout: float = 20.0) -> None:
        self.cmd = cmd
        self.what = what
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None
        self.port = ""
        self.output = b""

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=self.env())  # fmt: skip
        try:
            self._await_pty()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def env(self) -> dict[str, str] | None:
        return None

    def _await_pty(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            m = self.PTY_LINE.search(self.output)
            if m:
                self.port = m.group(1).decode()
                return
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:  # the process exited
                    self.proc.wait()
                    raise ToolError(f"{self.what} exited with {self.proc.returncode} before opening "
                                    f"its serial pty: {self.output.decode(errors='replace').strip()}")  # fmt: skip
                self.output += chunk
        raise ToolError(f"{self.what} did not open its serial pty within {self.start_timeout:g} s")

    def exited(self, wait: float = 0.0) -> str | None:
        """Why the process is gone, or None while it runs (after ``wait`` seconds for it to end:
        the serial line fails as a dying process closes the pty, before it has exited)."""
        if self.proc is None:
            return None
        try:
            self.proc.wait(wait)
        except subprocess.TimeoutExpired:
            return None
        return self._why(self.proc.returncode)

    def _why(self, rc: int) -> str:
        return f"{self.what} exited with {rc}"

    def stop(self) -> None:
        from edgeneuro.targets import stop_process

        stop_process(self.proc)
        if self.proc is not None and self.proc.stdout is not None and not self.proc.stdout.closed:
            self.output += self.proc.stdout.read()  # what it printed last (a sanitizer's report)
            self.proc.stdout.close()


class Qemu(PtyBoard):
    """QEMU running the stream firmware with the board's console UART on a pseudo-terminal
    (``-serial pty`` in the board's serial slot)."""

    PTY_LINE = re.compile(rb"char device redirected to (/dev/\S+) \(label (\w+)\)")

    def __init__(self, board: Board, elf: Path, start_timeout: float = 20.0) -> None:
        from edgeneuro.targets import qemu

        if shutil.which("qemu-system-arm") is None:
            raise ToolError(
                "qemu-system-arm not found; install it with `make setup` (Debian: apt-get install qemu-system-arm)"
            )
        self.board = board
        super().__init__(qemu.command(board, Path(elf).resolve(), console="pty"), f"QEMU ({board.name})", start_timeout)

    def _why(self, rc: int) -> str:
        from edgeneuro.targets.qemu import EXIT_CODES

        return f"QEMU ({self.board.name}) exited with {rc}: {EXIT_CODES.get(rc, 'see its output')}"


class HostBoard(PtyBoard):
    """The stream harness built for the host under the sanitizers (``build.build_host_stream``):
    the same protocol code as the boards', its UART a pseudo-terminal. A sanitizer report stops it
    (``exited``); the report is in ``output`` once it is stopped."""

    PTY_LINE = re.compile(rb"edgeneuro host board: serial on (/dev/\S+)")

    def __init__(self, exe: Path, start_timeout: float = 20.0) -> None:
        super().__init__([str(Path(exe).resolve())], f"the host stream harness {Path(exe).name}", start_timeout)

    def env(self) -> dict[str, str]:
        from edgeneuro.targets.host import SANITIZER_ENV

        return {**os.environ, **SANITIZER_ENV}

    def _why(self, rc: int) -> str:
        """The exit code and the sanitizer's report line, if it wrote one."""
        self.stop()  # collects what it printed
        lines = self.output.decode(errors="replace").splitlines()
        report = next((ln.strip() for ln in lines if "ERROR: AddressSanitizer" in ln or "runtime error" in ln), "")
        return f"{self.what} exited with {rc}" + (f": {report}" if report else "")


def open_port(path: str, baud: int, timeout: float):
    """The serial port at ``path`` (pyserial), raw 8N1, reads returning within 50 ms, writes
    giving up after ``timeout`` seconds."""
    import serial

    try:
        port = serial.Serial(path, baud, timeout=0.05, write_timeout=timeout, exclusive=True)
    except (serial.SerialException, OSError, ValueError) as e:
        why = getattr(e, "strerror", None) or str(e)
        cause = e.__context__ if isinstance(e, serial.SerialException) else None
        if cause is not None and getattr(cause, "strerror", None):
            why = cause.strerror
        raise StreamError(f"cannot open serial port {path}: {why}") from e
    port.reset_input_buffer()
    return port
