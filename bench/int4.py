"""int4 against int8 weights: weight bytes and instructions per MAC of one FULLY_CONNECTED layer
(640 -> 128) and one CONV_2D layer (3x3, stride 1, 16 -> 32 channels over 16x16), on QEMU
mps2-an386 (Cortex-M4): the int8 layer on the portable and the DSP kernel, the same weights as
TFLite INT4 (two a byte) on the portable int4 kernel and the int4 DSP kernels (CONV_2D: the form
gathering each pixel's column, and the one reading the input in place).
The int8 and int4 models hold the same weights (values in [-8, 7]), so their outputs are the same;
each is checked against TFLM. Counts are the layer's own instructions from the profiled firmware,
bytes the layer's constants (weights, biases, requantization).

    .venv/bin/python bench/int4.py [--out out/bench_int4.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from edgeneuro import boards, compiler
from edgeneuro.options import CompileOptions
from edgeneuro.runner import build_for, run_firmware

TESTS = Path(__file__).resolve().parents[1] / "tests"


def measure(prepared, board, x: np.ndarray, expected: np.ndarray) -> tuple[int, int, str]:
    with tempfile.TemporaryDirectory() as d:
        res = run_firmware(build_for(prepared, board, Path(d) / "build", profile=True), x, cycles=False)
    if not np.array_equal(res.output.reshape(expected.shape), expected):
        raise SystemExit(f"{board.name}: output != TFLM")
    (k,) = prepared.kernels
    return res.report["profile"][0]["instructions"], k.const_bytes, k.fn.removeprefix("en_")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/bench_int4.json")
    args = ap.parse_args()
    sys.path.insert(0, str(TESTS))
    from conftest import forced_variant, tflm_run
    from test_int4 import conv_int4, fc_int4

    board = boards.load("mps2-an386")
    rng = np.random.default_rng(0)
    rows = []
    layers = {
        "FULLY_CONNECTED 640->128": (fc_int4(rng, 1, 640, 128), 640 * 128),
        "CONV_2D 3x3 s1 16->32, 16x16": (conv_int4(rng, 16, 16, 16, 32, (3, 3)), 16 * 16 * 32 * 9 * 16),
    }
    print(f"mps2-an386 ({board.core}): instructions per MAC and constant bytes of one layer")
    for name, ((int8, int4, x, _), macs) in layers.items():
        x = x[:1]
        expected = tflm_run(int4, x)
        if not np.array_equal(tflm_run(int8, x), expected):
            raise SystemExit("TFLM: the int8 and int4 models differ")
        with tempfile.TemporaryDirectory() as d:
            for weights, model in (("int8", int8), ("int4", int4)):
                path = Path(d) / f"{weights}.tflite"
                path.write_bytes(model)
                portable = compiler.load(path, CompileOptions(features=("dsp",), kernels="reference"))
                dsp = compiler.load(path, CompileOptions(features=("dsp",)))
                kind = dsp.graph.ops[0].kind
                # the DSP kernel the op module picks, even where its scratch grows this one-layer arena
                forms = [portable, forced_variant(dsp, kind)]
                if weights == "int4" and kind == "CONV_2D":
                    forms.append(forced_variant(dsp, kind, "dsp_s4_direct"))  # no scratch: its fallback
                for prepared in forms:
                    instr, nbytes, fn = measure(prepared, board, x, expected)
                    rows.append({"layer": name, "weights": weights, "kernel": fn, "instructions": instr,
                                 "per_mac": round(instr / macs, 3), "const_bytes": nbytes})  # fmt: skip
                    print(f"  {name:30} {weights}  {fn:28} {instr / macs:6.2f} per MAC  {nbytes:>7,} B")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
