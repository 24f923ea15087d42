"""The kernel variants on every QEMU board: each board's fastest kernels (DSP on the M4, M7 and
M55; Helium on the M55; the portable kernels on the M3) give TFLM's stored outputs bit for bit on
the MLPerf Tiny and seizure models, and on the baselines' board the instruction counts stay within
the ratios to TFLM + CMSIS-NN measured when the kernels landed (instruction counts on QEMU are
deterministic, so a ratio is a fair regression bound)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import MLPERF, SHARED

from edgeneuro import boards, compiler
from edgeneuro.options import CompileOptions, board_features
from edgeneuro.runner import build_for, run_firmware

SEIZURE = SHARED / "models" / "seizure"
BASE = SHARED / "baselines"
MODELS = {
    "ad": MLPERF / "ad01_int8.tflite",
    "kws": MLPERF / "kws_ref_model.tflite",
    "seizure_lstm": SEIZURE / "seizure_lstm.tflite",
    "seizure_cnn1d": SEIZURE / "seizure_cnn1d.tflite",
    "seizure_dnn": SEIZURE / "seizure_dnn.tflite",
}
# Upper bounds of instructions / TFLM + CMSIS-NN (worst inference) on mps2-an386 with the DSP
# kernels: the measured ratio rounded up by 0.05.
RATIO_BOUND = {"ad": 0.71, "kws": 0.54, "seizure_lstm": 0.38, "seizure_cnn1d": 0.52, "seizure_dnn": 0.73}


def _cmsis_nn(key: str) -> int:
    for name in ("tflm_cmsis_nn_mps2_an386.json", "tflm_cmsis_nn_mps2_an386_seizure.json"):
        models = json.loads((BASE / name).read_text())["models"]
        if key in models:
            cm = models[key]["cmsis_nn"]
            return max(cm.get("instructions_all") or [cm["instructions"]])
    raise KeyError(key)


def _run(key: str, board_name: str, tmp_path, kernels: str = "auto"):
    path = MODELS[key]
    stem = path.with_suffix("")
    x = np.load(f"{stem}_input.npy")
    if key in ("ad", "kws"):
        x = x.reshape(1, *x.shape[1:])
    board = boards.load(board_name)
    prepared = compiler.load(path, CompileOptions(features=board_features(board), kernels=kernels))
    res = run_firmware(build_for(prepared, board, tmp_path / "build"), x)
    expected = np.load(f"{stem}_expected_output.npy").reshape(len(x), -1)
    return prepared, res, expected


@pytest.mark.sim
@pytest.mark.parametrize("board_name", boards.qemu_boards())
@pytest.mark.parametrize("key", ["ad", "kws", "seizure_lstm", "seizure_cnn1d"])
def test_every_board_is_bitexact_with_its_own_kernels(key, board_name, tmp_path):
    prepared, res, expected = _run(key, board_name, tmp_path)
    np.testing.assert_array_equal(res.output.reshape(len(expected), -1), expected)
    variants = {k.c_file for k in prepared.kernels if k.c_file}
    if board_features(boards.load(board_name)):
        assert variants, "a core with DSP or Helium got no kernel variant"
    else:
        assert not variants


@pytest.mark.sim
@pytest.mark.parametrize("key", sorted(RATIO_BOUND))
def test_instructions_against_tflm_cmsis_nn(key, tmp_path):
    _, res, expected = _run(key, "mps2-an386", tmp_path)
    np.testing.assert_array_equal(res.output.reshape(len(expected), -1), expected)
    ratio = res.report["instructions"] / _cmsis_nn(key)
    assert ratio <= RATIO_BOUND[key], f"{key}: {res.report['instructions']:,} instructions = {ratio:.3f}x CMSIS-NN"


@pytest.mark.sim
def test_reference_kernels_stay_available(tmp_path):
    """--kernels reference: the portable kernels on a DSP board, the same bits."""
    prepared, res, expected = _run("seizure_cnn1d", "mps2-an386", tmp_path, kernels="reference")
    assert not any(k.c_file for k in prepared.kernels)
    np.testing.assert_array_equal(res.output.reshape(len(expected), -1), expected)
