"""TensorFlow, its converter and onnxruntime write log lines straight to file descriptor 2 from C++
(absl, MLIR diagnostics), past Python's ``sys.stderr``. ``compress`` sends them to a temporary file
while it works, so that what a user sees is the report, or one error line; ``--debug`` keeps them."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def native_stderr_quiet(enabled: bool = True) -> Iterator[None]:
    """Redirect file descriptor 2 to a temporary file for the body (nothing when not ``enabled``)."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
