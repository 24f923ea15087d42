"""Run the stream firmware on Renode (renode.io): the board's ``renode/<board>.resc`` loads the ELF
into Renode's platform model and puts the console UART on a host pseudo-terminal, which the host
then talks to with the same protocol and code as QEMU's pty or a real serial port.

``scripts/setup.sh`` installs Renode into ``.renode/`` and links ``renode`` and ``renode-test`` into
the venv's bin folder; elsewhere install it from https://github.com/renode/renode/releases (the Linux
portable package) and put them on PATH. Without it, ``--sim renode`` stops with that advice."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgeneuro.boards import Board
from edgeneuro.errors import BoardError, ToolError
from edgeneuro.resources import resource_dir
from edgeneuro.targets import stop_process

INSTALL_HINT = (
    "install Renode from https://github.com/renode/renode/releases (Linux portable package) and put `renode` on PATH"
)


# `sysbus WhatIsAt ADDRESS` answers "MACHINE.NAME registered at <FIRST, LAST>"
_WHAT = re.compile(r"\.(\w+) registered at <(0x[0-9A-Fa-f]+),")


def find(tool: str = "renode") -> str | None:
    """``renode`` or ``renode-test``: on PATH, else beside the running Python, where setup links them
    into the venv (``make test`` runs .venv/bin/pytest without activating the venv)."""
    return shutil.which(tool) or shutil.which(tool, path=str(Path(sys.executable).parent))


def script(board: Board) -> Path:
    """The board's Renode script, ``renode/<board>.resc``."""
    if not board.renode:
        raise BoardError(f"board {board.name} has no Renode platform; boards with one: see `edgeneuro boards`")
    path = resource_dir("renode") / f"{board.name}.resc"
    if not path.is_file():
        raise BoardError(f"board {board.name}: no Renode script {path}")
    return path


def command(board: Board, elf: Path | None, pty: Path, gdb_port: int | None = None) -> list[str]:
    """Renode headless with the board's script: the firmware loaded (its ``load`` macro), the console
    UART on the pty at ``pty`` (``console``) and the emulation started. Without ``elf``, the board's
    memory stays empty and Renode's GDB server listens on ``gdb_port`` instead, the emulation paused
    until a client starts it (``edgeneuro flash``: ``monitor start``): started at once, the core would
    find no vector table and Renode would halt it for good. That board is then timed as a chip at its
    ``clock_hz`` running one instruction a cycle, not as QEMU (the scripts' 1,000 MIPS): whoever
    streams to it over ``--port`` reads its SysTick ticks as cycles, as from a real board."""
    if elf is None:
        mips = max(1, round(board.clock_hz / 1e6))
        steps = f"runMacro $console; cpu PerformanceInMips {mips}; machine StartGdbServer {int(gdb_port or 3333)} false"
        commands = f'$pty="{pty}"; include @{script(board)}; {steps}'
    else:
        steps = "runMacro $load; runMacro $console; start"
        commands = f'$elf=@{Path(elf).resolve()}; $pty="{pty}"; include @{script(board)}; {steps}'
    return [find() or "renode", "--disable-xwt", "--console", "--plain", "-e", commands]


def _require_free(port: int) -> None:
    """Renode says nothing useful when its GDB server cannot listen: check the port first."""
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", port))
        except OSError as e:
            raise ToolError(f"TCP port {port} for Renode's GDB server is taken ({e.strerror}); "
                            "choose another with --gdb PORT") from e  # fmt: skip


def _signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to the process group; False once none of its processes is left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


