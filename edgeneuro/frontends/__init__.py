"""Front ends: model files in, ``ir.Graph`` out."""

from __future__ import annotations

from pathlib import Path

from edgeneuro.errors import ModelError
from edgeneuro.ir import Graph


def load(path: str | Path) -> Graph:
    p = Path(path)
    if not p.exists():
        raise ModelError(f"{p}: no such file")
    if not p.is_file():
        raise ModelError(f"{p}: not a file")
    if p.suffix.lower() == ".tflite":
        from edgeneuro.frontends import tflite

        return tflite.load(p)
    raise ModelError(f"{p}: unknown model format '{p.suffix}'; edgeneuro reads .tflite models")
