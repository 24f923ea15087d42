"""Per-layer section: where the instructions go (``run --profile``), with each layer's MACs,
instructions per MAC and kernel, and TFLM + CMSIS-NN's count for the same operator beside it when
the model is one of the baselines' (edgeneuro/baselines.py); for ``inspect``, which runs
nothing, each layer's MACs and weight bytes."""

from __future__ import annotations

from typing import Any

from edgeneuro import baselines
from edgeneuro.report.blocks import EDGENEURO, TFLM, Figure, Section, Table, Text, esc, layout, num


def _label(layer: dict[str, Any]) -> str:
    return esc(f"{layer['step']} {layer['op']}")


def profiled(data: dict[str, Any]) -> Section | None:
    """The layers of a ``run --profile`` report; None without a profile."""
    import plotly.graph_objects as go

    layers = data.get("profile")
    if not layers:
        return None
    base = baselines.for_model(data.get("model_sha256"), data.get("board", ""))
    tflm = base[2] if base else {}

    def theirs(layer: dict[str, Any]) -> int | None:
        b = tflm.get(layer.get("source_index"))
        return b["instructions"] if b and b["op"] == layer["op"] else None

    x = [_label(layer) for layer in layers]
    hover = [[esc(layer["kernel"]), layer["macs"], per_mac(layer["instructions"], layer["macs"])] for layer in layers]
    fig = go.Figure(
        go.Bar(
            x=x,
            y=[layer["instructions"] for layer in layers],
            name="edgeneuro",
            marker_color=EDGENEURO,
            customdata=hover,
            hovertemplate="%{x}<br>kernel %{customdata[0]}<br>%{y:,} instructions"
            "<br>%{customdata[1]:,} MACs, %{customdata[2]} per MAC<extra></extra>",
        )
    )
    if base:
        fig.add_bar(
            x=x,
            y=[theirs(layer) for layer in layers],
            name="TFLM + CMSIS-NN",
            marker_color=TFLM,
            hovertemplate="%{x}<br>TFLM + CMSIS-NN %{y:,} instructions<extra></extra>",
        )
    fig.update_layout(barmode="group", xaxis_title="layer (step, operator)", yaxis_title="instructions")
    section = Section("Instructions per layer", [Figure(layout(fig, f"instructions per layer on {data['board']}"))])
    if base:
        key, whole, _ = base
        total = data["instructions"]
        section.blocks.append(
            Text(
                f"The model is the baselines' '{key}' (same SHA-256): TFLM + CMSIS-NN on {baselines.BOARD} takes "
                f"{baselines.cmsis_worst(whole):,} instructions per inference, edgeneuro {total:,} "
                f"({total / baselines.cmsis_worst(whole):.2f}x). Per layer, TFLM's count is its operator's of the same "
                "index in the model file (operators edgeneuro folds into another have none)."
            )
        )
    head = ["#", "operator (index in the model)", "kernel", "MACs", "instructions", "per MAC", "share"]
    if base:
        head += ["TFLM + CMSIS-NN", "edgeneuro / TFLM"]
    rows = []
    for layer in layers:
        row = [
            str(layer["step"]),
            f"{layer['op']} ({layer.get('source_index', '-')})",
            layer["kernel"],
            num(layer["macs"]),
            num(layer["instructions"]),
            per_mac(layer["instructions"], layer["macs"]),
            f"{100 * layer['share']:.1f} %",
        ]
        if base:
            t = theirs(layer)
            row += [num(t), f"{layer['instructions'] / t:.2f}" if t else "-"]
        rows.append(row)
    section.blocks.append(Table(head, rows, "the worst inference's instructions, timer reads between the layers"))
    return section


def planned(data: dict[str, Any]) -> Section | None:
    """The layers of an ``inspect`` report: MACs and weight bytes, nothing measured."""
    from plotly.subplots import make_subplots

    layers = data.get("layers")
    if not layers:
        return None
    x = [_label(layer) for layer in layers]
    kernels = [[esc(layer["kernel"])] for layer in layers]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    fig.add_bar(
        x=x,
        y=[layer["macs"] for layer in layers],
        name="MACs",
        marker_color=EDGENEURO,
        customdata=kernels,
        hovertemplate="%{x}<br>kernel %{customdata[0]}<br>%{y:,} MACs<extra></extra>",
        row=1,
        col=1,
    )
    fig.add_bar(
        x=x,
        y=[layer["weights_bytes"] for layer in layers],
        name="weight bytes",
        marker_color=TFLM,
        customdata=kernels,
        hovertemplate="%{x}<br>%{y:,} B of weights<extra></extra>",
        row=2,
        col=1,
    )
    fig.update_yaxes(title_text="MACs", row=1, col=1)
    fig.update_yaxes(title_text="weight bytes", row=2, col=1)
    head = ["#", "operator (index in the model)", "kernel", "MACs", "params", "weight bytes"]
    rows = [
        [
            str(layer["step"]),
            f"{layer['op']} ({layer.get('source_index', '-')})",
            layer["kernel"],
            num(layer["macs"]),
            num(layer.get("params")),
            num(layer["weights_bytes"]),
        ]
        for layer in layers
    ]
    return Section(
        "Layers", [Figure(layout(fig, "MACs and weights per layer (planned, nothing run)", 520)), Table(head, rows)]
    )


def per_mac(instructions: int, macs: int) -> str:
    return f"{instructions / macs:.2f}" if macs else "-"
