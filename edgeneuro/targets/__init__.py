"""Targets run a built program and return what it computed: one Run result type for all."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class Run:
    """Raw results: the output records the program wrote (see records.py) and its console."""

    records: bytes
    console: str


def stop_process(proc: subprocess.Popen | None, grace: float = 5.0) -> None:
    """Terminate a simulator still running, killing it if it does not stop within ``grace`` s."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
