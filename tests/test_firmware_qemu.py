"""Whole models as firmware on QEMU mps2-an386, through the CLI a user runs: outputs equal the
stored TFLM outputs, the tflite-micro interpreter and the numpy reference; the counts are sane and
repeatable."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import MLPERF, reference_run, tflm_run

pytestmark = pytest.mark.sim


def edgeneuro(*args: str, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "edgeneuro.cli", *args], capture_output=True, text=True, cwd=cwd)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def run_cli(model: Path, x: np.ndarray, tmp: Path, *extra: str) -> tuple[np.ndarray, dict]:
    np.save(tmp / "in.npy", x)
    edgeneuro(
        "run",
        str(model),
        "--board",
        "mps2-an386",
        "--input",
        str(tmp / "in.npy"),
        "--output",
        str(tmp / "out.npy"),
        "--report",
        str(tmp / "report.json"),
        *extra,
    )
    return np.load(tmp / "out.npy"), json.loads((tmp / "report.json").read_text())


def test_anomaly_detection_model_bitexact_on_qemu(tmp_path):
    """MLPerf Tiny AD (FC autoencoder): the stored TFLM-on-QEMU output, then random inputs vs TFLM.
    LiteRT's single rounding differs from TFLM on 169 of these 640 values; edgeneuro must not."""
    model = MLPERF / "ad01_int8.tflite"
    stored_in = np.load(MLPERF / "ad01_int8_input.npy")
    expected = np.load(MLPERF / "ad01_int8_expected_output.npy")
    rng = np.random.default_rng(1)
    x = np.concatenate([stored_in, rng.integers(-128, 128, (3, 640), dtype=np.int8)])
    y, report = run_cli(model, x, tmp_path)
    assert y.shape == (4, 640) and y.dtype == np.int8
    np.testing.assert_array_equal(y[0], expected[0])
    np.testing.assert_array_equal(y, tflm_run(model, x))
    np.testing.assert_array_equal(y, reference_run(model, x))
    assert report["board"] == "mps2-an386"
    assert report["macs"] == 264_192  # the figure published with the model (shared/README.md)
    # every MAC costs at least one multiply-accumulate instruction; the whole image fits the board
    assert report["macs"] < report["instructions"] < 40 * report["macs"]
    # the kernels branch on data only where they round and clamp: inferences differ by a few instructions
    spread = report["instructions"] - report["instructions_min"]
    assert spread <= max(report["instructions_resolution"], 0.001 * report["instructions"])
    assert report["weights_bytes"] < report["flash_bytes"] <= 4 * 1024 * 1024
    assert report["arena_bytes"] < report["ram_bytes"] <= 4 * 1024 * 1024
    assert report["arena_lower_bound_bytes"] <= report["arena_bytes"]


def test_instruction_counts_repeat(tmp_path):
    model = MLPERF / "ad01_int8.tflite"
    x = np.load(MLPERF / "ad01_int8_input.npy")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _, r1 = run_cli(model, x, tmp_path / "a")
    _, r2 = run_cli(model, x, tmp_path / "b")
    assert r1["instructions"] == r2["instructions"]
    assert r1["flash_bytes"] == r2["flash_bytes"]
    assert r1["stack_used_bytes"] == r2["stack_used_bytes"]


def test_memory_split_and_stack_high_water_mark(tmp_path):
    """Flash splits into the plan's weights and the rest; static RAM is .data + .bss (the arena is
    in .bss); the painted stack shows how deep the firmware went, well inside the reservation."""
    _, r = run_cli(MLPERF / "ad01_int8.tflite", np.load(MLPERF / "ad01_int8_input.npy"), tmp_path)
    assert r["flash_weights_bytes"] + r["flash_code_bytes"] == r["flash_bytes"]
    assert r["flash_weights_bytes"] == r["weights_bytes"] > 0
    assert r["static_ram_bytes"] == r["data_bytes"] + r["bss_bytes"] >= r["arena_bytes"]
    assert r["stack_reserved_bytes"] == 4096  # boards/mps2-an386.yaml
    # the harness, the semihosting calls and the kernels use some stack, and far less than 4 KiB
    assert 64 <= r["stack_used_bytes"] < 2048


def test_profile_times_every_layer(tmp_path):
    """--profile: per-layer instructions from timer reads between layers. Views take none, every
    kernel takes some, and the layers add up to the whole inference (less the timer reads)."""
    model = MLPERF / "kws_ref_model.tflite"
    x = np.load(MLPERF / "kws_ref_model_input.npy")
    _, r = run_cli(model, x, tmp_path, "--profile")
    layers = r["profile"]
    assert [la["kernel"] == "view" for la in layers].count(True) == 1  # KWS's RESHAPE
    assert all((la["instructions"] == 0) == (la["kernel"] == "view") for la in layers)
    total = sum(la["instructions"] for la in layers)
    assert 0 <= r["instructions"] - total <= len(layers) * 2 * r["instructions_resolution"] + 1000
    # every multiply-accumulate takes at least one instruction, in each weighted layer on its own
    assert all(la["instructions"] >= la["macs"] for la in layers)


