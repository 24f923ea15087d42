"""Graph + kernels + plan → C sources, rendered with the Jinja templates in templates/."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from edgeneuro import __version__, ops
from edgeneuro.boards import Board
from edgeneuro.codegen import cnames
from edgeneuro.codegen.cnames import Code
from edgeneuro.ir import Graph
from edgeneuro.ir.graph import C_TYPES
from edgeneuro.ops import Kernel
from edgeneuro.plan import Plan, const_copies, const_operands, scratch_buffer, state_buffer
from edgeneuro.resources import resource_dir

KERNEL_SOURCES = "kernels"


def env() -> jinja2.Environment:
    """The one template environment of every generated file (templates/): names from model files
    print only through the filters of ``cnames``, and ``cnames.checked`` refuses any other text that
    could end a comment or a string literal or start a line."""
    e = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resource_dir("templates"))),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        finalize=cnames.checked,
    )
    e.filters.update(c_comment=cnames.c_comment, c_string=cnames.c_string)
    return e


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
    return Code(",\n".join("    " + line for line in lines) if lines else "    0")


def _macs_text(n: int) -> str:
    return f"{n / 1e6:.2f} M" if n >= 1_000_000 else f"{n:,}"


class _Buffers:
    """The named pointers of model.c: one per arena or state buffer a kernel call passes, named
    after its tensor (``cnames.c_identifier``), so the calls read ``t_conv1_out``, not an offset.
    Each points through ``EN_ARENA(offset, buffer)`` or ``EN_STATE(offset, slot)``: into the one
    arena (and state block) of the plan, or with -DEN_DEBUG_LAYOUT into an array of its own."""

    def __init__(self, graph: Graph, plan: Plan) -> None:
        self.graph, self.plan = graph, plan
        self.idents = cnames.unique_identifiers([*plan.offsets, *plan.state_offsets])
        self.used: dict[str, dict[str, Any]] = {}
        self.buffer_ids = buffer_ids(plan)
        self.state_slots = {name: i for i, name in enumerate(plan.state_offsets)}

    def ref(self, name: str, ctype: str = "int8_t") -> str:
        if name not in self.used:
            if name in self.plan.state_offsets:
                where = f"EN_STATE({self.plan.state_offsets[name]}, {self.state_slots[name]})"
            else:
                where = f"EN_ARENA({self.plan.offsets[name]}, {self.buffer_ids[name]})"
            t = self.graph.tensors.get(name)
            self.used[name] = {
                "ident": self.idents[name],
                "ctype": ctype,
                "init": where if ctype == "int8_t" else f"({ctype} *){where}",
                "name": name,
                "what": f"{t.dtype} {list(t.shape)}" if t is not None else "working memory",
            }
        return self.idents[name]


def buffer_ids(plan: Plan) -> dict[str, int]:
    """Each arena tensor (and scratch buffer) -> the id of its buffer in ``plan``: the tensors the
    plan puts in one buffer on purpose (a view and its input, an output written in place over an
    input) share it, and the debug layout gives each buffer an array of its own."""
    return {name: b.id for b in plan.buffers for name in b.tensors}


def _debug_layout(graph: Graph, kernels: list[Kernel], plan: Plan) -> dict[str, list[dict[str, Any]]]:
    """The arrays of the host debug layout (model.c with -DEN_DEBUG_LAYOUT): one per plan buffer,
    one per state slot, each of its tensor's bytes, without the alignment padding of the arena
    (at least 1 byte: C has no empty arrays)."""
    state_bytes = {n: graph.t(n).nbytes for n in graph.state}
    state_bytes.update({state_buffer(s): k.state for s, k in enumerate(kernels) if k.state})
    return {
        "debug_buffers": [
            {"id": b.id, "size": max(1, b.nbytes), "nbytes": b.nbytes, "offset": b.offset, "tensors": b.tensors}
            for b in plan.buffers
        ],
        "debug_state": [
            {"slot": i, "name": name, "offset": o, "size": max(1, state_bytes[name])}
            for i, (name, o) in enumerate(plan.state_offsets.items())
        ],
    }


def _operand(name: str, graph: Graph, bufs: _Buffers, const_syms: dict[str, str]) -> str:
    """How a kernel call names a tensor: a constant's symbol, or its buffer's pointer."""
    t = graph.t(name)
    if t.is_const:
        return const_syms[name]
    return bufs.ref(name, C_TYPES[t.dtype])


def _layer(
    step: int, k: Kernel, graph: Graph, bufs: _Buffers, const_syms: dict[str, str], copies: dict
) -> dict[str, Any]:
    sym = f"L{step}"
    x, y = graph.t(k.inputs[0]), graph.t(k.outputs[0])
    consts = [  # a constant equal to an earlier layer's is that layer's array (plan.const_copies)
        {"name": n, "ctype": C_TYPES[str(a.dtype)], "size": max(1, a.size), "body": _c_array_body(a)}
        for n, a in k.consts
        if (step, n) not in copies
    ]
    args = []
    if k.fn:  # a view makes no call
        args = [_operand(n, graph, bufs, const_syms) for n in k.inputs]
        args += ["L{}_{}".format(*copies.get((step, n), (step, n))) for n, _ in k.consts]
        args += [_operand(n, graph, bufs, const_syms) for n in k.outputs]
        if k.scratch:
            args.append(bufs.ref(scratch_buffer(step)))
        if k.state:
            args.append(bufs.ref(state_buffer(step)))
    return {
        "step": step,
        "kind": k.op.kind,
        "index": k.op.index,
        "fn": k.fn,
        "entry": k.entry or k.fn,
        "sym": sym,
        "params": {name: c_literal(v) for name, v in k.params.items()},
        "consts": consts,
        "args": args,
        "in_shape": list(x.shape),
        "out_shape": list(y.shape) if len(k.outputs) == 1 else [list(graph.t(n).shape) for n in k.outputs],
        "in_name": x.name,
        "out_name": y.name,
        "offset": bufs.plan.offsets.get(y.name, -1),
        "summary": k.summary,
        "macs": k.macs,
        "macs_text": _macs_text(k.macs),
    }


def render(graph: Graph, kernels: list[Kernel], plan: Plan, board: Board, out: Path, sha256: str) -> list[Path]:
    """Write model.c, model.h, memory.ld and the kernel sources into ``out`` (which must exist)."""
    const_syms = {n: f"T{i}" for i, n in enumerate(const_operands(graph, kernels))}
    copies = const_copies(kernels)
    bufs = _Buffers(graph, plan)
    ctx = {
        "name": graph.name,
        "version": __version__,
        "source_name": Path(graph.source).name,
        "sha256": sha256,
        "plan": plan,
        "offsets": plan.offsets,
        "buffer_ids": bufs.buffer_ids,
        **_debug_layout(graph, kernels, plan),
        "inputs": [graph.t(n) for n in graph.inputs],
        "outputs": [graph.t(n) for n in graph.outputs],
        "layers": [_layer(s, k, graph, bufs, const_syms, copies) for s, k in enumerate(kernels)],
        "buffers": list(bufs.used.values()),
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
        path.write_text(env().get_template(template).render(**ctx))
        written.append(path)
    # Only the kernels this model calls, with the shared headers.
    kdir = out / KERNEL_SOURCES
    kdir.mkdir()
    src = resource_dir("firmware") / "kernels"
    shared = sorted(p.name for p in src.glob("en_*.h"))  # the fixed-point and SIMD helpers
    # a variant's header includes its operator's (for the parameter struct), without its code
    params_headers = {f"{ops.MODULES[k.op.kind].C_FILE}.h" for k in kernels if k.c_file}
    for name in [*shared, *sorted(params_headers - set(ctx["headers"])), *ctx["headers"],
                 *(h[:-2] + ".c" for h in ctx["headers"])]:  # fmt: skip
        shutil.copy(src / name, kdir / name)
    written += sorted(kdir.iterdir())
    return written


def render_board_h(board: Board) -> str:
    """board.h for the firmware harness: the console UART's driver and address, the clocks."""
    u = board.uart
    return (
        env()
        .get_template("board.h.j2")
        .render(
            board=board, uart=u, uart_macro=u.kind.upper().replace("-", "_"), uart_clock_hz=u.clock_hz or board.clock_hz
        )
    )


def render_stream_info(out: Path, in_bytes: int, out_bytes: int, model_id: bytes, model_name: str) -> Path:
    """stream_info.h for firmware/stream.c: the frame sizes and the model's id (``out``/stream_info.h)."""
    path = Path(out) / "stream_info.h"
    text = (
        env()
        .get_template("stream_info.h.j2")
        .render(
            in_bytes=in_bytes,
            out_bytes=out_bytes,
            model_id_bytes=[f"0x{b:02X}u" for b in model_id],
            model_name=model_name,
        )
    )
    path.write_text(text)
    return path
