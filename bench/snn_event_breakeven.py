"""Event-driven vs dense synapse kernels: instructions per time step on QEMU mps2-an386 as the input
spike rate grows, and the break-even rate per layer shape (linear interpolation between the
measured rates, the realised rates of the random inputs, where the event-driven build stops being
cheaper).

Each network is Input -> synapse (Affine, Conv1d or Conv2d) -> LIF -> Output, written with the ``nir``
package and driven by random spike trains (Bernoulli, one rate per run). The input counts as a spike
train because the calibration samples (the run's own inputs) are all 0 or 1; the same inputs run
through a ``--synapse-kernels dense`` and a ``--synapse-kernels event`` build. Counts are QEMU's
(-icount: instructions, not cycles), the mean over all time steps of all samples, for the whole
step (input quantization, synapse, LIF, output).

    .venv/bin/python bench/snn_event_breakeven.py [--out out/snn_event_breakeven.json] [--only conv2d]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import nir
import numpy as np

from edgeneuro import boards, compiler
from edgeneuro.options import CompileOptions
from edgeneuro.runner import run_on_board

RATES = (0.01, 0.02, 0.05, 0.10, 0.20, 0.30, 0.50, 0.75, 1.00)
DT = 1e-3


def lif(n: int) -> nir.LIF:
    tau = np.full(n, 20 * DT)
    return nir.LIF(tau=tau, r=tau / DT, v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n))


def affine(rng: np.random.Generator, n_in: int, n_out: int) -> nir.NIRGraph:
    w = rng.normal(0, 1 / np.sqrt(n_in), (n_out, n_in))
    nodes = {"in": nir.Input(np.array([n_in])), "syn": nir.Affine(w, rng.normal(0, 0.05, n_out)), "lif": lif(n_out),
             "out": nir.Output(np.array([n_out]))}  # fmt: skip
    return nir.NIRGraph(nodes=nodes, edges=[("in", "syn"), ("syn", "lif"), ("lif", "out")], type_check=False)


def conv1d(rng: np.random.Generator, c_in: int, n: int, c_out: int, k: int) -> nir.NIRGraph:
    w = rng.normal(0, 1 / np.sqrt(c_in * k), (c_out, c_in, k))
    nodes = {"in": nir.Input(np.array([c_in, n])), "syn": nir.Conv1d(n, w, 1, k // 2, 1, 1, rng.normal(0, 0.05, c_out)),
             "lif": lif(c_out * n), "out": nir.Output(np.array([c_out, n]))}  # fmt: skip
    return nir.NIRGraph(nodes=nodes, edges=[("in", "syn"), ("syn", "lif"), ("lif", "out")], type_check=False)


def conv2d(rng: np.random.Generator, c_in: int, h: int, w: int, c_out: int, k: int) -> nir.NIRGraph:
    wt = rng.normal(0, 1 / np.sqrt(c_in * k * k), (c_out, c_in, k, k))
    nodes = {"in": nir.Input(np.array([c_in, h, w])),
             "syn": nir.Conv2d((h, w), wt, 1, k // 2, 1, 1, rng.normal(0, 0.05, c_out)), "lif": lif(c_out * h * w),
             "out": nir.Output(np.array([c_out, h, w]))}  # fmt: skip
    return nir.NIRGraph(nodes=nodes, edges=[("in", "syn"), ("syn", "lif"), ("lif", "out")], type_check=False)


SHAPES = {  # name: (graph builder, input shape)
    "affine 64->128": (lambda r: affine(r, 64, 128), (64,)),
    "affine 256->256": (lambda r: affine(r, 256, 256), (256,)),
    "conv1d [8,64]->[16,64] k5": (lambda r: conv1d(r, 8, 64, 16, 5), (8, 64)),
    "conv1d [16,32]->[32,32] k3": (lambda r: conv1d(r, 16, 32, 32, 3), (16, 32)),
    "conv2d [2,16,16]->[8,16,16] k3": (lambda r: conv2d(r, 2, 16, 16, 8, 3), (2, 16, 16)),
    "conv2d [8,8,8]->[16,8,8] k3": (lambda r: conv2d(r, 8, 8, 8, 16, 3), (8, 8, 8)),
}


def break_even(rates, dense, event) -> float | None:
    """The rate where event - dense crosses zero (linear between measured rates); None when the
    event-driven build is cheaper at every measured rate, 0.0 when it is never cheaper."""
    diff = [e - d for d, e in zip(dense, event, strict=True)]
    if diff[0] >= 0:
        return 0.0
    for i in range(1, len(diff)):
        if diff[i - 1] < 0 <= diff[i]:
            return rates[i - 1] + (rates[i] - rates[i - 1]) * -diff[i - 1] / (diff[i] - diff[i - 1])
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("out/snn_event_breakeven.json"))
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20, help="time steps per sample")
    ap.add_argument("--only", default="", help="measure only the shapes whose name contains this (e.g. conv2d)")
    args = ap.parse_args()
    board = boards.load("mps2-an386")
    doc: dict = {"board": board.name, "rates": list(RATES), "samples": args.samples, "time_steps": args.steps,
                 "measure": "instructions per time step, mean over all steps (QEMU -icount)", "shapes": {}}  # fmt: skip
    for name, (build, shape) in SHAPES.items():
        if args.only not in name:
            continue
        rng = np.random.default_rng(0)
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "net.nir"
            nir.write(path, build(rng))
            rows: dict[str, list] = {"dense": [], "event": [], "measured_rate": []}
            for rate in RATES:
                x = (rng.random((args.samples, args.steps, *shape)) < rate).astype(np.float32)
                np.save(Path(d) / "x.npy", x)
                for kernels in ("dense", "event"):
                    opts = CompileOptions(dt=DT, calibration=x, synapse_kernels=kernels)
                    res = run_on_board(compiler.load(path, opts), board, Path(d) / "x.npy", Path(d) / kernels)
                    rows[kernels].append(round(res.report["instructions_per_step_mean"]))
                rows["measured_rate"].append(round(float(x.mean()), 4))
                print(f"{name:28} {100 * rate:5.0f} %  dense {rows['dense'][-1]:>9,}  event {rows['event'][-1]:>9,}",
                      flush=True)  # fmt: skip
        be = break_even(rows["measured_rate"], rows["dense"], rows["event"])
        doc["shapes"][name] = {**rows, "break_even": None if be is None else round(be, 4)}
    w = max(map(len, doc["shapes"])) + 7
    print(f"\n{'instructions per step':{w}}" + "".join(f"{100 * r:>9.0f} %" for r in RATES) + "   break-even")
    for name, row in doc["shapes"].items():
        be = row["break_even"]
        print(f"{name + ' dense':{w}}" + "".join(f"{v:>11,}" for v in row["dense"]))
        print(f"{' event':>{w}}" + "".join(f"{v:>11,}" for v in row["event"])
              + ("   > 100 %" if be is None else f"   {100 * be:.0f} %"))  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
