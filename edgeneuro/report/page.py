"""The page: which sections each kind of JSON report has, its header, and the HTML.

The header says what the report itself records and nothing more: the board, the edgeneuro
version that wrote the JSON, the model's SHA-256, the date, and whether every output was bit-exact
with the reference where the report checked it (``stream`` and the demo; ``run`` checks nothing).
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

from edgeneuro import __version__
from edgeneuro.report import compression, layers, memory, seizures
from edgeneuro.report.blocks import Figure, Section, Table, Text, num

TITLES = {
    "run": "a run on the board (edgeneuro run)",
    "inspect": "a model's plan (edgeneuro inspect)",
    "compress": "compression steps (edgeneuro compress)",
    "eval": "seizure metrics (edgeneuro eval)",
    "stream": "windows streamed to the board (edgeneuro stream)",
    "demo": "the end-to-end seizure demo (edgeneuro demo)",
}


def _board(data: dict[str, Any]) -> str | None:
    b = data.get("board")
    return b.get("name") if isinstance(b, dict) else b


def _board_steps(data: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """The demo's (family, label, step) for every step that ran on the board."""
    from edgeneuro.demo import NAMES

    return [
        (f, f"{NAMES.get(f, f)} {s['step']}", s)
        for f, r in data["families"].items()
        for s in r["steps"]
        if "outputs_compared" in s
    ]


def bit_exact(kind: str, data: dict[str, Any]) -> tuple[str, bool] | None:
    if kind == "stream":
        ok = data["outputs_equal_reference"] == data["outputs_compared"]
        text = f"{data['outputs_equal_reference']}/{data['outputs_compared']} outputs equal edgeneuro's reference"
        if "decisions_equal_host" in data:
            ok = ok and data["decisions_equal_host"]
            text += f"; decisions equal the host's: {data['decisions_equal_host']}"
        return ("yes: " if ok else "NO: ") + text, ok
    if kind == "demo":
        steps = [s for _, _, s in _board_steps(data)]
        equal = sum(s.get("outputs_equal_tflm", s.get("outputs_equal_reference", 0)) for s in steps)
        compared = sum(s["outputs_compared"] for s in steps)
        ok = equal == compared and all(s["metrics_equal_host"] for s in steps)
        return (
            f"{'yes' if ok else 'NO'}: {equal:,}/{compared:,} board outputs equal TFLM's (the spiking network's: "
            f"edgeneuro's fixed-point reference) over {len(steps)} builds; metrics equal the host's: "
            f"{all(s['metrics_equal_host'] for s in steps)}"
        ), ok
    return None


