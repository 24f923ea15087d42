"""What a section of the report page is made of: plotly figures, tables and lines of text. The
sections build these from the JSON; the page (edgeneuro/report/page.py) turns them into HTML.

Every text that reaches a chart goes through ``esc``: plotly renders a subset of HTML in its
labels, legends and hover text (``<b>``, ``<br>``, links), so a model, tensor or recording name
would otherwise be markup there. Tables and text go through Jinja2's autoescaping instead."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

# one colour per role, the same in every chart of the page
EDGENEURO, TFLM, REFERENCE, DECISION, EVENT = "#1f77b4", "#ff7f0e", "#d62728", "#2ca02c", "#9467bd"


def esc(text: Any) -> str:
    """``text`` as plotly shows it literally (its pseudo-HTML turns entities back into characters)."""
    return html.escape(str(text))


def num(v: Any, digits: int = 0) -> str:
    """A table cell: thousands separated, ``digits`` decimals, a dash where there is no value."""
    if v is None:
        return "-"
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    return f"{v:,.{digits}f}"


def pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


@dataclass
class Figure:
    fig: Any  # a plotly.graph_objects.Figure


@dataclass
class Table:
    head: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Text:
    text: str


@dataclass
class Section:
    title: str
    blocks: list[Figure | Table | Text] = field(default_factory=list)


def layout(fig: Any, title: str, height: int = 420) -> Any:
    """The page's look for every chart: a title, room for the legend above, one height."""
    fig.update_layout(
        title={"text": esc(title)},
        height=height,
        template="plotly_white",
        margin={"l": 70, "r": 30, "t": 100, "b": 60},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
    )
    return fig
