"""The harness's file format (firmware/main.c): input.bin is the inputs of each inference back to
back; output.bin is, per inference, the outputs followed by the duration as a uint64 LE."""

from __future__ import annotations

import struct

from edgeneuro.errors import ToolError

TICKS = struct.Struct("<Q")


def split(records: bytes, output_bytes: int, expected: int) -> tuple[list[bytes], list[int]]:
    size = output_bytes + TICKS.size
    if len(records) != size * expected:
        raise ToolError(
            f"the program wrote {len(records)} B of results, expected {expected} records of {size} B; "
            "it stopped early (see its console output above)"
        )
    outs, ticks = [], []
    for i in range(expected):
        rec = records[i * size : (i + 1) * size]
        outs.append(rec[:output_bytes])
        ticks.append(TICKS.unpack(rec[output_bytes:])[0])
    return outs, ticks
