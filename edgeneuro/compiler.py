"""The compile stage: model file → IR → kernels → memory plan → C sources in an output folder."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edgeneuro import codegen, frontends, ops
from edgeneuro.boards import Board
from edgeneuro.errors import BoardError, InputError, ModelError
from edgeneuro.ir import Graph
from edgeneuro.ops import Kernel
from edgeneuro.passes.fold import fold_constants
from edgeneuro.plan import Plan, plan_memory

PLAN_FILE = "plan.json"
IO_DTYPES = ("int8", "int16", "float32")  # float32 I/O reaches int8 kernels through QUANTIZE / DEQUANTIZE


@dataclass(frozen=True)
class Compiled:
    graph: Graph
    kernels: list[Kernel]
    plan: Plan
    board: Board
    out_dir: Path


def prepare(graph: Graph) -> tuple[Graph, list[Kernel]]:
    """The graph after the passes (constant folding) and its ops lowered to kernels; the first
    unsupported op raises naming its index. Everything that runs the model starts here."""
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
    graph = fold_constants(graph)
    return graph, [ops.lower(op, graph) for op in graph.ops]


def check_fits(graph: Graph, plan: Plan, board: Board) -> None:
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


def compile_model(model: Path, board: Board, out_dir: Path, graph: Graph | None = None) -> Compiled:
    """Compile ``model`` (already loaded as ``graph``, if given) for ``board`` into ``out_dir``.
    The folder appears complete or not at all: sources are written to a temporary sibling and
    renamed into place at the end."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / PLAN_FILE).exists():
        raise InputError(f"{out_dir}: exists and is not an edgeneuro output folder; choose an empty or new folder")
    graph, kernels = prepare(graph or frontends.load(model))
    plan = plan_memory(graph, kernels)
    check_fits(graph, plan, board)
    sha = hashlib.sha256(Path(model).read_bytes()).hexdigest()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        codegen.render(graph, kernels, plan, board, tmp, sha)
        doc = {"model": str(model), "sha256": sha, "board": board.name, **plan.to_json()}
        (tmp / PLAN_FILE).write_text(json.dumps(doc, indent=2) + "\n")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return Compiled(graph=graph, kernels=kernels, plan=plan, board=board, out_dir=out_dir)
