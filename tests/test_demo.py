"""The README's main job, end to end for the DNN, 1-D CNN, LSTM and spiking detectors: synthetic EEG →
train → compress (or, for the spiking one, NIR) → compile → board → metrics; and the DNN pruned in
4x4 blocks, compiled sparse."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.sim]


def test_demo_pipeline(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "edgeneuro.cli", "demo", "--out", str(tmp_path)],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SYNTHETIC" in proc.stdout and "identical to the host's: True" in proc.stdout
    r = json.loads((tmp_path / "report.json").read_text())
    assert sorted(r["families"]) == ["cnn", "dnn", "dnn_sparse", "lstm", "snn"]
    for family, res in r["families"].items():
        board = res["board"]
        equal = board["outputs_equal_reference" if family == "snn" else "outputs_equal_tflm"]
        assert board["outputs_compared"] > 1000, family
        assert equal == board["outputs_compared"] and board["metrics_equal_host"], family
        assert board["metrics"]["event"]["reference_events"] >= 1
        assert board["arena_lower_bound_bytes"] <= board["arena_bytes"] < board["ram_bytes"]
        if family == "snn":
            assert 0 < res["spike_rate"] < 0.5 and board["state_bytes"] > 0
            continue
        steps = {s["step"]: s for s in res["compress"]["steps"]}
        assert steps["int8"]["weights_bytes"] < steps["float"]["weights_bytes"]
        assert steps["int8"]["runtime"] == "edgeneuro reference kernels"
    # the DNN pruned in 4x4 blocks (80 %) and compiled sparse: fewer weight bytes and instructions on
    # the board than the dense DNN (its first layer is most of its weights, not of its instructions)
    dense, sparse = r["families"]["dnn"]["board"], r["families"]["dnn_sparse"]["board"]
    assert sparse["weights_bytes"] < 0.5 * dense["weights_bytes"]
    assert sparse["instructions"] < 0.9 * dense["instructions"]
