"""How an operator is checked: a small TFLite model (tests/tflite_builder.py) and int8 samples go
through TFLM's reference kernels, edgeneuro's numpy reference, the generated C on the host and,
for the QEMU tests, the firmware; all must agree bit for bit."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import _num_outputs, host_c_run, reference_run, tflm_run, tflm_run_outputs

from edgeneuro.compiler import load
from edgeneuro.options import CompileOptions


def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.float32(np.exp(rng.uniform(np.log(lo), np.log(hi)))))


def samples(rng: np.random.Generator, shape: list[int], n: int = 3) -> np.ndarray:
    """n random int8 samples of a model input of ``shape`` (batch axis dropped when it is 1)."""
    sample_shape = shape[1:] if shape[0] == 1 else shape
    return rng.integers(-128, 128, (n, *sample_shape), dtype=np.int8)


def check(model: bytes, samples: np.ndarray, host_c: bool = True) -> None:
    if _num_outputs(model) > 1:
        check_outputs(model, samples, host_c)
        return
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


def check_outputs(model: bytes, samples: np.ndarray, host_c: bool = True) -> None:
    """``check`` for a model with several outputs: each output, TFLM == reference == host C."""
    from edgeneuro import boards, reference
    from edgeneuro.compiler import compile_model
    from edgeneuro.runner import run_on_host

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "op.tflite"
        path.write_bytes(model)
        expected = tflm_run_outputs(model, samples)
        p = load(path)
        ys = [p.graph.t(n) for n in p.graph.outputs]
        runs = [reference.run(p.graph, p.kernels, [s]) for s in samples]
        refs = [np.stack([r[i].reshape(y.sample_shape) for r in runs]) for i, y in enumerate(ys)]
        assert len(refs) == len(expected)
        for i, (ref, want) in enumerate(zip(refs, expected, strict=True)):
            assert ref.shape == want.shape and ref.dtype == want.dtype, f"output {i}: {ref.shape} != {want.shape}"
            mismatch = np.argwhere(ref.view(np.uint8) != want.view(np.uint8))
            assert mismatch.size == 0, f"output {i}: reference != TFLM at bytes {mismatch[:5].tolist()}"
        if host_c:
            c = compile_model(p, boards.load("mps2-an386"), Path(d) / "gen")
            outs = run_on_host(c, samples)
            for i, (y, ref) in enumerate(zip(ys, refs, strict=True)):
                np.testing.assert_array_equal(outs[y.name].view(np.uint8), ref.view(np.uint8), f"output {i}: host C")


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
        if len(res.outputs) > 1:  # every output, in the model's order
            for got, want in zip(res.outputs.values(), tflm_run_outputs(model, x), strict=True):
                np.testing.assert_array_equal(got, want)
            return
        np.testing.assert_array_equal(res.output, tflm_run(model, x))


def lowering_error(model: bytes) -> str:
    """The message of the UnsupportedOperator that compiling ``model`` raises (it must raise one)."""
    from edgeneuro.errors import UnsupportedOperator

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "op.tflite"
        path.write_bytes(model)
        with pytest.raises(UnsupportedOperator) as e:
            load(path)
        return str(e.value)


def refused(model: bytes, match: str) -> None:
    """Compiling ``model`` raises an UnsupportedOperator whose message matches ``match``."""
    import re

    msg = lowering_error(model)
    assert re.search(match, msg), msg
