"""Instructions per MAC of every kernel variant, per operator and shape class, measured on QEMU, and
whether ``--kernels auto`` picks the cheapest (issue 12: choose by measurement, not by guess).

Each shape class is a single-operator int8 TFLite model (tests/tflite_builder.py, through the
tests' model helpers: realistic scales, random zero points, RELU, seeded by the class's name):
CONV_2D 1x1, 3x3 (stride 1 and 2), KWS's first 10x4 layer and the seizure CNN's three 1-D layers;
DEPTHWISE_CONV_2D 3x3 (4 to 128 channels, multiples of 16 or not); FULLY_CONNECTED; ADD of two
tensors of one shape (the second a constant: the board's harness feeds one input). On each board
the layer is built once per variant its op module offers for the board's core (``variant()``:
``dsp`` SIMD32 on the Cortex-M4 and M55, ``mve`` Helium on the M55; CONV_2D also
``dsp_noscratch``, its form without working memory, when in_c % 4 == 0) plus the portable kernel
(``reference``), each forced with tests/conftest.py ``forced_variant``. CONV_2D's ``mve`` variant
is two C kernels, ``mve_gather`` (columns gathered into working memory) and ``mve_direct`` (read
in place), between which ``conv2d.mve_direct()`` decides: both are measured. The count is the
layer's own instructions from the profiled firmware (``--profile``: timer reads around each layer,
the timer's resolution: 40 instructions on mps2, 31.25 on mps3-an547), worst of 3 random inputs,
so the harness and semihosting are left out. Every variant's outputs are compared with the
portable kernel's on the same board (``bit-exact``).

In the tables ``*`` marks what ``--kernels auto`` picks for the layer where its scratch memory is
free (the op module's ``variant()``, CONV_2D's ``mve`` resolved by ``mve_direct()``), and ``~``
what it picks in this one-layer model instead, where that variant's scratch would grow the arena
(the kernel-variants pass falls back, e.g. ``dsp`` -> ``dsp_noscratch``). ``auto`` says whether
``*`` is the cheapest measured variant (ties within two timer ticks), else by how much it loses.
With the QEMU cycle plugin available the JSON also has each variant's estimated cycles (the
plugin's Cortex-M4 table, whole ``en_model_invoke()``).

    .venv/bin/python bench/kernel_variants.py [--boards mps2-an386,mps3-an547]
                                              [--ops conv2d,depthwise,fc,add] [--out out/bench_kernel_variants.json]
                                              [--jobs N]

About 2-3 minutes on 2 cores for both boards.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import numpy as np

from edgeneuro import boards, compiler, ops
from edgeneuro.compiler import Prepared
from edgeneuro.ops import conv2d
from edgeneuro.options import CompileOptions, board_features
from edgeneuro.runner import build_for, run_firmware
from edgeneuro.targets import qemu_plugin

TESTS = Path(__file__).resolve().parents[1] / "tests"
BOARDS = ("mps2-an386", "mps3-an547")
OPS = {"conv2d": "CONV_2D", "depthwise": "DEPTHWISE_CONV_2D", "fc": "FULLY_CONNECTED", "add": "ADD"}
# The columns of each op's table: the kernels a layer can run (the portable one first).
COLUMNS = {
    "CONV_2D": ("reference", "dsp", "dsp_noscratch", "mve_gather", "mve_direct"),
    "DEPTHWISE_CONV_2D": ("reference", "dsp", "mve"),
    "FULLY_CONNECTED": ("reference", "dsp", "mve"),
    "ADD": ("reference", "dsp"),
}
SAMPLES = 3


def helpers() -> SimpleNamespace:
    """The tests' single-operator model builders and ``forced_variant`` (tests/ is not a package)."""
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    from conftest import forced_variant
    from test_binary_dsp import binary_model
    from test_depthwise_dsp import depthwise_model
    from test_mve import conv_model, fc_model

    return SimpleNamespace(forced_variant=forced_variant, binary_model=binary_model,
                           depthwise_model=depthwise_model, conv_model=conv_model, fc_model=fc_model)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Case:
    op: str  # the TFLite operator
    name: str  # the shape class
    make: Callable[[np.random.Generator], tuple[bytes, np.ndarray]]  # the model and SAMPLES inputs


