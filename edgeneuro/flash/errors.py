"""The errors of `edgeneuro flash`."""

from __future__ import annotations

from edgeneuro.errors import ToolError


class FlashError(ToolError):
    """The GDB server or probe could not be reached, refused something, or never answered."""


class VerifyError(FlashError):
    """What was read back differs from the image (or could not be read back at all)."""

    def __init__(self, message: str, address: int) -> None:
        super().__init__(message)
        self.address = address
