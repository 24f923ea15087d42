"""Board descriptions: every boards/*.yaml loads and builds; every board with a QEMU machine boots
the one firmware harness there (its own UART driver on the console) and computes a real int8 model
and a float model bit for bit like the numpy reference; a board without a QEMU machine, an unknown
board and a malformed board file each give one clear error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import MLPERF, reference_run
from elftools.elf.elffile import ELFFile
from tflite_builder import ACT, ModelBuilder, options

from edgeneuro import boards, build, codegen
from edgeneuro.compiler import compile_model, load
from edgeneuro.errors import BoardError
from edgeneuro.runner import run_on_board
from edgeneuro.targets import qemu, renode

AD01 = MLPERF / "ad01_int8.tflite"
ALL = boards.available()
QEMU = [name for name in ALL if boards.load(name).qemu]
NO_QEMU = [name for name in ALL if not boards.load(name).qemu]
DRIVER = {
    "cmsdk": "EN_UART_KIND_CMSDK",
    "stm32-usart": "EN_UART_KIND_STM32_USART",
    "stm32h7-usart": "EN_UART_KIND_STM32H7_USART",
    "nrf-uarte": "EN_UART_KIND_NRF_UARTE",
}


def edgeneuro(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgeneuro.cli", *args], capture_output=True, text=True)


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgeneuro: error: ") and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_the_boards_are_there():
    assert {"mps2-an385", "mps2-an386", "mps2-an500", "mps3-an547"} <= set(QEMU)
    assert {"stm32f4-discovery", "nrf52840-dk", "nucleo-h743zi"} <= set(ALL)
    assert {"nrf52840-dk", "nucleo-h743zi"} <= set(NO_QEMU)


@pytest.mark.parametrize("name", ALL)
def test_board_yaml_loads_and_is_consistent(name):
    b = boards.load(name)
    assert b.name == name and b.description
    assert b.source.endswith(f"{name}.yaml")
    assert "# " in Path(b.source).read_text().splitlines()[0]  # the header comment naming the sources
    assert b.regions["flash"] == (b.flash_origin, b.flash_bytes)
    assert b.regions["ram"] == (b.ram_origin, b.ram_bytes)
    assert b.stack_bytes < b.ram_bytes // 4 and b.clock_hz >= 1_000_000 and b.systick_hz >= 1_000_000
    assert b.qemu or b.renode, "every board names a simulator"
    if b.qemu:
        assert b.qemu["machine"] and b.qemu["cpu"] == b.core
    flags = b.cflags()
    assert flags[0].startswith(f"-mcpu={b.core}")
    assert ("-mfloat-abi=hard" in flags) == (b.fpu is not None)
    if b.mve:
        assert b.core == "cortex-m55" and "-mfpu=auto" in flags
    h = codegen.render_board_h(b)
    assert f"#define {DRIVER[b.uart.kind]} 1" in h
    assert f"#define EN_UART_BASE 0x{b.uart.base:08X}u" in h
    assert f"#define EN_SYSTICK_HZ {b.systick_hz}u" in h


def test_the_facts_measured_on_qemu():
    """What the YAML files say and tests/test_boards.py relies on (see each file's header)."""
    an547 = boards.load("mps3-an547")
    assert (an547.flash_origin, an547.flash_bytes) == (0x10000000, 512 * 1024)
    assert (an547.ram_origin, an547.ram_bytes) == (0x30000000, 512 * 1024)
    assert an547.uart.base == 0x59303000 and an547.instructions_per_tick == 31.25
    assert an547.mve and an547.fpu == "auto"
    assert boards.load("mps2-an500").fpu == "fpv5-d16"
    an385 = boards.load("mps2-an385")
    assert an385.fpu is None and not an385.dsp and "-mfloat-abi=soft" in an385.cflags()
    disco = boards.load("stm32f4-discovery")
    assert disco.qemu == {"machine": "netduinoplus2", "cpu": "cortex-m4", "serial": 1}
    assert (disco.uart.kind, disco.uart.base) == ("stm32-usart", 0x40004400)
    assert boards.load("nrf52840-dk").renode == {"platform": "platforms/cpus/nrf52840.repl"}
    assert boards.load("nucleo-h743zi").renode == {"platform": "platforms/cpus/stm32h743.repl"}


@pytest.fixture(scope="module")
def ad01_inputs(tmp_path_factory):
    stored = np.load(MLPERF / "ad01_int8_input.npy")
    rng = np.random.default_rng(7)
    x = np.concatenate([stored, rng.integers(-128, 128, (2, 640), dtype=np.int8)])
    path = tmp_path_factory.mktemp("ad01") / "in.npy"
    np.save(path, x)
    return path, x, reference_run(AD01, x)


@pytest.mark.parametrize("name", ALL)
def test_firmware_builds_and_fits_every_board(name, tmp_path):
    """The one harness cross-compiles for every board (its UART driver, its core flags); the image
    starts at the board's flash origin and its data lies in the board's RAM."""
    b = boards.load(name)
    c = compile_model(load(AD01), b, tmp_path / "gen")
    elf = build.build_firmware(c.out_dir, b)
    board_h = (c.out_dir / "board.h").read_text()
    assert f"#define {DRIVER[b.uart.kind]} 1" in board_h
    # every shipped board has an alarm pin (an LED): the detector harnesses drive it
    assert f"#define EN_ALARM_ON_ADDRESS 0x{b.alarm.on[0]:08X}u" in board_h
    assert f"#define EN_ALARM_OFF_VALUE 0x{b.alarm.off[1]:08X}u" in board_h
    sizes = build.elf_sizes(elf)
    assert sizes.flash <= b.flash_bytes and sizes.ram <= b.ram_bytes
    with open(elf, "rb") as f:
        secs = {s.name: s for s in ELFFile(f).iter_sections()}
        assert secs[".isr_vector"]["sh_addr"] == b.flash_origin
        for name_ in (".bss", ".stack"):
            s = secs[name_]
            assert b.ram_origin <= s["sh_addr"] and s["sh_addr"] + s["sh_size"] <= b.ram_origin + b.ram_bytes


@pytest.mark.sim
@pytest.mark.parametrize("name", QEMU)
def test_int8_model_on_every_qemu_board(name, ad01_inputs, tmp_path):
    """MLPerf Tiny AD01 on the board's QEMU machine == the numpy reference, bit for bit; the board's
    own UART driver prints the harness's last line; flash and RAM fit the board."""
    path, x, expected = ad01_inputs
    b = boards.load(name)
    res = run_on_board(load(AD01), b, path, tmp_path / "build")
    np.testing.assert_array_equal(res.output, expected)
    np.testing.assert_array_equal(res.output[:1], np.load(MLPERF / "ad01_int8_expected_output.npy"))
    r = res.report
    assert r["board"] == name and r["inferences"] == len(x)
    assert r["macs"] < r["instructions"] < 40 * r["macs"]
    assert r["instructions_resolution"] == b.instructions_per_tick
    assert r["weights_bytes"] < r["flash_bytes"] <= b.flash_bytes
    assert r["arena_bytes"] < r["ram_bytes"] <= b.ram_bytes
    console = qemu.run(b, Path(r["elf"]), x[:1].tobytes()).console
    assert "edgeneuro: 1 inferences" in console, console


def float_model(path: Path) -> Path:
    """A float32 FULLY_CONNECTED (24 -> 10, RELU): runs on the FPU (or soft float on the M3)."""
    rng = np.random.default_rng(11)
    mb = ModelBuilder()
    x = mb.tensor([1, 24], "float32")
    w = mb.tensor([10, 24], "float32", data=rng.normal(size=(10, 24)))
    bias = mb.tensor([10], "float32", data=rng.normal(size=10))
    y = mb.tensor([1, 10], "float32")
    mb.op("FULLY_CONNECTED", [x, w, bias], [y], options("FullyConnectedOptions", fusedActivationFunction=ACT["RELU"]),
          "FullyConnectedOptions")  # fmt: skip
    path.write_bytes(mb.build([x], [y]))
    return path


@pytest.mark.sim
@pytest.mark.parametrize("name", QEMU)
def test_float_model_on_every_qemu_board(name, tmp_path):
    """Float code runs on each board's FPU (enabled by the startup code) and equals the reference."""
    model = float_model(tmp_path / "fc.tflite")
    x = np.random.default_rng(12).normal(size=(3, 24)).astype(np.float32)
    np.save(tmp_path / "in.npy", x)
    res = run_on_board(load(model), boards.load(name), tmp_path / "in.npy", tmp_path / "build")
    np.testing.assert_array_equal(res.output, reference_run(model, x))


@pytest.mark.parametrize("name", NO_QEMU)
def test_run_on_a_board_without_qemu_is_a_clear_error(name, tmp_path):
    np.save(tmp_path / "in.npy", np.load(MLPERF / "ad01_int8_input.npy"))
    line = one_error_line(edgeneuro("run", str(AD01), "--board", name, "--input", str(tmp_path / "in.npy")))
    assert f"board {name} has no QEMU machine" in line
    assert "boards that run on QEMU: " + ", ".join(QEMU) in line
    with pytest.raises(BoardError, match="has no QEMU machine"):
        qemu.command(boards.load(name), tmp_path / "x.elf")


def test_unknown_board_lists_the_valid_ones(tmp_path):
    np.save(tmp_path / "in.npy", np.load(MLPERF / "ad01_int8_input.npy"))
    line = one_error_line(edgeneuro("run", str(AD01), "--board", "mps9-an999", "--input", str(tmp_path / "in.npy")))
    assert "unknown board 'mps9-an999'" in line and "known boards: " + ", ".join(ALL) in line


def test_boards_command_lists_every_board():
    proc = edgeneuro("boards")
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[1:]}
    assert sorted(rows) == ALL
    assert proc.stdout.splitlines()[0].split() == [
        "board", "core", "fpu", "dsp", "mve", "flash", "ram", "clock", "qemu", "renode", "installed"
    ]  # fmt: skip
    # each board's simulators, the default one first, and whether their programs are there
    have = "yes" if renode.find() else "NO"
    assert rows["stm32f4-discovery"].endswith(f"qemu yes, renode {have}")
    assert rows["nrf52840-dk"].endswith(f"renode {have}") and rows["mps2-an386"].endswith("  qemu yes")
    assert "netduinoplus2" in rows["stm32f4-discovery"] and "platforms/cpus/nrf52840.repl" in rows["nrf52840-dk"]
    assert "cortex-m55" in rows["mps3-an547"] and "512 KiB" in rows["mps3-an547"]
    doc = json.loads(edgeneuro("boards", "--json").stdout)
    assert [d["name"] for d in doc] == ALL
    by = {d["name"]: d for d in doc}
    assert by["mps3-an547"]["mve"] is True and by["mps2-an385"]["fpu"] is None
    assert by["nrf52840-dk"]["simulator"] == {"qemu": None, "renode": {"platform": "platforms/cpus/nrf52840.repl"}}
    assert by["nrf52840-dk"]["simulators_installed"] == {"renode": renode.find() is not None}
    assert by["nucleo-h743zi"]["clock_hz"] == 400_000_000 and by["nucleo-h743zi"]["flash_bytes"] == 2 << 20


