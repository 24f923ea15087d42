"""The simulated-board group (`pytest -m sim`): every board with a simulator boots an edgeneuro
build of the stream firmware, answers over the serial protocol with outputs equal to edgeneuro's
reference, and reports memory and latency within that board's limits. Boards simulated only by
Renode run on Renode (`make setup` installs it) and skip only where it is not installed (see
renode/README.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import reference_run

from edgeneuro import boards
from edgeneuro.stream.command import stream
from edgeneuro.targets import renode

MLPERF = Path(__file__).resolve().parents[1].parent / "shared" / "models" / "mlperf_tiny"
AD01 = MLPERF / "ad01_int8.tflite"
AD01_MACS = 264_192  # published with the model (shared/README.md)

pytestmark = pytest.mark.sim


def _simulated() -> list:
    cases = []
    for name in boards.available():
        b = boards.load(name)
        if b.qemu:
            cases.append(pytest.param(name, "qemu", id=f"{name}-qemu"))
        elif b.renode:
            cases.append(pytest.param(name, "renode", id=f"{name}-renode", marks=pytest.mark.skipif(
                renode.find() is None, reason="renode is not installed (see renode/README.md)")))  # fmt: skip
    return cases


@pytest.mark.parametrize("name, sim", _simulated())
def test_board_boots_answers_and_fits(name, sim, tmp_path):
    board = boards.load(name)
    rng = np.random.default_rng(7)
    x = np.concatenate([np.load(MLPERF / "ad01_int8_input.npy"), rng.integers(-128, 128, (2, 640), dtype=np.int8)])
    np.save(tmp_path / "x.npy", x)
    res = stream(AD01, board, inputs=tmp_path / "x.npy", build_dir=tmp_path / "build", sim=sim, timeout=20)
    r = res.report
    assert res.ok and r["outputs_equal_reference"] == len(x) and r["simulator"] == sim
    np.testing.assert_array_equal(next(iter(res.outputs.values())), reference_run(AD01, x))
    assert r["flash_bytes"] <= board.flash_bytes and r["ram_bytes"] <= board.ram_bytes
    # counted on both simulators (the Renode scripts count time as QEMU -icount shift=0 does), and the
    # latency follows from the clock; at least one instruction per MAC, or per 16 MACs where Helium's
    # VMLADAV does 16 at once
    floor = AD01_MACS // 16 if board.mve else AD01_MACS
    assert floor < r["instructions"] < 40 * AD01_MACS
    assert r["est_latency_ms"] == pytest.approx(r["instructions"] / board.clock_hz * 1e3, rel=1e-3)
