"""Front ends: a model file in, an ``ir.Graph`` out, with the file's own numbers. They only parse;
every rewrite is a pass (edgeneuro/passes/), run by ``compiler.prepare``."""

from __future__ import annotations

from pathlib import Path

from edgeneuro.errors import ModelError
from edgeneuro.ir import Graph

FORMATS = (".tflite", ".onnx", ".nir")


def load(path: str | Path, shapes: dict[str, tuple[int, ...]] | None = None, precision: str = "int8") -> Graph:
    """Read a model file. ``shapes`` binds dynamic input dimensions (ONNX); ``precision`` "float"
    computes a float ONNX model in float32 (``--precision float``)."""
    p = Path(path)
    if not p.exists():
        raise ModelError(f"{p}: no such file")
    if not p.is_file():
        raise ModelError(f"{p}: not a file")
    suffix = p.suffix.lower()
    if suffix == ".tflite":
        from edgeneuro.frontends import tflite

        return tflite.load(p)
    if suffix == ".onnx":
        from edgeneuro.frontends import onnx

        return onnx.load(p, shapes, precision)
    if suffix == ".nir":
        from edgeneuro.frontends import nir

        return nir.load(p)
    raise ModelError(f"{p}: unknown model format '{p.suffix}'; edgeneuro reads {', '.join(FORMATS)} models")
