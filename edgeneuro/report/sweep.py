"""Sweep section (`edgeneuro sweep --json`): every trial with its parameters, scores and cost on
the board, and the trade-off charts of event F1 and false positives per hour against instructions,
flash and RAM, the Pareto front marked, so the designs worth keeping stand out."""

from __future__ import annotations

from typing import Any

from edgeneuro.report.blocks import DECISION, EDGENEURO, Figure, Section, Table, Text, esc, layout, num

COSTS = (("instructions", "instructions per window"), ("flash_bytes", "flash B"), ("ram_bytes", "RAM B"))


def _label(r: dict[str, Any]) -> str:
    return f"{r['key'][:8]}: " + ", ".join(f"{k} {v}" for k, v in r["params"].items())


def section(data: dict[str, Any]) -> Section:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    trials = data["trials"]
    names = [p for p in dict.fromkeys(k for r in trials for k in r["params"])]
    rows = []
    for r in trials:
        params = [str(r["params"].get(p, "-")) for p in names]
        if r["status"] != "ok":
            rows.append(["", r["key"][:8], *params, "failed: " + r["reason"], *["-"] * 6])
            continue
        scores = [num(r["f1"], 3), num(r["fp_per_hour"], 2)]
        costs = [num(r["instructions"]), num(r["flash_bytes"]), num(r["ram_bytes"]), num(r["seconds"])]
        rows.append(["*" if r["pareto"] else "", r["key"][:8], *params, "ok", *scores, *costs])
    c = data["counts"]
    table = Table(["", "trial", *names, "status", "event F1", "FP/h", "instructions", "flash B", "RAM B", "s"], rows,
                  f"{c['ok']} ok, {c['failed']} failed, {c['not_run']} not run of {c['config']} trials; * the Pareto "
                  "front (F1 higher; FP/h, instructions, flash, RAM lower)")  # fmt: skip
    ok = [r for r in trials if r["status"] == "ok"]
    if not ok:
        return Section("Sweep", [table, Text("No trial finished: nothing to plot.")])
    fig = make_subplots(rows=2, cols=3, shared_yaxes=True, vertical_spacing=0.16,
                        subplot_titles=[esc(t) for _, t in COSTS] * 2)  # fmt: skip
    for row, (metric, title) in enumerate((("f1", "event F1"), ("fp_per_hour", "FP per hour")), start=1):
        for col, (cost, _) in enumerate(COSTS, start=1):
            for front in (False, True):
                pick = [r for r in ok if r["pareto"] == front and r[metric] is not None]
                fig.add_trace(
                    go.Scatter(
                        x=[r[cost] for r in pick],
                        y=[r[metric] for r in pick],
                        mode="markers",
                        marker={"color": DECISION if front else EDGENEURO, "size": 11 if front else 8},
                        name="Pareto front" if front else "trial",
                        legendgroup=str(front),
                        showlegend=row == 1 and col == 1,
                        text=[esc(_label(r)) for r in pick],
                        hovertemplate="%{text}<br>%{x:,}, %{y:.3f}<extra></extra>",
                    ),  # fmt: skip
                    row=row,
                    col=col,
                )
        fig.update_yaxes(title_text=esc(title), row=row, col=1)
    layout(fig, "Detection against cost on the board", height=640)
    return Section("Sweep", [Figure(fig), table])
