"""Flashing: the writes planned along the server's memory map, the read-back verify, the gdb and
pyOCD flows, and the text report."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from edgeneuro.flash.errors import FlashError, VerifyError
from edgeneuro.flash.gdb import Region, RspClient
from edgeneuro.flash.image import XPSR_THUMB, Image, Segment


@dataclass(frozen=True)
class Piece:
    address: int
    data: bytes
    region: Region | None  # None: no memory map, written directly


def plan_writes(segments: tuple[Segment, ...], regions: list[Region]) -> list[Piece]:
    """Cut the segments along the server's memory map; a byte outside it, or in ROM, is an error."""
    if not regions:
        return [Piece(s.address, s.data, None) for s in segments]
    out = []
    for s in segments:
        addr = s.address
        while addr < s.end:
            r = next((r for r in regions if r.start <= addr < r.end), None)
            if r is None:
                raise FlashError(f"{addr:#010x}: the target's memory map has no memory there; {_regions(regions)}")
            if r.kind == "rom":
                raise FlashError(f"{addr:#010x}: the target's memory map says this is read-only memory (rom)")
            end = min(s.end, r.end)
            out.append(Piece(addr, s.data[addr - s.address : end - s.address], r))
            addr = end
    return out


def _regions(regions: list[Region]) -> str:
    return "its regions: " + ", ".join(f"{r.kind} {r.start:#010x}+{r.length:#x}" for r in regions)


