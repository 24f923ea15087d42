"""Run the stream firmware on Renode (renode.io): the board's ``renode/<board>.resc`` loads the ELF
into Renode's platform model and puts the console UART on a host pseudo-terminal, which the host
then talks to with the same protocol and code as QEMU's pty or a real serial port.

``scripts/setup.sh`` installs Renode into ``.renode/`` and links ``renode`` and ``renode-test`` into
the venv's bin folder; elsewhere install it from https://github.com/renode/renode/releases (the Linux
portable package) and put them on PATH. Without it, ``--sim renode`` stops with that advice."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from edgeneuro.boards import Board
from edgeneuro.errors import BoardError, ToolError
from edgeneuro.resources import resource_dir
from edgeneuro.targets import stop_process

INSTALL_HINT = (
    "install Renode from https://github.com/renode/renode/releases (Linux portable package) and put `renode` on PATH"
)


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


def command(board: Board, elf: Path, pty: Path) -> list[str]:
    """Renode headless, with the board's script, the firmware and the pty path bound."""
    commands = f'$elf=@{Path(elf).resolve()}; $pty="{pty}"; include @{script(board)}; start'
    return [find() or "renode", "--disable-xwt", "--console", "--plain", "-e", commands]


def _signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to the process group; False once none of its processes is left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


class Renode:
    """Renode running ``elf`` on ``board`` with the console UART on a pty (``port``). A context
    manager, like the QEMU one in edgeneuro.stream.target: Renode is stopped on exit."""

    def __init__(self, board: Board, elf: Path, start_timeout: float = 60.0) -> None:
        if find() is None:
            raise ToolError(f"renode not found; {INSTALL_HINT}")
        self.board = board
        self._dir = tempfile.TemporaryDirectory(prefix="edgeneuro-renode-")
        self.port = str(Path(self._dir.name) / "uart")
        self.cmd = command(board, elf, Path(self.port))
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None

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
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def output(self) -> str:
        path = Path(self._dir.name) / "renode.log"
        return path.read_text(errors="replace").strip()[-2000:] if path.exists() else ""

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
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None
        self._dir.cleanup()
