"""Run firmware on QEMU's model of the board: -icount shift=0 (one instruction = 1 ns of virtual
time, so timer ticks count instructions), semihosting for the input/output files and the exit code,
the board's console UART on stdout, and always under a timeout. With ``cycles``, the TCG plugin of
qemu_plugin.py also counts each en_model_invoke() call's instructions per timing class (the
plugin does not change what -icount counts)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgeneuro.boards import Board
from edgeneuro.errors import ToolError
from edgeneuro.targets import Run, qemu_plugin

EXIT_CODES = {
    2: "the harness could not open or write its files",
    3: "the firmware faulted (HardFault or another exception)",
    4: "the model returned an error",
}
WATCH_S = 0.2  # how often run() reports the size of output.bin to its watcher


@dataclass(frozen=True)
class QemuRun(Run):
    calls: list[qemu_plugin.Call] | None = None  # per en_model_invoke() call, when run with cycles


def command(board: Board, elf: Path, console: str = "stdio", extra: list[str] | None = None) -> list[str]:
    q = board.require_qemu()
    # The board's console UART is QEMU's serial port number q["serial"]: the ports before it go to null.
    # console: where it goes, "stdio" or "pty" (a pseudo-terminal, for edgeneuro stream).
    serial = ["-serial", "null"] * q.get("serial", 0) + ["-serial", console]
    return [
        "qemu-system-arm",
        "-M",
        q["machine"],
        "-cpu",
        q.get("cpu", board.core),
        "-kernel",
        str(elf),
        "-icount",
        "shift=0",
        "-nographic",
        "-monitor",
        "none",
        *serial,
        "-semihosting-config",
        "enable=on,target=native",
        *(extra or []),
    ]


def run(board: Board, elf: Path, input_bytes: bytes, timeout: float = 600.0, cycles: bool = False,
        watch: Callable[[int], None] | None = None) -> QemuRun:  # fmt: skip
    """Run ``elf`` over ``input_bytes`` (input.bin); ``cycles``: with the cycle-count plugin.
    ``watch`` is called every WATCH_S seconds while QEMU runs with the bytes of output.bin so far:
    the harness writes each inference's record as it finishes, so they count the work done."""
    if shutil.which("qemu-system-arm") is None:
        raise ToolError(
            "qemu-system-arm not found; install it with `make setup` (Debian: apt-get install qemu-system-arm)"
        )
    with tempfile.TemporaryDirectory(prefix="edgeneuro-qemu-") as d:
        work = Path(d)
        (work / "input.bin").write_bytes(input_bytes)
        log = work / "cycles.log"
        extra = qemu_plugin.qemu_args(elf.resolve(), log) if cycles else None
        out = work / "output.bin"
        deadline = time.monotonic() + timeout
        with subprocess.Popen(command(board, elf.resolve(), extra=extra), cwd=work, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL) as proc:  # fmt: skip
            try:
                while True:
                    left = deadline - time.monotonic()
                    try:
                        stdout, stderr = proc.communicate(timeout=max(0.0, min(left, WATCH_S) if watch else left))
                        break
                    except subprocess.TimeoutExpired:  # communicating again later loses no output
                        if watch is None or time.monotonic() >= deadline:
                            raise
                        watch(out.stat().st_size if out.exists() else 0)
            except subprocess.TimeoutExpired as e:
                proc.kill()
                proc.communicate()
                raise ToolError(f"QEMU ({board.name}) did not finish within {timeout:g} s; the firmware hangs") from e
            except BaseException:  # an interrupt, or the watcher failed: QEMU must not outlive us
                proc.kill()
                raise
        console = stdout.decode(errors="replace") + stderr.decode(errors="replace")
        if proc.returncode != 0:
            why = EXIT_CODES.get(proc.returncode, "see the console output")
            raise ToolError(f"firmware on QEMU {board.name} exited with {proc.returncode}: {why}\n{console.strip()}")
        records = out.read_bytes() if out.exists() else b""
        calls = qemu_plugin.parse(log.read_text() if log.exists() else "") if cycles else None
    return QemuRun(records=records, console=console, calls=calls)
