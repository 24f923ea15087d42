"""Run the host build of the generated C (same harness, same file format, no timing)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from edgeneuro.errors import ToolError
from edgeneuro.targets import Run


def run(exe: Path, input_bytes: bytes, timeout: float = 600.0) -> Run:
    with tempfile.TemporaryDirectory(prefix="edgeneuro-host-") as d:
        work = Path(d)
        (work / "input.bin").write_bytes(input_bytes)
        proc = subprocess.run([str(exe.resolve())], cwd=work, capture_output=True, timeout=timeout)
        console = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
        if proc.returncode != 0:
            raise ToolError(f"host build exited with {proc.returncode}\n{console.strip()}")
        return Run(records=(work / "output.bin").read_bytes(), console=console)