GOOD = """\
name: my-board
core: cortex-m4
fpu: fpv4-sp-d16
dsp: true
clock_hz: 48000000
systick_hz: 48000000
memory:
  flash: {origin: 0x08000000, size: 0x40000}
  ram: {origin: 0x20000000, size: 0x10000}
uart: {kind: stm32-usart, base: 0x40004400}
simulator: {qemu: null, renode: null}
"""


def test_a_board_file_of_your_own(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(GOOD)
    b = boards.load(str(path))
    assert (b.name, b.flash_origin, b.ram_bytes, b.uart.kind, b.qemu, b.mve) == (
        "my-board", 0x08000000, 0x10000, "stm32-usart", None, False
    )  # fmt: skip


@pytest.mark.parametrize(
    "old, new, needles",
    [
        ("uart: {kind: stm32-usart, base: 0x40004400}\n", "", ["'uart'", "missing"]),
        ("uart: {kind: stm32-usart, base: 0x40004400}\n", "uart0: 0x40004400\n", ["uart0", "replaced by 'uart"]),
        ("kind: stm32-usart", "kind: pl011", ["'uart.kind'", "pl011", "cmsdk"]),
        ("base: 0x40004400", "base: USART2", ["'uart.base'", "integer"]),
        ("fpu: fpv4-sp-d16", "fpu: fpv5-d16", ["'fpu'", "cortex-m4 takes"]),
        ("core: cortex-m4", "core: cortex-m99", ["'core'", "cortex-m99"]),
        ("dsp: true", "dsp: false", ["'dsp'", "always has DSP"]),
        ("dsp: true\n", "dsp: true\nmve: true\n", ["'mve'", "no MVE"]),
        ("  ram: {origin: 0x20000000, size: 0x10000}\n", "", ["'memory.ram'", "missing"]),
        ("size: 0x10000}", "size: -4}", ["'memory.ram.size'"]),
        ("simulator: {qemu: null, renode: null}", "simulator: {qemu: {machine: foo}}", ["'simulator.qemu.cpu'"]),
        ("simulator: {qemu: null, renode: null}", "simulator: {spike: null}", ["spike", "simulator"]),
        ("clock_hz: 48000000", "clock_hz: fast", ["'clock_hz'"]),
        (
            "uart: {kind: stm32-usart, base: 0x40004400}\n",
            "uart: {kind: stm32-usart, base: 0x40004400}\nalarm: {pin: PA5, write_on: [0x40020018, 0x20]}\n",
            ["'alarm.write_off'", "missing"],
        ),
        (
            "uart: {kind: stm32-usart, base: 0x40004400}\n",
            "uart: {kind: stm32-usart, base: 0x40004400}\n"
            "alarm: {pin: PA5, write_on: [0x40020018], write_off: [0x40020018, 0x200000]}\n",
            ["'alarm.write_on'", "[address, value]"],
        ),
        (
            "uart: {kind: stm32-usart, base: 0x40004400}\n",
            "uart: {kind: stm32-usart, base: 0x40004400}\n"
            "alarm: {pin: PA5, on: [0x40020018, 0x20], off: [0x40020018, 0x200000]}\n",
            ["'alarm'", "write_on", "YAML reads a key on"],
        ),
    ],
)
def test_a_bad_board_file_names_the_file_and_the_field(tmp_path, old, new, needles):
    assert old in GOOD
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace(old, new))
    with pytest.raises(BoardError) as e:
        boards.load(str(path))
    msg = str(e.value)
    assert str(path) in msg and "\n" not in msg
    for n in needles:
        assert n in msg, msg


