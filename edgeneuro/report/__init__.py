"""One self-contained HTML page from any of edgeneuro's JSON reports (``run --report``, ``inspect
--json``, ``compress --json``, ``eval --json``, ``stream --json`` and the demo's report.json): the
per-layer instructions, the memory map and the arena over time, the compression steps, the
seizure recordings with the detector's decisions, as plotly charts with plotly.js and the data
embedded, so the page opens anywhere without a network (`edgeneuro report`, ``--html``).

The kind of a report is read from its fields; a JSON that is none of them is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edgeneuro.errors import InputError
from edgeneuro.files import write_atomic

KINDS = ("run", "inspect", "compress", "eval", "stream", "detect", "demo", "sweep")


class ReportError(InputError):
    """A JSON file that is not one of edgeneuro's reports."""


def kind_of(data: Any) -> str:
    """Which tool wrote ``data``, from the fields only that tool's report has."""
    if isinstance(data, dict):
        if data.get("kind") == "sweep" and "trials" in data:
            return "sweep"
        if "families" in data and "board" in data:
            return "demo"
        if "protocol" in data and "outputs_equal_reference" in data:
            return "stream"
        if data.get("kind") in ("detect", "stream-continuous") and "device" in data and "equal_host_chain" in data:
            return "detect"  # the whole detector: `detect --json`, `stream --continuous --json`
        if "inferences" in data and "instructions" in data and "flash_bytes" in data:
            return "run"
        if "layers" in data and "fits" in data:
            return "inspect"
        if "steps" in data and ("window_accuracy_change_pp" in data or "accuracy_change_pp" in data):
            return "compress"
        if "runtime" in data and "event" in data and "window" in data:
            return "eval"
    raise ReportError(
        "not a report of edgeneuro's: give the JSON of run --report, inspect --json, compress --json, "
        "eval --json, stream --json, detect --json, sweep --json or the demo's report.json"
    )


def render_html(data: dict[str, Any], source: str = "") -> str:
    """The page for the report ``data`` (``source``: the file it came from, named on the page)."""
    from edgeneuro.report.page import render

    return render(kind_of(data), data, source)


def write_html(data: dict[str, Any], path: Path | str, source: str = "") -> Path:
    """Render ``data`` and write the page to ``path`` atomically: complete, or not at all."""
    page = render_html(data, source)

    def write(tmp: Path) -> None:
        tmp.write_text(page, encoding="utf-8")
        tmp.chmod(0o644)  # a page to open and share, not the private temporary file's 0600

    write_atomic(Path(path), write)
    return Path(path)


def read_report(path: Path | str) -> dict[str, Any]:
    """A JSON report from a file, or one clear line on what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise ReportError(f"{path}: no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise ReportError(f"{path}: not JSON ({e})") from e
    try:
        kind_of(data)
    except ReportError as e:
        raise ReportError(f"{path}: {e}") from None
    return data
