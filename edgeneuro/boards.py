"""Board descriptions: one YAML per board in boards/ (core, FPU, memory map, clock, simulator)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from edgeneuro.errors import BoardError
from edgeneuro.resources import resource_dir

CORE_FLAGS = {
    "cortex-m0": ["-mcpu=cortex-m0", "-mthumb"],
    "cortex-m0plus": ["-mcpu=cortex-m0plus", "-mthumb"],
    "cortex-m3": ["-mcpu=cortex-m3", "-mthumb"],
    "cortex-m4": ["-mcpu=cortex-m4", "-mthumb"],
    "cortex-m7": ["-mcpu=cortex-m7", "-mthumb"],
    "cortex-m33": ["-mcpu=cortex-m33", "-mthumb"],
    "cortex-m55": ["-mcpu=cortex-m55", "-mthumb"],
}


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    core: str
    fpu: str | None
    dsp: bool
    clock_hz: int
    flash_origin: int
    flash_bytes: int
    ram_origin: int
    ram_bytes: int
    stack_bytes: int
    uart0: int
    systick_hz: int
    simulator: dict[str, Any]

    def cflags(self) -> list[str]:
        flags = list(CORE_FLAGS[self.core])
        if self.fpu:
            flags += [f"-mfpu={self.fpu}", "-mfloat-abi=hard"]
        else:
            flags += ["-mfloat-abi=soft"]
        return flags

    @property
    def instructions_per_tick(self) -> float:
        """With QEMU -icount shift=0 one instruction takes 1 ns of virtual time."""
        return 1e9 / self.systick_hz

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "core": self.core,
            "fpu": self.fpu,
            "clock_hz": self.clock_hz,
            "flash_bytes": self.flash_bytes,
            "ram_bytes": self.ram_bytes,
        }


def boards_dir() -> Path:
    return resource_dir("boards")


def available() -> list[str]:
    return sorted(p.stem for p in boards_dir().glob("*.yaml"))


def load(name: str) -> Board:
    """A board by name (boards/<name>.yaml) or by the path of a YAML file of the same form."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else boards_dir() / f"{name}.yaml"
    if not path.is_file():
        raise BoardError(f"unknown board '{name}'; known boards: {', '.join(available())} (or give a board .yaml file)")
    try:
        d = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise BoardError(f"{path}: not valid YAML ({e})") from e
    if not isinstance(d, dict):
        raise BoardError(f"{path}: expected a mapping of board fields")
    try:
        if d["core"] not in CORE_FLAGS:
            raise BoardError(f"{path}: unknown core '{d['core']}'")
        return Board(
            name=d["name"],
            description=d.get("description", ""),
            core=d["core"],
            fpu=d.get("fpu"),
            dsp=bool(d.get("dsp", False)),
            clock_hz=int(d["clock_hz"]),
            flash_origin=int(d["memory"]["flash"]["origin"]),
            flash_bytes=int(d["memory"]["flash"]["size"]),
            ram_origin=int(d["memory"]["ram"]["origin"]),
            ram_bytes=int(d["memory"]["ram"]["size"]),
            stack_bytes=int(d.get("stack_bytes", 8192)),
            uart0=int(d["uart0"]),
            systick_hz=int(d["systick_hz"]),
            simulator=dict(d.get("simulator") or {}),
        )
    except KeyError as e:
        raise BoardError(f"{path}: missing field {e}") from e
    except (TypeError, ValueError) as e:
        raise BoardError(f"{path}: bad field value ({e})") from e
