"""Memory section: flash by code, weights and other constants; RAM by arena, persistent state,
other static data and stack (the measured high-water mark against the reserve where the report
has it); and the arena over time, the picture the planner reasons about: each buffer a rectangle
from the step that writes it to the last that reads it, at its offset (edgeneuro/plan.py)."""

from __future__ import annotations

from typing import Any

from edgeneuro.report.blocks import Figure, Section, Table, Text, esc, layout, num

FLASH_COLOURS = {
    "code (.text)": "#1f77b4",
    "weights": "#ff7f0e",
    "other constants (.rodata)": "#ffbb78",
    "constants (.rodata)": "#ffbb78",
    ".data initial values": "#c5b0d5",
}
RAM_COLOURS = {
    "arena": "#2ca02c",
    "persistent state": "#98df8a",
    "other static (.data, .bss)": "#c5b0d5",
    "stack used": "#d62728",
    "stack reserve unused": "#ff9896",
    "stack reserved": "#ff9896",
}


def flash_parts(d: dict[str, Any]) -> list[tuple[str, int]]:
    """The ELF's flash split; the weights (the plan's constants, in .rodata) where the report has them."""
    if "text_bytes" not in d:
        return []
    weights = d.get("flash_weights_bytes", d.get("weights_bytes"))
    parts = [("code (.text)", d["text_bytes"])]
    if weights is not None and weights <= d["rodata_bytes"]:
        parts += [("weights", weights), ("other constants (.rodata)", d["rodata_bytes"] - weights)]
    else:
        parts.append(("constants (.rodata)", d["rodata_bytes"]))
    return parts + [(".data initial values", d["data_bytes"])]


def ram_parts(d: dict[str, Any]) -> list[tuple[str, int]]:
    """The ELF's RAM split: the arena and the state are in .bss; the stack is the reserve, of which
    ``run`` measures the high-water mark."""
    if "bss_bytes" not in d:
        return []
    arena, state = d.get("arena_bytes", 0), d.get("state_bytes", 0)
    parts = [
        ("arena", arena),
        ("persistent state", state),
        ("other static (.data, .bss)", d["data_bytes"] + d["bss_bytes"] - arena - state),
    ]
    used, reserved = d.get("stack_used_bytes"), d.get("stack_reserved_bytes", d.get("stack_bytes", 0))
    if used is not None:
        return parts + [("stack used", used), ("stack reserve unused", max(reserved - used, 0))]
    return parts + [("stack reserved", reserved)]


def _capacity(d: dict[str, Any]) -> tuple[int, int] | None:
    """The board's flash and RAM bytes: from an inspect report's board, else the board by name."""
    from edgeneuro import boards
    from edgeneuro.errors import EdgeNeuroError

    b = d.get("board")
    if isinstance(b, dict):
        return b["flash_bytes"], b["ram_bytes"]
    try:
        board = boards.load(b)
    except (EdgeNeuroError, TypeError):
        return None
    return board.flash_bytes, board.ram_bytes