def erase_ranges(pieces: list[Piece]) -> list[tuple[int, int]]:
    """The flash blocks the pieces touch, merged: (start, length) aligned to each region's block size."""
    spans: list[list[int]] = []
    for p in sorted((p for p in pieces if p.region and p.region.kind == "flash"), key=lambda p: p.address):
        r = p.region
        bs = r.blocksize or 1
        start = r.start + (p.address - r.start) // bs * bs
        end = min(r.end, r.start + -(-(p.address + len(p.data) - r.start) // bs) * bs)
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    return [(a, b - a) for a, b in spans]


def verify(client: RspClient, segments: tuple[Segment, ...]) -> int:
    """Read every segment back and compare; the bytes verified, or a VerifyError at the first difference."""
    total = 0
    step = 1 << 14
    for s in segments:
        for i in range(0, len(s.data), step):
            want = s.data[i : i + step]
            addr = s.address + i
            try:
                got = client.read_memory(addr, len(want))
            except FlashError as e:
                raise VerifyError(f"verify: cannot read back {addr:#010x}: {e}", addr) from e
            if got != want:
                k = next(j for j in range(len(want)) if j >= len(got) or got[j] != want[j])
                bad = s.address + i + k
                read = f"{got[k]:#04x}" if k < len(got) else "nothing"
                raise VerifyError(
                    f"verify failed at {bad:#010x}: wrote {want[k]:#04x}, read back {read} "
                    f"({total + k:,} of {sum(len(x.data) for x in segments):,} B matched before it)",
                    bad,
                )
            total += len(want)
    return total


def _start_renode(gdb: RspClient, notes: list[str]) -> None:
    """Renode's GDB server, started without autostart (as `edgeneuro sim` starts it, since a core
    started on empty flash is halted for good), keeps the emulation paused until its monitor says
    `start`; its ``continue`` alone does not. Other servers do not call themselves Renode."""
    ok, version = gdb.monitor("version")
    if not (ok and version.startswith("Renode")):
        return
    ok, started = gdb.monitor("emulation IsStarted")
    if ok and started.strip() == "False":
        ok, said = gdb.monitor("start")
        if not ok:
            raise FlashError(f"Renode's GDB server at {gdb.where} refused `monitor start`: {said}")
        notes.append("Renode's emulation started (monitor start)")


def flash_gdb(image: Image, host: str, port: int, run: bool = True, timeout: float = 5.0, reset: bool = True) -> dict:
    """Halt, write, verify, set SP/PC from the image's vector table and (unless ``run`` is False)
    continue, through the GDB server at host:port. ``reset``: on a server with flash in its memory
    map (a real board), ``monitor reset halt`` first, so the core and peripherals start clean."""
    t0 = time.monotonic()
    notes = []
    with RspClient(host, port, timeout) as gdb:
        gdb.handshake()
        gdb.halt()
        regions = gdb.memory_map()
        pieces = plan_writes(image.segments, regions)
        has_flash = any(p.region and p.region.kind == "flash" for p in pieces)
        if reset and has_flash:
            ok, _ = gdb.monitor("reset halt")
            if not ok:  # J-Link's spelling: reset (halts after it), then halt
                ok = gdb.monitor("reset")[0] and gdb.monitor("halt")[0]
            notes.append("reset and halted (monitor reset halt)" if ok else "the server refused `monitor reset halt`")
        erased = erase_ranges(pieces)
        for a, n in erased:
            gdb.flash_erase(a, n)
        packet = None
        for p in pieces:
            if p.region and p.region.kind == "flash":
                gdb.flash_write(p.address, p.data)
            else:
                packet = gdb.write_memory(p.address, p.data)
        if erased:
            gdb.flash_done()
        verified = verify(gdb, image.segments)
        regs_via = gdb.set_registers({"sp": image.sp, "pc": image.pc & ~1, "xpsr": XPSR_THUMB})
        if run:
            _start_renode(gdb, notes)
        resumed = gdb.resume() if run else None
        packet_size = gdb.packet_size
    seconds = time.monotonic() - t0
    return {
        "elf": str(image.elf) if image.elf else None,
        "board": image.board,
        "via": "gdb",
        "server": f"{host}:{port}",
        "packet_size": packet_size,
        "memory_map": [
            {"type": r.kind, "start": r.start, "length": r.length, "blocksize": r.blocksize} for r in regions
        ],
        "segments": [
            {"address": p.address, "bytes": len(p.data), "memory": p.region.kind if p.region else "direct"}
            for p in pieces
        ],
        "bytes_written": sum(len(p.data) for p in pieces),
        "write_packet": packet,
        "flash_erased_bytes": sum(n for _, n in erased),
        "verified_bytes": verified,
        "verify": "ok",
        "sp": image.sp,
        "pc": image.pc,
        "start": image.start,
        "registers_via": regs_via,
        "running": bool(resumed),
        "continue_packet": resumed,
        "notes": notes,
        "seconds": round(seconds, 3),
    }


def flash_pyocd(image: Image, run: bool = True, target: str | None = None, probe_id: str | None = None) -> dict:
    """Program the ELF through pyOCD's Python API and a USB debug probe, read it back, reset it."""
    try:
        from pyocd.core.helpers import ConnectHelper
        from pyocd.flash.file_programmer import FileProgrammer
    except ImportError as e:
        raise FlashError(
            "--probe pyocd needs pyOCD, which is not installed: pip install pyocd "
            "(or this project's extra: pip install -e '.[probe]'); or flash through a GDB server with --gdb HOST:PORT"
        ) from e
    t0 = time.monotonic()
    probes = ConnectHelper.get_all_connected_probes(blocking=False, unique_id=probe_id, print_wait_message=False)
    if not probes:
        which = f" with an ID containing '{probe_id}'" if probe_id else ""
        raise FlashError(
            f"pyOCD found no debug probe{which} (CMSIS-DAP, ST-Link or J-Link on USB); connect the board's "
            "probe (and check its USB permissions), or flash through a GDB server with --gdb HOST:PORT"
        )
    if len(probes) > 1:
        ids = ", ".join(f"{p.unique_id} ({p.description})" for p in probes)
        raise FlashError(f"pyOCD found {len(probes)} debug probes: {ids}; choose one with --probe-id")
    probe = probes[0]
    options = {"target_override": target} if target else {}
    session = ConnectHelper.session_with_chosen_probe(
        blocking=False, unique_id=probe.unique_id, options=options, auto_open=True
    )
    if session is None:
        raise FlashError(f"pyOCD could not open the probe {probe.unique_id} ({probe.description})")
    with session:
        core = session.target
        core.reset_and_halt()
        FileProgrammer(session, no_reset=True).program(str(image.elf), file_format="elf")
        total = 0
        for s in image.segments:
            got = bytes(core.read_memory_block8(s.address, len(s.data)))
            if got != s.data:
                k = next(j for j in range(len(s.data)) if got[j] != s.data[j])
                raise VerifyError(
                    f"verify failed at {s.address + k:#010x}: wrote {s.data[k]:#04x}, read back {got[k]:#04x}",
                    s.address + k,
                )
            total += len(s.data)
        if run:
            core.reset()  # from the vector table, as at power-on
        name = session.board.target_type if session.board else target
    return {
        "elf": str(image.elf) if image.elf else None,
        "board": image.board,
        "via": "pyocd",
        "probe": f"{probe.unique_id} ({probe.description})",
        "pyocd_target": name,
        "segments": [{"address": s.address, "bytes": len(s.data), "memory": "flash"} for s in image.segments],
        "bytes_written": image.nbytes,
        "verified_bytes": total,
        "verify": "ok",
        "sp": image.sp,
        "pc": image.pc,
        "start": image.start,
        "running": run,
        "seconds": round(time.monotonic() - t0, 3),
    }


def render_text(r: dict[str, Any]) -> str:
    n = len(r["segments"])
    to = r["server"] if r["via"] == "gdb" else f"pyOCD probe {r['probe']}"
    how = ""
    if r["via"] == "gdb":
        kinds = []
        if r["flash_erased_bytes"]:
            kinds.append(f"vFlashWrite after erasing {r['flash_erased_bytes']:,} B")
        if r["write_packet"]:
            kinds.append(f"{r['write_packet']} packets")
        how = f" ({', '.join(kinds)}; packets up to {r['packet_size']:,} B)"
    lines = [
        f"{r['elf'] or 'image'} -> {to}: {n} segment{'s' if n != 1 else ''}, {r['bytes_written']:,} B written{how}",
        f"  verified: {r['verified_bytes']:,} B read back, identical",
        f"  SP {r['sp']:#010x}, PC {r['pc'] & ~1:#010x} (from the {r['start']}); "
        + ("running" if r["running"] else "halted (--no-run)"),
    ]
    lines += [f"  {note}" for note in r.get("notes", [])]
    return "\n".join(lines)
