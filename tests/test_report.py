"""The HTML report page (edgeneuro/report/): rendered from the JSON the real tools write on small
models (`run --profile` and `inspect` of MLPerf's AD01 and of a model with hostile tensor names,
`eval`, `stream --edf` and `compress` of a seizure detector trained for one epoch on a few minutes
of synthetic EEG), each checked for the charts, tables and values of its JSON, for needing no
network, and for escaping the names it shows; and opened in headless Chromium."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import MLPERF

from edgeneuro import baselines, cli
from edgeneuro.report import ReportError, kind_of, write_html

AD01 = MLPERF / "ad01_int8.tflite"
HOSTILE_IN = "</script><script>alert(1)</script>"
HOSTILE_OUT = "<img src=x onerror=alert(2)>"
HOSTILE_FILE = "m<img src=x onerror=alert(3)>.tflite"


def edgeneuro(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgeneuro.cli", *args], capture_output=True, text=True)


def cells(page: str) -> list[str]:
    """The text of every table cell of the page, unescaped."""
    return [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", page, re.S)]


def charts(page: str) -> int:
    return page.count('class="plotly-graph-div"')


def assert_self_contained(page: str) -> None:
    """plotly.js is embedded exactly once and nothing is fetched: no script, style or image from a URL."""
    assert not re.search(r"<script[^>]*\bsrc\s*=", page) and "<link" not in page
    assert len(re.findall(r"\* plotly\.js v\d", page)) == 1


@pytest.fixture(scope="module")
def ad01_run(tmp_path_factory):
    """`run --profile --report --html` of AD01 on mps2-an386 (one of the baselines' models)."""
    d = tmp_path_factory.mktemp("ad01")
    np.save(d / "in.npy", np.load(MLPERF / "ad01_int8_input.npy").reshape(1, -1))
    proc = edgeneuro("run", str(AD01), "--input", str(d / "in.npy"), "--profile", "--no-cycles", "--report",
                     str(d / "run.json"), "--html", str(d / "run.html"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads((d / "run.json").read_text()), (d / "run.html").read_text()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A one-layer model whose file and tensor names are markup, run with --html."""
    from tflite_builder import ModelBuilder, fc_options

    d = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(5)
    b = ModelBuilder()
    x = b.tensor([1, 16], scale=0.05, zero_point=0, name=HOSTILE_IN)
    w = b.tensor([8, 16], scale=0.02, zero_point=0, data=rng.integers(-127, 128, (8, 16)))
    bias = b.tensor([8], dtype="int32", scale=0.001, zero_point=0, data=rng.integers(-100, 100, 8))
    y = b.tensor([1, 8], scale=0.1, zero_point=0, name=HOSTILE_OUT)
    b.op("FULLY_CONNECTED", [x, w, bias], [y], fc_options("NONE"), "FullyConnectedOptions")
    model = d / HOSTILE_FILE
    model.write_bytes(b.build([x], [y]))
    np.save(d / "in.npy", rng.integers(-128, 128, (2, 16), dtype=np.int8))
    proc = edgeneuro("run", str(model), "--input", str(d / "in.npy"), "--profile", "--no-cycles", "--report",
                     str(d / "run.json"), "--html", str(d / "run.html"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return model, json.loads((d / "run.json").read_text()), d / "run.html"


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    """A 1-D CNN seizure detector trained for one epoch on 2 subjects x 4 min of synthetic EEG, as
    int8 TFLite with its meta.json, and the data."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from edgeneuro import models
    from edgeneuro.compress.quantize import to_int8_tflite
    from edgeneuro.data.synthetic import write_dataset
    from edgeneuro.train import train

    d = tmp_path_factory.mktemp("seizure")
    data, det = d / "data", d / "det"
    write_dataset(data, subjects=2, recordings=1, seconds=240, fs=64.0, seed=1)
    train(data, "cnn", det, window=2.0, stride=2.0, epochs=1, verbose=0)
    net = models.keras().models.load_model(det / "model.keras")
    (det / "model.tflite").write_bytes(to_int8_tflite(net, np.load(det / "calibration.npy")))
    return det, data


@pytest.mark.sim
def test_run_page_layers_baseline_memory_and_arena(ad01_run):
    r, page = ad01_run
    assert kind_of(r) == "run"
    assert_self_contained(page)
    assert charts(page) == 3  # instructions per layer, memory, the arena over time
    text = cells(page)
    # every layer's kernel, MACs and instructions, and TFLM + CMSIS-NN's count of the same operator
    tflm = baselines.per_layer_baseline()["ad"]
    for layer in r["profile"]:
        assert layer["kernel"] in text and f"{layer['macs']:,}" in text and f"{layer['instructions']:,}" in text
        assert f"{tflm[layer['source_index']]['instructions']:,}" in text
    assert r["model_sha256"] in text and r["board"] in text and f"edgeneuro {r['edgeneuro_version']}" in text
    whole = baselines.cmsis_worst(baselines.baselines()["ad"])
    assert f"takes {whole:,} instructions per inference, edgeneuro {r['instructions']:,}" in page
    # memory: the totals and the stack's high-water mark against its reserve
    assert f"{r['flash_bytes']:,}" in text and f"{r['ram_bytes']:,}" in text
    assert f"{r['stack_used_bytes']:,} / {r['stack_reserved_bytes']:,}" in text
    # the arena: a rectangle per buffer of the plan the run reports, at its offset
    buffers = r["plan"]["buffers"]
    assert len(buffers) > 2 and all(esc_json(t) in page for b in buffers for t in b["tensors"])
    assert f"arena {r['plan']['arena_bytes']:,} B" in page


def esc_json(name: str) -> str:
    """A name as it sits in a chart's embedded JSON: HTML-escaped for plotly, then plotly's own
    escaping of <, > and / for the script element."""
    s = json.dumps(html.escape(name))[1:-1]
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("/", "\\u002f")


def test_inspect_page(tmp_path):
    proc = edgeneuro("inspect", str(AD01), "--json", "--html", str(tmp_path / "inspect.html"))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    page = (tmp_path / "inspect.html").read_text()
    assert kind_of(doc) == "inspect"
    assert_self_contained(page)
    text = cells(page)
    for layer in doc["layers"]:
        assert f"{layer['macs']:,}" in text and f"{layer['weights_bytes']:,}" in text and layer["kernel"] in text
    assert all(esc_json(t) in page for b in doc["buffers"] for t in b["tensors"])
    assert charts(page) == 3  # layers, memory, arena
    assert f"Fits the board: {doc['fits_detail']}" in page


@pytest.mark.sim
def test_hostile_names_are_inert(hostile):
    model, r, path = hostile
    page = path.read_text()
    for raw in (HOSTILE_IN, HOSTILE_OUT, "<script>alert", "<img src=x"):
        assert raw not in page, raw
    assert str(model) in cells(page)  # shown, as text
    names = [t for b in r["plan"]["buffers"] for t in b["tensors"]]
    assert HOSTILE_IN in names and HOSTILE_OUT in names
    assert esc_json(HOSTILE_IN) in page and esc_json(HOSTILE_OUT) in page


def test_unknown_json_is_refused_in_one_line(tmp_path):
    (tmp_path / "other.json").write_text(json.dumps({"loss": 0.1, "epochs": 3}))
    proc = edgeneuro("report", str(tmp_path / "other.json"), "-o", str(tmp_path / "page.html"))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0 and len(lines) == 1 and "not a report of edgeneuro's" in lines[0], proc.stderr
    assert not (tmp_path / "page.html").exists()
    with pytest.raises(ReportError):
        kind_of([1, 2])


@pytest.mark.sim
def test_report_command_and_atomic_write(hostile, tmp_path):
    """`edgeneuro report` renders the same page from the JSON; a page that cannot be made leaves the
    file that was there."""
    _, r, path = hostile
    page = path.read_text()
    (tmp_path / "run.json").write_text(json.dumps(r))
    proc = edgeneuro("report", str(tmp_path / "run.json"), "-o", str(tmp_path / "again.html"))
    assert proc.returncode == 0 and "(run report)" in proc.stdout, proc.stderr
    again = (tmp_path / "again.html").read_text()
    assert cells(again) == cells(page) and charts(again) == charts(page)
    with pytest.raises(KeyError):
        write_html({k: v for k, v in r.items() if k != "profile"} | {"profile": [{}]}, tmp_path / "again.html")
    assert (tmp_path / "again.html").read_text() == again and len(list(tmp_path.iterdir())) == 2


def _tracks(page: str, rec: dict, label: str) -> None:
    """The recording's figure: named, the window decisions as the JSON has them."""
    assert Path(rec["recording"]).name in page
    assert html.escape(label) in page
    assert len(rec["decisions"]) == len(rec["window_start_s"]) == len(rec["predictions"]) > 50


@pytest.mark.slow
@pytest.mark.sim
def test_seizure_pages(detector, tmp_path, capsys):
    """`eval`, `stream --edf` and `compress` of one detector (one test: the detector is trained once)."""
    det, data = detector
    _eval_page(det, data, tmp_path)
    _stream_page(det, data, tmp_path)
    _compress_page(det, tmp_path, capsys)


def _eval_page(det: Path, data: Path, tmp_path: Path) -> None:
    proc = edgeneuro("eval", str(det / "model.tflite"), "--data", str(data), "--json", "--html",
                     str(tmp_path / "eval.html"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    page = (tmp_path / "eval.html").read_text()
    assert kind_of(r) == "eval"
    assert_self_contained(page)
    (rec,) = r["recordings"]
    assert rec["eeg"]["channels"] == ["FP1-F7", "F7-T7", "T7-P7"] and len(rec["eeg"]["uv"][0]) <= 3000
    assert rec["reference"] and charts(page) == 1
    _tracks(page, rec, r["runtime"])
    e, w = r["event"], r["window"]
    row = next(c for c in re.findall(r"<tr>(.*?)</tr>", page, re.S) if r["runtime"] in c)
    assert f"{e['true_positives']}/{e['reference_events']}" in row and f"{100 * w['accuracy']:.1f} %" in row
    assert r["model_sha256"] in cells(page)


def _stream_page(det: Path, data: Path, tmp_path: Path) -> None:
    edf = data / "chb02" / "chb02_01.edf"
    proc = edgeneuro("stream", str(det / "model.tflite"), "--edf", str(edf), "--json", "--html",
                     str(tmp_path / "stream.html"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    page = (tmp_path / "stream.html").read_text()
    assert kind_of(r) == "stream"
    assert_self_contained(page)
    (rec,) = r["metrics"]["recordings"]
    _tracks(page, rec, f"board ({r['board']})")
    n = r["windows"]
    verdict = f"yes: {n}/{n} outputs equal edgeneuro's reference; decisions equal the host's: True"
    assert verdict in cells(page)
    assert charts(page) == 2  # memory, the recording
    assert f"{r['protocol']['sent']:,}" in cells(page)


def _compress_page(det: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "int8" / "model.tflite"
    assert cli.main(["compress", str(det / "model.keras"), "--prune", "0.5", "--epochs", "1", "-o", str(out),
                     "--json", "--html", str(tmp_path / "compress.html")]) == 0  # fmt: skip
    r = json.loads(capsys.readouterr().out)
    page = (tmp_path / "compress.html").read_text()
    assert kind_of(r) == "compress"
    assert_self_contained(page)
    text = cells(page)
    for s in r["steps"]:
        assert s["step"] in text and f"{s['weights_bytes']:,}" in text
        assert f"{100 * s['window']['accuracy']:.1f} %" in text
    assert r["model_sha256"] in text and charts(page) == 1


@pytest.mark.sim
def test_page_renders_in_chromium(hostile, tmp_path):
    """The page in a real browser: every chart drawn, nothing on the console at SEVERE, no alert
    from the hostile names; a screenshot is kept beside the test's files."""
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        pytest.skip("Debian's chromium and chromium-driver are not installed (scripts/setup.sh installs them)")
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    model, _, path = hostile
    page = path.read_text()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,2000",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver_path), options=options)
    try:
        driver.get(path.as_uri())
        WebDriverWait(driver, 30).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg")) >= charts(page)
        )
        drawn = driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")
        assert len(drawn) == charts(page) == 3
        assert all(p.find_elements(By.CSS_SELECTOR, ".main-svg") for p in drawn)
        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert.text  # noqa: B018
        assert str(model) in driver.find_element(By.CSS_SELECTOR, "table.header").text
        severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert severe == []
        shot = tmp_path / "report.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    finally:
        driver.quit()
