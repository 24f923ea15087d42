"""Where the non-Python parts (templates/, firmware/, boards/) live, in a checkout or installed."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """``templates``, ``firmware`` or ``boards``: beside the package in a source checkout, inside
    it (``edgeneuro/_data/<name>``) in an installed wheel."""
    for candidate in (_PKG.parent / name, _PKG / "_data" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"edgeneuro resource folder '{name}' is missing from the installation")
