"""Board descriptions: one YAML per board in boards/ (core, FPU, memory map, clock, console UART,
simulator). ``load`` validates a file field by field; the firmware harness takes the board's UART
kind and base address, and its clocks, from a generated ``board.h`` (``codegen.render_board_h``)."""

from __future__ import annotations

from dataclasses import dataclass, field
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

# What each core can have: the gcc -mfpu names of its FPU options (None: no FPU), whether it
# always / never / optionally has the DSP extension, and whether it can have MVE (Helium).
# -mfpu=auto on the Cortex-M55 lets gcc derive scalar FP (fp.dp) and MVE-F (mve.fp) from -mcpu:
# gcc 12 gives -march=armv8.1-m.main+fp.dp+mve.fp for it, while -mfpu=fpv5-d16 silently drops
# mve.fp (only +mve remains).
CORE_FPUS: dict[str, tuple[str | None, ...]] = {
    "cortex-m0": (None,),
    "cortex-m0plus": (None,),
    "cortex-m3": (None,),
    "cortex-m4": (None, "fpv4-sp-d16"),
    "cortex-m7": (None, "fpv5-sp-d16", "fpv5-d16"),
    "cortex-m33": (None, "fpv5-sp-d16"),
    "cortex-m55": (None, "auto"),
}
CORE_DSP = {  # True: always, False: never, None: optional
    "cortex-m0": False,
    "cortex-m0plus": False,
    "cortex-m3": False,
    "cortex-m4": True,
    "cortex-m7": True,
    "cortex-m33": None,
    "cortex-m55": True,
}
CORE_MVE = {"cortex-m55"}

# The console UARTs the firmware has a driver for (firmware/uart.c):
#   cmsdk          Arm CMSDK APB UART (MPS2/MPS3 boards)
#   stm32-usart    STM32F1/F2/F4 USART: SR 0x00, DR 0x04, BRR 0x08, CR1 0x0C
#   stm32h7-usart  STM32F7/H7/L4 USART: CR1 0x00, BRR 0x0C, ISR 0x1C, TDR 0x28
#   nrf-uarte      nRF52 UARTE (EasyDMA)
UART_KINDS = ("cmsdk", "stm32-usart", "stm32h7-usart", "nrf-uarte")

TOP_FIELDS = {
    "name",
    "description",
    "core",
    "fpu",
    "dsp",
    "mve",
    "clock_hz",
    "systick_hz",
    "memory",
    "stack_bytes",
    "uart",
    "alarm",
    "simulator",
}
REQUIRED = ("name", "core", "fpu", "dsp", "clock_hz", "systick_hz", "memory", "uart", "simulator")


@dataclass(frozen=True)
class Uart:
    kind: str
    base: int
    baud: int = 115200
    clock_hz: int | None = None  # the clock of its baud-rate generator as the harness leaves it
    tx_pin: int | None = None  # nrf-uarte: the PSEL.TXD pin number (32 * port + pin)
    rx_pin: int | None = None  # nrf-uarte: the PSEL.RXD pin number, for `edgeneuro stream` (receiving)
    setup: tuple[tuple[int, int, int], ...] = ()  # (address, mask, value) read-modify-writes

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "base": self.base,
            "baud": self.baud,
            "clock_hz": self.clock_hz,
            "tx_pin": self.tx_pin,
            "rx_pin": self.rx_pin,
            "setup": [list(s) for s in self.setup],
        }


