"""Bad input: one clear line on stderr, a non-zero exit, no traceback (unless --debug), and no
half-written output left behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import MLPERF
from tflite_builder import ModelBuilder, fc_options, pool_options

AD01 = MLPERF / "ad01_int8.tflite"


def edgeneuro(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgeneuro.cli", *args], capture_output=True, text=True)


def assert_clean_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("edgeneuro: error: ")
    assert "Traceback" not in proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def unsupported_model(path: Path) -> Path:
    """A model whose second operator (#1) is one edgeneuro (and TFLM) does not have (TOPK_V2)."""
    b = ModelBuilder()
    x = b.tensor([1, 4, 4, 2], scale=0.1, zero_point=0)
    h = b.tensor([1, 4, 4, 2], scale=0.1, zero_point=0)
    k = b.tensor([1], "int32", data=np.array([1]))
    y = b.tensor([1, 4, 4, 1], scale=0.1, zero_point=0)
    idx = b.tensor([1, 4, 4, 1], "int32")
    b.op("MAX_POOL_2D", [x], [h], pool_options("SAME", 1, 1, 1, 1, "NONE"), "Pool2DOptions")
    b.op("TOPK_V2", [h, k], [y, idx])
    path.write_bytes(b.build([x], [y]))
    return path


def test_missing_model(tmp_path):
    proc = edgeneuro("compile", str(tmp_path / "nope.tflite"), "-o", str(tmp_path / "out"))
    assert_clean_error(proc, "nope.tflite", "no such file")
    assert not (tmp_path / "out").exists()


def test_not_a_tflite_file(tmp_path):
    bad = tmp_path / "model.tflite"
    bad.write_text("this is not a flatbuffer\n")
    assert_clean_error(
        edgeneuro("compile", str(bad), "-o", str(tmp_path / "out")), "model.tflite", "not a TFLite model"
    )
    assert not (tmp_path / "out").exists()


def test_truncated_tflite_file(tmp_path):
    bad = tmp_path / "cut.tflite"
    bad.write_bytes(AD01.read_bytes()[:4096])
    assert_clean_error(edgeneuro("compile", str(bad), "-o", str(tmp_path / "out")), "cut.tflite")
    assert not (tmp_path / "out").exists()


def test_unknown_model_format(tmp_path):
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"\x00" * 16)
    assert_clean_error(edgeneuro("compile", str(bad), "-o", str(tmp_path / "out")), "model.pt", "unknown model format")


def test_unsupported_operator_named_with_index(tmp_path):
    model = unsupported_model(tmp_path / "topk.tflite")
    proc = edgeneuro("compile", str(model), "-o", str(tmp_path / "out"))
    assert_clean_error(proc, "topk.tflite", "operator #1 TOPK_V2 is not supported")
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == [model]  # no temporary folder left either


def test_unknown_operator_version(tmp_path):
    b = ModelBuilder()
    x = b.tensor([1, 4], scale=0.1, zero_point=0)
    w = b.tensor([2, 4], scale=0.01, zero_point=0, data=np.ones((2, 4)))
    y = b.tensor([1, 2], scale=0.1, zero_point=0)
    b.op("FULLY_CONNECTED", [x, w, -1], [y], fc_options("NONE"), "FullyConnectedOptions", version=99)
    model = tmp_path / "future.tflite"
    model.write_bytes(b.build([x], [y]))
    proc = edgeneuro("compile", str(model), "-o", str(tmp_path / "out"))
    assert_clean_error(proc, "future.tflite", "operator #0 FULLY_CONNECTED", "version 99 is newer than edgeneuro knows")


def test_float_operator_without_a_float_kernel(tmp_path):
    """FULLY_CONNECTED has a float32 kernel, HARD_SWISH has only int8 ones: named at compile time."""
    b = ModelBuilder()
    x = b.tensor([1, 4], "float32")
    w = b.tensor([2, 4], "float32", data=np.ones((2, 4)))
    h = b.tensor([1, 2], "float32")
    y = b.tensor([1, 2], "float32")
    b.op("FULLY_CONNECTED", [x, w, -1], [h], fc_options("NONE"), "FullyConnectedOptions")
    b.op("HARD_SWISH", [h], [y])
    model = tmp_path / "float.tflite"
    model.write_bytes(b.build([x], [y]))
    assert_clean_error(
        edgeneuro("compile", str(model), "-o", str(tmp_path / "out")), "operator #1 HARD_SWISH", "float32"
    )


def test_unknown_board(tmp_path):
    assert_clean_error(
        edgeneuro("compile", str(AD01), "--board", "nosuchboard", "-o", str(tmp_path / "o")),
        "unknown board 'nosuchboard'",
        "mps2-an386",
    )


