"""The harness's file format (firmware/main.c): input.bin is the inputs of each inference back to
back; output.bin is, per inference, the outputs followed by the duration as a uint64 LE (and, in a
profiling build, each layer's duration as a uint64 LE); the board's harness then writes a trailer:
``ENST``, the stack high-water mark and the stack size (uint32 LE each)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from edgeneuro.errors import ToolError

TICKS = struct.Struct("<Q")
TRAILER = struct.Struct("<4sII")


@dataclass(frozen=True)
class Records:
    outputs: list[bytes]
    ticks: list[int]  # per inference
    layer_ticks: list[list[int]]  # per inference, per layer (empty unless profiling)
    stack_used: int | None  # bytes; None without a trailer (host builds)
    stack_size: int | None


def split(raw: bytes, output_bytes: int, expected: int, layers: int = 0, trailer: bool = False) -> Records:
    size = output_bytes + TICKS.size * (1 + layers)
    tail = TRAILER.size if trailer else 0
    if len(raw) != size * expected + tail:
        raise ToolError(
            f"the program wrote {len(raw)} B of results, expected {expected} records of {size} B"
            f"{f' and a {tail} B trailer' if tail else ''}; it stopped early (see its console output above)"
        )
    outs, ticks, per_layer = [], [], []
    for i in range(expected):
        rec = raw[i * size : (i + 1) * size]
        outs.append(rec[:output_bytes])
        ticks.append(TICKS.unpack_from(rec, output_bytes)[0])
        per_layer.append([TICKS.unpack_from(rec, output_bytes + TICKS.size * (1 + k))[0] for k in range(layers)])
    used = total = None
    if trailer:
        magic, used, total = TRAILER.unpack_from(raw, size * expected)
        if magic != b"ENST":
            raise ToolError("the firmware's results end without the stack trailer; rebuild it with this edgeneuro")
    return Records(outs, ticks, per_layer if layers else [], used, total)