@dataclass(frozen=True)
class Alarm:
    """The detector's alarm output: a pin (an LED on the development boards) driven high or low by
    single 32-bit stores, after ``setup`` (clock gate, pin direction) at start, when it is off."""

    pin: str  # the pin's name on the board, for people: "PD14", "P0.13", "FPGAIO LED0"
    on: tuple[int, int]  # (address, value): the store that turns the alarm on
    off: tuple[int, int]  # (address, value): the store that turns it off
    setup: tuple[tuple[int, int, int], ...] = ()  # (address, mask, value) read-modify-writes

    def to_json(self) -> dict[str, Any]:
        return {"pin": self.pin, "on": list(self.on), "off": list(self.off), "setup": [list(s) for s in self.setup]}


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
    uart: Uart
    systick_hz: int
    simulator: dict[str, Any]  # {"qemu": {...} | None, "renode": {...} | None}
    mve: bool = False
    regions: dict[str, tuple[int, int]] = field(default_factory=dict)  # every memory region: (origin, size)
    alarm: Alarm | None = None  # the detector's alarm pin, when the board has one
    source: str = ""

    def cflags(self) -> list[str]:
        cpu, *rest = CORE_FLAGS[self.core]
        ext = ""
        if self.core in CORE_MVE and not self.mve:
            ext += "+nomve"
        if CORE_DSP[self.core] is None and not self.dsp:
            ext += "+nodsp"
        if self.fpu is None and any(CORE_FPUS[self.core][1:]):
            ext += "+nofp"
        flags = [cpu + ext, *rest]
        if self.fpu:
            flags += [f"-mfpu={self.fpu}", "-mfloat-abi=hard"]
        else:
            flags += ["-mfloat-abi=soft"]
        return flags

    @property
    def qemu(self) -> dict[str, Any] | None:
        return self.simulator.get("qemu")

    @property
    def renode(self) -> dict[str, Any] | None:
        return self.simulator.get("renode")

    @property
    def instructions_per_tick(self) -> float:
        """With QEMU -icount shift=0 one instruction takes 1 ns of virtual time."""
        return 1e9 / self.systick_hz

    def require_qemu(self) -> dict[str, Any]:
        """The board's QEMU machine, or a BoardError saying which boards have one."""
        if self.qemu:
            return self.qemu
        other = ""
        if self.renode:
            other = f" (it runs on Renode, {self.renode['platform']}: --sim renode)"
        raise BoardError(
            f"board {self.name} has no QEMU machine{other}; boards that run on QEMU: {', '.join(qemu_boards())}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "core": self.core,
            "fpu": self.fpu,
            "dsp": self.dsp,
            "mve": self.mve,
            "clock_hz": self.clock_hz,
            "systick_hz": self.systick_hz,
            "flash_origin": self.flash_origin,
            "flash_bytes": self.flash_bytes,
            "ram_origin": self.ram_origin,
            "ram_bytes": self.ram_bytes,
            "stack_bytes": self.stack_bytes,
            "memory": {k: {"origin": o, "size": s} for k, (o, s) in self.regions.items()},
            "uart": self.uart.to_json(),
            "alarm": self.alarm.to_json() if self.alarm else None,
            "simulator": {
                "qemu": dict(self.qemu) if self.qemu else None,
                "renode": dict(self.renode) if self.renode else None,
            },
        }


def boards_dir() -> Path:
    return resource_dir("boards")


def available() -> list[str]:
    return sorted(p.stem for p in boards_dir().glob("*.yaml"))


def qemu_boards() -> list[str]:
    """The shipped boards that have a QEMU machine."""
    out = []
    for name in available():
        try:
            if load(name).qemu:
                out.append(name)
        except BoardError:
            continue
    return out


