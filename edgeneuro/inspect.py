"""`edgeneuro inspect`: what a model costs on a board, layer by layer, before anything runs."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from edgeneuro import build, frontends
from edgeneuro.boards import Board
from edgeneuro.compiler import compile_model
from edgeneuro.errors import BoardError, ToolError


def inspect_model(
    model: Path, board: Board, shapes: dict[str, tuple[int, ...]] | None = None, load_options: dict | None = None
) -> dict[str, Any]:
    """Layers (op, shapes, MACs, parameters, weight bytes), totals, and whether the model fits the
    board. Flash and RAM come from building the firmware when the cross compiler is there.
    ``load_options`` go to the front end (a NIR graph's ``dt`` and ``calibration``)."""
    graph = frontends.load(model, shapes, **(load_options or {}))
    with tempfile.TemporaryDirectory(prefix="edgeneuro-inspect-") as d:
        fits_error = None
        try:
            c = compile_model(model, board, Path(d) / "gen", graph)
        except BoardError as e:
            fits_error = str(e)
            c = compile_model(model, _unbounded(board), Path(d) / "gen", graph)
        sizes = None
        if fits_error is None:
            try:
                sizes = build.elf_sizes(build.build_firmware(c.out_dir, board))
            except BoardError as e:
                fits_error = str(e)
            except ToolError:
                sizes = None  # no cross compiler: plan figures only
    layers = []
    for k, layer in zip(c.kernels, c.plan.layers, strict=True):
        params = sum(int(a.size) for name, a in k.consts if name not in ("mult", "shift"))  # not requantization
        layers.append({**layer, "params": params, "summary": k.summary})
    doc: dict[str, Any] = {
        "model": str(model),
        "board": board.to_json(),
        "layers": layers,
        "total_macs": c.plan.total_macs,
        "total_params": sum(layer["params"] for layer in layers),
        "weights_bytes": c.plan.weights_bytes,
        "arena_bytes": c.plan.arena_bytes,
        "arena_lower_bound_bytes": c.plan.lower_bound_bytes,
        "fits": fits_error is None,
        "fits_detail": fits_error or "fits",
    }
    if sizes is not None:
        doc.update(sizes.to_json())
        doc["flash_used_pct"] = round(100 * sizes.flash / board.flash_bytes, 2)
        doc["ram_used_pct"] = round(100 * sizes.ram / board.ram_bytes, 2)
    return doc


def _unbounded(board: Board) -> Board:
    """The same board with room for anything, to describe a model that does not fit."""
    import dataclasses

    return dataclasses.replace(board, flash_bytes=1 << 40, ram_bytes=1 << 40)


def _choice(layer: dict[str, Any]) -> str:
    """A synapse's kernel choice: dense or event-driven, with its input's spike rate on calibration."""
    c = layer.get("kernel_choice")
    if c is None:
        return ""
    rate = c["input_spike_rate"]
    return c["kernel"] + (f", {100 * rate:.1f} % spikes" if rate is not None else "")


def render_text(doc: dict[str, Any]) -> str:
    rows = [("#", "op (index)", "kernel", "input -> output", "MACs", "params", "weights B")]
    for layer in doc["layers"]:
        shapes = " ".join("x".join(map(str, s)) for s in layer["input_shapes"])
        rows.append(
            (
                str(layer["step"]),
                f"{layer['op']} ({layer['source_index']})",
                layer["kernel"].removeprefix("en_"),
                f"{shapes} -> {'x'.join(map(str, layer['output_shape']))}",
                f"{layer['macs']:,}",
                f"{layer['params']:,}",
                f"{layer['weights_bytes']:,}",
            )
        )
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
