"""The image to flash: the PT_LOAD segments of a built ELF and where the core starts (SP, PC)."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

from edgeneuro.boards import Board
from edgeneuro.errors import BoardError, InputError

ELF_NAME = "firmware.elf"
PLAN_NAME = "plan.json"
XPSR_THUMB = 1 << 24  # xPSR.T: a Cortex-M core executes Thumb only; the reset value of xPSR


@dataclass(frozen=True)
class Segment:
    address: int  # the load address (LMA, the ELF's p_paddr): where the bytes live in the target
    data: bytes

    @property
    def end(self) -> int:
        return self.address + len(self.data)


@dataclass(frozen=True)
class Image:
    segments: tuple[Segment, ...]
    sp: int  # initial stack pointer
    pc: int  # reset handler (bit 0 = Thumb, as in the vector table)
    start: str  # where SP and PC came from, for the report
    elf: Path | None = None
    board: str | None = None  # the board the build was made for (plan.json beside the ELF)

    @property
    def nbytes(self) -> int:
        return sum(len(s.data) for s in self.segments)


def load_image(path: Path, board: Board | None = None) -> Image:
    """A build folder (``firmware.elf`` and ``plan.json`` from ``edgeneuro run --build-dir``) or an
    ELF file. With ``board``, a build made for another board, or a segment outside the board's
    memory regions, is refused."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    path = Path(path)
    if path.is_dir():
        elf = path / ELF_NAME
        if not elf.is_file():
            raise InputError(
                f"{path}: no {ELF_NAME} in this folder; build one with "
                f"`edgeneuro run MODEL --build-dir {path} ...`, or give the ELF file"
            )
    elif path.is_file():
        elf = path
    else:
        raise InputError(f"{path}: no such build folder or ELF file")
    built_for = None
    plan = elf.parent / PLAN_NAME
    if plan.is_file():
        try:
            built_for = json.loads(plan.read_text()).get("board")
        except (ValueError, AttributeError):
            built_for = None
    if board is not None and built_for is not None and built_for != board.name:
        raise BoardError(
            f"{path}: this firmware was built for {built_for}, not {board.name}; rebuild it with --board {board.name}"
        )
    try:
        with open(elf, "rb") as f:
            e = ELFFile(f)
            if e["e_machine"] != "EM_ARM" or e.elfclass != 32 or not e.little_endian:
                raise InputError(f"{elf}: not a 32-bit little-endian Arm ELF (machine {e['e_machine']})")
            segments = [
                Segment(s["p_paddr"], s.data()[: s["p_filesz"]])
                for s in e.iter_segments()
                if s["p_type"] == "PT_LOAD" and s["p_filesz"] > 0
            ]
            entry = e["e_entry"]
            symbols = {}
            tab = e.get_section_by_name(".symtab")
            if tab is not None:
                for name in ("_estack", "__StackTop", "__stack", "_stack_top"):
                    syms = tab.get_symbol_by_name(name)
                    if syms:
                        symbols[name] = syms[0]["st_value"]
    except ELFError as err:
        raise InputError(f"{elf}: not an ELF file ({err})") from err
    if not segments:
        raise InputError(f"{elf}: has no loadable segment with contents")
    segments.sort(key=lambda s: s.address)
    sp, pc, start = _start_registers(elf, segments, entry, symbols)
    image = Image(tuple(segments), sp, pc, start, elf, built_for)
    if board is not None:
        check_fits(image, board)
    return image


def _start_registers(elf: Path, segments: list[Segment], entry: int, symbols: dict[str, int]) -> tuple[int, int, str]:
    """SP and PC from the vector table at the start of the image (word 0, word 1), or else from
    the ELF entry and a stack-top symbol."""

    def loaded(addr: int) -> bool:
        return any(s.address <= addr < s.end for s in segments)

    first = segments[0]
    if len(first.data) >= 8:
        sp, reset = struct.unpack_from("<II", first.data)
        if sp and sp % 4 == 0 and reset & 1 and loaded(reset & ~1):
            return sp, reset, f"vector table at {first.address:#010x}"
    sp = next(iter(symbols.values()), None)
    if sp is None or not loaded(entry & ~1):
        raise InputError(
            f"{elf}: cannot tell where the firmware starts: no Cortex-M vector table (initial SP, reset "
            "handler) at the start of the image, and no _estack symbol with an entry point in the image"
        )
    return sp, entry | 1, f"ELF entry {entry:#010x}"


def check_fits(image: Image, board: Board) -> None:
    for s in image.segments:
        if not any(o <= s.address and s.end <= o + n for o, n in board.regions.values()):
            where = ", ".join(f"{k} {o:#010x}+{n:#x}" for k, (o, n) in board.regions.items())
            raise BoardError(
                f"{image.elf}: segment {s.address:#010x}..{s.end:#010x} ({len(s.data):,} B) lies outside "
                f"the memory of {board.name} ({where}); was it built for another board?"
            )
