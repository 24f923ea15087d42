"""Work spread over processes: one function mapped over work items as Ray tasks (a local Ray, or a
cluster at ``address``) when Ray is installed (``pip install 'edgeneuro[scale]'``), else on the
standard library's process pool, or in this process when no worker count is given.

This is deliberately not a scheduler: Ray (or the pool) decides where and when each item runs;
this module only submits, collects outcomes as they finish, and turns the ways an item can fail
(it raised, it ran out of time, its worker process died) into an ``Outcome`` with a one-line
reason, so that one bad item does not stop the others. The callers (edgeneuro.scale.board_eval,
edgeneuro.scale.sweep) decide what a failure means for them."""

from __future__ import annotations

import multiprocessing
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from edgeneuro.errors import InputError

BACKENDS = ("auto", "ray", "process", "inline")
DIED = "its worker process died"


@dataclass(frozen=True)
class Outcome:
    """What became of the work item ``index``: its ``value``, or ``error``, why it failed."""

    index: int
    value: Any = None
    error: str | None = None


class _OutOfTime(BaseException):
    """Raised by the alarm inside an item that ran past its time. A BaseException, so that library
    code catching Exception (TensorFlow's, ours) cannot swallow it."""


def have_ray() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def choose(workers: int | None, address: str | None = None, backend: str = "auto") -> str:
    """The backend that runs the work: ``auto`` takes Ray when it is installed and workers or an
    address are given, the process pool when workers are given without Ray, and this process when
    neither is (the single-process run every other one must equal)."""
    if backend not in BACKENDS:
        raise InputError(f"backend {backend!r}: give one of {', '.join(BACKENDS)}")
    if workers is not None and workers < 1:
        raise InputError(f"--workers {workers}: give at least 1")
    if (backend == "ray" or address) and not have_ray():
        what = f"--address {address}" if address else "the ray backend"
        raise InputError(f"{what} needs Ray: pip install 'edgeneuro[scale]' (or drop --address for the process pool)")
    if address and backend not in ("auto", "ray"):
        raise InputError(f"--address {address} is a Ray cluster's; the {backend} backend runs on this machine")
    if backend != "auto":
        return backend
    if address or (workers is not None and have_ray()):
        return "ray"
    return "process" if workers is not None else "inline"


def run(
    fn: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    workers: int | None = None,
    address: str | None = None,
    backend: str = "auto",
    timeout: float | None = None,
) -> Iterator[Outcome]:
    """``fn(item)`` for every item, yielded as each finishes (not in order). ``fn`` must be a
    module-level function and the items picklable: they travel to other processes. ``timeout``
    (seconds) bounds each item, counted inside its worker from the moment it starts, so time spent
    waiting for a free worker does not count. ``address``: a Ray cluster (``ray://host:10001`` or
    ``auto`` for the one `ray start --head` started here); a Ray already initialized by the caller
    is used as it is."""
    how = choose(workers, address, backend)
    if how == "inline":
        for i, item in enumerate(items):
            yield _outcome(i, _call(fn, item, timeout))
    elif how == "process":
        yield from _pool(fn, items, workers or multiprocessing.cpu_count(), timeout)
    else:
        yield from _ray(fn, items, workers, address, timeout)


def _call(fn: Callable[[Any], Any], item: Any, timeout: float | None) -> tuple[bool, Any]:
    """(True, fn(item)) or (False, why it failed); runs in the worker. The time limit is an alarm
    signal, which only the main thread can take: elsewhere the item runs unbounded."""
    timed = bool(timeout) and threading.current_thread() is threading.main_thread()
    if timed:
        previous = signal.signal(signal.SIGALRM, _out_of_time)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return True, fn(item)
    except _OutOfTime:
        if not timed:  # an outer item's alarm (a sweep's trial running its evaluation here): its to report
            raise
        return False, f"timed out after {timeout:g} s"
    except Exception as e:  # any failure of one item is its outcome, not the end of the others
        first = str(e).strip().partition("\n")[0]
        return False, f"{type(e).__name__}: {first}" if first else type(e).__name__
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def _out_of_time(signum: int, frame: Any) -> None:
    raise _OutOfTime


def _outcome(index: int, result: tuple[bool, Any]) -> Outcome:
    ok, value = result
    return Outcome(index, value) if ok else Outcome(index, error=value)


def _pool(fn: Callable[[Any], Any], items: Sequence[Any], workers: int, timeout: float | None) -> Iterator[Outcome]:
    """The standard library's process pool, at most ``workers`` items in flight, so that when a
    worker process dies (killed, out of memory) the pool breaks with only those in flight: they are
    the items lost, and the rest go on in a new pool. Processes are spawned, not forked: forking a
    parent that has started threads (TensorFlow's, Ray's) can deadlock the child."""
    queue = deque(enumerate(items))
    context = multiprocessing.get_context("spawn")
    while queue:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        running: dict[Any, int] = {}
        try:
            while queue or running:
                while queue and len(running) < workers:
                    i, item = queue.popleft()
                    running[pool.submit(_call, fn, item, timeout)] = i
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                    for i in sorted(running.values()):  # every item in flight died with the pool
                        yield Outcome(i, error=f"{DIED} (the process pool broke while it ran)")
                    running.clear()
                    break
                for f in done:
                    yield _outcome(running.pop(f), f.result())
        finally:
            # Ctrl-C reaches the workers too (one process group): they stop, and nothing new starts
            pool.shutdown(wait=True, cancel_futures=True)


def _ray(
    fn: Callable[[Any], Any], items: Sequence[Any], workers: int | None, address: str | None, timeout: float | None
) -> Iterator[Outcome]:
    """Ray tasks, one per item. A task whose worker process dies is retried once by Ray (on another
    worker, or node), then reported failed. Ray is started here when the caller has not (local with
    ``workers`` CPUs, or joined at ``address``) and stopped again at the end."""
    import ray

    started = not ray.is_initialized()
    if started:
        # the workers' log lines stay in Ray's session logs: this process's stdout may be --json
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    task = ray.remote(num_cpus=1, max_retries=1)(_call)
    refs = {task.remote(fn, item, timeout): i for i, item in enumerate(items)}
    pending = list(refs)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    yield _outcome(refs[ref], ray.get(ref))
                except ray.exceptions.RayError as e:
                    yield Outcome(refs[ref], error=f"{DIED} ({type(e).__name__})")
    finally:
        for ref in pending:  # Ctrl-C, or the caller stopped early: nothing left running
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()
