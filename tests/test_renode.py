"""Renode: a script per board that Renode models, `--sim renode` on `stream` and `run`, and the Robot
suite. scripts/setup.sh installs Renode (from ../shared/renode/ here); where it could not, the tests
that need it skip and say why, the others check the scripts against the board descriptions and the
errors without it."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest

from edgeneuro import boards
from edgeneuro.targets import renode

ROOT = Path(__file__).resolve().parents[1]
MLPERF = ROOT.parent / "shared" / "models" / "mlperf_tiny"
AD01 = MLPERF / "ad01_int8.tflite"
# every MLPerf Tiny model and seizure model here: all fit the three Renode boards (`edgeneuro boards --model`)
MODELS = sorted(MLPERF.glob("*.tflite")) + sorted((MLPERF.parent / "seizure").glob("*.tflite"))
# Renode 1.15.3 runs seizure_cnn1d's DSP build wrongly: the outputs differ on nucleo-h743zi and nrf52840-dk,
# and stm32f4-discovery stops answering, while QEMU runs the same build right. The cause is Renode's SSUB8 /
# SEL (the per-byte maximum of max_pool2d_s8_dsp; see renode/README.md). With the portable (reference)
# kernels it equals TFLM on all three.
KERNELS = {"seizure_cnn1d": "reference"}
HAVE_RENODE = renode.find() is not None
NEEDS_RENODE = pytest.mark.skipif(
    not HAVE_RENODE, reason="renode is not installed (`make setup` installs it where it can; see renode/README.md)"
)
# Where Renode's platform descriptions put the UART each script connects (platforms/cpus/nrf52840.repl,
# platforms/cpus/stm32h7.repl, platforms/cpus/stm32f4.repl).
RENODE_UARTS = {"uart0": 0x40002000, "usart2": 0x40004400, "usart3": 0x40004800}
# ... and the GPIO port each script hangs the board's alarm LED on (size 0x400 on the STM32s, gpio0's
# registers from OUT at 0x504 to PIN_CNF[31] at 0x77C)
RENODE_GPIOS = {"gpio0": (0x50000500, 0x300), "gpioPortB": (0x58020400, 0x400), "gpioPortD": (0x40020C00, 0x400)}
RENODE_BOARDS = [n for n in boards.available() if boards.load(n).renode]
MODEL_BOARDS = [pytest.param(m, b, id=f"{m.stem}-{b}") for m in MODELS for b in RENODE_BOARDS]


def edgeneuro(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgeneuro.cli", *args], capture_output=True, text=True, timeout=600)


def test_renode_boards_exist():
    assert sorted(RENODE_BOARDS) == ["nrf52840-dk", "nucleo-h743zi", "stm32f4-discovery"]


@pytest.mark.parametrize("name", boards.available())
def test_a_script_for_every_board_renode_models(name):
    """Each board with a Renode platform has renode/<board>.resc loading that platform and putting
    the board's console UART (its address from the board YAML) on the pty; the others have none."""
    board = boards.load(name)
    script = ROOT / "renode" / f"{name}.resc"
    if not board.renode:
        assert not script.exists()
        return
    text = script.read_text()
    platform = board.renode["platform"]
    assert f"machine LoadPlatformDescription @{platform}" in text or f'using "{platform}"' in text
    assert "sysbus LoadELF $elf" in text and 'CreateUartPtyTerminal "edgeneuro_uart" $pty true' in text
    # time counted as on QEMU -icount shift=0 (1 instruction per ns), SysTick at the board's clock for it
    assert "cpu PerformanceInMips 1000" in text and f"nvic Frequency {board.systick_hz}" in text
    (uart,) = re.findall(r"connector Connect sysbus\.(\w+) edgeneuro_uart", text)
    assert RENODE_UARTS[uart] == board.uart.base
    # the board's alarm LED on the alarm pin: the port holds the pin's registers, the pin is the one named
    ((port, pin, invert),) = re.findall(r"alarm_led: Miscellaneous\.LED @ (\w+) (\d+)\n(    invert: true\n)?", text)
    assert f"{port}:\n    {pin} -> alarm_led@0" in text and board.alarm.pin.endswith(pin)
    base, size = RENODE_GPIOS[port]
    assert base <= board.alarm.on[0] < base + size and base <= board.alarm.off[0] < base + size
    # LED1 of the nRF52840 DK is wired active low (its user guide), LD5 and LD3 of the ST boards active high
    assert bool(invert) == (name == "nrf52840-dk")


