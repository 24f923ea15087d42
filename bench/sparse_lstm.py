"""Sparse against dense LSTM weights: weight bytes and instructions as the fraction of kept 4x4
groups falls, on QEMU mps2-an386 (Cortex-M4: en_lstm_s8_dsp against en_lstm_s8_dsp_sparse).

One int8 UNIDIRECTIONAL_SEQUENCE_LSTM like the seizure LSTM's (4 inputs -> 16 units, here over 16
steps) whose input and recurrent weights, stacked as TFLite's [4 x units, inputs] gate rows, are
zero in whole groups of 4 rows x 4 inputs (what ``compress --prune-pattern block:4x4`` leaves), a
random fraction of the groups kept. Counts are the layer's own instructions from the profiled
firmware (timer reads around each layer), bytes the layer's constants (the weight stream with its
biases, counts and offsets, and the requantization constants). Every output is checked against
edgeneuro's portable reference (which tests/test_ops_lstm.py checks against TFLM).

    .venv/bin/python bench/sparse_lstm.py [--out out/bench_sparse_lstm.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from edgeneuro import boards, reference
from edgeneuro.options import CompileOptions
from edgeneuro.runner import build_for, run_firmware

TESTS = Path(__file__).resolve().parents[1] / "tests"
KEPT = (1.0, 0.75, 0.5, 0.3, 0.2)
LSTM = "UNIDIRECTIONAL_SEQUENCE_LSTM"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/bench_sparse_lstm.json")
    args = ap.parse_args()
    sys.path.insert(0, str(TESTS))
    from conftest import forced_variant
    from test_lstm_dsp import _block_pruned, _lstm_kernel
    from test_ops_lstm import lstm_model

    from edgeneuro.ops import lstm

    board = boards.load("mps2-an386")
    rng = np.random.default_rng(11)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "lstm.tflite"
        path.write_bytes(lstm_model(rng, 1, 16, 4, 16, False, -12, 0.0, 0.05))
        x = rng.integers(-128, 128, (2, 16, 4), dtype=np.int8)
        print("mps2-an386 (cortex-m4): LSTM 4 -> 16 units, 16 steps; instructions and weight bytes")
        for keep in KEPT:
            portable = _block_pruned(path, keep, 2, CompileOptions())
            expected = reference.run_batch(portable.graph, portable.kernels, x)
            got = {}
            for v in ("dsp", "dsp_sparse"):
                p = forced_variant(_block_pruned(path, keep, 2), LSTM, v)
                res = run_firmware(build_for(p, board, Path(d) / v, profile=True), x, cycles=False)
                if not np.array_equal(res.output.reshape(expected.shape), expected):
                    raise SystemExit(f"{v}, {keep:.0%} kept: output != the portable reference")
                (layer,) = [r["instructions"] for r in res.report["profile"] if r["kernel"].startswith("en_lstm")]
                got[v] = (layer, _lstm_kernel(p).const_bytes)
            sparse = forced_variant(_block_pruned(path, keep, 2), LSTM, "dsp_sparse")
            kept = lstm.sparse_info(_lstm_kernel(sparse), sparse.graph)["kept"]
            row = {"kept_target": keep, "kept": kept, "dense_instructions": got["dsp"][0],
                   "sparse_instructions": got["dsp_sparse"][0], "dense_bytes": got["dsp"][1],
                   "sparse_bytes": got["dsp_sparse"][1]}  # fmt: skip
            rows.append(row)
            print(f"  {kept:4.0%} kept: instructions {got['dsp'][0]:,} -> {got['dsp_sparse'][0]:,} "
                  f"({got['dsp_sparse'][0] / got['dsp'][0]:.2f}x), bytes {got['dsp'][1]:,} -> {got['dsp_sparse'][1]:,} "
                  f"({got['dsp_sparse'][1] / got['dsp'][1]:.2f}x)")  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
