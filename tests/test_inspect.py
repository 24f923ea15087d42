"""`edgeneuro inspect`: per-layer costs and totals that agree with the published MACs, the memory
plan and the firmware, and a clear verdict on whether the model fits."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import MLPERF
from test_cli_errors import tiny_board

KWS = MLPERF / "kws_ref_model.tflite"


def edgeneuro(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgeneuro.cli", *args], capture_output=True, text=True)


def test_inspect_json_matches_the_model():
    proc = edgeneuro("inspect", str(KWS), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["total_macs"] == 2_656_768  # shared/README.md
    assert [layer["op"] for layer in doc["layers"]].count("DEPTHWISE_CONV_2D") == 4
    assert sum(layer["macs"] for layer in doc["layers"]) == doc["total_macs"]
    assert sum(layer["weights_bytes"] for layer in doc["layers"]) == doc["weights_bytes"]
    first = doc["layers"][0]
    assert first["input_shapes"] == [[1, 49, 10, 1]] and first["output_shape"] == [1, 25, 5, 64]
    assert first["params"] == 64 * 10 * 4 * 1 + 64  # 10x4 filters over one channel, plus biases
    assert doc["fits"] is True
    assert doc["weights_bytes"] < doc["flash_bytes"] < doc["board"]["flash_bytes"]
    assert doc["arena_lower_bound_bytes"] <= doc["arena_bytes"] < doc["ram_bytes"]


def test_inspect_text_and_a_board_that_is_too_small(tmp_path):
    ok = edgeneuro("inspect", str(KWS))
    assert ok.returncode == 0 and "2,656,768" in ok.stdout and "fits" in ok.stdout
    board = tiny_board(tmp_path, flash=16 * 1024, ram=64 * 1024)
    proc = edgeneuro("inspect", str(KWS), "--board", str(board), "--kernels", "reference")
    assert proc.returncode == 3
    assert "DOES NOT FIT" in proc.stdout and "29,072 B" in proc.stdout and "16,384 B of flash" in proc.stdout


def test_constant_operands_count_as_weights(tmp_path):
    """An ADD of a constant: its bytes are flash, counted in the layer and in the total."""
    import numpy as np
    from tflite_builder import ModelBuilder, options

    b = ModelBuilder()
    x = b.tensor([1, 64], scale=0.1, zero_point=0)
    c = b.tensor([1, 64], scale=0.1, zero_point=0, data=np.arange(64))
    y = b.tensor([1, 64], scale=0.2, zero_point=0)
    b.op("ADD", [x, c], [y], options("AddOptions"), "AddOptions")
    model = tmp_path / "add.tflite"
    model.write_bytes(b.build([x], [y]))
    doc = json.loads(edgeneuro("inspect", str(model), "--json").stdout)
    assert doc["layers"][0]["weights_bytes"] == 64 == doc["weights_bytes"]