def test_robot_suite_drives_the_stream_protocol():
    text = (ROOT / "renode" / "edgeneuro.robot").read_text()
    assert "Execute Script          ${CURDIR}/${BOARD}.resc" in text
    assert "stream    ${BUILD}" in text and "--port    ${PTY}" in text


def test_sim_renode_without_renode_says_how_to_install(tmp_path, monkeypatch, capsys):
    """As on a machine where setup could not install Renode (in-process, with Renode hidden)."""
    from edgeneuro.cli import main

    monkeypatch.setattr(renode, "find", lambda tool="renode": None)
    np.save(tmp_path / "x.npy", np.load(MLPERF / "ad01_int8_input.npy"))
    for verb in ("stream", "run"):
        assert main([verb, str(AD01), "--board", "nrf52840-dk", "--sim", "renode", "--input", str(tmp_path / "x.npy")])
        err = capsys.readouterr().err
        assert "renode not found" in err and "github.com/renode/renode/releases" in err and "Traceback" not in err


def test_sim_renode_on_a_board_renode_does_not_model(tmp_path):
    np.save(tmp_path / "x.npy", np.load(MLPERF / "ad01_int8_input.npy"))
    proc = edgeneuro(
        "stream", str(AD01), "--board", "mps2-an386", "--sim", "renode", "--input", str(tmp_path / "x.npy")
    )
    assert proc.returncode != 0 and "board mps2-an386 has no Renode platform" in proc.stderr


@pytest.mark.sim
@pytest.mark.tflm
@NEEDS_RENODE
@pytest.mark.parametrize("model, name", MODEL_BOARDS)
def test_models_on_renode_equal_tflm(model, name, tmp_path):
    """The model's stored input (every window of it: 1 for MLPerf Tiny, 8 for a seizure model) streamed
    through the board under Renode: every output equals edgeneuro's reference (the stream checks it)
    and TFLM's, bit for bit."""
    from conftest import tflm_run

    from edgeneuro.stream.command import stream

    x = np.load(f"{model.with_suffix('')}_input.npy")
    np.save(tmp_path / "x.npy", x)
    res = stream(model, name, inputs=tmp_path / "x.npy", build_dir=tmp_path / "build", sim="renode", timeout=20,
                 kernels=KERNELS.get(model.stem))  # fmt: skip
    assert res.ok and res.report["simulator"] == "renode" and res.report["outputs_equal_reference"] == len(x)
    out = next(iter(res.outputs.values()))
    np.testing.assert_array_equal(out, tflm_run(model, x).reshape(out.shape))


@pytest.mark.sim
@NEEDS_RENODE
def test_one_firmware_on_qemu_and_renode(tmp_path):
    """One stm32f4-discovery build, on QEMU's netduinoplus2 and on Renode's STM32F4 Discovery: the same
    outputs and the same SysTick ticks, so the same instruction counts (the scripts run Renode at one
    instruction per ns with SysTick at the board's 168 MHz, as QEMU -icount shift=0 counts)."""
    from edgeneuro.stream.command import stream

    model = MLPERF / "kws_ref_model.tflite"
    rng = np.random.default_rng(3)
    x = np.concatenate([np.load(MLPERF / "kws_ref_model_input.npy"), rng.integers(-128, 128, (2, 49, 10, 1))])
    np.save(tmp_path / "x.npy", x.astype(np.int8))
    qemu = stream(model, "stm32f4-discovery", inputs=tmp_path / "x.npy", build_dir=tmp_path / "build", timeout=20)
    renode_ = stream(tmp_path / "build", "stm32f4-discovery", inputs=tmp_path / "x.npy", sim="renode", timeout=20)
    assert qemu.ok and renode_.ok
    np.testing.assert_array_equal(next(iter(renode_.outputs.values())), next(iter(qemu.outputs.values())))
    # the same to within a tick (6 instructions): where SysTick's count stands when an inference starts
    # depends on how long the firmware polled its UART before, on either simulator
    for key in ("ticks_max", "ticks_min"):
        assert abs(renode_.report[key] - qemu.report[key]) <= 1, key
    assert qemu.report["instructions"] > 1_000_000  # a count, not a stub: the model's 2.7 M MACs take millions


