"""The README's list of TFLM operators edgeneuro does not compile is the truth: TFLM's set is
asked of the pinned interpreter itself (tests/tflm_ops.py), edgeneuro's is its operator modules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tflm_ops import tflm_builtin_ops

from edgeneuro.ops import SUPPORTED

pytestmark = pytest.mark.tflm
README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_list(marker: str) -> set[str]:
    block = re.search(rf"<!-- {marker} -->(.*?)<!-- /{marker} -->", README.read_text(), re.S)
    assert block, f"README.md has no <!-- {marker} --> block"
    return set(re.findall(r"`([A-Z0-9_]+)`", block.group(1)))


def test_readme_lists_what_tflm_has_and_edgeneuro_does_not():
    tflm = tflm_builtin_ops()
    assert {"CONV_2D", "FULLY_CONNECTED", "SOFTMAX"} <= tflm and "LSTM" not in tflm  # the probe tells them apart
    assert _readme_list("tflm-missing") == tflm - set(SUPPORTED)


def test_readme_lists_what_edgeneuro_compiles_of_tflm():
    assert _readme_list("tflm-supported") == tflm_builtin_ops() & set(SUPPORTED)
