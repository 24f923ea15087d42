"""Estimated cycles (the QEMU plugin firmware/qemu_plugin/cycles.c and targets/qemu_plugin.py): a
hand-written en_model_invoke() whose every instruction's timing class is known gets exactly those
class counts per call, the conditional branches split into taken and not taken as they ran; a
compiled model's class counts add up to the instructions QEMU counts for the same call; the report
carries est_cycles and the latency that follows from them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from conftest import MLPERF

from edgeneuro import boards, build
from edgeneuro.errors import ToolError
from edgeneuro.targets import qemu, qemu_plugin

M4 = "mps2-an386"
AD01 = MLPERF / "ad01_int8.tflite"
N = 100  # iterations of the test function's loop
CALLS = 3  # inferences the harness runs (input records)

# The test function after its loop, one instruction a line with the class the Cortex-M4 table puts
# it in (None: counted by hand in expected()). r0 = buf, r3 = 0, r4 = 1, r5 = 2 when it starts.
STRAIGHT = [
    # DSP and integer multiply, divide
    ("smull r1, r2, r4, r5", "mul_long"),
    ("umlal r1, r2, r4, r5", "mul_long"),
    ("mul r1, r4, r5", "mul"),
    ("muls r5, r4, r5", "mul"),
    ("mla r1, r4, r5, r1", "mla"),
    ("smulbb r1, r4, r5", "mul"),
    ("smlabb r1, r4, r5, r1", "mla"),
    ("smuad r1, r4, r5", "mul"),
    ("smmul r1, r4, r5", "mul"),
    ("sxtb16 r1, r4", "simd"),
    ("sxtab16 r1, r1, r4", "simd"),
    ("qadd8 r1, r4, r5", "simd"),
    ("qadd r1, r4, r5", "simd"),
    ("shadd16 r1, r4, r5", "simd"),
    ("sel r1, r4, r5", "simd"),
    ("pkhbt r1, r4, r5, lsl #16", "simd"),
    ("ssat16 r1, #8, r4", "simd"),
    ("usad8 r1, r4, r5", "simd"),
    ("usat r1, #8, r4", "alu"),
    ("sxth r1, r4", "alu"),
    ("sxtb.w r1, r4, ror #8", "alu"),
    ("clz r1, r4", "alu"),
    ("rev r1, r4", "alu"),
    ("ubfx r1, r4, #2, #3", "alu"),
    ("movw r1, #0x1234", "alu"),
    ("movt r1, #0x1234", "alu"),
    ("lsl.w r1, r4, r5", "alu"),
    ("add.w r1, r4, r5, lsl #2", "alu"),
    ("cmp.w r4, #1000", "alu"),
    ("udiv r1, r4, r5", "div"),
    ("sdiv r1, r4, r5", "div"),
    # loads and stores, and the neighbour rules
    ("ldrd r6, r7, [r0]", "ldst_double"),
    ("nop", "alu"),
    ("strd r6, r7, [r0, #16]", "ldst_double"),
    ("nop", "alu"),
    ("str r6, [r0, #16]", "store"),
    ("ldr r1, [r0, #4]", "load"),  # after a store: not pipelined
    ("str r1, [r0, r3]", "store_pipelined"),  # register offset, after a load
    ("ldrb r2, [r0, #1]", "load"),
    ("nop", "alu"),
    ("strh r2, [r0, r3]", "store_reg"),
    ("ldr r1, [r0, #8]", "load"),  # r1 = buf (buf[2])
    ("ldr r2, [r1]", "load"),  # its address is the previous load's destination: not pipelined
    ("ldrsh.w r2, [r0, #2]", "load_pipelined"),
    ("ldr r2, [r0], #4", "load_pipelined"),  # post-indexed: writes back r0, so the next is not pipelined
    ("ldr r1, [r0]", "load"),
    ("subs r0, #4", "alu"),
    ("ldr r1, [r0]", "load"),  # + an address stall: r0 was just written by the ALU
    ("adds r2, r0, #4", "alu"),
    ("str r4, [r2]", "store"),  # + an address stall
    ("ldm r0, {r1, r2}", "ldm"),  # + 2 registers
    ("nop", "alu"),
    ("stmia r0, {r1, r2}", "ldm"),  # + 2 registers
    ("ldr r1, =0x12345678", "load"),  # literal
    # floating point (FPv4-SP)
    ("vmov s0, r4", "fp"),
    ("vadd.f32 s1, s0, s0", "fp"),
    ("vmul.f32 s1, s1, s0", "fp"),
    ("vmla.f32 s1, s0, s0", "fp_mac"),
    ("vfma.f32 s1, s0, s0", "fp_mac"),
    ("vdiv.f32 s2, s1, s0", "fp_div"),
    ("vsqrt.f32 s3, s1", "fp_div"),
    ("vldr s4, [r0]", "fp_load"),
    ("vstr s4, [r0, #16]", "fp_load"),
    ("vldr d3, [r0]", "fp_load64"),
    ("vpush {s16-s18}", "fp_ldm"),  # + 3 words
    ("vpop {s16-s18}", "fp_ldm"),  # + 3 words
    ("vmov r1, r2, d3", "fp_mov2"),
    ("vcvt.s32.f32 s5, s1", "fp"),
    ("vcmp.f32 s1, #0", "fp"),
    ("vmrs APSR_nzcv, fpscr", "fp"),
    ("vmov r1, s1", "fp"),
    # branches
    ("bl leaf", "branch"),  # leaf: bx lr (branch_reg)
    ("cbz r3, 1f", "branch"),  # r3 == 0: taken
    ("nop", None),
    ("1: cbnz r3, 2f", "branch_not_taken"),
    ("nop", "alu"),
    ("2: cmp r3, #1", "alu"),
    ("ite eq", "it"),
    ("moveq r1, #1", "alu"),
    ("movne r1, #2", "alu"),
    ("cmp r3, #0", "alu"),
    ("it ne", "it"),
    ("bne 3f", "branch_not_taken"),  # in an IT block: conditional, not taken
    ("tbb [pc, r3]", "table_branch"),
    ("tbl: .byte (4f - tbl) / 2, 0", None),
    ("5: nop", None),  # skipped by the table branch
    ("4: nop", "alu"),
    ("3: movs r0, #0", "alu"),
    ("cmp r3, #0", "alu"),
    ("it eq", "it"),
    ("popeq {r4-r7, pc}", "ldm_pc"),  # taken: returns; + 5 registers
    ("pop {r4-r7, pc}", None),  # not reached
]


ASM_HEAD = f"""    .syntax unified
    .thumb
    .data
    .align 2
