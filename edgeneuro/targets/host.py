"""Run the host build of the generated C (same harness, same file format, no timing).

With checks (``build.build_host(checks=True)``; EDGENEURO_HOST_CHECKS=1, which the tests set) the
host build is compiled with CHECK_FLAGS: warnings as errors, AddressSanitizer and
UndefinedBehaviorSanitizer, which stop the program at their first report. A second executable
beside it (``debug_twin``) is built in the host debug layout (-DEN_DEBUG_LAYOUT in model.c): every
buffer of the memory plan in an array of its own instead of at its offset in the one arena, so a
kernel writing or reading past its tensor runs into the sanitizer's red zone instead of into the
next tensor. ``run`` runs both and requires the same output bytes."""

from __future__ import annotations

import functools
import os
import subprocess
import tempfile
from pathlib import Path

from edgeneuro.errors import ToolError
from edgeneuro.targets import Run

# On top of build.CFLAGS (-Wall -Wextra -Werror): what the generated C and every kernel are clean
# under (-Wconversion, which in C includes -Wsign-conversion: every narrowing or change of sign is an
# explicit cast, so a new implicit one is an error here), and the sanitizers.
CHECK_FLAGS = [
    "-Wshadow",
    "-Wpedantic",
    "-Wconversion",
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
    "-g1",  # line tables: a report names the file and line
]
# The sanitizers' runtime options: a report is an error (exit code 1) with a stack trace.
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0:halt_on_error=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}


def checks_wanted() -> bool:
    """Whether host builds take the checks by default: EDGENEURO_HOST_CHECKS set and not 0."""
    return os.environ.get("EDGENEURO_HOST_CHECKS", "0") not in ("", "0")


@functools.cache
def compiler_version() -> str:
    """The host gcc's version (part of the object cache's key)."""
    proc = subprocess.run(["gcc", "-dumpfullversion", "-dumpversion"], capture_output=True, text=True)
    return proc.stdout.strip()


def object_cache() -> Path:
    """Where checked host builds keep their kernel objects, by content: EDGENEURO_CACHE, else
    $XDG_CACHE_HOME/edgeneuro or ~/.cache/edgeneuro (the temporary folder where that cannot be
    written), /host-objects."""
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "edgeneuro"
    for base in (os.environ.get("EDGENEURO_CACHE") or home, Path(tempfile.gettempdir()) / f"edgeneuro-{os.getuid()}"):
        path = Path(base) / "host-objects"
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK):
            return path
    raise ToolError(f"no writable folder for the host build's object cache (tried {home})")


def debug_twin(exe: Path) -> Path:
    """Where the host debug layout build of ``exe`` goes (present only in a checked build)."""
    return exe.with_name(exe.name + "_debug_layout")


def _run_one(exe: Path, input_bytes: bytes, timeout: float) -> Run:
    with tempfile.TemporaryDirectory(prefix="edgeneuro-host-") as d:
        work = Path(d)
        (work / "input.bin").write_bytes(input_bytes)
        env = {**os.environ, **SANITIZER_ENV}
        proc = subprocess.run([str(exe.resolve())], cwd=work, capture_output=True, timeout=timeout, env=env)
        console = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
        if proc.returncode != 0:
            raise ToolError(f"host build {exe.name} exited with {proc.returncode}\n{console.strip()}")
        return Run(records=(work / "output.bin").read_bytes(), console=console)


def run(exe: Path, input_bytes: bytes, timeout: float = 600.0) -> Run:
    """Run the host build ``exe`` over ``input_bytes`` (input.bin); with its debug layout twin
    (a checked build), that too, and its output.bin must be the same bytes."""
    res = _run_one(exe, input_bytes, timeout)
    twin = debug_twin(exe)
    if twin.exists():
        debug = _run_one(twin, input_bytes, timeout)
        if debug.records != res.records:
            pairs = enumerate(zip(res.records, debug.records, strict=False))
            diff = next((i for i, (a, b) in pairs if a != b), min(len(res.records), len(debug.records)))
            raise ToolError(
                f"host build {exe.name}: the debug layout ({twin.name}) wrote other output bytes than the arena "
                f"layout: {len(debug.records)} B against {len(res.records)} B, first difference at byte {diff}"
            )
    return res