class _Fields:
    """Typed access to a YAML mapping; every error names the file and the dotted field."""

    def __init__(self, path: Path, d: dict[str, Any], prefix: str = "") -> None:
        self.path, self.d, self.prefix = path, d, prefix

    def err(self, key: str, why: str) -> BoardError:
        return BoardError(f"{self.path}: field '{self.prefix}{key}' {why}")

    def has(self, key: str) -> bool:
        return key in self.d

    def raw(self, key: str, required: bool = True) -> Any:
        if key not in self.d:
            if required:
                raise self.err(key, "is missing")
            return None
        return self.d[key]

    def int_(self, key: str, required: bool = True, minimum: int = 0, default: int | None = None) -> int | None:
        v = self.raw(key, required)
        if v is None:
            return default
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.err(key, f"must be an integer (e.g. 0x20000000 or 25000000), not {v!r}")
        if v < minimum:
            raise self.err(key, f"must be at least {minimum}, not {v}")
        if v > 0xFFFFFFFF and not key.endswith("_hz"):
            raise self.err(key, f"does not fit in 32 bits: {v:#x}")
        return v

    def bool_(self, key: str, required: bool = True, default: bool = False) -> bool:
        v = self.raw(key, required)
        if v is None and not required:
            return default
        if not isinstance(v, bool):
            raise self.err(key, f"must be true or false, not {v!r}")
        return v

    def str_(self, key: str, required: bool = True, choices: tuple[str, ...] | None = None) -> str | None:
        v = self.raw(key, required)
        if v is None:
            if required:
                raise self.err(key, "must not be null")
            return None
        if not isinstance(v, str) or not v:
            raise self.err(key, f"must be a string, not {v!r}")
        if choices is not None and v not in choices:
            raise self.err(key, f"is '{v}'; expected one of: {', '.join(choices)}")
        return v

    def map_(self, key: str, required: bool = True, allowed: set[str] | None = None) -> _Fields | None:
        v = self.raw(key, required)
        if v is None:
            return None
        if not isinstance(v, dict):
            raise self.err(key, f"must be a mapping, not {v!r}")
        sub = _Fields(self.path, v, f"{self.prefix}{key}.")
        if allowed is not None:
            sub.only(allowed)
        return sub

    def only(self, allowed: set[str]) -> None:
        extra = sorted(str(k) for k in self.d if k not in allowed)
        if extra:
            hint = " ('uart0' was replaced by 'uart: {kind, base}')" if "uart0" in extra else ""
            if any(isinstance(k, bool) for k in self.d):
                hint += " (YAML reads a key on, off, yes or no as true or false)"
            where = f"in '{self.prefix[:-1]}'" if self.prefix else "at the top level"
            raise BoardError(
                f"{self.path}: unknown field(s) {where}: {', '.join(extra)}{hint}; "
                f"expected: {', '.join(sorted(allowed))}"
            )


def _region(f: _Fields, key: str, required: bool) -> tuple[int, int] | None:
    r = f.map_(key, required, allowed={"origin", "size", "note"})
    if r is None:
        return None
    origin = r.int_("origin")
    size = r.int_("size", minimum=1)
    if origin + size > 1 << 32:
        raise r.err("size", f"runs past the 4 GiB address space ({origin:#x} + {size:#x})")
    return origin, size


def _uart(f: _Fields) -> Uart:
    u = f.map_("uart", allowed={"kind", "base", "baud", "clock_hz", "tx_pin", "rx_pin", "setup"})
    kind = u.str_("kind", choices=UART_KINDS)
    tx_pin = u.int_("tx_pin", required=kind == "nrf-uarte")
    if tx_pin is not None and tx_pin > 47:
        raise u.err("tx_pin", f"is {tx_pin}; nRF52 pins are 0..47 (32 * port + pin)")
    rx_pin = u.int_("rx_pin", required=False)
    if rx_pin is not None and rx_pin > 47:
        raise u.err("rx_pin", f"is {rx_pin}; nRF52 pins are 0..47 (32 * port + pin)")
    return Uart(
        kind=kind,
        base=u.int_("base"),
        baud=u.int_("baud", required=False, minimum=1, default=115200),
        clock_hz=u.int_("clock_hz", required=False, minimum=1),
        tx_pin=tx_pin,
        rx_pin=rx_pin,
        setup=_setup(u),
    )


def _is_words(s: Any, n: int) -> bool:
    """``s`` is a list of n 32-bit unsigned integers."""
    return isinstance(s, list) and len(s) == n and all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 0xFFFFFFFF for v in s)  # fmt: skip


def _store(f: _Fields, key: str) -> tuple[int, int]:
    """``key``: one store, [address, value]."""
    raw = f.raw(key)
    if not _is_words(raw, 2):
        raise f.err(key, f"must be [address, value] (32-bit integers), not {raw!r}")
    return raw[0], raw[1]


def _setup(f: _Fields, key: str = "setup") -> tuple[tuple[int, int, int], ...]:
    """``key`` (optional): read-modify-writes, a list of [address, mask, value]."""
    raw = f.raw(key, required=False) or []
    if not isinstance(raw, list):
        raise f.err(key, "must be a list of [address, mask, value]")
    for i, s in enumerate(raw):
        if not _is_words(s, 3):
            raise f.err(f"{key}[{i}]", f"must be [address, mask, value] (32-bit integers), not {s!r}")
    return tuple((s[0], s[1], s[2]) for s in raw)