def header(kind: str, data: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    rows: list[tuple[str, str, bool | None]] = []
    if "model" in data:
        rows.append(("model", str(data["model"]), None))
    if _board(data):
        rows.append(("board", _board(data), None))
    rows.append(("written by", f"edgeneuro {data.get('edgeneuro_version', '(version not recorded)')}", None))
    rows.append(("model SHA-256", data.get("model_sha256", "not recorded"), None))
    rows.append(("date", data.get("created", "not recorded"), None))
    exact = bit_exact(kind, data)
    if exact:
        rows.append(("bit-exact with the reference", *exact))
    return rows


def _run(data: dict[str, Any]) -> list[Section | None]:
    mem = memory.section([(data["board"], data)])
    plan = data.get("plan")
    if plan:
        arena = memory.arena(plan["buffers"], plan["layers"], plan["arena_bytes"], plan["arena_lower_bound_bytes"])
        mem = mem or Section("Memory")
        mem.blocks += [arena] if arena else []
    if "time_steps" in data:
        mem = mem or Section("Memory")
        mem.blocks.append(
            Text(
                f"Spiking network: {data['samples']} sample(s) x {data['time_steps']} time steps, "
                f"{data['instructions_per_sample']:,} instructions per sample; state "
                f"{data['state_bytes']:,} B kept between the steps."
            )
        )
    return [layers.profiled(data), mem]


def _inspect(data: dict[str, Any]) -> list[Section | None]:
    mem = memory.section([(_board(data), data)]) or Section("Memory", [Text(data.get("build_detail", ""))])
    arena = memory.arena(data.get("buffers", []), data["layers"], data["arena_bytes"], data["arena_lower_bound_bytes"])
    mem.blocks += [arena] if arena else []
    mem.blocks.append(Text(f"Fits the board: {data['fits_detail']}"))
    return [layers.planned(data), mem]


def _stream(data: dict[str, Any]) -> list[Section | None]:
    out: list[Section | None] = [memory.section([(data["board"], data)])]
    if "metrics" in data:
        board = f"board ({data['board']})"
        tracks = [(board, r) for r in data["metrics"]["recordings"]]
        tracks += [("host reference", r) for r in data["metrics_host"]["recordings"]]
        out.append(
            seizures.section(
                [(board, data["metrics"]), ("host reference", data["metrics_host"])], seizures.recordings_of(tracks)
            )
        )
    p = data["protocol"]
    out.append(
        Section(
            "Serial protocol",
            [
                Table(
                    ["frames sent", *[k for k in p if k != "sent"]],
                    [[num(p.get("sent")), *[num(v) for k, v in p.items() if k != "sent"]]],
                    f"{data['windows']} windows in {data['seconds']} s",
                )
            ],
        )
    )
    return out


def _eval(data: dict[str, Any]) -> list[Section | None]:
    label = data.get("runtime", "model")
    recs = seizures.recordings_of([(label, r) for r in data.get("recordings", [])])
    return [seizures.section([(label, data)], recs)]


def _compress(data: dict[str, Any]) -> list[Section | None]:
    section = compression.section(compression.steps_of("", data["steps"]))
    if section and data.get("pruning"):
        p = data["pruning"]
        section.blocks.insert(0, Text(f"Pruning to {p['target']:.0%}, {p['pattern']}: {p['method']}."))
    return [section]


def _demo(data: dict[str, Any]) -> list[Section | None]:
    from edgeneuro.demo import NAMES

    steps = [s for f, r in data["families"].items() for s in compression.steps_of(NAMES.get(f, f), r["steps"])]
    on_board = _board_steps(data)
    tracks = [(label, r) for _, label, s in on_board for r in s["metrics"].get("recordings", [])]
    out = [
        seizures.section(
            [(label, s["metrics"]) for _, label, s in on_board], seizures.recordings_of(tracks, data.get("eeg"))
        ),
        compression.section(steps),
    ]
    for f, r in data["families"].items():
        if "spike_raster" in r:
            out.append(
                Section(
                    f"{NAMES.get(f, f)}: spikes",
                    [
                        seizures.raster(r["spike_raster"], "hidden spikes of one calibration sample"),
                        Text(f"Hidden spike rate over 50 calibration samples: {100 * r['spike_rate']:.1f} %."),
                    ],
                )
            )
    out.append(memory.section([(label, s) for _, label, s in on_board], {"board": data["board"]}))
    return out


SECTIONS = {"run": _run, "inspect": _inspect, "stream": _stream, "eval": _eval, "compress": _compress, "demo": _demo}


def render(kind: str, data: dict[str, Any], source: str = "") -> str:
    """The page's HTML. plotly.js is embedded once, in the first chart; every chart after it uses
    that copy, so the page opens without a network."""
    import jinja2
    import plotly.io as pio
    from markupsafe import Markup

    sections = [s for s in SECTIONS[kind](data) if s is not None and s.blocks]
    charts = 0
    rendered = []
    for s in sections:
        blocks = []
        for b in s.blocks:
            if isinstance(b, Figure):
                html = pio.to_html(
                    b.fig,
                    full_html=False,
                    include_plotlyjs=charts == 0,
                    config={"displaylogo": False, "responsive": True},
                )
                blocks.append({"kind": "figure", "html": Markup(html)})
                charts += 1
            elif isinstance(b, Table):
                blocks.append({"kind": "table", "head": b.head, "rows": b.rows, "caption": b.caption})
            else:
                blocks.append({"kind": "text", "text": b.text})
        rendered.append({"title": s.title, "blocks": blocks})
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(files("edgeneuro.report").joinpath("page.html.j2").read_text())
    made = datetime.now(UTC).isoformat(timespec="seconds")
    subtitle = f"Page made by edgeneuro {__version__} on {made}" + (f" from {Path(source).name}" if source else "")
    return template.render(
        title=f"edgeneuro report: {TITLES[kind]}", subtitle=subtitle, header=header(kind, data), sections=rendered
    )