def cases(h: SimpleNamespace) -> list[Case]:
    def conv(hw, cin, cout, k, s=1, pad="SAME"):
        return lambda rng: h.conv_model(rng, 1, *hw, cin, cout, k, (s, s) if k[0] > 1 else (1, s), pad=pad, act="RELU")

    out = [Case("CONV_2D", f"1x1 {c}->64 12x12", conv((12, 12), c, 64, (1, 1))) for c in (3, 8, 16, 32, 64, 128)]
    out += [Case("CONV_2D", f"3x3 s{s} {c}->32 16x16", conv((16, 16), c, 32, (3, 3), s))
            for s in (1, 2) for c in (1, 3, 16, 64)]  # fmt: skip
    out += [
        Case("CONV_2D", "10x4 s2 1->64 49x10 (KWS)", conv((49, 10), 1, 64, (10, 4), 2)),
        Case("CONV_2D", "1-D 1x7 s2 4->16 w1024 (seizure)", conv((1, 1024), 4, 16, (1, 7), 2, "VALID")),
        Case("CONV_2D", "1-D 1x5 s1 16->32 w254 (seizure)", conv((1, 254), 16, 32, (1, 5), 1, "VALID")),
        Case("CONV_2D", "1-D 1x3 s1 32->32 w125 (seizure)", conv((1, 125), 32, 32, (1, 3), 1, "VALID")),
    ]

    def dw(c, s):
        return lambda rng: h.depthwise_model(rng, 24, 24, c, (3, 3), (s, s), act="RELU")

    out += [Case("DEPTHWISE_CONV_2D", f"3x3 s{s} c{c} 24x24", dw(c, s)) for s in (1, 2) for c in (4, 8, 24, 32, 128)]

    def fc(depth, units):
        return lambda rng: h.fc_model(rng, 1, depth, units, act="RELU")

    sizes = ((64, 64), (128, 128), (640, 128), (4096, 16), (4096, 64))
    out += [Case("FULLY_CONNECTED", f"{d}->{u}", fc(d, u)) for d, u in sizes]

    def add(shape):
        def make(rng):
            model, a, _ = h.binary_model(rng, "ADD", shape, "RELU", const_b=True, ratio=0.6, zps=(-20, 5, -10),
                                         n=SAMPLES)  # fmt: skip
            return model, a

        return make

    out += [Case("ADD", f"{'x'.join(map(str, s[1:]))}", add(s)) for s in ([1, 8, 8, 8], [1, 12, 12, 32])]
    return out


def offered(kind: str, prepared: Prepared, features: tuple[str, ...]) -> list[str]:
    """The columns the layer can run on a core with ``features``: the portable kernel and each
    variant the op module's ``variant()`` would choose for a core with just dsp, or with mve."""
    g = prepared.graph
    (op,) = (o for o in g.ops if o.kind == kind)
    module = ops.MODULES[kind]
    out = ["reference"]
    if "dsp" in features and module.variant(op, g, ("dsp",)) == "dsp":
        out.append("dsp")
        if kind == "CONV_2D" and conv2d.variant_fallback(op, g, "dsp") == "dsp_noscratch":
            out.append("dsp_noscratch")
    if "mve" in features and module.variant(op, g, features) == "mve":
        out += ["mve_gather", "mve_direct"] if kind == "CONV_2D" else ["mve"]
    return out


def step_of(kind: str, prepared: Prepared) -> int:
    (step,) = (i for i, o in enumerate(prepared.graph.ops) if o.kind == kind)
    return step


def variant_build(h: SimpleNamespace, path: Path, board, kind: str, column: str) -> Prepared:
    """The model with its ``kind`` layer on ``column``'s kernel, whatever its scratch costs."""
    features = board_features(board)
    if column == "reference":
        return compiler.load(path, CompileOptions(features=features, kernels="reference"))
    auto = compiler.load(path, CompileOptions(features=features))
    if column == "mve_gather":  # variant mve, its columns gathered (mve_direct() says no)
        with mock.patch.object(conv2d, "mve_direct", lambda p: False):
            return h.forced_variant(auto, kind, "mve")
    return h.forced_variant(auto, kind, column)


