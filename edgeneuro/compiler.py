"""The compile pipeline: model file -> IR (front end) -> passes -> kernels -> memory plan, once,
as one ``Prepared`` model that every command reads; ``compile_model`` renders it as C sources in
an output folder for a board."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeneuro import codegen, frontends, ops, reference
from edgeneuro.boards import Board
from edgeneuro.errors import BoardError, EdgeNeuroError, InputError, ModelError
from edgeneuro.ir import Graph, verify
from edgeneuro.ops import Kernel
from edgeneuro.options import CompileOptions, board_features
from edgeneuro.passes import PIPELINE
from edgeneuro.plan import Plan, plan_memory
from edgeneuro.targets import host

PLAN_FILE = "plan.json"
# float32 I/O reaches int8 kernels through QUANTIZE / DEQUANTIZE; int32 and bool: ARG_MAX, comparisons
C_NUMPY = {"bool": "bool", "int4": "int8"}  # IR dtypes numpy spells otherwise
IO_DTYPES = ("int8", "int16", "float32", "int32", "bool")


@dataclass(frozen=True)
class PassRun:
    """What one pass of the pipeline did to the graph."""

    name: str
    ran: bool
    ops_before: int
    ops_after: int
    doc: str

    def to_json(self) -> dict[str, Any]:
        return {"pass": self.name, "ran": self.ran, "ops_before": self.ops_before, "ops_after": self.ops_after,
                "does": self.doc}  # fmt: skip


@dataclass(frozen=True)
class Prepared:
    """A model after the pipeline: the graph the kernels were lowered from, the kernels, the
    memory plan, and how it was made (the options and the passes). Everything that runs, measures
    or renders a model reads this; nothing loads or plans the same model again."""

    graph: Graph
    kernels: tuple[Kernel, ...]
    plan: Plan
    options: CompileOptions
    passes: tuple[PassRun, ...]
    model: Path | None = None  # the model file, when it came from one
    sha256: str = ""  # of the model file

    @property
    def temporal(self) -> bool:
        return self.graph.temporal


@dataclass(frozen=True)
class Compiled:
    """A prepared model rendered as C for a board into ``out_dir``."""

    prepared: Prepared
    board: Board
    out_dir: Path
    host_check: Any = None  # runner.HostCheck when compile_model checked the C on the host

    @property
    def graph(self) -> Graph:
        return self.prepared.graph

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        return self.prepared.kernels

    @property
    def plan(self) -> Plan:
        return self.prepared.plan


def _check_io(graph: Graph) -> None:
    if not graph.ops:
        raise ModelError(f"{graph.source}: the model has no operators")
    for role, names in (("input", graph.inputs), ("output", graph.outputs)):
        for name in names:
            t = graph.t(name)
            if t.dtype not in IO_DTYPES:
                raise ModelError(
                    f"{graph.source}: model {role} '{name}' is {t.dtype}; edgeneuro takes {', '.join(IO_DTYPES)} "
                    "inputs and outputs (convert with inference_input_type=tf.int8, inference_output_type=tf.int8)"
                )


def prepare(graph: Graph, options: CompileOptions | None = None, model: Path | None = None) -> Prepared:
    """``graph`` (as a front end read it) through the passes of ``PIPELINE`` in order, the IR
    checked after each, its ops lowered to kernels (the first unsupported op raises naming its
    index) and its memory planned."""
    options = options or CompileOptions()
    verify(graph, "the front end")
    _check_io(graph)
    runs = []
    for p in PIPELINE:
        before = len(graph.ops)
        ran = p.applies(graph, options)
        if ran:
            graph = p.run(graph, options)
            verify(graph, f"pass {p.name}")
        runs.append(PassRun(p.name, ran, before, len(graph.ops), p.doc))
    _check_io(graph)
    kernels = tuple(ops.lower(op, graph) for op in graph.ops)
    check_output_sizes(graph, kernels)
    plan = plan_memory(graph, list(kernels))
    sha = hashlib.sha256(Path(model).read_bytes()).hexdigest() if model is not None else ""
    return Prepared(graph, kernels, plan, options, tuple(runs), Path(model) if model is not None else None, sha)


# activation values summed over all tensors: twice the RAM of the largest board's (4 MiB, mps2); only
# mps2-an500's 16 MiB PSRAM could hold more, and such a model is not checked here
SHAPE_CHECK_VALUES = 1 << 23
SHAPE_CHECK_MACS = 1 << 28  # 36x the MLPerf Tiny VWW model (7.5 M), which takes 45 ms


def check_output_sizes(graph: Graph, kernels: tuple[Kernel, ...]) -> None:
    """Each operator's declared outputs against what its shape rule computes: the numpy reference
    kernels run once on zeros of the declared input shapes (tens of milliseconds for the MLPerf Tiny
    models), and an output whose declared size differs from the computed one is refused. Without
    this a SOFTMAX of 12 values declared [1, 15] would hand back 3 stale arena bytes, and one
    declared smaller would write past its slot. Where a reference kernel cannot run on zeros the
    check stops there (the lowering's own checks still hold). A graph too large for any board (its
    activations beyond ``SHAPE_CHECK_VALUES``, or ``SHAPE_CHECK_MACS`` multiply-accumulates) is not
    run: the reference would take minutes, and check_fits refuses it for nearly every board."""
    activations = sum(t.size for n, t in graph.tensors.items() if not t.is_const)
    if activations > SHAPE_CHECK_VALUES or sum(k.macs for k in kernels) > SHAPE_CHECK_MACS:
        return
    zeros = [
        np.zeros(graph.t(n).shape, np.dtype(C_NUMPY.get(graph.t(n).dtype, graph.t(n).dtype))) for n in graph.inputs
    ]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            reference.run(graph, kernels, zeros)  # refuses an output of the wrong size, naming it
        except EdgeNeuroError:
            raise
        except Exception:  # a reference that cannot run on zeros: nothing more to learn here
            return


def load(model: str | Path, options: CompileOptions | None = None) -> Prepared:
    """Read ``model`` with its front end and prepare it: the one way from a model file to a
    ``Prepared`` model."""
    options = options or CompileOptions()
    return prepare(frontends.load(model, options.shape_map, options.precision), options, Path(model))


def check_fits(prepared: Prepared, board: Board) -> None:
    graph, plan = prepared.graph, prepared.plan
    missing = set(prepared.options.features) - set(board_features(board))
    if missing:
        raise BoardError(f"{graph.source}: prepared with kernels for {', '.join(sorted(missing))}, which "
                         f"{board.name} ({board.core}) lacks; prepare it for this board")  # fmt: skip
    if plan.weights_bytes > board.flash_bytes:
        raise BoardError(
            f"{graph.source}: weights need {plan.weights_bytes:,} B but {board.name} has "
            f"{board.flash_bytes:,} B of flash"
        )
    need = plan.arena_bytes + plan.state_bytes + board.stack_bytes
    if need > board.ram_bytes:
        state = f" + {plan.state_bytes:,} B state" if plan.state_bytes else ""
        raise BoardError(
            f"{graph.source}: the arena needs {plan.arena_bytes:,} B{state} (+ {board.stack_bytes:,} B stack) but "
            f"{board.name} has {board.ram_bytes:,} B of RAM"
        )


def compile_model(prepared: Prepared, board: Board, out_dir: Path, host_check: bool | None = None) -> Compiled:
    """Render ``prepared`` for ``board`` into ``out_dir`` (refused first if it does not fit). The
    folder appears complete or not at all: sources are written to a temporary sibling and renamed
    into place at the end. ``host_check`` (None: ``host.checks_wanted()``, EDGENEURO_HOST_CHECKS=1,
    which the tests set) then builds and runs the C on this machine under the sanitizers and
    against the reference (``runner.check_on_host``), so every model compiled is checked so."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / PLAN_FILE).exists():
        raise InputError(f"{out_dir}: exists and is not an edgeneuro output folder; choose an empty or new folder")
    check_fits(prepared, board)
    graph, plan = prepared.graph, prepared.plan
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        codegen.render(graph, list(prepared.kernels), plan, board, tmp, prepared.sha256)
        doc = {"model": str(prepared.model or graph.source), "sha256": prepared.sha256, "board": board.name,
               "options": prepared.options.to_json(), "passes": [p.to_json() for p in prepared.passes],
               **plan.to_json()}  # fmt: skip
        (tmp / PLAN_FILE).write_text(json.dumps(doc, indent=2) + "\n")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    compiled = Compiled(prepared=prepared, board=board, out_dir=out_dir)
    if host.checks_wanted() if host_check is None else host_check:
        from edgeneuro.runner import check_on_host

        compiled = dataclasses.replace(compiled, host_check=check_on_host(compiled))
    return compiled
