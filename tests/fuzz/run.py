"""``python -m tests.fuzz --count N --seed S [--out DIR]`` (or ``tests/fuzz/run.py ...``): N mutants
of seed S through the compile path; prints the table by outcome and format and the accepted mutants
by mutation, and writes every failing mutant (traceback, hang, unclear error) to DIR with a .txt
saying what was changed and what happened, for reproduction (``edgeneuro compile DIR/<file> -o gen
--debug``; NIR mutants need ``--dt 1e-3``)"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a file (tests/fuzz/run.py): import this folder as the package "fuzz"
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "fuzz"

from .harness import FAILURES, OUTCOMES, Result, run_one  # noqa: E402
from .mutate import FORMAT_WEIGHTS, mutant  # noqa: E402


def run(count: int, seed: int = 0, start: int = 0, out: Path | None = None, timeout: float = 20.0,
        progress: Callable[[int, Result], None] | None = None,
        sanitize: bool | None = None) -> list[Result]:  # fmt: skip
    results = []
    with tempfile.TemporaryDirectory(prefix="edgeneuro-fuzz-") as d:
        for k in range(start, start + count):
            r = run_one(mutant(seed, k), Path(d), timeout, sanitize)
            results.append(r)
            if out is not None and r.outcome in FAILURES:
                save(r, out)
            if progress is not None:
                progress(k, r)
    return results


def save(r: Result, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    m = r.mutant
    (out / m.filename).write_bytes(m.data)
    (out / (m.filename + ".txt")).write_text(
        f"mutant {m.index} of seed {m.seed}: {m.fmt} {m.model}, {m.kind}: {m.recipe}\n"
        f"outcome: {r.outcome}: {r.detail}\n\n{r.trace}"
    )


def table(results: list[Result]) -> str:
    fmts = [f for f in FORMAT_WEIGHTS if any(r.mutant.fmt == f for r in results)]
    counts = collections.Counter((r.outcome, r.mutant.fmt) for r in results)
    head = ["outcome", *(f.lstrip(".").upper().replace("TFLITE", "TFLite").replace("NIR", "NIR") for f in fmts),
            "total"]  # fmt: skip
    rows = [head, ["---"] * len(head)]
    for o in OUTCOMES:
        cells = [counts[(o, f)] for f in fmts]
        rows.append([o, *map(str, cells), str(sum(cells))])
    rows.append(["all", *(str(sum(counts[(o, f)] for o in OUTCOMES)) for f in fmts), str(len(results))])
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def accepted_by_kind(results: list[Result]) -> str:
    c = collections.Counter((r.mutant.fmt, r.mutant.kind) for r in results if r.outcome == "accepted")
    total = collections.Counter((r.mutant.fmt, r.mutant.kind) for r in results)
    return "\n".join(f"  {fmt:8} {kind:16} {n:5} of {total[(fmt, kind)]}" for (fmt, kind), n in sorted(c.items()))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    p.add_argument("--count", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--start", type=int, default=0, help="first mutant index (resume or split a run)")
    p.add_argument("--out", type=Path, default=Path("out/fuzz"), help="folder for failing mutants")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds before a mutant counts as a hang")
    p.add_argument("--verbose", "-v", action="store_true", help="one line per mutant")
    p.add_argument(
        "--sanitize",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="check each accepted mutant on the host (runner.check_on_host: -Werror, ASan and UBSan, both "
        "layouts, one random sample against the reference); default: on when EDGENEURO_HOST_CHECKS=1",
    )
    a = p.parse_args(argv)
    t0 = time.perf_counter()

    def progress(k: int, r: Result) -> None:
        m = r.mutant
        if a.verbose or r.outcome in FAILURES:
            print(f"{k:6} {r.outcome:13} {m.fmt:7} {m.model:22} {m.kind:15} {m.recipe[:90]} :: {r.detail[:200]}",
                  flush=True)  # fmt: skip
        elif k % 500 == 499:
            print(f"  ... {k + 1 - a.start} mutants, {time.perf_counter() - t0:.0f} s", flush=True)

    results = run(a.count, a.seed, a.start, a.out, a.timeout, progress, a.sanitize)
    print(f"\n{len(results)} mutants of seed {a.seed} (from {a.start}) in {time.perf_counter() - t0:.0f} s\n")
    print(table(results))
    print("\naccepted, by mutation:\n" + accepted_by_kind(results))
    bad = [r for r in results if r.outcome in FAILURES]
    if bad:
        print(f"\n{len(bad)} failing mutants written to {a.out}/")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
