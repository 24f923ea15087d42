"""Graph + kernels + plan → C sources, rendered with the Jinja templates in templates/."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from edgeneuro import __version__, ops
from edgeneuro.boards import Board
from edgeneuro.ir import Graph
from edgeneuro.ir.graph import C_TYPES
from edgeneuro.ops import Kernel
from edgeneuro.plan import Plan, const_operands, scratch_buffer, state_buffer
from edgeneuro.resources import resource_dir

KERNEL_SOURCES = "kernels"


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resource_dir("templates"))),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def c_literal(v) -> str:
    """A C literal for a parameter or array element; floats as exact hexadecimal float32 literals."""
    if isinstance(v, (float, np.floating)):
        f = float(np.float32(v))
        if f == float(np.finfo(np.float32).max):
            return "FLT_MAX"
        if f == -float(np.finfo(np.float32).max):
            return "-FLT_MAX"
        return f"{f.hex()}f"
    v = int(v)
    return "INT32_MIN" if v == -(2**31) else str(v)


def _c_array_body(a: np.ndarray, per_line: int = 24) -> str:
    flat = a.reshape(-1)
    vals = [c_literal(v) for v in flat.tolist()]
    lines = [", ".join(vals[i : i + per_line]) for i in range(0, len(vals), per_line)]
    return ",\n".join("    " + line for line in lines) if lines else "    0"


def _macs_text(n: int) -> str:
    return f"{n / 1e6:.2f} M" if n >= 1_000_000 else f"{n:,}"


def _operand(name: str, graph: Graph, plan: Plan, const_syms: dict[str, str]) -> str:
    """How a kernel call names a tensor: a constant's symbol, or its place in the arena (cast to
    the tensor's C type; arena offsets are 8-byte aligned)."""
    t = graph.t(name)
    if t.is_const:
        return const_syms[name]
    where = f"&en_state[{plan.state_offsets[name]}]" if name in plan.state_offsets else f"&arena[{plan.offsets[name]}]"
    return where if t.dtype == "int8" else f"({C_TYPES[t.dtype]} *){where}"


def _layer(step: int, k: Kernel, graph: Graph, plan: Plan, const_syms: dict[str, str]) -> dict[str, Any]:
    sym = f"L{step}"
    x, y = graph.t(k.inputs[0]), graph.t(k.outputs[0])
    consts = [
        {"name": n, "ctype": C_TYPES[str(a.dtype)], "size": max(1, a.size), "body": _c_array_body(a)}
        for n, a in k.consts
    ]
    args = [_operand(n, graph, plan, const_syms) for n in k.inputs]
    args += [f"{sym}_{n}" for n, _ in k.consts]
    args += [_operand(n, graph, plan, const_syms) for n in k.outputs]
    if k.scratch:
        args.append(f"&arena[{plan.offsets[scratch_buffer(step)]}]")
    if k.state:
        args.append(f"&en_state[{plan.state_offsets[state_buffer(step)]}]")
    return {
        "step": step,
        "kind": k.op.kind,
        "index": k.op.index,
        "fn": k.fn,
        "sym": sym,
        "params": {name: c_literal(v) for name, v in k.params.items()},
        "consts": consts,
        "args": args,
        "in_shape": list(x.shape),
        "out_shape": list(y.shape),
        "in_name": x.name,
        "out_name": y.name,
        "offset": plan.offsets.get(y.name, -1),
        "summary": k.summary,
        "macs": k.macs,
        "macs_text": _macs_text(k.macs),
    }


def render(graph: Graph, kernels: list[Kernel], plan: Plan, board: Board, out: Path, sha256: str) -> list[Path]:
    """Write model.c, model.h, memory.ld and the kernel sources into ``out`` (which must exist)."""
    env = _env()
    const_syms = {n: f"T{i}" for i, n in enumerate(const_operands(graph, kernels))}
    ctx = {
        "name": graph.name,
        "version": __version__,
        "source_name": Path(graph.source).name,
        "sha256": sha256,
        "plan": plan,
        "offsets": plan.offsets,
        "inputs": [graph.t(n) for n in graph.inputs],
        "outputs": [graph.t(n) for n in graph.outputs],
        "layers": [_layer(s, k, graph, plan, const_syms) for s, k in enumerate(kernels)],
        "const_tensors": [
            {
                "sym": sym,
                "name": n,
                "ctype": C_TYPES[graph.t(n).dtype],
                "size": max(1, graph.t(n).size),
                "shape": list(graph.t(n).shape),
                "body": _c_array_body(graph.t(n).data),
            }
            for n, sym in const_syms.items()
        ],  # fmt: skip
        "headers": sorted({h for k in kernels if (h := ops.c_header(k))}),
        "board": board,
        "temporal": graph.temporal,
    }
    written = []
    for template, name in (("model.h.j2", "model.h"), ("model.c.j2", "model.c"), ("memory.ld.j2", "memory.ld")):
        path = out / name
        path.write_text(env.get_template(template).render(**ctx))
        written.append(path)
    # Only the kernels this model calls, with the shared fixed-point header.
    kdir = out / KERNEL_SOURCES
    kdir.mkdir()
    src = resource_dir("firmware") / "kernels"
    for name in ["en_fixedpoint.h", *ctx["headers"], *(h[:-2] + ".c" for h in ctx["headers"])]:
        shutil.copy(src / name, kdir / name)
    written += sorted(kdir.iterdir())
    return written