def _alarm(f: _Fields) -> Alarm | None:
    a = f.map_("alarm", required=False, allowed={"pin", "write_on", "write_off", "setup"})
    if a is None:
        return None
    return Alarm(pin=a.str_("pin"), on=_store(a, "write_on"), off=_store(a, "write_off"), setup=_setup(a))


def _simulator(f: _Fields) -> dict[str, Any]:
    s = f.map_("simulator", allowed={"qemu", "renode"})
    out: dict[str, Any] = {"qemu": None, "renode": None}
    q = s.map_("qemu", required=False, allowed={"machine", "cpu", "serial"})
    if q is not None:
        out["qemu"] = {
            "machine": q.str_("machine"),
            "cpu": q.str_("cpu"),
            "serial": q.int_("serial", required=False, default=0),
        }
    r = s.map_("renode", required=False, allowed={"platform"})
    if r is not None:
        out["renode"] = {"platform": r.str_("platform")}
    return out


def _parse(path: Path, d: dict[str, Any]) -> Board:
    f = _Fields(path, d)
    f.only(TOP_FIELDS)
    for key in REQUIRED:
        f.raw(key)
    name = f.str_("name")
    if path.parent.resolve() == boards_dir().resolve() and name != path.stem:
        raise f.err("name", f"is '{name}' but the file is {path.name}; they must agree")
    core = f.str_("core", choices=tuple(CORE_FLAGS))
    fpu = f.raw("fpu")
    if fpu not in CORE_FPUS[core]:
        opts = ", ".join("null" if o is None else o for o in CORE_FPUS[core])
        raise f.err("fpu", f"is {fpu!r}; a {core} takes: {opts} (null = no FPU, else the gcc -mfpu name)")
    dsp = f.bool_("dsp")
    if CORE_DSP[core] is not None and dsp != CORE_DSP[core]:
        raise f.err("dsp", f"is {str(dsp).lower()} but a {core} {'always' if CORE_DSP[core] else 'never'} has DSP")
    mve = f.bool_("mve", required=False)
    if mve and core not in CORE_MVE:
        raise f.err("mve", f"is true but a {core} has no MVE (Helium); only {', '.join(sorted(CORE_MVE))} do")
    if mve and fpu is None:
        raise f.err("mve", "is true with fpu null; gcc's MVE needs the FPU (fpu: auto)")
    mem = f.map_("memory")
    regions = {}
    for key in mem.d:
        if not isinstance(key, str):
            raise mem.err(str(key), "is not a region name")
        regions[key] = _region(mem, key, required=True)
    for key in ("flash", "ram"):
        if key not in regions:
            raise mem.err(key, "is missing (the linker places code in flash and data in ram)")
    (flash_origin, flash_bytes), (ram_origin, ram_bytes) = regions["flash"], regions["ram"]
    stack = f.int_("stack_bytes", required=False, minimum=256, default=8192)
    if stack > ram_bytes:
        raise f.err("stack_bytes", f"is {stack:,} B but ram is only {ram_bytes:,} B")
    return Board(
        name=name,
        description=f.str_("description", required=False) or "",
        core=core,
        fpu=fpu,
        dsp=dsp,
        mve=mve,
        clock_hz=f.int_("clock_hz", minimum=1),
        flash_origin=flash_origin,
        flash_bytes=flash_bytes,
        ram_origin=ram_origin,
        ram_bytes=ram_bytes,
        stack_bytes=stack,
        uart=_uart(f),
        alarm=_alarm(f),
        systick_hz=f.int_("systick_hz", minimum=1),
        simulator=_simulator(f),
        regions=regions,
        source=str(path),
    )


def load(name: str) -> Board:
    """A board by name (boards/<name>.yaml) or by the path of a YAML file of the same form."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else boards_dir() / f"{name}.yaml"
    if not path.is_file():
        raise BoardError(f"unknown board '{name}'; known boards: {', '.join(available())} (or give a board .yaml file)")
    try:
        d = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        first = str(e).replace("\n", " ")
        raise BoardError(f"{path}: not valid YAML ({first})") from e
    if not isinstance(d, dict):
        raise BoardError(f"{path}: expected a mapping of board fields")
    return _parse(path, d)
