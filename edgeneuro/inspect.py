"""`edgeneuro inspect`: what a model costs on a board, layer by layer, before anything runs."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from edgeneuro import build, ops
from edgeneuro.boards import Board
from edgeneuro.compiler import Prepared, check_fits, compile_model
from edgeneuro.errors import BoardError, ToolError
from edgeneuro.files import provenance


def inspect_model(prepared: Prepared, board: Board) -> dict[str, Any]:
    """Layers (op, shapes, MACs, parameters, weight bytes), totals, and whether the model fits the
    board. Flash and RAM come from building the firmware when the cross compiler is there; a model
    whose generated code does not build is reported as such, not as a missing compiler."""
    try:
        check_fits(prepared, board)
        fits_error = None
    except BoardError as e:
        fits_error = str(e)
    sizes = None
    build_error = None
    if fits_error is None:
        with tempfile.TemporaryDirectory(prefix="edgeneuro-inspect-") as d:
            c = compile_model(prepared, board, Path(d) / "gen")
            try:
                sizes = build.elf_sizes(build.build_firmware(c.out_dir, board))
            except BoardError as e:
                fits_error = str(e)
            except ToolError as e:
                if not isinstance(e, build.MissingTool):
                    raise  # the generated code does not build: a bug, not a missing tool
                build_error = str(e)  # no cross compiler: plan figures only
    p = prepared
    layers = []
    for k, layer in zip(p.kernels, p.plan.layers, strict=True):
        params = _params(k, p.graph)
        layers.append({**layer, "params": params, "summary": k.summary})
        info = getattr(ops.MODULES.get(k.op.kind), "sparse_info", None)
        sparse = info(k, p.graph) if info else None
        if sparse is not None:
            layers[-1]["sparse"] = sparse
        if _int4(k, p.graph):  # TFLite INT4 weights, stored two a byte
            layers[-1]["weights_format"] = "int4"
    doc: dict[str, Any] = {
        "model": str(p.model or p.graph.source),
        **provenance(p.model),
        "board": board.to_json(),
        "layers": layers,
        "total_macs": p.plan.total_macs,
        "total_params": sum(layer["params"] for layer in layers),
        "weights_bytes": p.plan.weights_bytes,
        "arena_bytes": p.plan.arena_bytes,
        "arena_lower_bound_bytes": p.plan.lower_bound_bytes,
        "state_bytes": p.plan.state_bytes,
        "buffers": p.plan.to_json()["buffers"],  # each buffer's offset and lifetime: the report page's arena map
        "fits": fits_error is None,
        "fits_detail": fits_error or "fits",
    }
    if build_error is not None:
        doc["build_detail"] = f"plan figures only: {build_error}"
    if sizes is not None:
        doc.update(sizes.to_json())
        doc["flash_used_pct"] = round(100 * sizes.flash / board.flash_bytes, 2)
        doc["ram_used_pct"] = round(100 * sizes.ram / board.ram_bytes, 2)
    return doc


def _params(k, graph) -> int:
    """The layer's parameters: its portable kernel's constants but the requantization multipliers
    (a kernel variant lays the same parameters out its own way, e.g. padded or widened)."""
    if k.op.attrs.get("variant"):
        portable = dataclasses.replace(k.op, attrs={a: v for a, v in k.op.attrs.items() if a != "variant"})
        k = ops.lower(portable, graph)
    count = sum(int(a.size) for name, a in k.consts if name not in ("mult", "shift"))
    if _int4(k, graph):  # the portable int4 kernel's weights are bytes of two parameters
        count += graph.t(k.op.inputs[1]).size - int(dict(k.consts)["weights"].size)
    return count


def _int4(k, graph) -> bool:
    """Whether the layer's weights (input 1) are a TFLite INT4 tensor."""
    return len(k.op.inputs) > 1 and k.op.inputs[1] in graph.tensors and graph.t(k.op.inputs[1]).dtype == "int4"


def _choice(layer: dict[str, Any]) -> str:
    """A synapse's kernel choice: dense or event-driven, with its input's spike rate on calibration."""
    c = layer.get("kernel_choice")
    if c is None:
        return ""
    rate = c["input_spike_rate"]
    return c["kernel"] + (f", {100 * rate:.1f} % spikes" if rate is not None else "")


def _sparse(layer: dict[str, Any]) -> str:
    """A sparse layer's density and the bytes it saves against its dense form."""
    s = layer.get("sparse")
    if s is None:
        return ""
    saved = s["dense_weights_bytes"] - s["weights_bytes"]
    return f"{100 * s['kept']:.0f} % of words kept, {saved:,} B saved"


def render_text(doc: dict[str, Any]) -> str:
    rows = [("#", "op (index)", "kernel", "input -> output", "MACs", "params", "weights B")]
    for layer in doc["layers"]:
        shapes = " ".join("x".join(map(str, s)) for s in layer["input_shapes"])
        outs = " ".join("x".join(map(str, s)) for s in layer.get("output_shapes", [layer["output_shape"]]))
        rows.append(
            (
                str(layer["step"]),
                f"{layer['op']} ({layer['source_index']})",
                layer["kernel"].removeprefix("en_"),
                f"{shapes} -> {outs}",
                f"{layer['macs']:,}",
                f"{layer['params']:,}",
                f"{layer['weights_bytes']:,}",
            )
        )
    if any("sparse" in layer for layer in doc["layers"]):  # layers that store only non-zero blocks
        rows = [(*rows[0], "sparse"), *((*r, _sparse(lay)) for r, lay in zip(rows[1:], doc["layers"], strict=True))]
    if any("weights_format" in layer for layer in doc["layers"]):  # int4 weights, two a byte
        formats = [layer.get("weights_format", "") for layer in doc["layers"]]
        rows = [(*rows[0], "format"), *((*r, f) for r, f in zip(rows[1:], formats, strict=True))]
    if any("kernel_choice" in layer for layer in doc["layers"]):  # a spiking network's synapses
        rows = [(*rows[0], "synapse"), *((*r, _choice(lay)) for r, lay in zip(rows[1:], doc["layers"], strict=True))]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {0, 4, 5, 6}
    lines = ["  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             .rstrip() for r in rows]  # fmt: skip
    b = doc["board"]
    lines.insert(1, "-" * len(lines[0]))
    lines += [
        "",
        f"model    {doc['model']}",
        f"MACs     {doc['total_macs']:,}",
        f"params   {doc['total_params']:,}",
        f"weights  {doc['weights_bytes']:,} B (flash)",
        f"arena    {doc['arena_bytes']:,} B (RAM; lower bound {doc['arena_lower_bound_bytes']:,} B)",
    ]
    if "flash_bytes" in doc:
        lines += [
            f"flash    {doc['flash_bytes']:,} B of {b['flash_bytes']:,} ({doc['flash_used_pct']}%), "
            "firmware ELF with its run harness",
            f"RAM      {doc['ram_bytes']:,} B of {b['ram_bytes']:,} ({doc['ram_used_pct']}%), .data + .bss + stack",
        ]
    lines.append(f"board    {b['name']} ({b['core']}, {b['clock_hz'] / 1e6:g} MHz): "
                 + ("fits" if doc["fits"] else f"DOES NOT FIT: {doc['fits_detail']}"))  # fmt: skip
    return "\n".join(lines)
