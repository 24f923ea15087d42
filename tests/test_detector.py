"""The whole detector on the chip (edgeneuro/detector/): the fixed-point filters against SciPy's
float design, bad recordings refused or clipped, and for every family (dnn, cnn, lstm, snn) a
detector trained on tiny synthetic EEG run over a whole recording on QEMU, equal sample for sample
to the host chain and to its own C built for the host under the sanitizers, and close to `eval`."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest

from edgeneuro import boards, cli
from edgeneuro.data.edf import Recording
from edgeneuro.detector import Detector, check_recording, design_filters, quantize_sos, to_counts
from edgeneuro.detector.chain import filter_counts
from edgeneuro.errors import InputError

FS = 128.0
CHANNELS = ("FP1-F7", "F7-T7")
FREQS = (1.0, 3.0, 10.0, 25.0, 40.0, 50.0, 70.0, 100.0)


def _detector(sos: np.ndarray, adc_fs: float = 2 * FS, adc_bits: int = 16) -> Detector:
    return Detector(family="dnn", channels=CHANNELS, adc_fs=adc_fs, fs=FS, decimate=int(adc_fs // FS), size=512,
                    step=256, lsb_uv=0.1, adc_bits=adc_bits, filters=(), sos=sos, sos_q=quantize_sos(sos),
                    classes=2, seizure=1)  # fmt: skip


def test_fixed_point_filters_follow_scipy():
    """The cascade (band-pass 0.5-40 Hz, notch 50 Hz, the decimation's low-pass) run in fixed point
    on sines: the gain at each frequency is SciPy's float response (sosfreqz) to within 0.005."""
    from scipy import signal

    _, sos = design_filters(2 * FS, FS, (0.5, 40.0), 50.0)
    det = dataclasses.replace(_detector(sos), channels=tuple(f"sine {f:g} Hz" for f in FREQS))
    t = np.arange(int(40 * det.adc_fs)) / det.adc_fs
    freqs = list(FREQS)
    x = np.stack([np.round(8000 * np.sin(2 * np.pi * f * t)) for f in freqs], axis=1).astype(np.int16)
    y = filter_counts(det, x).astype(np.float64)[len(t) // 2 :]  # past the transients
    tail = t[len(t) // 2 :]
    _, h = signal.sosfreqz(sos, worN=freqs, fs=det.adc_fs)
    for i, f in enumerate(freqs):
        basis = np.stack([np.sin(2 * np.pi * f * tail), np.cos(2 * np.pi * f * tail)], axis=1)
        gain = np.hypot(*np.linalg.lstsq(basis, y[:, i], rcond=None)[0]) / 8000
        assert abs(gain - abs(h[i])) < 0.005, (f, gain, abs(h[i]))
    assert abs(h[freqs.index(50.0)]) < 0.01 and abs(abs(h[freqs.index(10.0)]) - 1) < 0.01  # the design is what it says


def test_recording_rate_and_channels_must_match():
    det = _detector(np.zeros((0, 6)), adc_fs=FS)
    rec = Recording(np.zeros((2, 100), np.float32), 256.0, CHANNELS, "rec.edf")
    with pytest.raises(InputError, match=r"rec.edf: sampled at 256 Hz but the detector's ADC runs at 128 Hz"):
        check_recording(rec, det, "rec.edf")
    rec = Recording(np.zeros((2, 100), np.float32), FS, ("FP1-F7", "C3-P3"), "rec.edf")
    with pytest.raises(
        InputError, match=r"no channel F7-T7 of the detector's montage FP1-F7, F7-T7 \(it has FP1-F7, C3-P3\)"
    ):
        check_recording(rec, det, "rec.edf")


def test_samples_outside_the_adc_are_clipped_and_counted():
    det = _detector(np.zeros((0, 6)), adc_fs=FS, adc_bits=12)
    uv = np.array([[0.0, 204.7, 204.8, -204.8, -204.9, 5000.0], [1e6, -1e6, 0.04, 0.05, -0.05, 0.0]], np.float32)
    counts, outside = to_counts(Recording(uv, FS, CHANNELS[::-1]), det)  # the montage's order, not the file's
    assert outside == 5
    assert counts[:, 1].tolist() == [0, 2047, 2047, -2048, -2048, 2047]  # clipped, never wrapped
    assert counts[:, 0].tolist() == [2047, -2048, 0, 1, -1, 0]  # rounded half away from zero


# --- trained detectors of every family on the board ---------------------------------------------------


def train_detectors(root: Path, families=("dnn", "cnn", "lstm", "snn")) -> dict[str, Path]:
    """Tiny synthetic EEG in ``root`` (2 subjects x 1 recording x 3 min, 2 channels at 128 Hz, and
    the test subject again at 256 Hz) and a detector of each family trained for one epoch (the int8
    ones compressed without pruning): each family's model file (tests/test_stream_continuous.py
    takes the dnn one)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from edgeneuro.compress.compress import compress
    from edgeneuro.data.synthetic import CHANNELS as ALL
    from edgeneuro.data.synthetic import write_dataset
    from edgeneuro.train import train

    write_dataset(root / "data", 2, 1, 180, FS, ALL[:2], 3)
    write_dataset(root / "data256", 2, 1, 180, 2 * FS, ALL[:2], 3)
    models = {}
    for family in families:
        r = train(root / "data", family, root / family, epochs=1, verbose=0)
        if family == "snn":
            models[family] = Path(r["model"])
            continue
        compress(root / family / "model.keras", root / family / "int8" / "model.tflite", epochs=1)
        models[family] = root / family / "int8" / "model.tflite"
    return models


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("detector")
    return root, train_detectors(root)


def _detect(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["--quiet", "detect", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.parametrize("family", ["dnn", "cnn", "lstm", "snn"])
def test_detector_on_the_board_equals_the_host(trained, family, tmp_path, capsys):
    """Every sample of the held-out recording pushed on QEMU: the window outputs, classes, events
    and alarms are the host chain's, and the detector's C built for the host with -Werror, ASan and
    UBSan writes the same records; `eval`'s window classes (float scaling, FFT path) agree on at
    least 90 % of the windows; the device numbers are there and plausible."""
    root, models = trained
    edf = root / "data" / "chb02" / "chb02_01.edf"
    page = tmp_path / "detect.html"
    code, out, err = _detect(capsys, str(models[family]), "--edf", str(edf), "--json", "--build", str(tmp_path / "b"),
                             "--html", str(page))  # fmt: skip
    assert code == 0, err
    r = json.loads(out)
    assert "Measured like a device" in page.read_text()  # the page of `detect --html`
    assert all(r["equal_host_chain"].values()), r["equal_host_chain"]
    assert r["host_build_checked"] is not None and all(r["host_build_checked"].values())
    assert r["windows"] == (180 * 128 - 512) // 256 + 1 and r["samples"] == 180 * 128
    ev = r["eval_on_host"]
    assert ev["windows_compared"] == r["windows"] and ev["window_decisions_agree"] >= 0.9 * r["windows"]
    d = r["device"]
    assert 0 < d["detector_state_bytes"] < 4096 and 0 < d["stack_used_bytes"] < boards.load("mps2-an386").stack_bytes
    assert d["worst_instructions_per_sample"] > 100 * d["worst_instructions_per_sample_without_window"] > 0
    assert 0 < d["duty_cycle"] < 0.2
    assert len(r["latency"]) == len(r["reference_s"]) >= 1
    assert (tmp_path / "b" / "detector.c").is_file() and (tmp_path / "b" / "firmware.elf").is_file()


@pytest.mark.slow
@pytest.mark.sim
def test_detector_with_filters_and_decimation(trained, tmp_path, capsys):
    """A 256 Hz ADC into a 128 Hz model: band-pass, notch and the anti-aliasing low-pass in fixed
    point, every other sample kept; the board, the host chain and the host build agree."""
    root, models = trained
    edf = root / "data256" / "chb02" / "chb02_01.edf"
    args = ["--edf", str(edf), "--adc-fs", "256", "--bandpass", "0.5,40", "--notch", "50", "--json"]
    code, out, err = _detect(capsys, str(models["dnn"]), *args)
    assert code == 0, err
    r = json.loads(out)
    assert len(r["detector"]["filters"]) == 3 and r["detector"]["decimate"] == 2
    assert all(r["equal_host_chain"].values()) and all(r["host_build_checked"].values())
    assert r["samples"] == 180 * 256 and r["windows"] == (180 * 128 - 512) // 256 + 1


@pytest.mark.slow
def test_adc_clipping_on_the_chip(trained, tmp_path):
    """A 12-bit ADC: int16 counts beyond it are clipped on the chip and counted there, as the host
    chain does (the detector's C built for the host, with the checks)."""
    from edgeneuro import compiler
    from edgeneuro.data.meta import Meta
    from edgeneuro.detector import design
    from edgeneuro.detector.app import check_on_host, compile_detector
    from edgeneuro.detector.chain import run

    _, models = trained
    model = models["cnn"]
    prepared = compiler.load(model)
    det = design(model, prepared.graph, adc_bits=12)
    compile_detector(prepared, det, boards.load("mps2-an386"), tmp_path / "b", Meta.load(model).input_scale_uv)
    counts = (np.random.default_rng(0).normal(0, 3000, (2000, 2))).astype(np.int16)
    on_host = run(det, prepared.graph, prepared.kernels, counts)
    built = check_on_host(tmp_path / "b", det, counts)
    assert built.clipped == on_host.clipped == int(np.sum((counts < -2048) | (counts > 2047))) > 100
    assert np.array_equal(built.outputs, on_host.outputs) and built.events == on_host.events


@pytest.mark.slow
def test_cli_compile_app_detector_and_bad_recordings(trained, tmp_path, capsys):
    root, models = trained
    out = tmp_path / "gen"
    assert cli.main(["--quiet", "compile", str(models["snn"]), "--app", "detector", "-o", str(out)]) == 0
    assert "detector:" in capsys.readouterr().out
    header = (out / "detector.h").read_text()
    assert "FP1-F7" in header and "#define EN_DET_WINDOW 512u" in header and "0.1 uV" in header
    edf256 = root / "data256" / "chb02" / "chb02_01.edf"
    code, _, err = _detect(capsys, str(models["dnn"]), "--edf", str(edf256))
    assert code == 1 and err.count("\n") == 1
    assert "sampled at 256 Hz but the detector's ADC runs at 128 Hz" in err and "--adc-fs 256" in err
    code, _, err = _detect(capsys, str(models["dnn"]), "--edf", str(edf256), "--adc-fs", "300")
    assert code == 1 and "--adc-fs 300 Hz: the model takes 128 Hz" in err
