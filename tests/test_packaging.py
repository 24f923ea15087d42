"""`pip install .` must carry templates/, firmware/, boards/ and renode/ inside the wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contains_templates_firmware_and_boards(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("edgeneuro-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in [
        "edgeneuro/_data/templates/model.c.j2",
        "edgeneuro/_data/templates/board.h.j2",
        "edgeneuro/_data/firmware/main.c",
        "edgeneuro/_data/firmware/cortex_m.ld",
        "edgeneuro/_data/firmware/kernels/conv2d.c",
        "edgeneuro/_data/boards/mps2-an386.yaml",
        "edgeneuro/_data/renode/nrf52840-dk.resc",
        "edgeneuro/_data/renode/edgeneuro.robot",
        "edgeneuro/cli.py",
        "edgeneuro/report/page.html.j2",  # the report page's template, read from the package
    ]:
        assert f in names, f
    assert not any(n.startswith("edgeneuro/_data/firmware/kernels/__") for n in names)
