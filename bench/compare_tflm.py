"""Compare edgeneuro with TensorFlow Lite Micro (+ CMSIS-NN, and its reference kernels) on the
MLPerf Tiny and the seizure models, measured on the same QEMU board (../shared/baselines): whole
models and layer by layer, as ratios. Every output is checked against TFLM's stored outputs.

    .venv/bin/python bench/compare_tflm.py [--boards mps2-an386,mps3-an547] [--models kws,seizure_lstm]
                                           [--kernels auto|reference] [--out out/bench_tflm.json]

On mps2-an386 (the baselines' board) the ratios are against TFLM + CMSIS-NN's counts; on other
boards the counts are printed with their ratio to edgeneuro's own count on mps2-an386.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from edgeneuro import boards, compiler
from edgeneuro.baselines import BOARD as BASELINE_BOARD
from edgeneuro.baselines import baselines, cmsis_worst, per_layer_baseline
from edgeneuro.errors import EdgeNeuroError
from edgeneuro.options import CompileOptions, board_features
from edgeneuro.runner import build_for, run_firmware


def measure(m: dict, board, kernels: str, work: Path) -> dict:
    """Run the model's stored inputs on ``board``: the worst count over them, outputs vs TFLM's,
    memory, and per layer (a second, profiled build)."""
    path = m["path"]
    stem = path.with_suffix("")
    x = np.load(f"{stem}_input.npy")
    if x.shape == tuple(m["input_shape"]):  # MLPerf: one sample with its batch axis
        x = x.reshape(1, *x.shape[1:])
    expected = np.load(f"{stem}_expected_output.npy").reshape(len(x), -1)
    prepared = compiler.load(path, CompileOptions(features=board_features(board), kernels=kernels))
    res = run_firmware(build_for(prepared, board, work / "build"), x)
    prof = run_firmware(build_for(prepared, board, work / "profile", profile=True), x[:1])
    r = res.report
    return {
        "bitexact_vs_stored_tflm_output": bool(np.array_equal(res.output.reshape(len(x), -1), expected)),
        "instructions": r["instructions"],
        "macs": r["macs"],
        "instructions_per_mac": r["instructions_per_mac"],
        "flash_bytes": r["flash_bytes"],
        "flash_code_bytes": r["flash_code_bytes"],
        "arena_bytes": r["arena_bytes"],
        "arena_lower_bound_bytes": r["arena_lower_bound_bytes"],
        "static_ram_bytes": r["static_ram_bytes"],
        "layers": prof.report["profile"],  # each with its source_index, the baselines' operator index
    }


def print_layers(key: str, row: dict, base_layers: dict[int, dict]) -> None:
    print(f"    {'#':>3} {'op':<28} {'kernel':<28} {'MACs':>10} {'instr':>11} {'/MAC':>6} {'CMSIS-NN /MAC':>14} "
          f"{'ratio':>6}")  # fmt: skip
    for layer in row["layers"]:
        b = base_layers.get(layer["source_index"], {})
        macs = layer["macs"]
        per = f"{layer['instructions'] / macs:6.2f}" if macs else "     -"
        bper = f"{b['instructions'] / b['macs']:14.2f}" if b.get("macs") else " " * 14
        ratio = f"{layer['instructions'] / b['instructions']:6.2f}" if b.get("instructions") else "     -"
        print(f"    {layer['source_index']:>3} {layer['op'][:28]:<28} {layer['kernel'][:28]:<28} {macs:>10,} "
              f"{layer['instructions']:>11,} {per} {bper} {ratio}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", default=BASELINE_BOARD, help="comma-separated QEMU boards")
    ap.add_argument("--models", default="", help="comma-separated model keys (default: all)")
    ap.add_argument("--kernels", default="auto", choices=("auto", "reference"))
    ap.add_argument("--layers", action="store_true", help="print the per-layer tables")
    ap.add_argument("--out", type=Path, default=Path("out/bench_tflm.json"))
    args = ap.parse_args()
    models = baselines()
    wanted = [k for k in models if not args.models or k in args.models.split(",")]
    base_layers = per_layer_baseline()
    doc: dict = {"kernels": args.kernels, "boards": {}}
    for board_name in args.boards.split(","):
        board = boards.load(board_name)
        rows = doc["boards"][board_name] = {}
        print(f"{board_name} ({board.core}, features: {', '.join(board_features(board)) or 'none'}; "
              f"--kernels {args.kernels})")  # fmt: skip
        for key in wanted:
            m = models[key]
            with tempfile.TemporaryDirectory() as d:
                try:
                    row = measure(m, board, args.kernels, Path(d))
                except EdgeNeuroError as e:
                    rows[key] = {"supported": False, "reason": str(e).splitlines()[0]}
                    print(f"  {key:14} not yet: {rows[key]['reason']}")
                    continue
            rows[key] = row
            cm, refk = m["cmsis_nn"], m["reference_kernels"]
            lean = m.get("cmsis_nn_int8_only", cm)  # the seizure baselines have one CMSIS-NN build
            line = (f"  {key:14} bit-exact={row['bitexact_vs_stored_tflm_output']} {row['instructions']:>12,} "
                    f"instructions ({row['instructions_per_mac']} per MAC)")  # fmt: skip
            if board_name == BASELINE_BOARD:
                row["instructions_vs_cmsis_nn"] = round(row["instructions"] / cmsis_worst(m), 3)
                row["instructions_vs_tflm_reference_kernels"] = round(row["instructions"] / refk["instructions"], 3)
                row["flash_vs_cmsis_nn_int8_only"] = round(row["flash_bytes"] / lean["flash_bytes"], 3)
                row["tflm_arena_bytes"] = cm["arena_bytes"]
                line += (f" = {row['instructions_vs_cmsis_nn']}x CMSIS-NN, "
                         f"{row['instructions_vs_tflm_reference_kernels']}x TFLM reference kernels; flash "
                         f"{row['flash_bytes']:,} B = {row['flash_vs_cmsis_nn_int8_only']}x lean TFLM (code "
                         f"{row['flash_code_bytes']:,} B); arena {row['arena_bytes']:,} B vs TFLM "
                         f"{cm['arena_bytes']:,} B")  # fmt: skip
            elif BASELINE_BOARD in doc["boards"] and doc["boards"][BASELINE_BOARD].get(key, {}).get("instructions"):
                own = doc["boards"][BASELINE_BOARD][key]["instructions"]
                row["instructions_vs_mps2_an386"] = round(row["instructions"] / own, 3)
                line += f" = {row['instructions_vs_mps2_an386']}x edgeneuro on {BASELINE_BOARD}"
            print(line, flush=True)
            if args.layers:
                print_layers(key, row, base_layers.get(key, {}) if board_name == BASELINE_BOARD else {})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
