"""How an operator is checked: a small TFLite model (tests/tflite_builder.py) and int8 samples go
through TFLM's reference kernels, edgeneuro's numpy reference, the generated C on the host and,
for the QEMU tests, the firmware; all must agree bit for bit."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from conftest import host_c_run, reference_run, tflm_run

from edgeneuro.compiler import load
from edgeneuro.options import CompileOptions


def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.float32(np.exp(rng.uniform(np.log(lo), np.log(hi)))))


def samples(rng: np.random.Generator, shape: list[int], n: int = 3) -> np.ndarray:
    """n random int8 samples of a model input of ``shape`` (batch axis dropped when it is 1)."""
    sample_shape = shape[1:] if shape[0] == 1 else shape
    return rng.integers(-128, 128, (n, *sample_shape), dtype=np.int8)


def check(model: bytes, samples: np.ndarray, host_c: bool = True) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "op.tflite"
        path.write_bytes(model)
        expected = tflm_run(model, samples)
        ref = reference_run(path, samples)
        assert ref.shape == expected.shape
        mismatch = np.argwhere(ref != expected)
        assert mismatch.size == 0, f"reference != TFLM at {mismatch[:5].tolist()} of {expected.size}"
        if host_c:
            c_out = host_c_run(path, samples, Path(d) / "gen")
            np.testing.assert_array_equal(c_out, ref, err_msg="host C != reference")
            # the DSP kernel variants, where the op has one (their SIMD operations as plain-C twins),
            # compute the same bits
            if any(k.c_file for k in load(path, CompileOptions(features=("dsp",))).kernels):
                dsp = host_c_run(path, samples, Path(d) / "dsp", features=("dsp",))
                np.testing.assert_array_equal(dsp, ref, err_msg="host C with DSP kernel variants != reference")


def check_on_qemu(model: bytes, x: np.ndarray) -> None:
    """The same single-operator model as firmware on QEMU == TFLM (cross-compiled, 32-bit Arm)."""
    from edgeneuro import boards
    from edgeneuro.options import board_features
    from edgeneuro.runner import run_on_board

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "op.tflite"
        path.write_bytes(model)
        np.save(Path(d) / "in.npy", x)
        board = boards.load("mps2-an386")  # a Cortex-M4: with its DSP kernel variants, where an op has them
        prepared = load(path, CompileOptions(features=board_features(board)))
        res = run_on_board(prepared, board, Path(d) / "in.npy", Path(d) / "build")
        np.testing.assert_array_equal(res.output, tflm_run(model, x))
