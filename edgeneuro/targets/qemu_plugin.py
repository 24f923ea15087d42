"""Estimated cycles from QEMU: the TCG plugin firmware/qemu_plugin/cycles.c counts, per call of
en_model_invoke(), the executed instructions of each Cortex-M timing class; this module builds the
plugin with the host gcc (once, into a cache folder), finds the call's markers in the ELF, parses
the plugin's lines and weights the classes with a core's cycle table.

The tables come from Arm's Technical Reference Manuals (see CYCLE_TABLES); the model is a class
count, not a pipeline simulation, and ignores what IGNORED lists."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elftools.elf.elffile import ELFFile

from edgeneuro.errors import ToolError
from edgeneuro.resources import resource_dir

# The plugin's counters, in its order: executed instructions per class, then extra units (each
# weighted 1 cycle: registers moved by LDM/STM/PUSH/POP and VLDM/VSTM/VPUSH/VPOP, address stalls).
CLASSES = (
    "alu", "it", "mul", "mla", "mul_long", "div", "simd", "load", "load_pipelined", "store", "store_reg",
    "store_pipelined", "ldst_double", "ldm", "ldm_pc", "load_pc", "branch", "branch_reg", "branch_not_taken",
    "table_branch", "fp", "fp_mac", "fp_div", "fp_load", "fp_load64", "fp_ldm", "fp_mov2", "mve", "lob", "other",
)  # fmt: skip
UNITS = ("ldm_regs", "fp_ldm_words", "addr_stall")

M4_SOURCE = (
    "Arm Cortex-M4 Processor Technical Reference Manual r0p1 (Arm 100166_0001_00_en): 3.3.1 Table 3-1 "
    "(processor instruction set summary), 3.3.2 (load/store timings), and the FPU instruction set table"
)
# Cycles per instruction of each class on a Cortex-M4 with zero wait states. P (pipeline refill,
# 1 to 3 in the TRM) is 1 for an immediate branch target, 2 for a register one and 3 for a load
# to PC, as the TRM's branch and load/store notes give; SDIV/UDIV take 2 to 12 cycles (early
# termination) with no typical value given, so the maximum is used.
M4 = {
    "alu": 1, "it": 1, "mul": 1, "mla": 1, "mul_long": 1, "div": 12, "simd": 1,
    "load": 2, "load_pipelined": 1, "store": 1, "store_reg": 2, "store_pipelined": 1, "ldst_double": 3,
    "ldm": 1, "ldm_pc": 4, "load_pc": 5,
    "branch": 2, "branch_reg": 3, "branch_not_taken": 1, "table_branch": 6,
    "fp": 1, "fp_mac": 3, "fp_div": 14, "fp_load": 2, "fp_load64": 3, "fp_ldm": 1, "fp_mov2": 2,
    "mve": 2,  # no Cortex-M4 counterpart: a 4-beat vector instruction on a dual-beat core (Cortex-M55)
    "lob": 1, "other": 1,
    "ldm_regs": 1, "fp_ldm_words": 1, "addr_stall": 1,
}  # fmt: skip
# Cortex-M3 TRM r2p1 (Arm DDI 0337I) Table 3-1: MLA/MLS 2 cycles, SMULL/UMULL 3 to 5, SMLAL/UMLAL
# 4 to 7 (5 lies in both ranges), SDIV/UDIV 2 to 12; the rest (and its load/store timings) as the
# Cortex-M4. It has no DSP or FPU instructions.
M3 = {**M4, "mla": 2, "mul_long": 5}
CYCLE_TABLES = {
    "cortex-m4": (M4, M4_SOURCE),
    "cortex-m3": (M3, "Arm Cortex-M3 Technical Reference Manual r2p1 (Arm DDI 0337I), Table 3-1; " + M4_SOURCE),
}
IGNORED = (
    "flash wait states and prefetch buffers (the tables assume zero wait states), caches, bus contention "
    "(including a literal load's fetch conflict), unaligned accesses, branch-target alignment, branch "
    "prediction (Cortex-M7), dual issue (Cortex-M7, Cortex-M55) and MVE beat overlap, register "
    "dependencies other than the load/store address one (e.g. FP result latency), IT folding, exception "
    "entry and return"
)


@dataclass(frozen=True)
class CycleModel:
    core: str  # the board's core
    table: str  # the core whose table weights the classes
    weights: dict[str, int]
    source: str
    note: str

    def to_json(self) -> dict[str, Any]:
        return {"core": self.core, "table": self.table, "source": self.source, "note": self.note,
                "ignores": IGNORED}  # fmt: skip


def model_for(core: str) -> CycleModel:
    """The cycle table for ``core``: its own when Arm publishes one, else the Cortex-M4's."""
    if core in CYCLE_TABLES:
        weights, source = CYCLE_TABLES[core]
        return CycleModel(core, core, weights, source, f"{core} instruction timing table")
    weights, source = CYCLE_TABLES["cortex-m4"]
    why = (
        f"Arm's {core} Technical Reference Manual has no per-instruction timing table"
        if core in ("cortex-m7", "cortex-m55")
        else f"edgeneuro has no {core} timing table"
    )
    return CycleModel(
        core,
        "cortex-m4",
        weights,
        source,
        f"{why}; the Cortex-M4 table is used, so what a faster core adds (dual issue, caches, branch "
        "prediction, MVE beat overlap) is not credited and the estimate is high for it",
    )


