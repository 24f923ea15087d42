"""User-facing errors. Each one renders as a single line: what, where, what to do."""

from __future__ import annotations


class EdgeNeuroError(Exception):
    """Base class: the CLI prints ``str(err)`` on one line and exits with ``exit_code``."""

    exit_code = 1


class ModelError(EdgeNeuroError):
    """The model file is missing, unreadable or not a model edgeneuro understands."""


class UnsupportedOperator(ModelError):
    """An operator (or a form of it) that edgeneuro cannot compile."""

    def __init__(self, source: str, op_name: str, index: int, why: str = "") -> None:
        detail = f": {why}" if why else ""
        super().__init__(f"{source}: operator #{index} {op_name} is not supported{detail}")
        self.op_name = op_name
        self.index = index


class InputError(EdgeNeuroError):
    """Input data of the wrong shape, dtype or format."""


class BoardError(EdgeNeuroError):
    """Unknown board, or a model that does not fit on it."""


class ToolError(EdgeNeuroError):
    """An external tool (compiler, simulator) is missing or failed."""
