"""Targets run a built program and return what it computed: one Run result type for all."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Run:
    """Raw results: the output records the program wrote (see records.py) and its console."""

    records: bytes
    console: str