def measure(prepared: Prepared, board, kind: str, x: np.ndarray) -> dict:
    """One build with a timer read around each layer, run over the inputs: the layer's instructions
    (worst input), its kernel, the outputs."""
    step = step_of(kind, prepared)
    with tempfile.TemporaryDirectory() as d:
        res = run_firmware(build_for(prepared, board, Path(d) / "build", profile=True), x, cycles=None)
    layer = res.report["profile"][step]
    out = {
        "kernel": prepared.kernels[step].entry or prepared.kernels[step].fn,
        "fn": prepared.kernels[step].fn,
        "scratch_bytes": prepared.kernels[step].scratch,
        "arena_bytes": prepared.plan.arena_bytes,
        "instructions": layer["instructions"],
        "output": res.output,
    }
    if "est_cycles" in res.report:
        out["est_cycles_invoke"] = res.report["est_cycles"]
        out["instructions_invoke"] = res.report["instructions_in_invoke"]
    return out


def plan_board(h: SimpleNamespace, board, wanted: list[Case], work: Path) -> list[dict]:
    """Per case: the model, its inputs, auto's picks and the builds to measure (prepared here, in
    one thread: the mve_gather build patches conv2d for its lowering)."""
    features = board_features(board)
    rows = []
    for case in wanted:
        rng = np.random.default_rng(zlib.crc32(case.name.encode()))
        model, x = case.make(rng)
        path = work / f"{board.name}-{zlib.crc32(case.name.encode()):08x}.tflite"
        path.write_bytes(model)
        auto = compiler.load(path, CompileOptions(features=features))
        step = step_of(case.op, auto)
        free = h.forced_variant(auto, case.op, None)  # the op module's choice, scratch or not
        y = auto.graph.t(auto.graph.ops[step].outputs[0])
        builds = {c: variant_build(h, path, board, case.op, c) for c in offered(case.op, auto, features)}
        rows.append({
            "op": case.op,
            "class": case.name,
            "macs": auto.kernels[step].macs,
            "elements": int(y.size),
            "x": x,
            "builds": builds,
            "auto_fn": free.kernels[step].fn,
            "auto_one_layer_fn": auto.kernels[step].fn,
            "auto_dropped": auto.graph.ops[step].attrs.get("variant_dropped"),
        })  # fmt: skip
    return rows


def finish(row: dict, results: dict[str, dict], resolution: float) -> dict:
    """The row's numbers: per variant instructions per MAC (per element for ADD), bit-exact against
    the portable kernel, auto's columns and whether auto's is the cheapest."""
    unit = row["elements"] if row["op"] == "ADD" else row["macs"]
    ref = results["reference"]["output"]
    variants = {}
    for col, r in results.items():
        variants[col] = {k: v for k, v in r.items() if k not in ("output", "fn")}
        variants[col]["per_unit"] = round(r["instructions"] / unit, 3)
        variants[col]["bitexact"] = bool(np.array_equal(r["output"], ref))
        if "est_cycles_invoke" in r:
            variants[col]["est_cycles_per_unit"] = round(r["est_cycles_invoke"] / unit, 3)
    by_fn = {r["fn"]: col for col, r in results.items()}
    auto, one = by_fn.get(row["auto_fn"]), by_fn.get(row["auto_one_layer_fn"])
    exact = {c: v for c, v in variants.items() if v["bitexact"]}
    best = min(exact, key=lambda c: exact[c]["instructions"])
    loss = variants[auto]["instructions"] / variants[best]["instructions"] - 1 if auto else None
    tie = auto is not None and variants[auto]["instructions"] - variants[best]["instructions"] <= 2 * resolution
    doc = {
        "op": row["op"],
        "class": row["class"],
        "unit": "element" if row["op"] == "ADD" else "MAC",
        "macs": row["macs"],
        "elements": row["elements"],
        "variants": variants,
        "bitexact": all(v["bitexact"] for v in variants.values()),
        "auto": auto,
        "auto_one_layer": one,
        "cheapest": best,
        "auto_is_cheapest": bool(tie),
        "auto_over_cheapest": None if loss is None else round(loss, 4),
    }
    if row["auto_dropped"]:
        doc["auto_one_layer_why"] = row["auto_dropped"]["why"]
    if all("est_cycles_per_unit" in v for v in exact.values()):
        doc["cheapest_by_est_cycles"] = min(exact, key=lambda c: exact[c]["est_cycles_per_unit"])
    return doc


