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
from edgeneuro.report import compression, layers, memory, seizures, sweep
from edgeneuro.report.blocks import Figure, Section, Table, Text, num, pct

TITLES = {
    "run": "a run on the board (edgeneuro run)",
    "inspect": "a model's plan (edgeneuro inspect)",
    "compress": "compression steps (edgeneuro compress)",
    "eval": "seizure metrics (edgeneuro eval)",
    "stream": "windows streamed to the board (edgeneuro stream)",
    "detect": "the whole detector on the board (edgeneuro detect, stream --continuous)",
    "demo": "the end-to-end seizure demo (edgeneuro demo)",
    "sweep": "a design sweep (edgeneuro sweep)",
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
    if kind == "detect":
        e = data["equal_host_chain"]
        ok = all(e.values())
        text = "equal to the host chain: " + ", ".join(f"{k} {v}" for k, v in e.items())
        if pin := data.get("alarm_pin"):
            ok = ok and pin["equal_alarms"]
            text += (f"; the alarm pin {pin['pin']} as the simulator saw it changed as the reported alarms: "
                     f"{pin['equal_alarms']}")  # fmt: skip
        return ("yes: " if ok else "NO: ") + text, ok
    if kind == "eval" and "on_board" in data:
        b = data["on_board"]
        ok = b["outputs_equal_reference"] == b["outputs_compared"]
        text = f"{b['outputs_equal_reference']:,}/{b['outputs_compared']:,} board outputs equal {b['reference']}"
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


def _detect(data: dict[str, Any]) -> list[Section | None]:
    """Events against the annotations, the device's numbers and (streamed) the serial protocol's."""
    m, d = data["metrics"], data["device"]
    spans = lambda xs: ", ".join(f"{a:.1f}-{b:.1f}" for a, b in xs) or "none"  # noqa: E731
    rows = [["events (s)", spans(data["events_s"])], ["annotated seizures (s)", spans(data["reference_s"])],
            ["SzCORE", f"sensitivity {pct(m['sensitivity'])}, precision {pct(m['precision'])}, F1 {pct(m['f1'])}, "
             f"{num(m['fp_per_hour'], 2)} FP/h"]]  # fmt: skip
    rows += [[f"seizure {s['seizure_s'][0]:.1f}-{s['seizure_s'][1]:.1f} s",
              f"event onset {s['onset_latency_s']:+.1f} s, alarm {s['alarm_delay_s']:+.1f} s after the onset"
              if s["detected"] else "missed"] for s in data["latency"]]  # fmt: skip
    device = [[k.replace("_", " "), num(v, 4) if isinstance(v, float) else num(v)] for k, v in d.items()
              if not k.endswith("_note")]  # fmt: skip
    out: list[Section | None] = [
        Section(
            "Events",
            [Table(["", ""], rows, f"{data['recording']}: {data['samples']:,} samples, {data['windows']} windows")],
        ),  # fmt: skip
        Section("Measured like a device", [Table(["", ""], device, f"{d['ram_note']}. {d['instructions_note']}.")]),
    ]
    if "streaming" in data:
        s = data["streaming"]
        p = s["protocol"]
        pace = "at the recording's rate" if s["realtime"] else "as fast as the board takes them"
        caption = (f"{s['seconds']} s, {pace}; the board ACKed {s['board_repeated']} repeated frames and refused "
                   f"{s['board_refused']}")  # fmt: skip
        head = ["SAMPLES frames", "frames/s", *p]
        row = [num(s["frames_sent"]), num(s["frames_per_second"]), *[num(v) for v in p.values()]]
        out.append(Section("Serial protocol", [Table(head, [row], caption)]))
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
    out.append(_detectors(data))
    return out


def _detectors(data: dict[str, Any]) -> Section | None:
    """The demo's whole detector per family (``edgeneuro detect`` over the held-out recordings)."""
    from edgeneuro.demo import NAMES

    rows = []
    for f, r in data["families"].items():
        if "detector" not in r:
            continue
        d = r["detector"]["device"]
        late = "-" if d["alarm_delay_s"] is None else " / ".join(f"{v:+.1f}" for v in d["alarm_delay_s"])
        rows.append([NAMES.get(f, f), num(d["ram_detector_bytes"]), num(d["flash_bytes"]),
                     num(d["instructions_per_second_of_eeg"]), f"{100 * d['duty_cycle']:.2f} %",
                     num(d["worst_instructions_per_sample"]), num(d["worst_instructions_per_sample_without_window"]),
                     late, f"{d['seizures_detected']}/{d['seizures']}",
                     "yes" if d["equal_host_chain"] else "NO"])  # fmt: skip
    if not rows:
        return None
    head = ["detector", "RAM B", "flash B", "instructions per s of EEG", "duty cycle",
            "worst instructions per sample", "without a window", "alarm delay s (min / median / max)", "seizures",
            "events equal the host chain"]  # fmt: skip
    caption = ("Samples pushed one by one over the held-out recordings; RAM: the detector's state, the model's arena "
               "and state and the stack used; the duty cycle at the board's clock.")  # fmt: skip
    return Section("The whole detector on the chip", [Table(head, rows, caption)])


def _sweep(data: dict[str, Any]) -> list[Section | None]:
    return [sweep.section(data)]


SECTIONS = {"run": _run, "inspect": _inspect, "stream": _stream, "detect": _detect, "eval": _eval,
            "compress": _compress, "demo": _demo, "sweep": _sweep}  # fmt: skip


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
