"""Continuous streaming (issue 18, items 2 and 5): the whole detector on QEMU and Renode (firmware/stream_detector.c)
fed a recording's raw samples in SAMPLES frames over the serial line. Its window decisions and
events equal the host chain's, sample for sample; a lost, a repeated and an overlapping SAMPLES
frame are detected by the sample index, resent or ACKed without a second push, and leave the same
events; garbage between the frames is refused and the stream recovers with the same events."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from test_detector import train_detectors
from test_stream_garbage import hostile

from edgeneuro import boards, cli
from edgeneuro.stream import protocol as P
from edgeneuro.stream.continuous import stream_continuous
from edgeneuro.targets import renode

BOARD = "mps2-an386"
SEED = 18


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    """A dnn detector trained one epoch on tiny synthetic EEG (tests/test_detector.py's) and the
    held-out 3 min recording (2 channels at 128 Hz, one seizure)."""
    root = tmp_path_factory.mktemp("continuous")
    model = train_detectors(root, ("dnn",))["dnn"]
    return model, root / "data" / "chb02" / "chb02_01.edf"


class Line:
    """The serial port under the link, with faults on the way to the board: ``drop`` (first sample
    indices whose SAMPLES frame is lost the first time it is sent), ``repeat`` (sent twice the first
    time), ``overlap`` (sent the first time as a frame of the same seq starting ``shift`` samples
    earlier, the right samples: an overlap), and ``garbage(n)``, bytes written before the n-th
    SAMPLES frame (None: none)."""

    def __init__(self, port, drop=(), repeat=(), overlap=(), shift: int = 5, garbage=None) -> None:
        self.port, self.drop, self.repeat, self.overlap = port, set(drop), set(repeat), set(overlap)
        self.shift, self.garbage, self.frames, self.done = shift, garbage, 0, Counter()

    def write(self, data: bytes) -> int:
        if data[2] != P.SAMPLES:
            return self.port.write(data)
        (first,) = P.SAMPLES_HEAD.unpack_from(data, 6)
        piece = self.garbage(self.frames) if self.garbage else None
        self.frames += 1
        if piece:
            self.port.write(piece)
            self.done["garbage"] += 1
        for fault in ("drop", "repeat", "overlap"):
            if first in getattr(self, fault):
                getattr(self, fault).discard(first)
                self.done[fault] += 1
                if fault == "drop":
                    return len(data)
                if fault == "repeat":
                    self.port.write(data)
                if fault == "overlap":  # samples first - shift .. first + n - shift: not the index expected
                    self.port.write(P.encode(P.SAMPLES, data[3], P.SAMPLES_HEAD.pack(first - self.shift) + data[10:-4]))
                    return len(data)
        return self.port.write(data)

    def read(self, size: int = 1) -> bytes:
        return self.port.read(size)

    @property
    def in_waiting(self) -> int:
        return self.port.in_waiting


def _run(detector, **kw) -> dict:
    model, edf = detector
    return stream_continuous(model, edf, boards.load(BOARD), **kw)


@pytest.mark.sim
@pytest.mark.slow
def test_continuous_stream_equals_the_host_chain(detector, tmp_path, capsys):
    """`edgeneuro stream --continuous --json --html`: every sample pushed once, every window's outputs and
    class, every event and alarm the host chain's; SzCORE metrics and latencies from the board's
    events; the board's counters and the device's numbers; no resend on a clean line."""
    model, edf = detector
    code = cli.main(["--quiet", "stream", str(model), "--edf", str(edf), "--continuous", "--json", "--build",
                     str(tmp_path / "b"), "--html", str(tmp_path / "r.html")])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    r = json.loads(out)
    assert r["ok"] and all(r["equal_host_chain"].values()), r["equal_host_chain"]
    assert r["samples"] == 180 * 128 and r["windows"] == (180 * 128 - 512) // 256 + 1
    s = r["streaming"]
    assert s["frames_sent"] == -(-r["samples"] // s["samples_per_frame"]) and s["samples_per_frame"] == 16
    assert s["protocol"].get("retransmits", 0) == s["protocol"].get("nak", 0) == 0
    assert s["board_repeated"] == s["board_refused"] == 0
    assert s["status_frames"] == r["windows"] // 8  # one unasked STATUS every 8 windows
    assert len(r["latency"]) == len(r["reference_s"]) >= 1 and r["metrics"]["reference_events"] >= 1
    d = r["device"]
    assert 0 < d["detector_state_bytes"] < 4096 and d["worst_instructions_per_sample"] > 0 < d["duty_cycle"] < 0.2
    assert (tmp_path / "b" / "detector.c").is_file() and (tmp_path / "b" / "firmware.elf").is_file()
    page = (tmp_path / "r.html").read_text()
    assert "Serial protocol" in page and "Measured like a device" in page and '<td class="verdict-yes">yes: ' in page


@pytest.mark.sim
@pytest.mark.skipif(renode.find() is None, reason="renode is not installed (`make setup` installs it where it can)")
@pytest.mark.parametrize("board", ["nrf52840-dk", "nucleo-h743zi", "stm32f4-discovery"])
def test_continuous_stream_on_renode_equals_the_host_chain(detector, board, capsys):
    """`stream --continuous --sim renode`: the same detector firmware on each Renode board, fed every
    sample through the chip's UART model, gives the host chain's windows, events and alarms; and the
    alarm pin, as Renode's GPIO model saw the firmware's stores to it, went on and off as the alarms
    the board reported (the recording's seizure raises it at least once)."""
    model, edf = detector
    code = cli.main(["--quiet", "stream", str(model), "--edf", str(edf), "--continuous", "--json", "--board",
                     board, "--sim", "renode", "--timeout", "20"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    r = json.loads(out)
    assert r["ok"] and all(r["equal_host_chain"].values()), r["equal_host_chain"]
    assert r["simulator"] == "renode" and r["board"] == board and r["samples"] == 180 * 128
    assert r["device"]["worst_instructions_per_sample"] > 0
    pin = r["alarm_pin"]
    assert pin["pin"] == boards.load(board).alarm.pin and pin["equal_alarms"] and pin["other_stores"] == 0
    assert pin["changes"] == [on for on, _ in r["alarms"]] and 1 in pin["changes"] and pin["changes"][-1] == 0


@pytest.mark.sim
@pytest.mark.skipif(renode.find("renode-test") is None, reason="renode-test is not installed (`make setup`)")
def test_robot_suite_sees_the_alarm_led_follow_the_reported_alarms(detector, tmp_path):
    """renode/edgeneuro.robot's detector test on nrf52840-dk (LED1, active low): the detector build
    boots under renode-test, `edgeneuro stream --continuous --port` feeds it the recording, and the
    LED Renode models on the alarm pin changed state exactly as often, and to the same states, as
    the alarms the board reported."""
    import subprocess
    import sys
    from xml.etree import ElementTree

    from edgeneuro.detector import load_recording
    from edgeneuro.stream.continuous import build

    model, edf = detector
    board = boards.load("nrf52840-dk")
    r = load_recording(model, edf, board)
    build(r.prepared, r.det, board, tmp_path / "detector", r.meta.input_scale_uv)
    root = Path(__file__).resolve().parents[1]
    variables = {"BOARD": board.name, "ALARM_LED": "gpio0.alarm_led", "DETECTOR": tmp_path / "detector",
                 "MODEL": model, "EDF": edf, "EDGENEURO": Path(sys.executable).parent / "edgeneuro",
                 "PTY": tmp_path / "uart"}  # fmt: skip
    robot = root / "renode" / "edgeneuro.robot"
    proc = subprocess.run([renode.find("renode-test"), str(robot), "--include", "detector",
                           *[a for k, v in variables.items() for a in ("--variable", f"{k}:{v}")],
                           "-r", str(tmp_path / "results")], capture_output=True, text=True, timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:]
    total = ElementTree.parse(tmp_path / "results" / "robot_output.xml").find("statistics/total/stat")
    assert total.attrib == {"pass": "1", "fail": "0", "skip": "0"}


def test_alarm_pin_changes_are_compared_with_the_reported_alarms():
    """The check itself: stores that repeat the level are no change, a pin that stays on after the
    board reported it off is a difference, and stores to other registers are counted apart."""
    from edgeneuro.stream.continuous import alarm_pin

    b = boards.load("stm32f4-discovery")
    on, off, other = b.alarm.on, b.alarm.off, (b.alarm.on[0], 0x1)
    alarms = [(1, 100), (0, 200)]
    good = alarm_pin(b, [off, on, on, other, off], alarms)
    assert good["equal_alarms"] and good["changes"] == [1, 0] and good["other_stores"] == 1 and good["stores"] == 5
    stuck = alarm_pin(b, [off, on], alarms)
    assert not stuck["equal_alarms"] and stuck["changes"] == [1] and stuck["reported"] == [1, 0]


@pytest.mark.sim
@pytest.mark.slow
def test_lost_repeated_and_overlapping_frames_are_recovered(detector):
    """A SAMPLES frame lost in mid-stream (the next one shows the gap: NAK 6, resent from the index
    the board expects), the last frame lost (no frame after it: the link's timeout resends it), one
    repeated (ACKed, not pushed twice) and one replaced by an overlapping one (NAK 6): the same
    windows, events and alarms as the host chain, no sample pushed twice or skipped."""
    lines = []

    def wrap(port):
        lines.append(Line(port, drop=(1600, 23040 - 16), repeat=(4800,), overlap=(9600,)))
        return lines[0]

    r = _run(detector, wrap=wrap, timeout=1.0)
    assert lines[0].done == Counter(drop=2, repeat=1, overlap=1)
    assert r["ok"] and all(r["equal_host_chain"].values()), r["equal_host_chain"]
    s, p = r["streaming"], r["streaming"]["protocol"]
    assert s["board_repeated"] >= 1 and s["board_refused"] >= 2  # the gap after the lost frame, the overlap
    assert p["nak_6"] >= 2 and p["retransmits"] >= 2 and p["timeouts"] == 1  # only the last frame needed it


def _garbage(rng: np.random.Generator):
    """Before every 40th SAMPLES frame one hostile piece: test_stream_garbage's kinds (INFER frames
    the detector refuses by type, random bytes, SYNC runs, bad CRCs) and SAMPLES frames that must
    not be pushed: a real frame cut short (the next one completes it: a bad CRC), one with a bad CRC,
    a length that is no whole number of samples, an index far ahead."""
    kinds = ("random", "random_with_syncs", "truncated", "length_huge", "bad_crc", "unknown_type", "sync_runs",
             "samples_cut", "samples_bad_crc", "samples_length", "samples_far")  # fmt: skip
    order = iter([kinds[i % len(kinds)] for i in range(2 * len(kinds))])

    def piece(n: int) -> bytes | None:
        if n % 40 != 39:
            return None
        kind = next(order, None)
        seq = int(rng.integers(0, 256))
        body = P.SAMPLES_HEAD.pack(n * 16) + rng.integers(-2000, 2000, 32, dtype=np.int16).tobytes()
        if kind == "samples_cut":
            return P.encode(P.SAMPLES, seq, body)[: int(rng.integers(7, 40))]
        if kind == "samples_bad_crc":
            frame = bytearray(P.encode(P.SAMPLES, seq, body))
            frame[int(rng.integers(2, len(frame)))] ^= 0x10
            return bytes(frame)
        if kind == "samples_length":
            return P.encode(P.SAMPLES, seq, body[:-3])
        if kind == "samples_far":
            return P.encode(P.SAMPLES, seq, P.SAMPLES_HEAD.pack(10**7) + body[4:])
        return None if kind is None else hostile(kind, rng, seq)

    return piece


@pytest.mark.sim
@pytest.mark.slow
def test_garbage_between_frames_is_refused(detector):
    """22 hostile pieces between the SAMPLES frames: the board refuses them (NAKs), the stream goes on
    and the board's detector still equals the host chain."""
    lines = []

    def wrap(port):
        lines.append(Line(port, garbage=_garbage(np.random.default_rng(SEED))))
        return lines[0]

    r = _run(detector, wrap=wrap, timeout=2.0)
    assert lines[0].done["garbage"] == 22
    assert r["streaming"]["protocol"]["stale"] >= 22  # the board's NAKs of the pieces, of seqs not in flight
    assert r["ok"] and all(r["equal_host_chain"].values()), r["equal_host_chain"]


@pytest.mark.slow
def test_faults_and_garbage_under_the_sanitizers(detector):
    """The detector's stream harness built for the host under ASan and UBSan (its UART a pty, as
    QEMU's): lost, repeated and overlapping frames and the hostile pieces on one line, the same
    windows, events and alarms as the host chain, and no sanitizer report (a report stops the
    harness: the link then fails)."""
    lines = []

    def wrap(port):
        garbage = _garbage(np.random.default_rng(1))
        lines.append(Line(port, drop=(1600,), repeat=(4800,), overlap=(9600,), garbage=garbage))
        return lines[0]

    r = _run(detector, wrap=wrap, timeout=2.0, sanitized=True)
    assert lines[0].done["garbage"] == 22 and lines[0].done["drop"] == lines[0].done["repeat"] == 1
    assert r["ok"] and all(r["equal_host_chain"].values()), r["equal_host_chain"]
    assert r["streaming"]["board_repeated"] >= 1 and r["streaming"]["board_refused"] >= 2


def test_continuous_options_errors(capsys, tmp_path):
    """One line each: --realtime without --continuous, --continuous without a recording, an ADC
    option without --continuous."""
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((1, 4), np.int8))
    for args, what in ((["--input", str(x), "--realtime"], "--realtime paces the samples of --continuous"),
                       (["--input", str(x), "--continuous"], "--continuous streams the samples of --edf"),
                       (["--input", str(x), "--notch", "50"], "are for --continuous; add --continuous")):  # fmt: skip
        assert cli.main(["--quiet", "stream", "model.tflite", *args]) == 1
        err = capsys.readouterr().err
        assert what in err and err.count("\n") == 1, err


def test_info_of_a_detector_and_older_firmware():
    """INFO carries the detector flag and the channels, whence the samples a SAMPLES frame may
    hold; windows are not streamed to a detector; version 3 firmware (no SAMPLES) is refused at
    HELLO with what version 4 adds."""
    info = P.Info(P.VERSION, 4 + 63 * 8, 2, 25_000_000, b"\x01" * 8, BOARD, "model", detector=True, channels=4)
    back = P.Info.unpack(info.pack())
    assert back == info and back.samples_max == 63 and not back.stateful
    from edgeneuro.stream.command import _check_info

    with pytest.raises(P.StreamError, match="takes samples, not windows; stream the recording to it with --continuous"):
        _check_info(back, boards.load(BOARD), Path("model.tflite"), 512, 2, "the board")
    old = bytes([3]) + info.pack()[1:]
    with pytest.raises(P.StreamError, match="protocol version 3; this host speaks version 4 .*version 4 adds SAMPLES"):
        P.Info.unpack(old)
