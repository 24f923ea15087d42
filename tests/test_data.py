"""EEG data in: real EDF+ files written and read back through pyedflib, SzCORE and CHB-MIT
annotations, labelled windows, and SzCORE event scoring through timescoring."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from edgeneuro.data.annotations import Seizures, read_chbmit_summary, read_events_tsv, write_events_tsv
from edgeneuro.data.edf import Recording, read_edf, write_edf
from edgeneuro.data.synthetic import write_dataset
from edgeneuro.data.windows import ICTAL, PREICTAL, cut
from edgeneuro.errors import InputError
from edgeneuro.metrics.events import score, smooth, to_events


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    return out, write_dataset(out, subjects=1, recordings=2, seconds=600, fs=256, seed=4)


def test_synthetic_dataset_round_trips_through_edf(dataset):
    out, paths = dataset
    summary = read_chbmit_summary(out / "chb01" / "chb01-summary.txt")
    assert sorted(summary) == [p.name for p in paths]
    for p in paths:
        rec = read_edf(p)
        assert rec.fs == 256 and rec.signals.shape == (4, 600 * 256) and rec.channels[0] == "FP1-F7"
        assert 5 < rec.signals.std() < 500  # microvolts, EEG-like amplitudes
        sz = read_events_tsv(p.with_name(p.stem + "_events.tsv"))
        assert sz.duration == 600 and sz.events == summary[p.name]
    first = read_events_tsv(paths[0].with_name(paths[0].stem + "_events.tsv"))
    assert len(first.events) == 1  # the first recording of each subject has a seizure
    a, b = first.events[0]
    rec = read_edf(paths[0])
    inside = rec.signals[:, int((a + 10) * 256) : int((a + 20) * 256)].std()
    before = rec.signals[:, int((a - 200) * 256) : int((a - 190) * 256)].std()
    assert inside > 2 * before  # the seizure is a high-amplitude discharge


def test_edf_write_read_is_faithful(tmp_path):
    t = np.arange(256 * 4) / 256
    sig = np.stack([50 * np.sin(2 * np.pi * 10 * t), 30 * np.cos(2 * np.pi * 3 * t)]).astype(np.float32)
    path = write_edf(tmp_path / "a.edf", Recording(sig, 256.0, ("C3-P3", "C4-P4")))
    back = read_edf(path)
    assert back.channels == ("C3-P3", "C4-P4")
    assert np.max(np.abs(back.signals - sig)) < 0.01  # 16-bit EDF quantization of a +-51 uV range


def test_select_and_resample(tmp_path):
    t = np.arange(512 * 2) / 512
    rec = Recording(np.stack([np.sin(2 * np.pi * 7 * t), np.zeros_like(t)]).astype(np.float32), 512.0, ("A", "B"))
    low = rec.select(["A"]).resample(128)
    assert low.signals.shape == (1, 256) and low.fs == 128
    spec = np.abs(np.fft.rfft(low.signals[0]))
    assert np.argmax(spec) == 7 * 2  # 7 Hz in a 2 s window
    assert abs(low.signals[0].std() - rec.signals[0].std()) < 0.01
    with pytest.raises(InputError, match="no channel Cz"):
        rec.select(["A", "Cz"])


def test_windows_and_labels():
    rec = Recording(np.zeros((2, 256 * 600), np.float32), 256.0, ("A", "B"), "r.edf")
    sz = Seizures(((300.0, 360.0),), 600.0, "r_events.tsv")
    w = cut(rec, sz, window=4, stride=2)
    assert w.x.shape == (299, 1024, 2)
    ictal = w.start[w.y == 1]
    assert ictal.min() == 298 and ictal.max() == 358  # at least half of the window in the seizure
    w3 = cut(rec, sz, window=4, stride=2, labels="ictal", preictal=60)
    pre = w3.start[w3.y == PREICTAL]
    assert pre.min() == 238 and pre.max() == 296  # windows ending in the 60 s before the onset
    assert (w3.y == ICTAL).sum() == (w.y == 1).sum()


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda p: p.write_bytes(b"0       garbage" * 10), "not a readable EDF"),
        (lambda p: p.write_bytes(p.with_name("good.edf").read_bytes()[:1000]), "not a readable EDF"),
    ],
)
def test_bad_edf_files(tmp_path, make, needle):
    write_edf(tmp_path / "good.edf", Recording(np.ones((1, 2560), np.float32), 256.0, ("A",)))
    bad = tmp_path / "bad.edf"
    make(bad)
    with pytest.raises(InputError, match=needle) as e:
        read_edf(bad)
    assert "bad.edf" in str(e.value)


def test_bad_annotations_and_windows(tmp_path):
    with pytest.raises(InputError, match="outside the recording"):
        write_events_tsv(tmp_path / "x_events.tsv", Seizures(((590.0, 620.0),), 600.0))
        read_events_tsv(tmp_path / "x_events.tsv")
    rec = Recording(np.zeros((1, 256 * 3), np.float32), 256.0, ("A",), "short.edf")
    with pytest.raises(InputError, match="shorter than one 4 s window"):
        cut(rec, Seizures((), 3.0), window=4, stride=1)
    with pytest.raises(InputError, match="annotations for 600 s"):
        cut(Recording(np.zeros((1, 256 * 10), np.float32), 256.0, ("A",), "r.edf"), Seizures((), 600.0, "a.tsv"), 4, 1)


def test_chbmit_summary_both_spellings(tmp_path):
    p = tmp_path / "chb05-summary.txt"
    p.write_text(
        "File Name: chb05_06.edf\nNumber of Seizures in File: 1\nSeizure Start Time: 417 seconds\n"
        "Seizure End Time: 532 seconds\n\nFile Name: chb05_07.edf\nNumber of Seizures in File: 2\n"
        "Seizure 1 Start Time: 10 seconds\nSeizure 1 End Time: 20 seconds\n"
        "Seizure 2 Start Time: 100 seconds\nSeizure 2 End Time: 120 seconds\n"
    )
    assert read_chbmit_summary(p) == {"chb05_06.edf": ((417.0, 532.0),), "chb05_07.edf": ((10.0, 20.0), (100.0, 120.0))}


def test_postprocessing():
    d = np.array([0, 1, 0, 0, 1, 1, 1, 0, 1, 1, 0, 0])
    s = smooth(d, 3)
    assert s.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0]
    ev = to_events(s, np.arange(12) * 2.0, window=4.0, duration=30.0)
    assert ev.events == ((8.0, 22.0),)  # windows 4 to 9: from 8 s to the end of the window at 18 s


def test_szcore_scoring_rules():
    ref = Seizures(((1000.0, 1060.0), (2500.0, 2600.0)), 3600.0)
    assert score(ref, ref)["f1"] == 1.0 and score(ref, ref)["fp_per_hour"] == 0.0
    # 20 s early is inside the 30 s pre-onset tolerance; a detection 1000 s away is a false positive
    hyp = Seizures(((980.0, 1000.0), (1800.0, 1820.0)), 3600.0)
    r = score(ref, hyp)
    assert r["sensitivity"] == 0.5 and r["precision"] == 0.5 and r["false_positives"] == 1
    assert r["fp_per_hour"] == 1.0 and r["fp_per_day"] == 24.0 and r["latency_s"] == [-20.0]


def test_score_cli(tmp_path):
    ref = write_events_tsv(tmp_path / "ref_events.tsv", Seizures(((100.0, 160.0),), 1800.0))
    hyp = write_events_tsv(tmp_path / "hyp_events.tsv", Seizures(((110.0, 150.0), (900.0, 920.0)), 1800.0))
    proc = subprocess.run([sys.executable, "-m", "edgeneuro.cli", "score", str(ref), str(hyp), "--json"],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert {"sensitivity", "precision", "f1", "fp_per_hour", "fp_per_day"} <= set(r)
    assert r["sensitivity"] == 1.0 and r["fp_per_hour"] == 2.0 and r["precision"] == 0.5
    text = subprocess.run([sys.executable, "-m", "edgeneuro.cli", "score", str(ref), str(hyp)], capture_output=True,
                          text=True).stdout  # fmt: skip
    assert "sensitivity         100.0 %" in text and "2.000 per hour" in text