def section(rows: list[tuple[str, dict[str, Any]]], capacity_of: dict[str, Any] | None = None) -> Section | None:
    """Flash and RAM of one report (``rows``: one (label, report) pair) or of several builds side by
    side (the demo's steps on the board); ``capacity_of``: the report that names the board."""
    from plotly.subplots import make_subplots

    rows = [(label, d) for label, d in rows if flash_parts(d)]
    if not rows:
        return None
    fig = make_subplots(rows=1, cols=2, subplot_titles=("flash (bytes)", "RAM (bytes)"), horizontal_spacing=0.18)
    labels = [esc(label) for label, _ in rows]
    for col, parts_of, colours in ((1, flash_parts, FLASH_COLOURS), (2, ram_parts, RAM_COLOURS)):
        names = list(dict.fromkeys(name for _, d in rows for name, _ in parts_of(d)))
        for name in names:
            values = [dict(parts_of(d)).get(name) for _, d in rows]
            fig.add_bar(
                y=labels,
                x=values,
                orientation="h",
                name=esc(name),
                marker_color=colours[name],
                hovertemplate="%{y}: " + esc(name) + " %{x:,} B<extra></extra>",
                row=1,
                col=col,
            )
    fig.update_layout(barmode="stack")
    layout(fig, "memory", 260 + 40 * len(rows))
    fig.update_layout(legend={"y": -0.25, "yanchor": "top"})  # below: above, it would cover the subplot titles
    fig.update_yaxes(autorange="reversed")
    blocks: list[Figure | Table | Text] = [Figure(fig)]
    head = ["", "flash B", "RAM B", "arena B (lower bound)", "state B", "stack used / reserved B"]
    table = []
    for label, d in rows:
        stack = (
            f"{num(d['stack_used_bytes'])} / {num(d['stack_reserved_bytes'])}"
            if "stack_used_bytes" in d
            else (f"- / {num(d.get('stack_bytes'))}")
        )
        table.append(
            [
                label,
                num(d["flash_bytes"]),
                num(d["ram_bytes"]),
                f"{num(d.get('arena_bytes'))} ({num(d.get('arena_lower_bound_bytes'))})",
                num(d.get("state_bytes", 0)),
                stack,
            ]
        )
    blocks.append(Table(head, table))
    cap = _capacity(capacity_of or rows[0][1])
    if cap and len(rows) == 1:
        d = rows[0][1]
        blocks.append(
            Text(
                f"The board has {cap[0]:,} B of flash ({100 * d['flash_bytes'] / cap[0]:.1f} % used) and "
                f"{cap[1]:,} B of RAM ({100 * d['ram_bytes'] / cap[1]:.1f} % used)."
            )
        )
    return Section("Memory", blocks)


def arena(
    buffers: list[dict[str, Any]], layers: list[dict[str, Any]], arena_bytes: int, lower_bound: int | None = None
) -> Figure | None:
    """Each buffer of the plan as a rectangle: steps it lives across (x) by the bytes it takes at its
    offset (y); step -1 is the graph's inputs, written before the first layer, and the step after
    the last its outputs, read after it."""
    import plotly.graph_objects as go

    if not buffers:
        return None
    steps = len(layers)
    fig = go.Figure()
    for i, b in enumerate(buffers):
        first, last = b["live"]
        names = ", ".join(b["tensors"])
        fig.add_bar(
            x=[(first + last) / 2],
            width=[last - first + 0.8],
            base=[b["offset"]],
            y=[b["bytes"]],
            name=esc(names),
            showlegend=False,
            marker_color=_palette(i),
            marker_line_width=1,
            customdata=[[esc(names), b["offset"], b["bytes"], first, last]],
            hovertemplate="%{customdata[0]}<br>offset %{customdata[1]:,}, %{customdata[2]:,} B<br>"
            "steps %{customdata[3]} to %{customdata[4]}<extra></extra>",
        )
    fig.add_hline(y=arena_bytes, line_dash="solid", line_color="black", annotation_text=f"arena {arena_bytes:,} B")
    if lower_bound is not None and lower_bound != arena_bytes:
        fig.add_hline(
            y=lower_bound,
            line_dash="dot",
            line_color="grey",
            annotation_text=f"lower bound {lower_bound:,} B",
            annotation_position="bottom right",
        )
    ticks = [esc(f"{layer['step']} {layer['op']}") for layer in layers]
    fig.update_xaxes(
        tickvals=list(range(-1, steps + 1)),
        ticktext=["inputs", *ticks, "outputs"],
        title_text="step (the layer that writes or reads the buffer)",
    )
    fig.update_yaxes(title_text="arena offset (bytes)", rangemode="tozero")
    return Figure(layout(fig, "the arena over time: each buffer's lifetime and offset", 480))


def _palette(i: int) -> str:
    colours = (
        "#1f77b4",
        "#ff7f0e",
        "#2ca02c",
        "#d62728",
        "#9467bd",
        "#8c564b",
        "#e377c2",
        "#7f7f7f",
        "#bcbd22",
        "#17becf",
    )
    return colours[i % len(colours)]
