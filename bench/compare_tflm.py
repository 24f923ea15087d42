"""Compare edgeneuro with TensorFlow Lite Micro (+ CMSIS-NN, and its reference kernels) on the
MLPerf Tiny models, measured on the same QEMU board (shared/baselines). Prints ratios; models
that edgeneuro cannot compile yet are listed with the reason.

    .venv/bin/python bench/compare_tflm.py [--out out/bench_tflm.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from edgeneuro import boards, compiler
from edgeneuro.errors import EdgeNeuroError
from edgeneuro.options import CompileOptions, board_features
from edgeneuro.runner import run_on_board

SHARED = Path(__file__).resolve().parents[2] / "shared"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("out/bench_tflm.json"))
    args = ap.parse_args()
    base = json.loads((SHARED / "baselines" / "tflm_cmsis_nn_mps2_an386.json").read_text())
    board = boards.load("mps2-an386")
    rows = {}
    for key, m in base["models"].items():
        model = SHARED / "models" / "mlperf_tiny" / m["file"]
        stem = model.with_suffix("")
        with tempfile.TemporaryDirectory() as d:
            try:
                prepared = compiler.load(model, CompileOptions(features=board_features(board)))
                res = run_on_board(prepared, board, Path(f"{stem}_input.npy"), Path(d) / "build")
            except EdgeNeuroError as e:
                rows[key] = {"supported": False, "reason": str(e).splitlines()[0]}
                print(f"{key:4} not yet: {rows[key]['reason']}")
                continue
        r = res.report
        cm, lean, refk = m["cmsis_nn"], m["cmsis_nn_int8_only"], m["reference_kernels"]
        exact = bool(np.array_equal(res.output, np.load(f"{stem}_expected_output.npy")))
        static_ram = r["data_bytes"] + r["bss_bytes"]
        rows[key] = {
            "supported": True,
            "bitexact_vs_stored_tflm_output": exact,
            "instructions": r["instructions"],
            "instructions_vs_cmsis_nn": round(r["instructions"] / cm["instructions"], 3),
            "instructions_vs_tflm_reference_kernels": round(r["instructions"] / refk["instructions"], 3),
            "flash_bytes": r["flash_bytes"],
            "flash_vs_cmsis_nn_int8_only": round(r["flash_bytes"] / lean["flash_bytes"], 3),
            "arena_bytes": r["arena_bytes"],
            "arena_lower_bound_bytes": r["arena_lower_bound_bytes"],
            "tflm_arena_bytes": cm["arena_bytes"],
            "static_ram_bytes": static_ram,
        }
        x = rows[key]
        print(
            f"{key:4} bit-exact={exact} instructions {r['instructions']:,} = "
            f"{x['instructions_vs_cmsis_nn']}x CMSIS-NN, "
            f"{x['instructions_vs_tflm_reference_kernels']}x TFLM reference kernels; flash {r['flash_bytes']:,} B = "
            f"{x['flash_vs_cmsis_nn_int8_only']}x lean TFLM; arena {r['arena_bytes']:,} B vs TFLM "
            f"{cm['arena_bytes']:,} B (lower bound {r['arena_lower_bound_bytes']:,} B)"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
