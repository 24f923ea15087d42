"""Compression section: each step of `compress` (float, pruned, int8, ...) or of the demo's
families (float, pruned, int8, int8 + sparse) with its weight bytes and, where measured, its flash,
instructions and seizure metrics, as a table and as a trade-off plot: weight bytes against
accuracy, and instructions against accuracy for the steps that ran on a board."""

from __future__ import annotations

from typing import Any

from edgeneuro.report.blocks import Figure, Section, Table, esc, layout, num, pct


def steps_of(family: str, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One family's steps in one form, whichever report they come from: ``compress`` for a model
    `edgeneuro train` wrote (event and window scores), for any other model (an accuracy), or the
    demo (metrics, and flash and instructions for the steps run on the board)."""
    out = []
    for s in steps:
        m = s.get("metrics", s)
        window, event = m.get("window"), m.get("event")
        out.append(
            {
                "family": family,
                "step": s["step"],
                "weights_bytes": s["weights_bytes"],
                "sparsity": s.get("sparsity"),
                "flash_bytes": s.get("flash_bytes"),
                "instructions": s.get("instructions"),
                "on": s.get("on", s.get("runtime")) or s.get("note", "-"),
                "accuracy": window["accuracy"] if window else s.get("accuracy"),
                "window": window,
                "event": event,
            }
        )
    return out


def section(steps: list[dict[str, Any]]) -> Section | None:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    if not steps:
        return None
    scored = any(s["event"] for s in steps)
    head = ["", "step", "zeros", "weights B", "flash B", "instructions", "accuracy"]
    if scored:
        head += ["event sensitivity", "precision", "FP/h", "window sensitivity", "specificity"]
    head.append("measured on")
    rows = []
    for s in steps:
        row = [
            s["family"],
            s["step"],
            pct(s["sparsity"]),
            num(s["weights_bytes"]),
            num(s["flash_bytes"]),
            num(s["instructions"]),
            pct(s["accuracy"]),
        ]
        if scored:
            e, w = s["event"] or {}, s["window"] or {}
            row += [
                pct(e.get("sensitivity")),
                pct(e.get("precision")),
                num(e.get("fp_per_hour"), 2),
                pct(w.get("sensitivity")),
                pct(w.get("specificity")),
            ]
        rows.append(row + [s["on"]])
    ran = [s for s in steps if s["instructions"] is not None and s["accuracy"] is not None]
    fig = make_subplots(
        rows=1,
        cols=2 if ran else 1,
        horizontal_spacing=0.12,
        subplot_titles=("weight bytes (log) vs accuracy", "instructions per inference vs accuracy")[: 2 if ran else 1],
    )
    families = list(dict.fromkeys(s["family"] for s in steps))
    colours = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
    for i, family in enumerate(families):
        mine = [s for s in steps if s["family"] == family and s["accuracy"] is not None]
        colour = colours[i % len(colours)]
        for col, key, pts in ((1, "weights_bytes", mine), (2, "instructions", [s for s in ran if s in mine])):
            if col == 2 and not ran:
                continue
            fig.add_trace(
                go.Scatter(
                    x=[s[key] for s in pts],
                    y=[s["accuracy"] for s in pts],
                    mode="lines+markers+text",
                    text=[esc(s["step"]) for s in pts],
                    textposition="top center",
                    name=esc(family or "model"),
                    legendgroup=esc(family),
                    showlegend=col == 1,
                    marker={"size": 10, "color": colour},
                    line={"color": colour},
                    hovertemplate="%{text}<br>%{x:,}<br>accuracy %{y:.3f}<extra></extra>",
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(type="log", title_text="weight bytes", row=1, col=1)
    fig.update_yaxes(title_text="accuracy (window accuracy for seizure detectors)", row=1, col=1)
    if ran:
        fig.update_xaxes(title_text="instructions per inference (window)", row=1, col=2)
    return Section(
        "Compression", [Figure(layout(fig, "compression: size and work against accuracy", 480)), Table(head, rows)]
    )
