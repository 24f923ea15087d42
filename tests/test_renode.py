"""Renode: a script per board that Renode models, `--sim renode` on `stream` and `run`, and the Robot
suite. Renode is not installable on the machines CI runs on; the tests that need it skip and say
why, the others check the scripts against the board descriptions and the errors without it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgeneuro import boards

ROOT = Path(__file__).resolve().parents[1]
MLPERF = ROOT.parent / "shared" / "models" / "mlperf_tiny"
AD01 = MLPERF / "ad01_int8.tflite"
HAVE_RENODE = shutil.which("renode") is not None
NEEDS_RENODE = pytest.mark.skipif(
    not HAVE_RENODE, reason="renode is not installed (not in any registry these machines reach; see renode/README.md)"
)
# Where Renode's platform descriptions put the UART each script connects (platforms/cpus/nrf52840.repl,
# platforms/cpus/stm32h7.repl, platforms/cpus/stm32f4.repl).
RENODE_UARTS = {"uart0": 0x40002000, "usart2": 0x40004400, "usart3": 0x40004800}
RENODE_BOARDS = [n for n in boards.available() if boards.load(n).renode]


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
    assert f"machine LoadPlatformDescription @{board.renode['platform']}" in text
    assert "sysbus LoadELF $elf" in text and 'CreateUartPtyTerminal "edgeneuro_uart" $pty true' in text
    (uart,) = re.findall(r"connector Connect sysbus\.(\w+) edgeneuro_uart", text)
    assert RENODE_UARTS[uart] == board.uart.base


def test_robot_suite_drives_the_stream_protocol():
    text = (ROOT / "renode" / "edgeneuro.robot").read_text()
    assert "Execute Script          ${CURDIR}/${BOARD}.resc" in text
    assert "stream    ${BUILD}" in text and "--port    ${PTY}" in text


@pytest.mark.skipif(HAVE_RENODE, reason="checks the error when renode is absent")
def test_sim_renode_without_renode_says_how_to_install(tmp_path):
    np.save(tmp_path / "x.npy", np.load(MLPERF / "ad01_int8_input.npy"))
    for verb in ("stream", "run"):
        proc = edgeneuro(
            verb, str(AD01), "--board", "nrf52840-dk", "--sim", "renode", "--input", str(tmp_path / "x.npy")
        )
        assert proc.returncode != 0
        assert "renode not found" in proc.stderr and "github.com/renode/renode/releases" in proc.stderr
        assert "Traceback" not in proc.stderr


def test_sim_renode_on_a_board_renode_does_not_model(tmp_path):
    np.save(tmp_path / "x.npy", np.load(MLPERF / "ad01_int8_input.npy"))
    proc = edgeneuro(
        "stream", str(AD01), "--board", "mps2-an386", "--sim", "renode", "--input", str(tmp_path / "x.npy")
    )
    assert proc.returncode != 0 and "board mps2-an386 has no Renode platform" in proc.stderr


@pytest.mark.sim
@NEEDS_RENODE
@pytest.mark.parametrize("name", RENODE_BOARDS)
def test_stream_on_renode_bitexact(name, tmp_path):
    from conftest import reference_run

    from edgeneuro.stream.command import stream

    x = np.load(MLPERF / "ad01_int8_input.npy")
    np.save(tmp_path / "x.npy", x)
    res = stream(AD01, name, inputs=tmp_path / "x.npy", build_dir=tmp_path / "build", sim="renode", timeout=20)
    assert res.ok and res.report["simulator"] == "renode"
    np.testing.assert_array_equal(next(iter(res.outputs.values())), reference_run(AD01, x))


@pytest.mark.sim
@NEEDS_RENODE
@pytest.mark.skipif(shutil.which("renode-test") is None, reason="renode-test is not installed")
def test_robot_suite_on_renode(tmp_path):
    from edgeneuro.compiler import load
    from edgeneuro.stream import target

    target.build(load(AD01), boards.load("stm32f4-discovery"), tmp_path / "build")
    np.save(tmp_path / "x.npy", np.load(MLPERF / "ad01_int8_input.npy"))
    proc = subprocess.run(["renode-test", str(ROOT / "renode" / "edgeneuro.robot"), "--variable",
                           "BOARD:stm32f4-discovery", "--variable", f"BUILD:{tmp_path / 'build'}", "--variable",
                           f"WINDOWS:{tmp_path / 'x.npy'}", "--variable",
                           f"EDGENEURO:{Path(sys.executable).parent / 'edgeneuro'}"],
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:]