@dataclass(frozen=True)
class Call:
    """One call of the measured function: executed instructions per class (and the extra units),
    and the instructions counted independently per translation block (as -icount counts them)."""

    counts: dict[str, int]
    insns: int

    @property
    def instructions(self) -> int:
        return sum(self.counts[c] for c in CLASSES)

    def cycles(self, model: CycleModel) -> int:
        return sum(n * model.weights[k] for k, n in self.counts.items())


def source() -> Path:
    return resource_dir("firmware") / "qemu_plugin" / "cycles.c"


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    d = Path(base) / "edgeneuro" / "qemu-plugin"
    try:
        d.mkdir(parents=True, exist_ok=True)
        if os.access(d, os.W_OK):
            return d
    except OSError:
        pass
    d = Path(tempfile.gettempdir()) / f"edgeneuro-qemu-plugin-{os.getuid()}"
    d.mkdir(parents=True, exist_ok=True)
    return d


def build() -> Path:
    """The plugin's shared library, built with the host gcc on first use (cached by a hash of its
    source and the compiler's version)."""
    gcc = shutil.which("gcc")
    if gcc is None:
        raise ToolError("gcc not found: the cycle-count plugin for QEMU is built with the host C compiler "
                        "(Debian: apt-get install gcc), or run without --cycles")  # fmt: skip
    src = source()
    version = subprocess.run([gcc, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    key = hashlib.sha256(src.read_bytes() + version.encode()).hexdigest()[:16]
    out = _cache_dir() / f"cycles-{key}.so"
    if out.exists():
        return out
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    cmd = [gcc, "-shared", "-fPIC", "-O2", "-std=c11", "-Wall", "-o", str(tmp), str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise ToolError(f"building the QEMU cycle-count plugin failed (gcc): {proc.stderr.strip()}")
    os.replace(tmp, out)
    return out


@functools.lru_cache(maxsize=1)
def _qemu_has_plugins() -> bool:
    proc = subprocess.run(["qemu-system-arm", "-help"], capture_output=True, text=True)
    return "-plugin" in proc.stdout


def unavailable() -> str | None:
    """Why cycles cannot be estimated here, or None if they can."""
    if shutil.which("gcc") is None:
        return "gcc not found (the QEMU cycle-count plugin is built with the host C compiler; apt-get install gcc)"
    if shutil.which("qemu-system-arm") is None or not _qemu_has_plugins():
        return "this qemu-system-arm has no TCG plugin support (-plugin)"
    return None


def wanted(cycles: bool | None) -> tuple[bool, str | None]:
    """Whether to run with the plugin for ``cycles`` (True: required, False: no, None: whenever it
    can be), and why not when it cannot."""
    if cycles is False:
        return False, None
    why = unavailable()
    if why is None:
        return True, None
    if cycles:
        raise ToolError(f"cannot estimate cycles: {why}")
    return False, why


def _bl_target(pc: int, h1: int, h2: int) -> int | None:
    """The target of a Thumb-2 BL (T1) at ``pc``, or None if it is not one (Armv7-M ARM A7.7.18)."""
    if (h1 & 0xF800) != 0xF000 or (h2 & 0xD000) != 0xD000:
        return None
    s = (h1 >> 10) & 1
    i1 = 1 - (((h2 >> 13) & 1) ^ s)
    i2 = 1 - (((h2 >> 11) & 1) ^ s)
    imm = (s << 24) | (i1 << 23) | (i2 << 22) | ((h1 & 0x3FF) << 12) | ((h2 & 0x7FF) << 1)
    if s:
        imm -= 1 << 25
    return pc + 4 + imm


def markers(elf: Path, function: str = "en_model_invoke", caller: str = "main") -> tuple[int, list[int]]:
    """The entry of ``function`` and the return addresses of its calls from ``caller`` (the
    instruction after each BL to it), read from the ELF."""
    with open(elf, "rb") as f:
        e = ELFFile(f)
        symtab = e.get_section_by_name(".symtab")
        syms = {s.name: s for s in symtab.iter_symbols() if s["st_info"]["type"] == "STT_FUNC"} if symtab else {}
        if function not in syms or caller not in syms:
            raise ToolError(f"{elf}: no symbol {function if function not in syms else caller}; cannot delimit "
                            "inferences for the cycle count")  # fmt: skip
        start = syms[function]["st_value"] & ~1
        lo, size = syms[caller]["st_value"] & ~1, syms[caller]["st_size"]
        code = b""
        for sec in e.iter_sections():
            a = sec["sh_addr"]
            if sec["sh_type"] == "SHT_PROGBITS" and a <= lo and lo + size <= a + sec["sh_size"]:
                code = sec.data()[lo - a : lo - a + size]
                break
    rets, i = [], 0
    while i + 2 <= len(code):
        h1 = int.from_bytes(code[i : i + 2], "little")
        if (h1 >> 11) >= 0x1D and i + 4 <= len(code):
            if _bl_target(lo + i, h1, int.from_bytes(code[i + 2 : i + 4], "little")) == start:
                rets.append(lo + i + 4)
            i += 4
        else:
            i += 2
    if not rets:
        raise ToolError(f"{elf}: {caller}() has no BL to {function}(); cannot delimit inferences for the cycle count")
    return start, rets


def qemu_args(elf: Path, log: Path) -> list[str]:
    """The QEMU options that load the plugin for ``elf`` and write its lines to ``log``."""
    start, rets = markers(elf)
    spec = ",".join([f"file={build()}", f"start={start:#x}", *(f"ret={r:#x}" for r in rets)])
    return ["-plugin", spec, "-d", "plugin", "-D", str(log)]


def parse(text: str) -> list[Call]:
    """The plugin's per-call lines (``encycles call=K insns=N class=count ...``), checked complete."""
    calls: list[Call] = []
    ended = False
    for line in text.splitlines():
        words = line.split()
        if not words or words[0] != "encycles":
            continue
        if words[1:2] == ["end"]:
            ended = True
            continue
        fields = dict(w.split("=", 1) for w in words[1:])
        if int(fields.pop("call")) != len(calls):
            raise ToolError("the cycle-count plugin's calls are out of order")
        insns = int(fields.pop("insns"))
        counts = {k: int(v) for k, v in fields.items()}
        if set(counts) != set(CLASSES) | set(UNITS):
            raise ToolError(f"the cycle-count plugin reports classes {sorted(counts)}; rebuild it with this edgeneuro")
        calls.append(Call(counts, insns))
    if not ended:
        raise ToolError("the cycle-count plugin's output ends early (QEMU did not exit normally)")
    return calls


def report_fields(core: str, clock_hz: int, calls: list[Call], expected: int, steps: int = 0) -> dict[str, Any]:
    """The report's cycle fields for the ``expected`` inferences (their worst; per sample for a
    spiking network of ``steps`` steps per sample)."""
    if len(calls) != expected:
        raise ToolError(f"the cycle-count plugin saw {len(calls)} calls of en_model_invoke for {expected} inferences")
    model = model_for(core)
    cycles = [c.cycles(model) for c in calls]
    worst = calls[cycles.index(max(cycles))]
    instr = worst.instructions
    fields: dict[str, Any] = {
        "est_cycles": max(cycles),
        "est_cycles_min": min(cycles),
        "est_cycles_mean": statistics.fmean(cycles),
        "est_cycles_by_class": {k: n * model.weights[k] for k, n in worst.counts.items() if n},
        "instructions_by_class": {k: worst.counts[k] for k in CLASSES if worst.counts[k]},
        "instructions_in_invoke": instr,
        "est_cycles_per_instruction": round(max(cycles) / instr, 3) if instr else None,
        "cycle_model": model.to_json(),
        "est_latency_ms": round(max(cycles) / clock_hz * 1e3, 4),
        "est_latency_note": (
            f"est_cycles / {clock_hz / 1e6:g} MHz: en_model_invoke's instructions weighted by the {model.table} "
            "cycle table (cycle_model), worst inference"
        ),
    }
    if steps:
        per_sample = [sum(cycles[i : i + steps]) for i in range(0, len(cycles), steps)]
        fields.update(est_cycles_per_sample=max(per_sample), est_cycles_per_sample_mean=statistics.fmean(per_sample))
    return fields
