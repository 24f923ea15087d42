"""One mutant through the compile path, in-process, with a hang guard, and classified:

* ``clean error``: an ``EdgeNeuroError`` whose message is one line naming the file;
* ``unclear error``: an ``EdgeNeuroError`` that does not (several lines, or the file not named);
* ``traceback``: any other exception (the CLI would print "internal error");
* ``hang``: still running after the time limit (SIGALRM);
* ``accepted``: compiled to C;
* ``sanitizer``: (``sanitize=True``) accepted, but its C built for the host under -Werror, ASan and
  UBSan in both host layouts (``build.build_host(checks=True)``) fails to build or stops with a
  report on one sample of random input.
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

from .mutate import Mutant
from .seeds import NIR_DT

OUTCOMES = ("clean error", "unclear error", "traceback", "hang", "accepted", "sanitizer")
FAILURES = ("unclear error", "traceback", "hang", "sanitizer")
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


def run_one(m: Mutant, work: Path, timeout: float = 20.0, sanitize: bool = False) -> Result:
    """Writes the mutant into ``work``, loads and compiles it for ``BOARD`` (``sanitize``: and runs
    an accepted one's host build under the sanitizers), removes what it wrote."""
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
                    compiled = compiler.compile_model(compiler.load(path, options(m)), board, out)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if sanitize:
            problem = sanitized_run(compiled, m)
            if problem:
                outcome, detail = "sanitizer", problem
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


def sanitized_run(compiled, m: Mutant) -> str:
    """'' if the host build under the sanitizers runs one sample of random input (seeded by the
    mutant) cleanly in both layouts, else what went wrong."""
    import numpy as np

    from edgeneuro import build
    from edgeneuro.runner import encode_inputs
    from edgeneuro.targets import host

    g = compiled.graph
    rng = np.random.default_rng([m.seed, m.index, 1])
    lead = (1, 4) if g.temporal else (1,)
    arrays = {}
    for name in g.inputs:
        t = g.t(name)
        shape, dtype = (*lead, *t.sample_shape), np.dtype(t.dtype)
        if dtype.kind == "f":
            arrays[name] = rng.normal(size=shape).astype(dtype)
        elif dtype == np.bool_:
            arrays[name] = rng.integers(0, 2, shape).astype(dtype)
        else:
            info = np.iinfo(dtype)
            arrays[name] = rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    if len(arrays) == 1:
        x = next(iter(arrays.values()))
    else:
        from edgeneuro.runner import check_inputs

        x = check_inputs(arrays, g)
    try:
        exe = build.build_host(compiled.out_dir, checks=True)
        host.run(exe, encode_inputs(g, x))
    except EdgeNeuroError as e:
        return " ".join(str(e).split())[:400]
    return ""


@contextlib.contextmanager
def _numpy_quiet():
    import numpy as np

    with np.errstate(all="ignore"):
        yield
