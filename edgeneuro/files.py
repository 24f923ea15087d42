"""Files a command reads and writes: the .npz convention for models with several inputs, and
writing what a command produces so that it appears complete or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from edgeneuro.errors import InputError

if TYPE_CHECKING:  # numpy is imported where arrays are read: the command line starts without it
    import numpy as np


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` into a temporary sibling of ``path``, then rename it to ``path``: a failed
    write leaves no half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def provenance(model: Path | str | None) -> dict[str, str]:
    """Where a JSON report came from, for the report page's header: the edgeneuro version that
    wrote it, when (UTC), and the SHA-256 of the model file (which names the model exactly where its
    path does not: a copy, a rebuilt file of the same name). A model given as a folder (a
    SavedModel) has no file hash."""
    import hashlib
    from datetime import UTC, datetime

    from edgeneuro import __version__

    out = {"edgeneuro_version": __version__, "created": datetime.now(UTC).isoformat(timespec="seconds")}
    if model is not None and Path(model).is_file():
        out["model_sha256"] = hashlib.sha256(Path(model).read_bytes()).hexdigest()
    return out


def load_npz(path: Path, where: str) -> dict[str, np.ndarray]:
    """Every array of the .npz ``path`` by key; ``where`` starts the error messages."""
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{where}: no such file")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as e:
        raise InputError(f"{where}: not a .npz archive of arrays ({type(e).__name__}: {e})") from e


def by_input(given: dict[str, np.ndarray], names: list[str] | tuple[str, ...], where: str) -> dict[str, np.ndarray]:
    """The arrays of an .npz for a model's inputs ``names``: each keyed by the input's name or its
    index ("0", "1", ...), returned by name in the model's order; an unknown key, one given twice
    or a missing input is an error (``where`` starts it) that lists what the model takes."""
    wanted = ", ".join(f"'{n}' (or '{i}')" for i, n in enumerate(names))
    arrays: dict[str, np.ndarray] = {}
    for key, arr in given.items():
        name = names[int(key)] if key.isdigit() and int(key) < len(names) else key
        if name not in names:
            raise InputError(f"{where}: '{key}' is not a model input; the model takes {wanted}")
        if name in arrays:
            raise InputError(f"{where}: input '{name}' is given twice (by name and by index)")
        arrays[name] = arr
    missing = [n for n in names if n not in arrays]
    if missing:
        raise InputError(f"{where}: no array for input(s) {', '.join(map(repr, missing))}; the model takes {wanted}")
    return {n: arrays[n] for n in names}
