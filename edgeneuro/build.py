"""The build stage: generated sources + firmware runtime → an ELF for the board (arm-none-eabi-gcc),
or a host executable (gcc) that runs the same generated C on the development machine."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from edgeneuro.boards import Board
from edgeneuro.codegen import render_board_h
from edgeneuro.errors import BoardError, ToolError
from edgeneuro.resources import resource_dir

CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffunction-sections", "-fdata-sections"]
RUNTIME = ["startup.c", "stack.c", "semihost.c", "timer.c", "uart.c", "main.c"]
INSTALL_HINT = "install it with `make setup` (Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"


@dataclass(frozen=True)
class Sizes:
    """Bytes from the ELF's allocated sections. Flash holds code, constants and .data's initial
    values; RAM holds .data, .bss (the arena is in .bss) and the reserved stack."""

    text: int
    rodata: int
    data: int
    bss: int
    stack: int

    @property
    def flash(self) -> int:
        return self.text + self.rodata + self.data

    @property
    def ram(self) -> int:
        return self.data + self.bss + self.stack

    def to_json(self) -> dict[str, Any]:
        return {
            "flash_bytes": self.flash,
            "ram_bytes": self.ram,
            "text_bytes": self.text,
            "rodata_bytes": self.rodata,
            "data_bytes": self.data,
            "bss_bytes": self.bss,
            "stack_bytes": self.stack,
        }


class MissingTool(ToolError):
    """The compiler a build needs is not installed (as opposed to a build that fails)."""


def _run(cmd: list[str], cwd: Path, what: str) -> None:
    exe = cmd[0]
    if shutil.which(exe) is None:
        raise MissingTool(f"{exe} not found; {INSTALL_HINT}")
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        msg = proc.stderr.strip()
        over = re.search(r"region `(\w+)' overflowed by (\d+) bytes", msg)
        if over:
            raise BoardError(
                f"{what}: the firmware does not fit: {over.group(1)} overflowed by {int(over.group(2)):,} B"
            )
        raise ToolError(
            f"{what} failed ({exe}): {msg.splitlines()[0] if msg else 'exit ' + str(proc.returncode)}\n{msg}"
        )


def _sources(src: Path) -> list[str]:
    return ["model.c", *sorted(str(p.relative_to(src)) for p in (src / "kernels").glob("*.c"))]


def feedback_flags(feedback: Sequence[tuple[int, int, int]]) -> list[str]:
    """The harness's -D flags for ``feedback`` (output index, input index, bytes) pairs (main.c)."""
    if not feedback:
        return []
    pairs = ",".join(f"{{{o},{i}}}" for o, i, _ in feedback)
    return [f"-DEN_FEEDBACK={pairs}", f"-DEN_FEEDBACK_BYTES={sum(n for _, _, n in feedback)}"]


def build_firmware(
    src: Path,
    board: Board,
    out: Path | None = None,
    profile: bool = False,
    harness: str = "main",
    feedback: Sequence[tuple[int, int, int]] = (),
) -> Path:  # harness: firmware/<harness>.c is the main(): "main" (semihosting runs) or "stream" (UART)
    """Cross-compile the generated sources in ``src`` with the firmware runtime into ``firmware.elf``.
    The board's ``board.h`` (console UART driver and address, clocks) is written beside them.
    ``profile`` times every layer (-DEN_PROFILE: two timer reads per layer, counted in the totals);
    ``feedback`` carries outputs into inputs between records (``feedback_flags``)."""
    fw = resource_dir("firmware")
    src = src.resolve()
    out = (out or src / "firmware.elf").resolve()
    (src / "board.h").write_text(render_board_h(board))
    cmd = [
        "arm-none-eabi-gcc",
        *board.cflags(),
        *CFLAGS,
        *(["-DEN_PROFILE"] if profile else []),
        *feedback_flags(feedback),
        "-I.",
        "-Ikernels",
        f"-I{fw}",
        *_sources(src),
        *[str(fw / (f"{harness}.c" if f == "main.c" else f)) for f in RUNTIME],
        "-nostartfiles",
        "--specs=nano.specs",
        "-Wl,--gc-sections",
        f"-L{src}",
        f"-T{fw / 'cortex_m.ld'}",
        "-o",
        str(out),
        "-lm",
    ]
    _run(cmd, src, f"building firmware for {board.name}")
    return out


def build_host(src: Path, out: Path | None = None, feedback: Sequence[tuple[int, int, int]] = ()) -> Path:
    """Build the same generated C and harness for the host (gcc), for bit-exactness tests."""
    fw = resource_dir("firmware")
    src = src.resolve()
    out = (out or src / "model_host").resolve()
    cmd = [
        "gcc",
        *CFLAGS,
        "-DEN_HOST",
        *feedback_flags(feedback),
        "-I.",
        "-Ikernels",
        f"-I{fw}",
        *_sources(src),
        str(fw / "main.c"),
        "-o",
        str(out),
        "-lm",
    ]
    _run(cmd, src, "building the host executable")
    return out


def elf_sizes(elf: Path) -> Sizes:
    text = rodata = data = bss = stack = 0
    with open(elf, "rb") as f:
        for s in ELFFile(f).iter_sections():
            flags = s["sh_flags"]
            if not flags & SH_FLAGS.SHF_ALLOC:
                continue
            size = s["sh_size"]
            if s.name == ".stack":
                stack += size
            elif s["sh_type"] == "SHT_NOBITS":
                bss += size
            elif flags & SH_FLAGS.SHF_WRITE:
                data += size
            elif flags & SH_FLAGS.SHF_EXECINSTR:
                text += size
            else:
                rodata += size
    return Sizes(text=text, rodata=rodata, data=data, bss=bss, stack=stack)