class Renode:
    """Renode running ``elf`` on ``board`` with the console UART on a pty (``port``). A context
    manager, like the QEMU one in edgeneuro.stream.target: Renode is stopped on exit.

    With ``elf=None`` the board is left unprogrammed, as out of the box: its flash empty, the core
    paused, Renode's GDB server on ``gdb_port`` (``gdb`` is its address) waiting for ``edgeneuro
    flash``, and the console UART already on the pty for the stream that follows."""

    def __init__(self, board: Board, elf: Path | None, start_timeout: float = 60.0, gdb_port: int = 3333) -> None:
        if find() is None:
            raise ToolError(f"renode not found; {INSTALL_HINT}")
        self.board = board
        self._dir = tempfile.TemporaryDirectory(prefix="edgeneuro-renode-")
        self.port = str(Path(self._dir.name) / "uart")
        self.gdb = None if elf is not None else ("127.0.0.1", gdb_port)
        if self.gdb is not None:
            _require_free(gdb_port)
        self.cmd = command(board, elf, Path(self.port), gdb_port)
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None
        self._holder: int | None = None  # a descriptor of the pty, see __enter__
        self._watched: tuple[str, int] = ("", 0)  # the peripheral of log_writes: name, base address

    def __enter__(self) -> Renode:
        log = open(Path(self._dir.name) / "renode.log", "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)  # fmt: skip
        self._log = log
        try:
            deadline = time.monotonic() + self.start_timeout
            # the board's script runs the firmware past its UART set-up before it makes the pty
            while not Path(self.port).exists():
                if self.proc.poll() is not None:
                    raise ToolError(f"Renode ({self.board.name}) exited with {self.proc.returncode} before opening "
                                    f"its UART pty: {self.output()}")  # fmt: skip
                if time.monotonic() > deadline:
                    raise ToolError(f"Renode ({self.board.name}) did not open its UART pty within "
                                    f"{self.start_timeout:g} s: {self.output()}")  # fmt: skip
                time.sleep(0.1)
            # Held open until Renode is gone: when the last process with the pty open closes it,
            # Renode 1.15.3's reader of the pty gets EIO and Renode dies (one Robot run in five), and
            # `edgeneuro sim` must outlive each stream that connects to it.
            self._holder = os.open(self.port, os.O_RDWR | os.O_NOCTTY)
            tty.setraw(self._holder)  # no echo of the board's bytes back to it, whoever opens it next
            if self.gdb is not None:
                port = self.gdb[1]
                self._wait(lambda log: f"started on port :{port}" in log, f"start its GDB server on port {port}",
                           max(0.0, deadline - time.monotonic()))  # fmt: skip
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def monitor(self, command: str) -> None:
        """One command to Renode's monitor (its console, on Renode's stdin); what it answers goes to
        the log (``output``)."""
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        self.proc.stdin.flush()

    def log_writes(self, address: int, timeout: float = 30.0) -> None:
        """Have Renode log every write to the peripheral that holds ``address`` (``sysbus
        LogPeripheralAccess``), from now on: ``writes`` then reads them from the log. Returns once
        Renode has taken the command (the same question asked before and after it is answered twice)."""
        ask = f"sysbus WhatIsAt {address:#x}"
        self.monitor(ask)
        found = self._wait(lambda log: _WHAT.findall(log), f"answer `{ask}`", timeout)
        name, base = found[0]
        if not int(base, 16) <= address:
            raise ToolError(f"Renode ({self.board.name}): {address:#x} is not in {name} at {base}")
        self.monitor(f"sysbus LogPeripheralAccess sysbus.{name} true")
        self.monitor(ask)
        self._wait(lambda log: len(_WHAT.findall(log)) >= 2, f"log the writes to {name}", timeout)
        self._watched = (name, int(base, 16))

    def writes(self) -> list[tuple[int, int]]:
        """(address, value) of each write Renode logged to the peripheral of ``log_writes``, in order."""
        name, base = self._watched
        pattern = re.compile(rf"\b{re.escape(name)}: .*?Write\w* to (0x[0-9A-Fa-f]+).*?value (0x[0-9A-Fa-f]+)")
        return [(base + int(off, 16), int(v, 16)) for off, v in pattern.findall(self.output(tail=None))]

    def _wait(self, done: Callable[[str], Any], what: str, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while not (result := done(self.output(tail=None))):
            if self.proc is None or self.proc.poll() is not None or time.monotonic() > deadline:
                raise ToolError(f"Renode ({self.board.name}) did not {what} within {timeout:g} s: {self.output()}")
            time.sleep(0.1)
        return result

    def output(self, tail: int | None = 2000) -> str:
        """Renode's log (its last ``tail`` characters)."""
        path = Path(self._dir.name) / "renode.log"
        text = path.read_text(errors="replace").strip() if path.exists() else ""
        return text[-tail:] if tail else text

    def exited(self) -> str | None:
        """Why Renode is gone, or None while it runs."""
        if self.proc is None or self.proc.poll() is None:
            return None
        return f"Renode ({self.board.name}) exited with {self.proc.returncode}: {self.output()}"

    def stop(self) -> None:
        """End Renode: `renode` is a shell script that runs Mono as its child, so the whole process group
        (its own session) is signalled; ending only the script left Mono running, busy, for good."""
        if self.proc is not None and self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10.0
            # poll() reaps the script, which as a zombie would still count as one of the group
            while self.proc.poll() is None or _signal_group(self.proc.pid, 0):
                if time.monotonic() > deadline:
                    _signal_group(self.proc.pid, signal.SIGKILL)
                    break
                time.sleep(0.1)
        stop_process(self.proc, grace=10.0)
        if self._holder is not None:
            os.close(self._holder)
            self._holder = None
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None
        self._dir.cleanup()
