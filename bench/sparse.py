"""Sparse against dense weights: weight bytes and instructions as the fraction of kept blocks falls,
on QEMU mps2-an386 (Cortex-M4: the DSP kernels, dense and sparse) and mps3-an547 (Cortex-M55:
Helium's dense kernel against the DSP sparse one, which the compiler does not choose there).

One int8 FULLY_CONNECTED layer (1,024 inputs -> 64 units) whose weights are zero in whole blocks of
4 units x 4 inputs (what ``compress --prune-pattern block:4x4`` leaves), a random fraction of the
blocks kept; ``unstructured`` rows zero single weights at random instead (80 % of them), which
leave few 4x4 blocks all zero. And one CONV_2D layer like the seizure CNN's second (1-D, kernel
1x5, 16 -> 32 channels over 128 samples) with blocks of 2 channels x 4 column elements
(``block:2x4``), both forms gathering their columns into scratch. Counts are the layer's own instructions from the
profiled firmware (timer reads around each layer), bytes the layer's constants (weights with
their indices, biases and requantization fields). Every output is checked against TFLM.

    .venv/bin/python bench/sparse.py [--boards mps2-an386,mps3-an547] [--out out/bench_sparse.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from edgeneuro import boards, compiler
from edgeneuro.options import CompileOptions, board_features
from edgeneuro.runner import build_for, run_firmware

TESTS = Path(__file__).resolve().parents[1] / "tests"
KEPT = (1.0, 0.75, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1)
UNITS, DEPTH = 64, 1024


def measure(prepared, board, x: np.ndarray, expected: np.ndarray) -> tuple[int, int, str]:
    with tempfile.TemporaryDirectory() as d:
        res = run_firmware(build_for(prepared, board, Path(d) / "build", profile=True), x, cycles=False)
    if not np.array_equal(res.output.reshape(expected.shape), expected):
        raise SystemExit(f"{board.name}: output != TFLM")
    (k,) = prepared.kernels
    return res.report["profile"][0]["instructions"], k.const_bytes, k.fn.removeprefix("en_")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", default="mps2-an386,mps3-an547")
    ap.add_argument("--out", default="out/bench_sparse.json")
    args = ap.parse_args()
    sys.path.insert(0, str(TESTS))
    from conftest import forced_variant, tflm_run
    from test_conv2d_sparse import pair_mask
    from test_fc_dsp import block_mask
    from test_mve import conv_model, fc_model

    rows = []
    for name in args.boards.split(","):
        board = boards.load(name)
        features = board_features(board)
        print(f"{name} ({board.core}): FULLY_CONNECTED {DEPTH}->{UNITS}, instructions and weight bytes")
        print(f"  {'weights':22} {'dense kernel':>32} {'sparse kernel':>32} {'auto':>8}")
        cases = [(f"4x4 blocks, {kept:.0%} kept", kept) for kept in KEPT] + [("unstructured, 20% kept", None)]
        for label, kept in cases:
            rng = np.random.default_rng(int(100 * (kept or 0)) + 1)
            mask = block_mask(rng, UNITS, DEPTH, kept) if kept is not None else rng.random((UNITS, DEPTH)) < 0.2
            model, x = fc_model(rng, 1, DEPTH, UNITS, mask=mask)
            x = x[:1]
            expected = tflm_run(model, x)
            with tempfile.TemporaryDirectory() as d:
                path = Path(d) / "fc.tflite"
                path.write_bytes(model)
                auto = compiler.load(path, CompileOptions(features=features))
                dense = compiler.load(path, CompileOptions(features=features, sparse="off"))
                sparse = forced_variant(dense, "FULLY_CONNECTED", "dsp_sparse")
                di, db, dk = measure(dense, board, x, expected)
                si, sb, _ = measure(sparse, board, x, expected)
            picked = "sparse" if auto.kernels[0].fn.endswith("_sparse") else "dense"
            print(f"  {label:22} {di:>9,} instr {db:>8,} B ({dk[-3:]}) {si:>9,} instr {sb:>8,} B "
                  f"({si / di:.2f}x, {sb / db:.2f}x B) {picked:>8}")  # fmt: skip
            rows.append({"board": name, "weights": label, "kept": kept, "dense_kernel": dk,
                         "dense_instructions": di, "dense_bytes": db, "sparse_instructions": si,
                         "sparse_bytes": sb, "auto": picked})  # fmt: skip
        if "mve" in features:
            continue  # Helium's dense convolution: the compiler keeps it
        print("  CONV_2D 1x5 16->32 over 128 samples, 2x4 blocks kept")
        for kept in KEPT:
            rng = np.random.default_rng(int(100 * kept) + 2)
            model, x = conv_model(rng, 1, 1, 128, 16, 32, (1, 5), act="RELU", mask=pair_mask(rng, 32, 80, kept))
            x = x[:1]
            expected = tflm_run(model, x)
            with tempfile.TemporaryDirectory() as d:
                path = Path(d) / "conv.tflite"
                path.write_bytes(model)
                dense = compiler.load(path, CompileOptions(features=features, sparse="off"))
                di, db, _ = measure(forced_variant(dense, "CONV_2D", "dsp"), board, x, expected)
                si, sb, _ = measure(forced_variant(dense, "CONV_2D", "dsp_sparse"), board, x, expected)
            print(f"  {kept:>21.0%} {di:>9,} instr {db:>8,} B       {si:>9,} instr {sb:>8,} B "
                  f"({si / di:.2f}x, {sb / db:.2f}x B)")  # fmt: skip
            rows.append({"board": name, "weights": f"conv 2x4 blocks, {kept:.0%} kept", "kept": kept,
                         "dense_instructions": di, "dense_bytes": db, "sparse_instructions": si,
                         "sparse_bytes": sb})  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=2))
    print(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
