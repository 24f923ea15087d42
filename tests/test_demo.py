"""The README's main job, end to end for the DNN, 1-D CNN, LSTM and spiking detectors: synthetic EEG →
train → compress (or, for the spiking one, NIR) → compile → board → metrics; each family's steps
float → pruned → int8 → int8 + sparse, the sparse kernels read back from the compiled plans."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.sim]


def _plan_sparse(step: dict) -> tuple[dict, list[dict]]:
    """The plan the demo compiled for ``step`` and its layers with a sparse kernel, as
    [{"layer", "kernel"}] (the form of the step's ``sparse_layers``)."""
    plan = json.loads((Path(step["build"]) / "plan.json").read_text())
    sparse = [{"layer": f"{x['op']} #{x['source_index']}", "kernel": x["kernel"]}
              for x in plan["layers"] if x["kernel"].endswith("_sparse")]  # fmt: skip
    return plan, sparse


def test_demo_pipeline(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "edgeneuro.cli", "demo", "--out", str(tmp_path)],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SYNTHETIC" in proc.stdout and "identical to the host's: True" in proc.stdout
    assert "identical to the host's: False" not in proc.stdout
    r = json.loads((tmp_path / "report.json").read_text())
    # the page (tests/test_report.py checks the pages in detail): a figure per recording with its EEG,
    # the compression trade-off, the spike raster, the memory of the builds; every output bit-exact
    page = (tmp_path / "report.html").read_text()
    assert page.count('class="plotly-graph-div"') == len(r["eeg"]) + 3 and len(r["eeg"]) == 2
    assert all(Path(p).name in page for p in r["eeg"]) and '<td class="verdict-yes">yes: ' in page
    assert sorted(r["families"]) == ["cnn", "dnn", "lstm", "snn"]
    on_board = 0
    for family, res in r["families"].items():
        for step in res["steps"]:
            if "outputs_compared" not in step:
                continue
            on_board += 1
            what = f"{family} {step['step']}"
            equal = step["outputs_equal_reference" if family == "snn" else "outputs_equal_tflm"]
            assert step["outputs_compared"] > 1000, what
            assert equal == step["outputs_compared"] and step["metrics_equal_host"], what
            assert step["metrics"]["event"]["reference_events"] >= 1, what
            assert step["arena_lower_bound_bytes"] <= step["arena_bytes"] < step["ram_bytes"], what
            plan = json.loads((Path(step["build"]) / "plan.json").read_text())
            assert plan["weights_bytes"] == step["weights_bytes"], what  # the table's bytes are the plan's
        if family == "snn":
            assert 0 < res["spike_rate"] < 0.5 and res["steps"][0]["state_bytes"] > 0
            continue
        # float -> pruned -> int8 -> int8 + sparse, the first two from compress's report (Keras on the host)
        steps = {s["step"]: s for s in res["steps"]}
        compressed = res["compress"]["steps"]
        assert [s["step"] for s in res["steps"]] == [s["step"] for s in compressed] + ["int8 + sparse"]
        assert compressed[1]["step"].startswith("pruned") and compressed[1]["sparsity"] > 0.45
        for s, c in zip(res["steps"][:2], compressed[:2], strict=True):
            assert s["weights_bytes"] == c["weights_bytes"] and s["metrics"]["window"] == c["window"], family
        # the pruned float model stores its zeros: as many bytes as the float one
        assert steps[compressed[1]["step"]]["weights_bytes"] == steps["float"]["weights_bytes"]
        dense, sparse = steps["int8"], steps["int8 + sparse"]
        assert dense["weights_bytes"] < steps["float"]["weights_bytes"], family
        # the board's metrics are the host's int8 model's (edgeneuro's reference kernels)
        host = compressed[-1]
        assert host["runtime"] == "edgeneuro reference kernels"
        assert (dense["metrics"]["event"], dense["metrics"]["window"]) == (host["event"], host["window"]), family
        plan, chosen = _plan_sparse(dense)
        assert plan["options"]["sparse"] == "off" and chosen == [] and dense["sparse_layers"] == [], family
        plan, chosen = _plan_sparse(sparse)
        assert plan["options"]["sparse"] == "auto" and sparse["sparse_layers"] == chosen, family
        assert plan["weights_bytes"] == sparse["weights_bytes"], family
        if chosen:  # run on the board: fewer weight bytes and instructions, the same outputs
            assert sparse["metrics"] == dense["metrics"], family
            assert sparse["weights_bytes"] < dense["weights_bytes"], family
            assert sparse["instructions"] < dense["instructions"], family
        else:  # nothing sparse: the dense form, not run again
            assert "outputs_compared" not in sparse and sparse["weights_bytes"] == dense["weights_bytes"], family
    assert on_board == 7  # int8 and int8 + sparse of the three families, the spiking one
    # the whole detector of each family over both held-out recordings: the host chain's events, sample
    # for sample; measured like a device, a seizure detected with its latency
    assert "the whole detector on mps2-an386" in proc.stdout
    for family, res in r["families"].items():
        det, d = res["detector"], res["detector"]["device"]
        assert len(det["recordings"]) == 2 and d["equal_host_chain"], family
        assert all(all(x["equal_host_chain"].values()) for x in det["recordings"]), family
        assert d["ram_detector_bytes"] > 4096 and d["flash_bytes"] > 0, family  # the ring: 1,024 x 4 samples
        assert 0 < d["duty_cycle"] < 0.05, family
        assert d["worst_instructions_per_sample"] > 100 * d["worst_instructions_per_sample_without_window"] > 0, family
        assert d["seizures"] >= 1 and d["alarm_delay_s"] is not None and d["alarm_delay_s"][0] <= d["alarm_delay_s"][2]
    # the DNN pruned in 4x4 blocks (80 %) runs its FULLY_CONNECTED layers sparse, the CNN (2x4 blocks,
    # 70 %) its CONV_2D layers that do not sit at the arena's peak, the LSTM (4x4 blocks, 50 %) its LSTM
    fams = r["families"]
    layers = {f: [c["layer"].split(" #")[0] for c in _plan_sparse(fams[f]["steps"][-1])[1]] for f in fams if f != "snn"}
    assert layers["dnn"] and set(layers["dnn"]) == {"FULLY_CONNECTED"}
    assert layers["cnn"] and set(layers["cnn"]) == {"CONV_2D"}
    assert layers["lstm"] == ["UNIDIRECTIONAL_SEQUENCE_LSTM"]
    # the DNN's first layer is most of its weights, not of its instructions
    dense, sparse = fams["dnn"]["steps"][2], fams["dnn"]["steps"][3]
    assert sparse["weights_bytes"] < 0.5 * dense["weights_bytes"]
    assert sparse["instructions"] < 0.9 * dense["instructions"]