def print_board(board, rows: list[dict]) -> None:
    print(f"\n{board.name} ({board.core}, features: {', '.join(board_features(board)) or 'none'}): "
          f"instructions per MAC (ADD: per element); * auto, ~ auto in this one-layer model (arena)")  # fmt: skip
    for kind in COLUMNS:
        mine = [r for r in rows if r["op"] == kind]
        cols = [c for c in COLUMNS[kind] if any(c in r["variants"] for r in mine)]
        if not mine:
            continue
        unit = "elements" if kind == "ADD" else "MACs"
        print(f"  {kind:<36} {unit:>10} " + " ".join(f"{c:>14}" for c in cols) + "  check      auto")
        for r in mine:
            cells = []
            for c in cols:
                v = r["variants"].get(c)
                mark = "*" if c == r["auto"] else ("~" if c == r["auto_one_layer"] else " ")
                cells.append(f"{v['per_unit']:>13.3f}{mark}" if v else f"{'-':>14}")
            verdict = "best" if r["auto_is_cheapest"] else f"+{100 * r['auto_over_cheapest']:.1f}% vs {r['cheapest']}"
            wrong = [c for c, v in r["variants"].items() if not v["bitexact"]]
            check = "DIFFERS:" + ",".join(wrong) if wrong else "bit-exact"
            count = r["elements"] if kind == "ADD" else r["macs"]
            print(f"  {r['class']:<36} {count:>10,} " + " ".join(cells) + f"  {check:<10} {verdict}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", default=",".join(BOARDS), help="comma-separated QEMU boards")
    ap.add_argument("--ops", default=",".join(OPS), help=f"comma-separated, of {', '.join(OPS)}")
    ap.add_argument("--out", type=Path, default=Path("out/bench_kernel_variants.json"))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="firmware builds and runs at once")
    args = ap.parse_args()
    kinds = {OPS.get(o.strip().lower(), o.strip().upper()) for o in args.ops.split(",")}
    if unknown := kinds - set(COLUMNS):
        ap.error(f"unknown --ops {', '.join(sorted(unknown))} (have {', '.join(OPS)})")
    h = helpers()
    wanted = [c for c in cases(h) if c.op in kinds]
    qemu_plugin.wanted(None)  # builds the cycle plugin once, before the threads
    doc: dict = {"samples": SAMPLES, "boards": {}}
    with tempfile.TemporaryDirectory() as work, ThreadPoolExecutor(args.jobs) as pool:
        for name in args.boards.split(","):
            board = boards.load(name)
            board.require_qemu()
            planned = plan_board(h, board, wanted, Path(work))
            futures = [
                {col: pool.submit(measure, p, board, row["op"], row["x"]) for col, p in row["builds"].items()}
                for row in planned
            ]  # fmt: skip
            rows = [
                finish(row, {c: f.result() for c, f in fut.items()}, board.instructions_per_tick)
                for row, fut in zip(planned, futures, strict=True)
            ]  # fmt: skip
            doc["boards"][name] = {"core": board.core, "features": list(board_features(board)), "rows": rows}
            print_board(board, rows)
    misses = [(b, r) for b, d in doc["boards"].items() for r in d["rows"] if not r["auto_is_cheapest"]]
    if misses:
        print("\nauto did not pick the cheapest measured variant:")
        for b, r in misses:
            print(f"  {b} {r['op']} {r['class']}: {r['auto']} {r['variants'][r['auto']]['per_unit']} per "
                  f"{r['unit']}, {r['cheapest']} {r['variants'][r['cheapest']]['per_unit']} "
                  f"(+{100 * r['auto_over_cheapest']:.1f}%)")  # fmt: skip
    fallbacks = [(b, r) for b, d in doc["boards"].items() for r in d["rows"] if r["auto_one_layer"] != r["auto"]]
    if fallbacks:
        print("\nin the one-layer model auto gave up its choice (its scratch would grow the arena):")
        for b, r in fallbacks:
            mine, one = r["variants"][r["auto"]], r["variants"][r["auto_one_layer"]]
            print(f"  {b} {r['op']} {r['class']}: {r['auto']} ({mine['scratch_bytes']:,} B scratch, arena "
                  f"{mine['arena_bytes']:,} B) -> {r['auto_one_layer']} (arena {one['arena_bytes']:,} B): "
                  f"{one['per_unit'] / mine['per_unit']:.2f}x the instructions")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
