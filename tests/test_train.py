"""Training, evaluating and compressing seizure detectors on a small SYNTHETIC EEG data set, through
the CLI a user runs."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from onnx_models import ort_run

from edgeneuro import boards
from edgeneuro.compiler import compile_model, load
from edgeneuro.data.synthetic import write_dataset
from edgeneuro.options import CompileOptions
from edgeneuro.runner import run_on_host

pytestmark = pytest.mark.slow


def edgeneuro(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "edgeneuro.cli", *args], capture_output=True, text=True)
    return proc


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("eeg")
    write_dataset(out, subjects=3, recordings=2, seconds=600, seed=1)
    return out


@pytest.mark.parametrize("family", ["dnn", "cnn", "lstm"])
def test_train_eval_compress(family, data, tmp_path):
    out = tmp_path / family
    proc = edgeneuro("train", str(data), "--family", family, "-o", str(out), "--epochs", "6")
    assert proc.returncode == 0, proc.stderr
    assert {"model.keras", "meta.json", "calibration.npy", "train_report.json"} <= {p.name for p in out.iterdir()}
    meta = json.loads((out / "meta.json").read_text())
    assert meta["test_subjects"] == ["chb03"] and "chb03" not in meta["train_subjects"]
    trained = json.loads((out / "train_report.json").read_text())
    assert trained["window"]["accuracy"] > 0.8 and trained["event"]["reference_events"] > 0

    ev = edgeneuro("eval", str(out / "model.keras"), "--data", str(data), "--json")
    assert ev.returncode == 0, ev.stderr
    assert json.loads(ev.stdout)["event"] == trained["event"]  # the saved model scores as it did in training

    onnx = ["--onnx"] if family == "cnn" else []
    cp = edgeneuro(
        "compress", str(out / "model.keras"), "--prune", "0.5", *onnx, "-o", str(out / "int8" / "model.tflite")
    )
    assert cp.returncode == 0, cp.stderr
    report = json.loads((out / "int8" / "compress_report.json").read_text())
    steps = {s["step"]: s for s in report["steps"]}
    assert steps["int8"]["weights_bytes"] < steps["float"]["weights_bytes"]
    assert steps["int8"]["runtime"] == "edgeneuro reference kernels"
    if family == "cnn":  # the bar: int8 + 50 % pruning within 0.5 pp of the float window accuracy
        assert steps["pruned 50%"]["sparsity"] == pytest.approx(0.5, abs=0.02)
        assert report["window_accuracy_change_pp"] >= -0.5
        # ONNX exports (tf2onnx float, onnxruntime QDQ int8), scored by onnxruntime
        assert steps["model.onnx"]["runtime"] == steps["model.int8.onnx"]["runtime"] == "onnxruntime"
        assert steps["model.onnx"]["window"]["accuracy"] == steps["pruned 50%"]["window"]["accuracy"]
        assert abs(steps["model.int8.onnx"]["window"]["accuracy"] - steps["int8"]["window"]["accuracy"]) < 0.02
        # ... and edgeneuro compiles the QDQ export (tf2onnx's Unsqueeze/Transpose/Squeeze included)
        qdq = out / "int8" / "model.int8.onnx"
        prepared = load(qdq, CompileOptions(shapes=(("x", (1, 1024, 4)),)))
        c = compile_model(prepared, boards.load("mps2-an386"), tmp_path / "gen")
        x = np.load(out / "calibration.npy")[:8]
        (y,) = run_on_host(c, x).values()
        assert np.abs(y - ort_run(qdq, x)).max() <= 1 / 255 + 1e-6  # one step of the 1/255 output scale
    ev8 = edgeneuro("eval", str(out / "int8" / "model.tflite"), "--data", str(data), "--json")
    assert ev8.returncode == 0, ev8.stderr
    assert json.loads(ev8.stdout)["window"] == steps["int8"]["window"]


def test_training_needs_two_subjects_and_known_test_subjects(data, tmp_path):
    one = tmp_path / "one"
    write_dataset(one, subjects=1, recordings=1, seconds=300)
    proc = edgeneuro("train", str(one), "-o", str(tmp_path / "m"))
    assert proc.returncode != 0 and "one subject (chb01)" in proc.stderr
    proc = edgeneuro("train", str(data), "-o", str(tmp_path / "m"), "--test-subject", "chb09")
    assert proc.returncode != 0 and "no subject chb09" in proc.stderr
    proc = edgeneuro("train", str(tmp_path / "empty"), "-o", str(tmp_path / "m"))
    assert proc.returncode != 0 and "no .edf recordings" in proc.stderr


def test_leave_one_subject_out(data, tmp_path):
    proc = edgeneuro("train", str(data), "--family", "dnn", "--loso", "-o", str(tmp_path), "--epochs", "3")
    assert proc.returncode == 0, proc.stderr
    r = json.loads((tmp_path / "loso_report.json").read_text())
    assert sorted(r["folds"]) == ["chb01", "chb02", "chb03"]
    for s in r["folds"]:
        assert json.loads((tmp_path / s / "meta.json").read_text())["test_subjects"] == [s]
    # the pooled scores are the folds' counts summed, not an average of fractions
    assert r["event"]["reference_events"] == sum(f["event"]["reference_events"] for f in r["folds"].values())
    assert r["window"]["windows"] == sum(f["window"]["windows"] for f in r["folds"].values())
    tp = sum(f["event"]["true_positives"] for f in r["folds"].values())
    assert r["event"]["sensitivity"] == tp / r["event"]["reference_events"]


@pytest.mark.parametrize("family", ["dnn", "cnn", "lstm"])
def test_structured_pruning_shrinks_the_layers(family, data, tmp_path):
    assert edgeneuro("train", str(data), "--family", family, "-o", str(tmp_path), "--epochs", "3").returncode == 0
    full = edgeneuro("compress", str(tmp_path / "model.keras"), "-o", str(tmp_path / "full" / "m.tflite"))
    half = edgeneuro("compress", str(tmp_path / "model.keras"), "--prune-channels", "0.5", "-o",
                     str(tmp_path / "half" / "m.tflite"))  # fmt: skip
    assert full.returncode == 0 and half.returncode == 0, half.stderr
    a = json.loads(edgeneuro("inspect", str(tmp_path / "full" / "m.tflite"), "--json").stdout)
    b = json.loads(edgeneuro("inspect", str(tmp_path / "half" / "m.tflite"), "--json").stdout)
    assert b["total_macs"] < 0.75 * a["total_macs"] and b["weights_bytes"] < a["weights_bytes"]
    steps = json.loads((tmp_path / "half" / "compress_report.json").read_text())["steps"]
    assert [s["step"] for s in steps] == ["float", "channels -50%", "int8"]
    assert steps[1]["window"]["accuracy"] > 0.8  # fine-tuned after the cut


def test_quantization_aware_training_keeps_the_pruning(data, tmp_path):
    assert edgeneuro("train", str(data), "--family", "cnn", "-o", str(tmp_path), "--epochs", "3").returncode == 0
    proc = edgeneuro("compress", str(tmp_path / "model.keras"), "--prune", "0.5", "--qat", "-o",
                     str(tmp_path / "q" / "m.tflite"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    steps = {s["step"]: s for s in json.loads((tmp_path / "q" / "compress_report.json").read_text())["steps"]}
    assert list(steps) == ["float", "pruned 50%", "qat", "int8"]
    assert steps["qat"]["sparsity"] == pytest.approx(0.5, abs=0.02)  # fine-tuning kept the zeros
    assert steps["int8"]["runtime"] == "edgeneuro reference kernels" and steps["int8"]["window"]["accuracy"] > 0.8


def test_spiking_family_trains_to_nir_and_scores_as_the_chip(data, tmp_path):
    """--family snn: surrogate-gradient LIF network written as model.nir; its scores come from
    edgeneuro's fixed-point reference (what the chip computes), and `eval` gives the same."""
    proc = edgeneuro("train", str(data), "--family", "snn", "-o", str(tmp_path), "--epochs", "6")
    assert proc.returncode == 0, proc.stderr
    r = json.loads((tmp_path / "train_report.json").read_text())
    assert r["model"].endswith("model.nir") and r["window"]["accuracy"] > 0.8
    assert json.loads((tmp_path / "meta.json").read_text())["pool"] == 16  # 256 Hz / 16 steps per second
    ev = edgeneuro("eval", str(tmp_path / "model.nir"), "--data", str(data), "--json")
    assert ev.returncode == 0, ev.stderr
    assert json.loads(ev.stdout)["window"] == r["window"]
    cp = edgeneuro("compress", str(tmp_path / "model.nir"), "-o", str(tmp_path / "x.tflite"))
    assert cp.returncode != 0 and "no compress step" in cp.stderr