def tiny_board(tmp_path: Path, flash: int, ram: int) -> Path:
    text = (Path(__file__).parents[1] / "boards" / "mps2-an386.yaml").read_text()
    text = text.replace("name: mps2-an386", "name: tiny")
    text = text.replace("flash: {origin: 0x00000000, size: 0x400000}", f"flash: {{origin: 0x00000000, size: {flash}}}")
    text = text.replace("ram: {origin: 0x20000000, size: 0x400000}", f"ram: {{origin: 0x20000000, size: {ram}}}")
    path = tmp_path / "tiny.yaml"
    path.write_text(text)
    return path


def ad01_weights_bytes() -> int:
    """AD's constants as an M4 board's kernels store them (the plan's weights_bytes)."""
    from edgeneuro import boards, compiler
    from edgeneuro.options import CompileOptions, board_features

    options = CompileOptions(features=board_features(boards.load("mps2-an386")))
    return compiler.load(AD01, options).plan.weights_bytes


def test_model_too_big_for_flash(tmp_path):
    board = tiny_board(tmp_path, flash=64 * 1024, ram=64 * 1024)
    proc = edgeneuro("compile", str(AD01), "--board", str(board), "-o", str(tmp_path / "out"))
    assert_clean_error(proc, f"weights need {ad01_weights_bytes():,} B", "tiny has 65,536 B of flash")
    assert not (tmp_path / "out").exists()


def test_model_too_big_for_ram(tmp_path):
    board = tiny_board(tmp_path, flash=1024 * 1024, ram=4096)  # the 4 KiB stack alone fills it
    proc = edgeneuro("compile", str(AD01), "--board", str(board), "-o", str(tmp_path / "out"))
    assert_clean_error(proc, "arena needs 768 B (+ 4,096 B stack)", "4,096 B of RAM")


def test_firmware_that_overflows_flash_at_link_time(tmp_path):
    """Weights fit, weights + code do not: the linker's verdict is reported with the numbers."""
    board = tiny_board(tmp_path, flash=ad01_weights_bytes() + 500, ram=64 * 1024)
    np.save(tmp_path / "in.npy", np.load(MLPERF / "ad01_int8_input.npy"))
    proc = edgeneuro(
        "run",
        str(AD01),
        "--board",
        str(board),
        "--input",
        str(tmp_path / "in.npy"),
        "--output",
        str(tmp_path / "out.npy"),
    )
    assert_clean_error(proc, "does not fit", "FLASH overflowed by")
    assert not (tmp_path / "out.npy").exists()


@pytest.mark.parametrize(
    "array, needles",
    [
        (np.zeros((2, 64), np.int8), ["shape [2, 64]", "expected [N, 640]"]),
        (np.zeros((640,), np.int8), ["shape [640]", "expected [N, 640]"]),
        (np.zeros((2, 640), np.float32), ["dtype float32", "int8", "quantize it first"]),
        (np.zeros((0, 640), np.int8), ["no samples"]),
    ],
)
def test_run_rejects_bad_input(tmp_path, array, needles):
    np.save(tmp_path / "in.npy", array)
    proc = edgeneuro(
        "run",
        str(AD01),
        "--input",
        str(tmp_path / "in.npy"),
        "--output",
        str(tmp_path / "out.npy"),
        "--report",
        str(tmp_path / "r.json"),
    )
    assert_clean_error(proc, "in.npy", *needles)
    assert not (tmp_path / "out.npy").exists() and not (tmp_path / "r.json").exists()


def test_run_rejects_non_npy_input(tmp_path):
    (tmp_path / "in.npy").write_text("1,2,3\n")
    proc = edgeneuro("run", str(AD01), "--input", str(tmp_path / "in.npy"), "--output", str(tmp_path / "out.npy"))
    assert_clean_error(proc, "in.npy", "not a .npy array")


def test_compile_refuses_to_replace_a_foreign_folder(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    proc = edgeneuro("compile", str(AD01), "-o", str(tmp_path / "mine"))
    assert_clean_error(proc, "not an edgeneuro output folder")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_compile_replaces_its_own_output(tmp_path):
    assert edgeneuro("compile", str(AD01), "-o", str(tmp_path / "out")).returncode == 0
    assert edgeneuro("compile", str(AD01), "-o", str(tmp_path / "out")).returncode == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "kernels",
        "memory.ld",
        "model.c",
        "model.h",
        "plan.json",
    ]


def test_debug_shows_the_traceback(tmp_path):
    proc = edgeneuro("--debug", "compile", str(tmp_path / "nope.tflite"), "-o", str(tmp_path / "out"))
    assert proc.returncode != 0 and "Traceback" in proc.stderr