def test_a_bad_board_file_through_the_cli(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace("kind: stm32-usart", "kind: 16550"))
    line = one_error_line(edgeneuro("compile", str(AD01), "--board", str(path), "-o", str(tmp_path / "out")))
    assert "bad.yaml" in line and "'uart.kind'" in line


def _big_fc(path: Path) -> Path:
    """A 1.8 MB int8 fully connected layer (1,500 -> 1,200): bigger than the 1 MiB boards' flash."""
    from tflite_builder import fc_options

    rng = np.random.default_rng(0)
    b = ModelBuilder()
    x = b.tensor([1, 1500], scale=0.05, zero_point=0)
    w = b.tensor([1200, 1500], scale=0.01, zero_point=0, data=rng.integers(-127, 128, (1200, 1500)))
    y = b.tensor([1, 1200], scale=0.1, zero_point=0)
    b.op("FULLY_CONNECTED", [x, w, -1], [y], fc_options("NONE"), "FullyConnectedOptions")
    path.write_bytes(b.build([x], [y]))
    return path


def test_boards_model_says_where_a_big_model_fits(tmp_path):
    model = _big_fc(tmp_path / "big.tflite")
    proc = subprocess.run([sys.executable, "-m", "edgeneuro.cli", "boards", "--model", str(model), "--json"],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    fits = {b["name"]: b["model"] for b in json.loads(proc.stdout)}
    for name, f in fits.items():  # each verdict follows from the board's memory and the plan's figures
        board = boards.load(name)
        assert f["fits"] == (f["weights_bytes"] <= board.flash_bytes and f["ram_bytes_needed"] <= board.ram_bytes)
        assert f["weights_bytes"] >= 1500 * 1200
    assert fits["mps2-an386"]["fits"] and not fits["stm32f4-discovery"]["fits"]
    assert "flash" in fits["stm32f4-discovery"]["why"]


@pytest.mark.sim
def test_a_two_megabyte_class_model_runs_on_qemu(tmp_path):
    """A 1.8 MB model has somewhere to run on QEMU: mps2-an386's 4 MiB, bit for bit with TFLM."""
    from conftest import tflm_run

    model = _big_fc(tmp_path / "big.tflite")
    x = np.random.default_rng(1).integers(-128, 128, (2, 1500), dtype=np.int8)
    np.save(tmp_path / "in.npy", x)
    board = boards.load("mps2-an386")
    res = run_on_board(load(model), board, tmp_path / "in.npy", tmp_path / "build")
    np.testing.assert_array_equal(res.output, tflm_run(model.read_bytes(), x))
    assert res.report["flash_bytes"] > 1500 * 1200
