"""One mutant through the compile path, in-process, with a hang guard, and classified:

* ``clean error``: an ``EdgeNeuroError`` whose message is one line naming the file;
* ``unclear error``: an ``EdgeNeuroError`` that does not (several lines, or the file not named);
* ``traceback``: any other exception (the CLI would print "internal error");
* ``hang``: still running after the time limit (SIGALRM);
* ``accepted``: compiled to C;
* ``host check``: (``sanitize``; by default with EDGENEURO_HOST_CHECKS=1, as in the tests) accepted,
  but ``runner.check_on_host`` fails: its C built for the host under -Werror, ASan and UBSan in both
  host layouts fails to build, stops with a report on one sample of random input, or (a model
  without float tensors) differs from the numpy reference.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import signal
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

from edgeneuro import boards, compiler
from edgeneuro.errors import EdgeNeuroError
from edgeneuro.options import CompileOptions
from edgeneuro.targets import host

from .mutate import Mutant
from .seeds import NIR_DT

OUTCOMES = ("clean error", "unclear error", "traceback", "hang", "accepted", "host check")
FAILURES = ("unclear error", "traceback", "hang", "host check")
BOARD = "mps2-an386"  # portable kernels (no core features): the C a host build compiles too


class Hang(BaseException):  # not an Exception: no ``except Exception`` in the compiler may swallow it
    pass


@dataclass(frozen=True)
class Result:
    mutant: Mutant
    outcome: str
    detail: str  # the error's first line, or the exception and where it was raised
    seconds: float
    trace: str = ""  # the traceback of a traceback or a hang


def _alarm(signum, frame):
    raise Hang()


def options(m: Mutant) -> CompileOptions:
    return CompileOptions(dt=NIR_DT) if m.fmt == ".nir" else CompileOptions(precision=m.precision)


def where(e: BaseException) -> str:
    """file:line of the innermost frame inside edgeneuro (or the innermost frame)."""
    frames = traceback.extract_tb(e.__traceback__)
    mine = [f for f in frames if "/edgeneuro/" in f.filename] or frames
    if not mine:
        return "?"
    f = mine[-1]
    return f"{Path(f.filename).parent.name}/{Path(f.filename).name}:{f.lineno}"


def run_one(m: Mutant, work: Path, timeout: float = 20.0, sanitize: bool | None = None) -> Result:
    """Writes the mutant into ``work``, loads and compiles it for ``BOARD`` (``sanitize``, None:
    ``host.checks_wanted()``: and checks an accepted one on the host, outside the time limit),
    removes what it wrote."""
    work.mkdir(parents=True, exist_ok=True)
    path = work / m.filename
    out = work / "gen"
    path.write_bytes(m.data)
    board = boards.load(BOARD)
    old = signal.signal(signal.SIGALRM, _alarm)
    start = time.perf_counter()
    outcome, detail, trace = "accepted", "", ""
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
                with warnings.catch_warnings(), _numpy_quiet():
                    warnings.simplefilter("ignore")
                    compiled = compiler.compile_model(compiler.load(path, options(m)), board, out, host_check=False)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if host.checks_wanted() if sanitize is None else sanitize:
            problem = host_checked(compiled, m)
            if problem:
                outcome, detail = "host check", problem
    except Hang as e:
        outcome, detail, trace = "hang", f"still running after {timeout:g} s at {where(e)}", traceback.format_exc()
    except EdgeNeuroError as e:
        msg = str(e)
        outcome = "clean error" if "\n" not in msg and str(path) in msg else "unclear error"
        detail = msg.replace(str(work) + "/", "")
        if outcome != "clean error":
            trace = traceback.format_exc()
    except (Exception, RecursionError) as e:
        outcome, detail, trace = "traceback", f"{type(e).__name__}: {str(e)[:300]} ({where(e)})", traceback.format_exc()
    finally:
        signal.signal(signal.SIGALRM, old)
        path.unlink(missing_ok=True)
        shutil.rmtree(out, ignore_errors=True)
    return Result(m, outcome, detail, time.perf_counter() - start, trace)


def host_checked(compiled, m: Mutant) -> str:
    """'' if ``runner.check_on_host`` passes on one sample of random input (seeded by the mutant),
    else what went wrong."""
    import numpy as np

    from edgeneuro.runner import check_on_host, random_inputs

    seed = int(np.random.default_rng([m.seed, m.index, 1]).integers(1 << 31))
    try:
        with _numpy_quiet():
            check_on_host(compiled, random_inputs(compiled.graph, 1, seed), seed)
    except EdgeNeuroError as e:
        return " ".join(str(e).split())[:400]
    return ""


@contextlib.contextmanager
def _numpy_quiet():
    import numpy as np

    with np.errstate(all="ignore"):
        yield
