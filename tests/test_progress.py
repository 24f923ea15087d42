"""Progress bars (edgeneuro/progress.py): drawn on stderr, only when stderr is a terminal, never
with --quiet (before or after the command), never on stdout, so that --json output stays JSON; and
library code draws nothing unless its caller opts in. Checked on real commands: `run` and `stream`
of the MLPerf AD01 model on QEMU over a few windows, with stderr a pipe or a pseudo-terminal."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading

import numpy as np
import pytest
from conftest import MLPERF

from edgeneuro import frontends, progress, reference
from edgeneuro.compiler import prepare

AD01 = MLPERF / "ad01_int8.tflite"
N = 6  # windows
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def windows(tmp_path_factory):
    path = tmp_path_factory.mktemp("progress") / "windows.npy"
    np.save(path, np.random.default_rng(3).integers(-128, 128, (N, 640), dtype=np.int8))
    return path


def _drain(fd: int, into: list[bytes]) -> None:
    """Read a pty's master end until every slave end is closed (Linux then raises EIO)."""
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            return
        if not data:
            return
        into.append(data)


def edgeneuro(*args: str, tty: bool) -> tuple[int, str, str]:
    """The command's exit code, stdout and stderr (escape sequences removed); ``tty``: stderr is a
    pseudo-terminal, as in an interactive shell (stdout stays a pipe)."""
    cmd = [sys.executable, "-m", "edgeneuro.cli", *args]
    if not tty:
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        return proc.returncode, proc.stdout, proc.stderr
    master, slave = os.openpty()
    got: list[bytes] = []
    reader = threading.Thread(target=_drain, args=(master, got))
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL,
                                env={**os.environ, "COLUMNS": "150"})  # fmt: skip
    finally:
        os.close(slave)
    reader.start()
    out, _ = proc.communicate(timeout=120)
    reader.join(10)
    os.close(master)
    return proc.returncode, out.decode(), ANSI.sub("", b"".join(got).decode(errors="replace"))


def test_library_code_is_quiet_unless_the_caller_opts_in(monkeypatch):
    """The reference kernels over 3 samples with stderr a terminal: no bar from the library alone;
    one inside progress.terminal(), none inside progress.terminal(quiet=True)."""
    prepared = prepare(frontends.load(AD01), model=AD01)
    x = np.random.default_rng(0).integers(-128, 128, (3, 640), dtype=np.int8)
    master, slave = os.openpty()
    got: list[bytes] = []
    reader = threading.Thread(target=_drain, args=(master, got))
    reader.start()
    with open(slave, "w") as tty:
        monkeypatch.setattr(sys, "stderr", tty)
        reference.run_batch(prepared.graph, prepared.kernels, x)
        with progress.terminal(quiet=True) as shown:
            assert not shown
            reference.run_batch(prepared.graph, prepared.kernels, x)
        tty.flush()
        assert not progress.shown()
        with progress.terminal() as shown:
            assert shown and progress.shown()
            reference.run_batch(prepared.graph, prepared.kernels, x)
        assert not progress.shown()
        monkeypatch.undo()
    reader.join(10)
    os.close(master)
    text = ANSI.sub("", b"".join(got).decode(errors="replace"))
    assert text.lstrip().startswith("reference kernels (host)"), text  # nothing from the first two runs
    assert "3/3 samples" in text, text


@pytest.mark.sim
def test_not_on_a_terminal_nothing_on_stderr(windows):
    code, out, err = edgeneuro("run", str(AD01), "--input", str(windows), tty=False)
    assert code == 0, err
    assert err == ""
    assert f"{N} inference(s)" in out


@pytest.mark.sim
def test_on_a_terminal_a_bar_of_the_windows(windows):
    """stderr a terminal: the QEMU bar with its counts on stderr; stdout the report alone."""
    code, out, err = edgeneuro("run", str(AD01), "--input", str(windows), tty=True)
    assert code == 0, err
    assert "mps2-an386 (QEMU)" in err and f"{N}/{N} windows" in err, err
    assert "windows/s" in err  # the rate (and the elapsed time once done)
    assert out.startswith(f"mps2-an386: {N} inference(s)") and "\x1b" not in out and "QEMU)" not in out


@pytest.mark.sim
@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_silences_the_bars(windows, where):
    """--quiet is a global option, accepted before the command and after it."""
    run = ["run", str(AD01), "--input", str(windows)]
    code, out, err = edgeneuro(*(["--quiet", *run] if where == "before" else [*run, "--quiet"]), tty=True)
    assert code == 0, err
    assert err == "" and f"{N} inference(s)" in out


@pytest.mark.sim
def test_stream_json_stays_json_with_bars_on_a_terminal(windows):
    """`stream --json` on a terminal: the bar counts windows and frames on stderr, stdout parses."""
    code, out, err = edgeneuro("stream", str(AD01), "--input", str(windows), "--json", tty=True)
    assert code == 0, err
    assert "streaming" in err and f"{N}/{N} windows" in err and "retransmitted" in err, err
    frames = re.findall(r"(\d+) frames sent", err)
    assert frames and int(frames[-1]) >= N  # HELLO and one INFER per window
    r = json.loads(out)
    assert r["ok"] and r["windows"] == N and r["protocol"]["sent"] == int(frames[-1])
