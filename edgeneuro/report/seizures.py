"""Seizure-detection section: for each recording, a strip of its EEG (the decimated excerpt the
report carries), the reference seizures shaded across every row, and beneath it on the same time
axis each detector's window decisions (smoothed) and the events they make; then the SzCORE
metrics of each detector. For a spiking detector, a raster of one sample's hidden spikes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgeneuro.report.blocks import DECISION, EVENT, REFERENCE, Figure, Section, Table, Text, esc, layout, num, pct


def recordings_of(tracks: list[tuple[str, dict[str, Any]]], eeg: dict[str, dict] | None = None) -> list[dict]:
    """Group per-recording results (``tracks``: (detector label, a ``metrics.seizures.evaluate``
    entry of ``recordings``)) by recording; ``eeg``: excerpts by recording path, where the entries
    do not carry their own."""
    by: dict[str, dict] = {}
    for label, r in tracks:
        if "window_start_s" not in r:  # a report from before the per-window fields
            continue
        rec = by.setdefault(
            r["recording"],
            {
                "recording": r["recording"],
                "duration_s": r["duration_s"],
                "reference": r["reference"],
                "eeg": None,
                "tracks": [],
            },
        )
        rec["eeg"] = rec["eeg"] or r.get("eeg") or (eeg or {}).get(r["recording"])
        rec["tracks"].append({"label": label, **r})
    return list(by.values())


def _eeg_rows(fig: Any, eeg: dict[str, Any]) -> None:
    """The channels one above the other, each shifted by a common spacing, labelled by name."""
    uv = np.asarray(eeg["uv"], float)
    spacing = float(np.percentile(np.abs(uv), 99.5)) * 2 or 1.0
    for i, name in enumerate(eeg["channels"]):
        offset = -i * spacing
        fig.add_scatter(
            x=eeg["time_s"],
            y=(uv[i] + offset).round(1),
            mode="lines",
            line={"width": 0.7},
            name=esc(name),
            showlegend=False,
            hoverinfo="skip",
            row=1,
            col=1,
        )
    fig.update_yaxes(
        tickvals=[-i * spacing for i in range(len(eeg["channels"]))],
        ticktext=[esc(c) for c in eeg["channels"]],
        showgrid=False,
        row=1,
        col=1,
    )


def recording_figure(rec: dict[str, Any]) -> Figure:
    from plotly.subplots import make_subplots

    eeg = rec["eeg"]
    tracks = rec["tracks"]
    top = 1 if eeg else 0
    n = top + len(tracks)
    heights = ([0.45] if eeg else []) + [(0.55 if eeg else 1.0) / len(tracks)] * len(tracks)
    fig = make_subplots(rows=n, cols=1, shared_xaxes=True, vertical_spacing=0.02, row_heights=heights)
    if eeg:
        _eeg_rows(fig, eeg)
    for i, t in enumerate(tracks):
        row = top + i + 1
        starts = np.asarray(t["window_start_s"], float)
        x = np.append(starts, starts[-1] + t["window_s"]) if len(starts) else starts
        y = np.append(t["decisions"], t["decisions"][-1:]) if len(starts) else starts
        fig.add_scatter(
            x=x,
            y=y,
            mode="lines",
            line={"shape": "hv", "color": DECISION, "width": 1},
            fill="tozeroy",
            name="window decisions (smoothed)",
            legendgroup="decisions",
            showlegend=i == 0,
            hovertemplate="%{x:.1f} s: %{y}<extra></extra>",
            row=row,
            col=1,
        )
        for a, b in t["events"]:
            fig.add_vrect(x0=a, x1=b, row=row, col=1, fillcolor=EVENT, opacity=0.35, line_width=0)
        fig.update_yaxes(tickvals=[0.5], ticktext=[esc(t["label"])], range=[0, 1.1], showgrid=False, row=row, col=1)
    for a, b in rec["reference"]:
        fig.add_vrect(x0=a, x1=b, row="all", col=1, fillcolor=REFERENCE, opacity=0.15, line_width=0)
    # the legend entries of the shapes: empty traces that only name them
    fig.add_scatter(
        x=[None],
        y=[None],
        mode="markers",
        marker={"color": REFERENCE, "symbol": "square", "size": 12, "opacity": 0.4},
        name="reference seizure",
        row=n,
        col=1,
    )
    fig.add_scatter(
        x=[None],
        y=[None],
        mode="markers",
        marker={"color": EVENT, "symbol": "square", "size": 12, "opacity": 0.6},
        name="detected event",
        row=n,
        col=1,
    )
    fig.update_xaxes(title_text="time (s)", range=[0, rec["duration_s"]], row=n, col=1)
    title = f"{Path(rec['recording']).name}: {len(rec['reference'])} reference seizure(s)"
    return Figure(layout(fig, title, 220 + (260 if eeg else 0) + 70 * len(tracks)))


def metrics_table(rows: list[tuple[str, dict[str, Any]]]) -> Table:
    """SzCORE's event scores and the window scores of each detector (``rows``: label, metrics)."""
    head = [
        "detector",
        "event sensitivity",
        "precision",
        "F1",
        "FP/h",
        "seizures found",
        "mean latency s",
        "window sensitivity",
        "specificity",
        "accuracy",
        "windows",
    ]
    body = []
    for label, m in rows:
        e, w = m["event"], m["window"]
        body.append(
            [
                label,
                pct(e["sensitivity"]),
                pct(e["precision"]),
                pct(e["f1"]),
                num(e["fp_per_hour"], 2),
                f"{e['true_positives']}/{e['reference_events']}",
                num(e.get("mean_latency_s"), 1),
                pct(w["sensitivity"]),
                pct(w["specificity"]),
                pct(w["accuracy"]),
                num(w["windows"]),
            ]
        )
    return Table(head, body, "SzCORE event scoring (30 s before / 60 s after tolerance), summed over the recordings")


def section(metrics: list[tuple[str, dict[str, Any]]], recordings: list[dict]) -> Section | None:
    if not metrics:
        return None
    blocks: list[Figure | Table | Text] = [metrics_table(metrics)]
    blocks += [recording_figure(rec) for rec in recordings]
    if not recordings:
        blocks.append(
            Text("This report carries no per-window decisions (written by an older edgeneuro): metrics only.")
        )
    return Section("Seizure detection", blocks)


def raster(spikes: dict[str, Any], title: str) -> Figure:
    """A spiking network's hidden spikes of one sample: neuron against time."""
    import plotly.graph_objects as go

    pts = np.asarray(spikes["spikes"], float).reshape(-1, 2)
    fig = go.Figure(
        go.Scatter(
            x=pts[:, 0] * spikes["dt_s"],
            y=pts[:, 1],
            mode="markers",
            name="spike",
            marker={"symbol": "line-ns-open", "size": 9, "color": "black"},
            hovertemplate="%{x:.3f} s, neuron %{y}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="time (s)", range=[0, spikes["time_steps"] * spikes["dt_s"]])
    fig.update_yaxes(title_text="hidden neuron", range=[-0.5, spikes["neurons"] - 0.5])
    return Figure(layout(fig, title, 360))
