"""The build stage: generated sources + firmware runtime → an ELF for the board (arm-none-eabi-gcc),
or a host executable (gcc) that runs the same generated C on the development machine."""

from __future__ import annotations

import hashlib
import os
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
from edgeneuro.codegen import KERNEL_SOURCES, render_board_h
from edgeneuro.errors import BoardError, ToolError
from edgeneuro.resources import resource_dir
from edgeneuro.targets import host

CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffunction-sections", "-fdata-sections"]
# the checked host builds: host.CHECK_FLAGS at -O1 (ASan's advice: a third of -O2's compile time
# under the sanitizers)
CHECKED_CFLAGS = [*(f if f != "-O2" else "-O1" for f in CFLAGS), *host.CHECK_FLAGS, "-DEN_HOST"]
RUNTIME = ["startup.c", "stack.c", "semihost.c", "timer.c", "uart.c", "alarm.c", "main.c"]
# the stream protocol's framing (firmware/frame.c), shared by the harnesses that speak it
FRAMED = {"stream", "stream_detector"}
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
    app = ["detector.c"] if (src / "detector.c").is_file() else []  # `compile --app detector` (edgeneuro/detector/)
    return ["model.c", *app, *sorted(str(p.relative_to(src)) for p in (src / "kernels").glob("*.c"))]


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
) -> Path:  # harness: firmware/<harness>.c is the main(): "main" (semihosting runs), "stream" (UART), etc.
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
        *([str(fw / "frame.c")] if harness in FRAMED else []),
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


def build_host(
    src: Path, out: Path | None = None, feedback: Sequence[tuple[int, int, int]] = (), checks: bool | None = None
) -> Path:
    """Build the same generated C and harness for the host (gcc), for bit-exactness tests.
    ``checks`` (None: ``host.checks_wanted()``, on in the tests): see ``_build_host_checked``."""
    fw = resource_dir("firmware")
    src = src.resolve()
    out = (out or src / "model_host").resolve()
    host.debug_twin(out).unlink(missing_ok=True)
    if host.checks_wanted() if checks is None else checks:
        return _build_host_checked(src, out, feedback)
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


def _build_host_checked(src: Path, out: Path, feedback: Sequence[tuple[int, int, int]]) -> Path:
    """The host build with host.CHECK_FLAGS (more warnings, ASan and UBSan, at -O1, ASan's advice:
    a third of -O2's compile time under the sanitizers), twice: ``out`` in the arena layout of the
    plan and ``host.debug_twin(out)`` in the host debug layout (model.c with -DEN_DEBUG_LAYOUT),
    which ``host.run`` runs too. The kernels are the same in both, compiled once; their objects are
    cached by content (``host.object_cache``): tests build hundreds of models from a few kernels."""
    fw = resource_dir("firmware")
    flags = CHECKED_CFLAGS
    include = ["-I.", "-Ikernels", f"-I{fw}"]
    objs = out.parent / f"{out.name}.objects"
    objs.mkdir(exist_ok=True)
    kernels = [_cached_object(src, src / name, [*flags, *include]) for name in _sources(src)[1:]]
    main_o = _cached_object(src, fw / "main.c", [*flags, *feedback_flags(feedback), *include])
    for exe, layout in ((out, []), (host.debug_twin(out), ["-DEN_DEBUG_LAYOUT"])):
        model_o = objs / f"model{'_debug' if layout else ''}.o"
        what = "building the host executable" + (" (debug layout)" if layout else "")
        _run(["gcc", *flags, *layout, *include, "-c", "model.c", "-o", str(model_o)], src, what)
        _run(["gcc", *flags, str(model_o), *map(str, kernels), str(main_o), "-o", str(exe), "-lm"], src, what)
    return out


def build_host_stream(src: Path, board: Board, out: Path | None = None, harness: str = "stream") -> Path:
    """A stream harness (firmware/<harness>.c: "stream", or "stream_detector" for a folder with the
    detector app) and the generated C built for the host with the checks, its UART a
    pseudo-terminal (firmware/host_board.c): the protocol code under the sanitizers, driven over the
    same kind of serial port as QEMU's (``stream.target.HostBoard``). Needs stream_info.h in ``src``."""
    src = src.resolve()
    (src / "board.h").write_text(render_board_h(board))
    files = [f"{harness}.c", "frame.c", "host_board.c"]
    return _build_host_harness(src, out or src / f"{harness}_host", files, "building the stream harness for the host")


def build_host_detector(src: Path, out: Path | None = None) -> Path:
    """The detector harness (firmware/detector_main.c), detector.c and the generated model built for
    the host with the checks: the detector's C under the sanitizers, over the same input.bin as on
    the board."""
    src = src.resolve()
    what = "building the detector for the host"
    return _build_host_harness(src, out or src / "detector_host", ["detector_main.c"], what)


def _build_host_harness(src: Path, out: Path, harness: list[str], what: str) -> Path:
    """model.c in the host debug layout, the folder's other sources (kernels, detector.c: cached
    objects) and the firmware files ``harness``, with the flags of ``_build_host_checked``."""
    fw = resource_dir("firmware")
    flags = CHECKED_CFLAGS
    include = ["-I.", "-Ikernels", f"-I{fw}"]
    objects = [_cached_object(src, src / name, [*flags, *include]) for name in _sources(src)[1:]]
    cmd = ["gcc", *flags, "-DEN_DEBUG_LAYOUT", *include, "model.c", *(str(fw / h) for h in harness),
           *map(str, objects), "-o", str(Path(out).resolve()), "-lm"]  # fmt: skip
    _run(cmd, src, what)
    return Path(out).resolve()


def _cached_object(src: Path, path: Path, flags: list[str]) -> Path:
    """The object of the C source ``path`` (a kernel, or the harness, which includes model.h)
    compiled in ``src`` with ``flags``, from the object cache when the source, the headers it
    includes (quoted, found beside it, in ``src`` or in its kernels) and the flags are the same."""
    seen: dict[str, bytes] = {}

    def include(p: Path) -> None:
        text = p.read_bytes()
        seen[p.name] = text
        for h in re.findall(rb'^\s*#\s*include\s+"([^"]+)"', text, re.M):
            h = h.decode()
            found = [d / h for d in (path.parent, src, src / KERNEL_SOURCES) if (d / h).is_file()]
            if h not in seen and found:
                include(found[0])

    include(path)
    key = hashlib.sha256(repr((host.compiler_version(), flags, sorted(seen.items()))).encode()).hexdigest()
    obj = host.object_cache() / f"{path.stem}-{key[:24]}.o"
    if not obj.exists():
        tmp = obj.with_name(f"{obj.name}.{os.getpid()}.tmp")
        _run(["gcc", *flags, "-c", str(path), "-o", str(tmp)], src, f"building the host object {path.name}")
        os.replace(tmp, obj)  # atomic: parallel builds may race to write the same object
    return obj


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