@pytest.mark.sim
@NEEDS_RENODE
@pytest.mark.skipif(renode.find("renode-test") is None, reason="renode-test is not installed")
def test_robot_suite_on_renode(tmp_path):
    from edgeneuro.compiler import load
    from edgeneuro.stream import target

    target.build(load(AD01), boards.load("stm32f4-discovery"), tmp_path / "build")
    np.save(tmp_path / "x.npy", np.load(MLPERF / "ad01_int8_input.npy"))
    proc = subprocess.run([renode.find("renode-test"), str(ROOT / "renode" / "edgeneuro.robot"), "--include", "stream",
                           "--variable",
                           "BOARD:stm32f4-discovery", "--variable", f"BUILD:{tmp_path / 'build'}", "--variable",
                           f"WINDOWS:{tmp_path / 'x.npy'}", "--variable",
                           f"EDGENEURO:{Path(sys.executable).parent / 'edgeneuro'}", "--variable",
                           f"PTY:{tmp_path / 'uart'}", "-r", str(tmp_path / "results")],
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:]
    # the suite's one test ran and passed (a suite that ran nothing also exits with 0)
    total = ElementTree.parse(tmp_path / "results" / "robot_output.xml").find("statistics/total/stat")
    assert total.attrib == {"pass": "1", "fail": "0", "skip": "0"}


@pytest.mark.sim
@NEEDS_RENODE
def test_flash_an_unprogrammed_renode_board_through_its_gdb_server(tmp_path):
    """`edgeneuro sim` starts nrf52840-dk as out of the box (flash empty, Renode's GDB server up);
    `edgeneuro flash` writes the stream firmware into Renode's model of the flash, reads it back and
    starts it; the stream protocol then answers from that image over the board's UART, every output
    equal to the reference, with SysTick ticks that count instructions (the board is timed as a chip
    at its clock, one instruction a cycle): as many as QEMU counts for the model on mps2-an386.
    Sixteen windows at 64 MIPS also catch the UARTE race fixed in firmware/uart.c: the firmware from
    before the fix lost bytes here at the second window, in both runs tried."""
    from test_flash import free_port

    from edgeneuro.compiler import load
    from edgeneuro.flash import RspClient, load_image
    from edgeneuro.options import from_cli
    from edgeneuro.stream import target
    from edgeneuro.stream.command import stream

    board = boards.load("nrf52840-dk")
    model = MLPERF.parent / "seizure" / "seizure_dnn.tflite"
    target.build(load(model, from_cli(model, board=board)), board, tmp_path / "build")  # as `stream` builds it
    x = np.load(MLPERF.parent / "seizure" / "seizure_dnn_input.npy")
    np.save(tmp_path / "x.npy", np.concatenate([x, x[::-1]]))
    image = load_image(tmp_path / "build", board)
    port = free_port()
    sim = subprocess.Popen([sys.executable, "-m", "edgeneuro.cli", "sim", board.name, "--gdb", str(port), "--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        info = json.loads(sim.stdout.readline() or "{}")
        assert info.get("gdb") == f"127.0.0.1:{port}", sim.stderr.read() if sim.poll() is not None else info
        with RspClient("127.0.0.1", port, 10) as gdb:  # nothing in flash yet
            gdb.handshake()
            gdb.halt()
            first = image.segments[0]
            assert gdb.read_memory(first.address, 64) != first.data[:64]
        flashed = edgeneuro("flash", str(tmp_path / "build"), "--gdb", f"127.0.0.1:{port}", "--board", board.name,
                            "--timeout", "20", "--json")  # fmt: skip
        assert flashed.returncode == 0, flashed.stderr
        report = json.loads(flashed.stdout)
        assert report["verify"] == "ok" and report["running"]
        assert report["verified_bytes"] == report["bytes_written"] == sum(len(s.data) for s in image.segments)
        assert "Renode's emulation started (monitor start)" in report["notes"]
        res = stream(tmp_path / "build", board, inputs=tmp_path / "x.npy", port=info["port"], timeout=10)
        assert res.ok and res.report["protocol"].get("retransmits", 0) == 0
        qemu = stream(model, "mps2-an386", inputs=tmp_path / "x.npy", build_dir=tmp_path / "qemu", timeout=20)
        assert abs(res.report["ticks_max"] - qemu.report["instructions"]) < 0.005 * qemu.report["instructions"], {
            k: v for k, v in res.report.items() if "tick" in k
        }
    finally:
        sim.send_signal(signal.SIGINT)
        assert sim.wait(timeout=60) == 0, sim.stderr.read()


def test_sim_refuses_a_board_renode_does_not_model():
    proc = edgeneuro("sim", "mps2-an386")
    assert proc.returncode != 0 and "board mps2-an386 has no Renode platform" in proc.stderr


@NEEDS_RENODE
def test_sim_says_when_its_gdb_port_is_taken():
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        proc = edgeneuro("sim", "nrf52840-dk", "--gdb", str(port))
    assert proc.returncode != 0 and f"TCP port {port} for Renode's GDB server is taken" in proc.stderr