@pytest.mark.slow
def test_trained_conv1d_model_bitexact_on_qemu(cnn1d_model, tmp_path):
    """A Conv1D model as the TFLite converter emits it (EXPAND_DIMS, CONV_2D, MAX_POOL_2D, MEAN,
    RESHAPE, FULLY_CONNECTED, SOFTMAX) run on the board equals TFLM and the reference."""
    model, x = cnn1d_model
    from edgeneuro import frontends

    kinds = {op.kind for op in frontends.load(model).ops}
    assert {"EXPAND_DIMS", "CONV_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX"} <= kinds
    y, report = run_cli(model, x, tmp_path, "--build-dir", str(tmp_path / "build"))
    np.testing.assert_array_equal(y, tflm_run(model, x))
    np.testing.assert_array_equal(y, reference_run(model, x))
    src = (tmp_path / "build" / "model.c").read_text()
    assert re.search(r"en_conv2d_s8\w*\(", src) and "view:" in src  # reshapes are views, not copies
    plan = json.loads((tmp_path / "build" / "plan.json").read_text())
    assert plan["arena_bytes"] == report["arena_bytes"]
    assert sum(layer["macs"] for layer in plan["layers"]) == report["macs"]


def test_relative_paths(tmp_path):
    """Every path given relative to the working directory, as a user types them."""
    np.save(tmp_path / "in.npy", np.load(MLPERF / "ad01_int8_input.npy"))
    edgeneuro(
        "run",
        str(MLPERF / "ad01_int8.tflite"),
        "--input",
        "in.npy",
        "--output",
        "o/out.npy",
        "--report",
        "o/r.json",
        "--build-dir",
        "b/build",
        cwd=tmp_path,
    )
    np.testing.assert_array_equal(
        np.load(tmp_path / "o" / "out.npy"), np.load(MLPERF / "ad01_int8_expected_output.npy")
    )
    assert (tmp_path / "b" / "build" / "firmware.elf").is_file()
    edgeneuro("compile", str(MLPERF / "ad01_int8.tflite"), "-o", "gen", cwd=tmp_path)
    assert (tmp_path / "gen" / "model.c").is_file()


MLPERF_MODELS = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8"]


@pytest.mark.parametrize("name", MLPERF_MODELS)
def test_mlperf_tiny_bitexact_on_qemu(name, tmp_path):
    """The four MLPerf Tiny models on the board: the stored TFLM output for the stored input, and
    the tflite-micro interpreter for random inputs; the arena is no larger than TFLM's."""
    model = MLPERF / f"{name}.tflite"
    stored = np.load(MLPERF / f"{name}_input.npy")
    rng = np.random.default_rng(5)
    x = np.concatenate([stored, rng.integers(-128, 128, (2, *stored.shape[1:]), dtype=np.int8)])
    y, report = run_cli(model, x, tmp_path)
    np.testing.assert_array_equal(y[:1], np.load(MLPERF / f"{name}_expected_output.npy"))
    np.testing.assert_array_equal(y, tflm_run(model, x))
    baseline = json.loads((MLPERF.parents[1] / "baselines" / "tflm_cmsis_nn_mps2_an386.json").read_text())
    tflm = next(m for m in baseline["models"].values() if m["file"] == model.name)
    assert report["macs"] == tflm["macs"]
    assert report["arena_lower_bound_bytes"] <= report["arena_bytes"] <= tflm["cmsis_nn"]["arena_bytes"]


@pytest.mark.slow
def test_float_model_on_qemu(cnn1d_float_model, tmp_path):
    """A float32 TFLite model runs with the float kernels on the Cortex-M4F: every layer but the
    softmax is bit-exact with TFLM, so the outputs agree to a few ulp (expf differs)."""
    model, x = cnn1d_float_model
    from edgeneuro import frontends

    assert all(graph_t.dtype in ("float32", "int32") for graph_t in frontends.load(model).tensors.values())
    y, report = run_cli(model, x, tmp_path)
    expected = tflm_run(model, x)
    ulp = np.abs(y.view(np.int32).astype(np.int64) - expected.view(np.int32).astype(np.int64))
    assert ulp.max() <= 8, ulp.max()
    assert report["macs"] > 0 and report["instructions"] > report["macs"]
