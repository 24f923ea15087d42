"""The ONNX front end: QDQ int8 models from onnxruntime's quantize_static compile, run as generated
C (host) and as firmware (QEMU), and agree with onnxruntime within one quantization step (onnxruntime
requantizes with a float multiply and round-half-to-even, edgeneuro with TFLite's fixed point)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper
from onnx_models import float_model, ort_run, quantize

from edgeneuro import boards
from edgeneuro.compiler import compile_model, load
from edgeneuro.options import CompileOptions
from edgeneuro.runner import run_on_board, run_on_host

RNG = np.random.default_rng(0)


def W(*shape, s=0.3):  # noqa: N802
    return RNG.normal(size=shape) * s


# name: (nodes, initializers, input shape, output shape, min. fraction equal to onnxruntime)
CASES = {
    "conv": ([helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
             {"w": W(8, 4, 3, 3), "b": W(8, s=0.1)}, (1, 4, 8, 8), (1, 8, 8, 8), 0.98),
    "conv_relu_stride": ([helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], strides=[2, 2]),
                          helper.make_node("Relu", ["c"], ["y"])],
                         {"w": W(8, 4, 3, 3), "b": W(8, s=0.1)}, (1, 4, 9, 9), (1, 8, 4, 4), 0.98),
    "conv_asym_pads": ([helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[2, 3], pads=[0, 1, 1, 2])],
                       {"w": W(5, 3, 2, 3), "b": W(5, s=0.1)}, (1, 3, 6, 7), (1, 5, 6, 9), 0.98),
    "depthwise": ([helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=4)],
                  {"w": W(4, 1, 3, 3), "b": W(4, s=0.1)}, (1, 4, 8, 8), (1, 4, 8, 8), 0.98),
    "conv1d": ([helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[5], strides=[2])],
               {"w": W(6, 3, 5), "b": W(6, s=0.1)}, (1, 3, 40), (1, 6, 18), 0.98),
    "gemm": ([helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)],
             {"w": W(10, 16), "b": W(10, s=0.1)}, (1, 16), (1, 10), 0.98),
    "matmul": ([helper.make_node("MatMul", ["x", "w"], ["y"])], {"w": W(16, 10)}, (1, 16), (1, 10), 0.98),
    "conv_maxpool": ([helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3]),
                      helper.make_node("MaxPool", ["c"], ["y"], kernel_shape=[2, 2], strides=[2, 2])],
                     {"w": W(4, 2, 3, 3), "b": W(4, s=0.1)}, (1, 2, 10, 10), (1, 4, 4, 4), 0.98),
    "conv_avgpool": ([helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3]),
                      helper.make_node("AveragePool", ["c"], ["y"], kernel_shape=[3, 3], strides=[2, 2])],
                     {"w": W(4, 2, 3, 3), "b": W(4, s=0.1)}, (1, 2, 11, 11), (1, 4, 4, 4), 0.9),
    "global_avgpool": ([helper.make_node("GlobalAveragePool", ["x"], ["y"])], {}, (1, 4, 8, 8), (1, 4, 1, 1), 0.75),
    "add_const": ([helper.make_node("Add", ["x", "c"], ["y"])], {"c": W(1, 4, 8, 8, s=1)}, (1, 4, 8, 8),
                  (1, 4, 8, 8), 0.98),
    "softmax": ([helper.make_node("Softmax", ["x"], ["y"], axis=-1)], {}, (1, 10), (1, 10), 0.7),
    "conv_concat": ([helper.make_node("Conv", ["x", "w", "b"], ["c1"], kernel_shape=[1, 1]),
                     helper.make_node("Conv", ["x", "w2", "b2"], ["c2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                     helper.make_node("Concat", ["c1", "c2"], ["y"], axis=1)],
                    {"w": W(3, 2, 1, 1), "b": W(3, s=0.1), "w2": W(4, 2, 3, 3), "b2": W(4, s=0.1)},
                    (1, 2, 6, 6), (1, 7, 6, 6), 0.85),  # measured 0.886: conv, then requantized to the concat scale
}  # fmt: skip


def build(tmp: Path, name: str) -> tuple[Path, np.ndarray, tuple, float]:
    nodes, inits, ish, osh, min_equal = CASES[name]
    f = float_model(tmp / f"{name}_float.onnx", nodes, inits, ish, osh)
    q = quantize(f, tmp / f"{name}.onnx", (RNG.normal(size=(40, *ish[1:])) * 2).astype(np.float32))
    x = (RNG.normal(size=(12, *ish[1:])) * 2).astype(np.float32)
    return q, x, ish, min_equal


def output_step(model: Path) -> float:
    m = onnx.load(model)
    dq = next(n for n in m.graph.node if n.op_type == "DequantizeLinear" and n.output[0] == "y")
    return float(next(numpy_helper.to_array(i) for i in m.graph.initializer if i.name == dq.input[1]))


@pytest.mark.parametrize("name", sorted(CASES))
def test_qdq_operator_against_onnxruntime(name, tmp_path):
    model, x, ish, min_equal = build(tmp_path, name)
    prepared = load(model, CompileOptions(shapes=(("x", ish),)))
    c = compile_model(prepared, boards.load("mps2-an386"), tmp_path / "gen")
    (y,) = run_on_host(c, x).values()
    ref = ort_run(model, x)
    assert y.dtype == np.float32 and y.shape == ref.shape
    steps = np.abs(y - ref) / output_step(model)
    assert steps.max() <= 1.0001, f"{name}: {steps.max():.2f} steps off onnxruntime"
    assert np.mean(steps < 0.5) >= min_equal, f"{name}: only {np.mean(steps < 0.5):.3f} equal"


@pytest.mark.sim
def test_onnx_model_on_qemu_equals_host_c(tmp_path):
    """A conv net imported from ONNX: the firmware's outputs equal the host build's bit for bit."""
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], kernel_shape=[3, 3], group=4),
        helper.make_node("GlobalAveragePool", ["c2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["o"], transB=1),
        helper.make_node("Softmax", ["o"], ["y"], axis=-1),
    ]
    inits = {"w1": W(4, 3, 3, 3), "b1": W(4, s=0.1), "w2": W(8, 1, 3, 3), "b2": W(8, s=0.1), "w3": W(5, 8),
             "b3": W(5, s=0.1)}  # fmt: skip
    f = float_model(tmp_path / "net_float.onnx", nodes, inits, (1, 3, 12, 12), (1, 5))
    q = quantize(f, tmp_path / "net.onnx", (RNG.normal(size=(40, 3, 12, 12))).astype(np.float32))
    x = RNG.normal(size=(6, 3, 12, 12)).astype(np.float32)
    np.save(tmp_path / "in.npy", x)
    prepared = load(q, CompileOptions(shapes=(("x", (1, 3, 12, 12)),)))
    board = run_on_board(prepared, boards.load("mps2-an386"), tmp_path / "in.npy", tmp_path / "b")
    c = compile_model(prepared, boards.load("mps2-an386"), tmp_path / "h")
    (host,) = run_on_host(c, x).values()
    np.testing.assert_array_equal(board.output, host)
    steps = np.abs(board.output - ort_run(q, x)) / output_step(q)
    assert steps.max() <= 3  # per-layer one-step differences can add up through four layers


def edgeneuro(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgeneuro.cli", *args], capture_output=True, text=True)


def test_calibrate_quantizes_a_float_model(tmp_path):
    nodes, inits, ish, osh, _ = CASES["conv_relu_stride"]
    f = float_model(tmp_path / "float.onnx", nodes, inits, ish, osh)
    np.save(tmp_path / "cal.npy", (RNG.normal(size=(30, *ish[1:])) * 2).astype(np.float32))
    proc = edgeneuro("compile", str(f), "--shape", "x=1x4x9x9", "--calibrate", str(tmp_path / "cal.npy"),
                     "-o", str(tmp_path / "out"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "float.int8.onnx").is_file()
    assert re.search(r"en_conv2d_s8(_dsp\w*)?\(", (tmp_path / "out" / "model.c").read_text())  # the board's kernel


def test_float_model_without_calibration_is_refused(tmp_path):
    nodes, inits, ish, osh, _ = CASES["gemm"]
    f = float_model(tmp_path / "float.onnx", nodes, inits, ish, osh)
    proc = edgeneuro("compile", str(f), "--shape", "x=1x16", "-o", str(tmp_path / "out"))
    assert proc.returncode != 0 and len(proc.stderr.strip().splitlines()) == 1
    assert "operator #0 Gemm" in proc.stderr and "--calibrate" in proc.stderr


def test_unbound_batch_defaults_to_one(tmp_path):  # other unbound dimensions: tests/test_onnx_frontend.py
    model, _, _, _ = build(tmp_path, "gemm")
    proc = edgeneuro("compile", str(model), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0 and "unbound batch dimension of 'x' (N) set to 1" in proc.stderr
    bad = edgeneuro("compile", str(model), "--shape", "x=1x17", "-o", str(tmp_path / "out"))
    assert bad.returncode != 0 and "does not fit" in bad.stderr


def test_old_opset_is_upgraded(tmp_path):  # compiled after the upgrade: tests/test_onnx_frontend.py
    nodes, inits, ish, osh, _ = CASES["gemm"]
    f = float_model(tmp_path / "old.onnx", nodes, inits, ish, osh, opset=11)
    proc = edgeneuro("compile", str(f), "-o", str(tmp_path / "out"))
    assert "opset 11 upgraded to 13" in proc.stderr
    assert proc.returncode != 0 and "operator #0 Gemm" in proc.stderr and "--calibrate" in proc.stderr  # float