buf: .word 0x00020001, 3, buf, 5, 0, 0, 0, 0
    .text
    .align 2
    .global en_model_invoke
    .type en_model_invoke, %function
    .thumb_func
en_model_invoke:
    push {{r4-r7, lr}}
    ldr r0, =buf
    movs r3, #{N}
    movs r6, #0
    movs r7, #0
loop:
    ldr r4, [r0]
    ldr r5, [r0, #4]
    smlad r6, r4, r5, r6
    smlad r7, r4, r5, r7
    subs r3, r3, #1
    bne loop
    movs r4, #1
    movs r5, #2"""
ASM_TAIL = """    .ltorg
    .thumb_func
leaf:
    bx lr"""


def firmware_source() -> str:
    """model.c of the test firmware: the harness's model API around en_model_invoke() in assembly."""
    lines = [*ASM_HEAD.splitlines(), *(f"    {line}" for line, _ in STRAIGHT), *ASM_TAIL.splitlines()]
    asm = "\n".join(f'"{line}\\n"' for line in lines)
    return f"""/* Test firmware: en_model_invoke() runs a known instruction sequence. */
#include <stdint.h>
#include "model.h"

static uint8_t in_buf[4], out_buf[4];
const en_io en_model_inputs[EN_NUM_INPUTS] = {{{{in_buf, sizeof in_buf}}}};
const en_io en_model_outputs[EN_NUM_OUTPUTS] = {{{{out_buf, sizeof out_buf}}}};
void en_model_reset(void) {{}}

__asm__(
{asm}
);
"""


def expected() -> Counter:
    """The class counts of one call of the test function."""
    c: Counter = Counter()
    c["ldm"] += 1  # push {r4-r7, lr}
    c["ldm_regs"] += 5
    c["load"] += 1  # ldr r0, =buf
    c["alu"] += 3  # movs r3, r6, r7
    c["load"] += N  # the loop: first in its block
    c["load_pipelined"] += N
    c["mla"] += 2 * N
    c["alu"] += N
    c["branch"] += N - 1
    c["branch_not_taken"] += 1
    c["alu"] += 2  # movs r4, r5
    for _, cls in STRAIGHT:
        if cls:
            c[cls] += 1
    c["branch_reg"] += 1  # leaf: bx lr
    c["addr_stall"] += 2
    c["ldm_regs"] += 2 + 2 + 5  # ldm, stmia, popeq
    c["fp_ldm_words"] += 3 + 3
    return c


MEMORY_LD = """MEMORY
{
    FLASH (rx) : ORIGIN = 0x00000000, LENGTH = 0x400000
    RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 0x400000
}
EN_STACK_SIZE = 4096;
"""
MODEL_H = """#ifndef EN_MODEL_H
#define EN_MODEL_H
#include <stdint.h>
#define EN_NUM_INPUTS 1
#define EN_NUM_OUTPUTS 1
#define EN_NUM_LAYERS 1
#define EN_HAS_STATE 0
typedef struct { void *data; uint32_t bytes; } en_io;
extern const en_io en_model_inputs[EN_NUM_INPUTS];
extern const en_io en_model_outputs[EN_NUM_OUTPUTS];
int en_model_invoke(void);
void en_model_reset(void);
#endif
"""


@pytest.fixture(scope="module")
def test_elf(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("cycles_fw")
    (src / "kernels").mkdir()
    (src / "model.h").write_text(MODEL_H)
    (src / "model.c").write_text(firmware_source())
    (src / "memory.ld").write_text(MEMORY_LD)
    return build.build_firmware(src, boards.load(M4))


# --- without a simulator -------------------------------------------------------------------------


def test_bl_decoding_finds_the_call():
    # bl from main to en_model_invoke at 0xc0, as arm-none-eabi-objdump shows them
    assert qemu_plugin._bl_target(0x390A, 0xF7FC, 0xFBD9) == 0xC0
    assert qemu_plugin._bl_target(0x1396, 0xF7FE, 0xFE93) == 0xC0
    assert qemu_plugin._bl_target(0x1000, 0x4607, 0x0000) is None


def test_markers_from_the_elf(test_elf):
    start, rets = qemu_plugin.markers(test_elf)
    out = subprocess.run(["arm-none-eabi-objdump", "-d", str(test_elf)], capture_output=True, text=True).stdout
    assert f"{start:x} <en_model_invoke>:" in out
    calls = [line for line in out.splitlines() if "bl\t" in line and "<en_model_invoke>" in line]
    assert [int(line.split(":")[0], 16) + 4 for line in calls] == rets and len(rets) == 1


def test_the_plugin_builds_once_and_gcc_missing_is_one_line(monkeypatch):
    so = qemu_plugin.build()
    assert so.is_file() and so.suffix == ".so" and qemu_plugin.build() == so
    monkeypatch.setattr(qemu_plugin.shutil, "which", lambda exe: None if exe == "gcc" else "/usr/bin/" + exe)
    with pytest.raises(ToolError, match="gcc not found") as e:
        qemu_plugin.build()
    assert "\n" not in str(e.value)
    assert qemu_plugin.wanted(None) == (False, qemu_plugin.unavailable())
    with pytest.raises(ToolError, match="cannot estimate cycles"):
        qemu_plugin.wanted(True)


def test_cycle_tables():
    m4 = qemu_plugin.model_for("cortex-m4")
    assert set(m4.weights) == set(qemu_plugin.CLASSES) | set(qemu_plugin.UNITS)
    assert all(w >= 1 for w in m4.weights.values())  # so est_cycles >= instructions
    assert (m4.weights["load"], m4.weights["load_pipelined"], m4.weights["mla"], m4.weights["mul_long"]) == (2, 1, 1, 1)
    assert m4.weights["fp_div"] == 14 and m4.weights["fp_mac"] == 3 and "100166" in m4.source
    m3 = qemu_plugin.model_for("cortex-m3")
    assert m3.table == "cortex-m3" and m3.weights["mla"] == 2 and m3.weights["mul_long"] == 5
    for core in ("cortex-m7", "cortex-m55"):
        m = qemu_plugin.model_for(core)
        assert m.table == "cortex-m4" and m.weights == m4.weights and "no per-instruction timing table" in m.note
    assert "no cortex-m33 timing table" in qemu_plugin.model_for("cortex-m33").note


def test_parse_checks_the_output():
    names = [*qemu_plugin.CLASSES, *qemu_plugin.UNITS]
    line = "encycles call=0 insns=3 " + " ".join(f"{k}={3 if k == 'alu' else 0}" for k in names)
    (call,) = qemu_plugin.parse(f"noise\n{line}\nencycles end calls=1\n")
    assert call.instructions == call.insns == 3 and call.cycles(qemu_plugin.model_for("cortex-m4")) == 3
    with pytest.raises(ToolError, match="ends early"):
        qemu_plugin.parse(line)
    with pytest.raises(ToolError, match="rebuild"):
        qemu_plugin.parse(line.replace(" alu=", " alu2=") + "\nencycles end calls=1")
    with pytest.raises(ToolError, match="calls of en_model_invoke"):
        qemu_plugin.report_fields("cortex-m4", 25_000_000, [call], expected=2)


# --- on QEMU -------------------------------------------------------------------------------------


@pytest.mark.sim
def test_known_instructions_get_their_classes(test_elf):
    board = boards.load(M4)
    res = qemu.run(board, test_elf, bytes(4 * CALLS), cycles=True, timeout=60)
    assert len(res.calls) == CALLS
    want = expected()
    for call in res.calls:
        got = {k: n for k, n in call.counts.items() if n}
        assert got == dict(want)
        assert call.instructions == call.insns == 7 + 6 * N + len([c for _, c in STRAIGHT if c]) + 1
    # the harness's timer brackets the same call: the call, two timer reads, 40-instruction ticks
    from edgeneuro.targets import records

    rec = records.split(res.records, 4, CALLS, trailer=True)
    timer = [round(t * board.instructions_per_tick) for t in rec.ticks]
    tick = board.instructions_per_tick
    assert all(-tick <= t - call.insns <= 40 + tick for t, call in zip(timer, res.calls, strict=True))


@pytest.mark.sim
def test_without_the_plugin_nothing_changes(test_elf):
    board = boards.load(M4)
    a = qemu.run(board, test_elf, bytes(4 * CALLS), cycles=True, timeout=60)
    b = qemu.run(board, test_elf, bytes(4 * CALLS), timeout=60)
    assert b.calls is None and a.records == b.records  # same outputs and the same -icount timer ticks


def run_cli(tmp: Path, *extra: str) -> dict:
    np.save(tmp / "in.npy", np.load(MLPERF / "ad01_int8_input.npy"))
    proc = subprocess.run(
        [sys.executable, "-m", "edgeneuro.cli", "run", str(AD01), "--board", M4, "--input", str(tmp / "in.npy"),
         "--report", str(tmp / "r.json"), "--build-dir", str(tmp / "build"), *extra],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert ("cycles (cortex-m4 table)" in proc.stdout) == ("--no-cycles" not in extra)
    return json.loads((tmp / "r.json").read_text())


@pytest.mark.sim
@pytest.mark.parametrize("kernels", ["reference", "auto"])
def test_compiled_model_cycles(kernels, tmp_path):
    r = run_cli(tmp_path, "--kernels", kernels)
    by_class = r["instructions_by_class"]
    assert sum(by_class.values()) == r["instructions_in_invoke"]
    tick = r["instructions_resolution"]  # the timer's figure also holds the call and the timer reads
    assert -tick <= r["instructions"] - r["instructions_in_invoke"] <= 40 + tick
    assert r["est_cycles"] >= r["instructions"] and r["est_cycles"] == sum(r["est_cycles_by_class"].values())
    assert r["est_latency_ms"] == pytest.approx(r["est_cycles"] / 25e6 * 1e3, abs=1e-4)
    assert r["est_latency_note"].startswith("est_cycles / 25 MHz")
    assert r["cycle_model"]["table"] == "cortex-m4" and "ignores" in r["cycle_model"]
    assert "other" not in by_class and "mve" not in by_class  # the decoder places every instruction
    if kernels == "auto":  # the DSP kernels multiply with SMLAD (mla) and widen with SXTB16 (simd)
        assert by_class["simd"] > 0 and by_class["mla"] > r["macs"] / 2 / 2
    # QEMU's own count of the same call (per translation block, as -icount advances) is exact
    res = qemu.run(boards.load(M4), Path(r["elf"]), np.load(MLPERF / "ad01_int8_input.npy").tobytes(), cycles=True)
    (call,) = res.calls
    assert call.insns == call.instructions == r["instructions_in_invoke"]


@pytest.mark.sim
def test_no_cycles_keeps_the_old_report(tmp_path):
    r = run_cli(tmp_path, "--no-cycles")
    assert "est_cycles" not in r and "cycle_model" not in r
    assert r["est_latency_ms"] == pytest.approx(r["instructions"] / 25e6 * 1e3, abs=1e-4)
