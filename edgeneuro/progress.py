"""Progress bars for long work (QEMU over many windows, streaming, fine-tuning, the demo's stages),
and the one policy that decides whether anyone sees them.

The policy: bars are drawn on stderr, and only inside ``terminal()`` when stderr is a terminal and
the caller did not ask for quiet. The CLI wraps every command in ``terminal(quiet=--quiet)``;
library code only opens ``bar()``s, which do nothing outside ``terminal()``, so a Python caller
sees no bars unless it opts in with ``with progress.terminal(): ...``. Bars never go to stdout,
so ``--json`` output stays pure JSON.

The bars are rich's (``rich.progress``); rich is imported only when bars are shown. All open bars
are tasks of one shared display, so a bar opened inside another (a QEMU run inside the demo's
stage) appears below it instead of fighting it for the terminal's lines. A bar is updated once per
window, frame, batch or recording, never inside one: the hot loops stay as they were."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

_console: Any = None  # a rich Console on the terminal inside terminal(); None: bars are not shown
_display: Any = None  # the rich Progress every open bar is a task of, while one is open
_open = 0  # bars open on _display


class Bar:
    """One bar: ``update`` it as the work advances. Outside ``terminal()`` it shows nothing and
    ``update`` returns at once."""

    def __init__(self, display: Any = None, task: Any = None) -> None:
        self._display, self._task = display, task

    @property
    def shown(self) -> bool:
        return self._display is not None

    def update(self, advance: int = 0, *, completed: int | None = None, total: int | None = None,
               note: str | None = None) -> None:  # fmt: skip
        """``advance`` the count (or set it to ``completed``), set the ``total`` once it is known,
        and replace the ``note`` after the counts (which stage, frames sent, the epoch)."""
        if self._display is None:
            return
        fields = {} if note is None else {"note": note}
        self._display.update(self._task, advance=advance or None, completed=completed, total=total, **fields)


def shown() -> bool:
    """Whether bars are drawn now (inside ``terminal()``, on a terminal, not quiet)."""
    return _console is not None


@contextmanager
def terminal(quiet: bool = False, stream: IO[str] | None = None) -> Iterator[bool]:
    """Draw the ``bar()``s opened in the body on ``stream`` (default: stderr) when it is a
    terminal and not ``quiet``; yields whether they are drawn.

    The bars write to a duplicate of the terminal's file descriptor taken here, so that they still
    reach the terminal while the body points descriptor 2 elsewhere (``compress`` hides
    TensorFlow's C++ log lines that way, edgeneuro/compress/quiet.py)."""
    global _console
    stream = sys.stderr if stream is None else stream
    if quiet or not stream.isatty() or _console is not None:  # nested: the outer call decided
        yield _console is not None
        return
    from rich.console import Console

    with open(os.dup(stream.fileno()), "w", encoding=getattr(stream, "encoding", None) or "utf-8",
              errors="replace") as tty:  # fmt: skip
        _console = Console(file=tty)
        try:
            yield True
        finally:
            _console = None


@contextmanager
def bar(what: str, total: int | None = None, unit: str = "windows") -> Iterator[Bar]:
    """A bar for the body: ``what`` is being done, ``total`` ``unit``s (None: not known yet) with
    the count, the rate and the time left. The last bar to close leaves its final state on screen;
    one closing inside another disappears."""
    global _display, _open
    if _console is None:
        yield Bar()
        return
    if _display is None:
        _display = _new_display(_console)
    display = _display
    task = display.add_task(what, total=total, unit=unit, note="")
    if _open == 0:
        display.start()
    _open += 1
    try:
        yield Bar(display, task)
    finally:
        _open -= 1
        if _open == 0:
            display.stop()  # draws the final counts once more
            _display = None
        else:
            display.remove_task(task)


def _new_display(console: Any) -> Any:
    """rich's Progress with the columns of every bar. What the program prints to stdout while bars
    are drawn goes through it, above the bars, when stdout is the same terminal (else the bars'
    redrawing would overwrite those lines); stdout elsewhere (a pipe, a file) is left alone.
    Writes to stderr are never captured: ``compress`` sends them to a log file on purpose."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task) -> Text:
            # when done, the mean over the whole task (rich's estimate needs two updates; a quick
            # task may jump from 0 to done in one)
            speed = task.completed / task.finished_time if task.finished and task.finished_time else task.speed
            if speed is None:
                return Text("")
            unit = task.fields["unit"]
            return Text(f"{speed:,.0f} {unit}/s" if speed >= 100 else f"{speed:.3g} {unit}/s")

    try:
        same = os.path.sameopenfile(sys.stdout.fileno(), console.file.fileno())
    except (AttributeError, OSError, ValueError):  # stdout replaced by something without a descriptor
        same = False
    return Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}", markup=False),
        Rate(),
        TimeRemainingColumn(elapsed_when_finished=True),
        TextColumn("{task.fields[note]}", markup=False),
        console=console,
        redirect_stdout=same,
        redirect_stderr=False,
    )


@contextmanager
def fitting(keras: Any, what: str) -> Iterator[list]:
    """A bar over the batches of one Keras ``fit`` (``keras``: the Keras module of the model,
    tf_keras or Keras 3): yields the callbacks to add to the fit's. None when bars are not shown,
    so that the training loop is then exactly what it was."""
    with bar(what, None, "batches") as batches:
        if not batches.shown:
            yield []
            return

        class Batches(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                steps = self.params.get("steps")
                batches.update(total=steps * self.params["epochs"] if steps else None)

            def on_epoch_begin(self, epoch, logs=None):
                batches.update(note=f"epoch {epoch + 1}/{self.params['epochs']}")

            def on_train_batch_end(self, batch, logs=None):
                batches.update(1)

        yield [Batches()]
