"""`edgeneuro stream`: windows go to the board over a serial line (QEMU's console UART on a pty),
one frame at a time, and what comes back equals the host's reference bit for bit. The protocol's
host end is checked against injected faults (a corrupted byte, a dropped frame, a duplicate, an
out-of-order answer), its firmware end against bad frames sent to QEMU, and the command's errors
(no such port, a port that never answers, a build or firmware for another board) each give one
clear line."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import MLPERF, reference_run

from edgeneuro import boards, build
from edgeneuro.compiler import compile_model
from edgeneuro.stream import protocol as P
from edgeneuro.stream import target
from edgeneuro.stream.command import stream

AD01 = MLPERF / "ad01_int8.tflite"
TICKS = P.TICKS


def edgeneuro(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgeneuro.cli", *args], capture_output=True, text=True, cwd=cwd)


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgeneuro: error: ") and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def ad01_windows(tmp_path_factory):
    """The stored MLPerf AD01 input and 7 random ones, and the numpy reference's outputs."""
    rng = np.random.default_rng(11)
    x = np.concatenate([np.load(MLPERF / "ad01_int8_input.npy"), rng.integers(-128, 128, (7, 640), dtype=np.int8)])
    path = tmp_path_factory.mktemp("ad01") / "windows.npy"
    np.save(path, x)
    return path, x, reference_run(AD01, x)


@pytest.fixture(scope="module")
def ad01_build(tmp_path_factory):
    """AD01 with the stream harness for mps2-an386."""
    return target.build(AD01, boards.load("mps2-an386"), tmp_path_factory.mktemp("stream") / "build")


# --- (a) windows through QEMU over the pty, bit for bit ---------------------------------------------


@pytest.mark.sim
def test_stream_windows_through_qemu_bitexact(ad01_windows, tmp_path):
    path, x, expected = ad01_windows
    proc = edgeneuro("stream", str(AD01), "--board", "mps2-an386", "--input", str(path), "--output",
                     str(tmp_path / "out.npy"), "--build", str(tmp_path / "build"), "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    y = np.load(tmp_path / "out.npy")
    np.testing.assert_array_equal(y, expected)
    np.testing.assert_array_equal(y[0], np.load(MLPERF / "ad01_int8_expected_output.npy")[0])  # TFLM's, stored
    assert r["ok"] and r["windows"] == len(x) and r["outputs_equal_reference"] == len(x)
    assert r["simulator"] == "qemu" and r["port"].startswith("/dev/")
    assert r["ticks_min"] > 0
    # the same count `edgeneuro run` measures for AD01 (README: 1,678,280), to the timer's resolution
    assert abs(r["instructions"] - 1_678_280) <= 2 * r["instructions_resolution"]
    assert r["protocol"]["sent"] >= len(x) + 1
    assert (tmp_path / "build" / "firmware.elf").is_file() and (tmp_path / "build" / "stream.json").is_file()


@pytest.mark.sim
def test_stream_on_the_stm32_board(ad01_windows, tmp_path):
    """stm32f4-discovery: the console is QEMU's second serial port, the USART's RX driver receives."""
    path, x, expected = ad01_windows
    res = stream(AD01, "stm32f4-discovery", inputs=path, build_dir=tmp_path / "build")
    assert res.ok, res.report
    np.testing.assert_array_equal(next(iter(res.outputs.values())), expected)
    assert res.report["instructions_resolution"] == pytest.approx(1e9 / 168e6)


@pytest.mark.parametrize("name", boards.available())
def test_stream_firmware_builds_for_every_board(name, tmp_path):
    """The stream harness and every UART driver's receive path cross-compile, for the boards QEMU
    cannot run too; the image carries the harness's marker symbol."""
    b = target.build(AD01, boards.load(name), tmp_path / "build")
    assert target._has_symbol(b.elf, target.MARKER)
    assert build.elf_sizes(b.elf).flash <= boards.load(name).flash_bytes
    assert "#define EN_STREAM_IN_BYTES 640u" in (b.folder / "stream_info.h").read_text()


# --- (b) a real end to end: a recording, a trained int8 model, metrics identical to the host's ------


@pytest.mark.sim
@pytest.mark.slow
def test_stream_a_recording_end_to_end(tmp_path):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from edgeneuro import models
    from edgeneuro.compress.quantize import to_int8_tflite
    from edgeneuro.data.synthetic import write_dataset
    from edgeneuro.train import evaluate_model, train

    data, det = tmp_path / "data", tmp_path / "det"
    write_dataset(data, subjects=2, recordings=1, seconds=300, fs=64.0, seed=1)
    train(data, "cnn", det, window=2.0, stride=2.0, epochs=3, verbose=0)
    net = models.keras().models.load_model(det / "model.keras")
    model = det / "model.tflite"
    model.write_bytes(to_int8_tflite(net, np.load(det / "calibration.npy")))
    edf = data / "chb02" / "chb02_01.edf"

    proc = edgeneuro("stream", str(model), "--edf", str(edf), "--json")
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["ok"] and r["decisions_equal_host"] and r["metrics_identical_to_host"]
    assert r["windows"] == 150 and r["outputs_equal_reference"] == 150
    assert r["metrics"]["event"] == r["metrics_host"]["event"] and r["metrics"]["window"] == r["metrics_host"]["window"]
    # the host side is what `edgeneuro eval` computes for that subject
    host = evaluate_model(model, data, ("chb02",))
    assert r["metrics_host"]["event"] == host["event"] and r["metrics_host"]["window"] == host["window"]
    w = r["metrics"]["window"]
    flagged = w["ictal_detected"] + w["interictal"] - w["interictal_correct"]
    assert 0 < flagged < w["windows"]  # the decisions are not all one class: the comparison means something
    assert r["instructions"] > 0

    text = edgeneuro("stream", str(model), "--edf", str(edf))
    assert text.returncode == 0, text.stderr
    assert "metrics identical to the host's: True" in text.stdout and "instructions per inference" in text.stdout


# --- (c) robustness: the host's parser and link under injected faults --------------------------------

INFO = P.Info(P.VERSION, 4, 4, 25_000_000, b"\x01" * 8, "fake-board", "fake-model")


def answer(payload: bytes) -> bytes:
    return bytes(reversed(payload))


class FaultyLine:
    """The far end of a serial line, in bytes: what the host writes is read with the real parser
    and answered with real frames, and ``faults`` (by the number of the INFER frame received) damage
    the answer's bytes on the way back: "corrupt" flips a bit of the payload, "drop" loses the frame,
    "duplicate" sends it twice, "out_of_order" sends an answer with the next seq (and a wrong
    payload) first, "nak" says the request arrived damaged, "stale_nak" NAKs an earlier seq first."""

    def __init__(self, faults: dict[int, str]) -> None:
        self.parser = P.Parser()
        self.to_host = bytearray()
        self.faults = faults
        self.infers = 0

    def write(self, data: bytes) -> int:
        for f in self.parser.feed(data):
            assert isinstance(f, P.Frame), f
            if f.kind == P.HELLO:
                self.to_host += P.encode(P.INFO, f.seq, INFO.pack())
                continue
            fault = self.faults.get(self.infers)
            self.infers += 1
            good = P.encode(P.OUTPUT, f.seq, answer(f.payload) + TICKS.pack(1000 + f.seq))
            if fault == "corrupt":
                bad = bytearray(good)
                bad[8] ^= 0x10  # inside the payload
                self.to_host += bad
            elif fault == "drop":
                pass
            elif fault == "duplicate":
                self.to_host += good + good
            elif fault == "out_of_order":
                self.to_host += P.encode(P.OUTPUT, f.seq + 1, b"XXXX" + TICKS.pack(7)) + good
            elif fault == "nak":
                self.to_host += P.encode(P.NAK, f.seq, bytes([P.NAK_CRC, 0]))
            elif fault == "stale_nak":
                self.to_host += P.encode(P.NAK, f.seq - 1, bytes([P.NAK_CRC, 0])) + good
            else:
                self.to_host += good
        return len(data)

    @property
    def in_waiting(self) -> int:
        return len(self.to_host)

    def read(self, size: int = 1) -> bytes:
        if not self.to_host:
            time.sleep(0.002)
            return b""
        out = bytes(self.to_host[:size])
        del self.to_host[:size]
        return out


def test_every_injected_fault_is_detected_and_retried():
    windows = [bytes([i, i + 1, i + 2, i + 3]) for i in range(8)]
    line = FaultyLine({1: "corrupt", 3: "drop", 5: "duplicate", 7: "out_of_order", 9: "nak", 10: "stale_nak"})
    link = P.Link(line, timeout=0.2, retries=2, where="the fake line")
    assert link.hello() == INFO
    got = [link.infer(w) for w in windows]
    # every result is the right answer to its own window; nothing damaged, stale or foreign got through
    assert got == [(answer(w), 1000 + link_seq) for w, link_seq in zip(windows, range(2, 10), strict=True)]
    assert all(out != b"XXXX" and ticks != 7 for out, ticks in got)
    s = link.stats
    assert s["damaged_crc"] == 1  # the corrupted byte: CRC; retransmitted at once
    assert s["timeouts"] == 1  # the dropped frame: retransmitted after the timeout
    assert s["stale"] == 3  # the duplicate's second copy, the out-of-order answer, the old NAK: dropped
    assert s["nak"] == 1  # the NAK of the request in flight: retransmitted at once
    assert s["retransmits"] == 3 and line.infers == len(windows) + 3


def test_bounded_retries_then_a_clear_error():
    link = P.Link(FaultyLine({i: "drop" for i in range(10)}), timeout=0.05, retries=2, where="the fake line")
    link.hello()
    t0 = time.monotonic()
    with pytest.raises(P.StreamTimeout, match=r"no answer from the fake line to INFER \(seq 2\) after 3 tries"):
        link.infer(b"abcd")
    assert time.monotonic() - t0 < 2
    link = P.Link(FaultyLine({i: "corrupt" for i in range(10)}), timeout=0.5, retries=1, where="the fake line")
    link.hello()
    with pytest.raises(P.StreamError, match=r"after 2 tries.*damaged frame \(crc\), damaged frame \(crc\)"):
        link.infer(b"abcd")


def test_parser_resynchronises():
    a = P.encode(P.OUTPUT, 1, b"\xa5\x5a" * 3)  # SYNC inside a payload
    b = P.encode(P.OUTPUT, 2, b"hello")
    damaged = bytearray(P.encode(P.OUTPUT, 3, b"world"))
    damaged[-1] ^= 1
    too_long = P.SYNC + P.HEADER.pack(P.OUTPUT, 4, 60000)
    stream_ = b"noise\xa5" + a + bytes(damaged) + too_long + b
    parser = P.Parser(max_payload=64)
    items = [item for i in range(len(stream_)) for item in parser.feed(stream_[i : i + 1])]  # byte by byte
    assert items == [P.Frame(P.OUTPUT, 1, b"\xa5\x5a" * 3), P.Damaged("crc", P.OUTPUT, 3),
                     P.Damaged("length", P.OUTPUT, 4), P.Frame(P.OUTPUT, 2, b"hello")]  # fmt: skip
    assert P.crc32(b"123456789") == 0xCBF43926  # the CRC-32 check value


# --- (c) robustness: the firmware's end, on QEMU ---------------------------------------------------


def _answer(port, frame: bytes, timeout: float = 10.0) -> P.Frame:
    port.write(frame)
    parser = P.Parser()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for item in parser.feed(port.read(max(1, port.in_waiting))):
            assert isinstance(item, P.Frame), item
            return item
    raise AssertionError("no answer from the firmware")


@pytest.mark.sim
def test_firmware_naks_bad_frames_then_answers(ad01_build, ad01_windows):
    _, x, expected = ad01_windows
    board = boards.load("mps2-an386")
    window = x[0].tobytes()
    with target.Qemu(board, ad01_build.elf) as q:
        port = target.open_port(q.port, 115200, 5.0)
        try:
            info = P.Info.unpack(_answer(port, P.encode(P.HELLO, 1)).payload)
            assert (info.board, info.in_bytes, info.out_bytes, info.model_id) == (
                "mps2-an386",
                640,
                640,
                target.model_id(AD01),
            )

            bad_crc = bytearray(P.encode(P.INFER, 5, window))
            bad_crc[100] ^= 0x01
            assert _answer(port, bytes(bad_crc)) == P.Frame(P.NAK, 5, bytes([P.NAK_CRC, 0]))
            assert _answer(port, P.encode(P.INFER, 5, window[:10])) == P.Frame(P.NAK, 5, bytes([P.NAK_LENGTH, 0]))
            assert _answer(port, P.encode(0x33, 5)) == P.Frame(P.NAK, 5, bytes([P.NAK_TYPE, 0]))

            out = _answer(port, P.encode(P.INFER, 5, window))
            assert (out.kind, out.seq) == (P.OUTPUT, 5)
            np.testing.assert_array_equal(np.frombuffer(out.payload[:640], np.int8), expected[0])
            assert TICKS.unpack_from(out.payload, 640)[0] > 0
            # a retransmission gets the same answer (the same ticks: the model did not run again)
            assert _answer(port, P.encode(P.INFER, 5, window)) == out
            # a seq out of order is refused, saying which is expected
            assert _answer(port, P.encode(P.INFER, 9, window)) == P.Frame(P.NAK, 9, bytes([P.NAK_SEQ, 6]))
            # a frame that stops mid-way is abandoned after the board's byte timeout
            assert _answer(port, P.encode(P.INFER, 6, window)[:200]) == P.Frame(P.NAK, 6, bytes([P.NAK_TIMEOUT, 0]))
            out = _answer(port, P.encode(P.INFER, 6, x[1].tobytes()))
            assert (out.kind, out.seq) == (P.OUTPUT, 6)
            np.testing.assert_array_equal(np.frombuffer(out.payload[:640], np.int8), expected[1])
            # HELLO makes the board forget the sequence; then seq wraps from 255 to 0
            assert _answer(port, P.encode(P.HELLO, 7)).kind == P.INFO
            for seq in (255, 0):
                out = _answer(port, P.encode(P.INFER, seq, window))
                assert (out.kind, out.seq) == (P.OUTPUT, seq)
        finally:
            port.close()
        assert q.exited() is None  # nothing made the firmware fault


# --- (d) errors ---------------------------------------------------------------------------------------


def test_a_port_that_does_not_exist(ad01_windows):
    line = one_error_line(edgeneuro("stream", str(AD01), "--port", "/dev/nonexistent", "--input", str(ad01_windows[0])))
    assert "/dev/nonexistent" in line and "cannot open serial port" in line


def test_a_port_that_never_answers(ad01_windows):
    master, slave = os.openpty()
    try:
        t0 = time.monotonic()
        proc = edgeneuro("stream", str(AD01), "--port", os.ttyname(slave), "--input", str(ad01_windows[0]),
                         "--timeout", "0.3", "--retries", "1")  # fmt: skip
        line = one_error_line(proc)
        assert time.monotonic() - t0 < 20
        assert f"no answer from the board on {os.ttyname(slave)} to HELLO" in line and "2 tries, 0.3 s each" in line
        assert select.select([master], [], [], 1.0)[0]
        assert os.read(master, 100).startswith(P.encode(P.HELLO, 1))  # what was tried went out
    finally:
        os.close(master)
        os.close(slave)


def test_a_build_for_another_board(ad01_build, ad01_windows):
    line = one_error_line(edgeneuro("stream", str(ad01_build.folder), "--board", "mps2-an385", "--input",
                                    str(ad01_windows[0])))  # fmt: skip
    assert "built for board mps2-an386, not mps2-an385" in line


def test_a_build_of_the_run_harness_is_refused(ad01_windows, tmp_path):
    b = boards.load("mps2-an386")
    build.build_firmware(compile_model(AD01, b, tmp_path / "run").out_dir, b)
    line = one_error_line(edgeneuro("stream", str(tmp_path / "run"), "--input", str(ad01_windows[0])))
    assert "not the stream firmware" in line


def test_a_board_without_qemu_needs_a_port(ad01_windows):
    line = one_error_line(edgeneuro("stream", str(AD01), "--board", "nrf52840-dk", "--input", str(ad01_windows[0])))
    assert "no QEMU machine" in line and "mps2-an386" in line


@pytest.mark.sim
def test_firmware_for_another_board_on_the_port(ad01_build, ad01_windows, tmp_path):
    """A board that answers HELLO with another board's name (or model) is refused before any window."""
    other = tmp_path / "ad01_retrained.tflite"  # the same shapes, another file: another model id
    other.write_bytes(AD01.read_bytes() + bytes(16))
    with target.Qemu(boards.load("mps2-an386"), ad01_build.elf) as q:
        line = one_error_line(edgeneuro("stream", str(AD01), "--port", q.port, "--board", "mps2-an385",
                                        "--input", str(ad01_windows[0])))  # fmt: skip
        assert f"the board on {q.port} runs firmware built for board mps2-an386, not mps2-an385" in line
        line = one_error_line(edgeneuro("stream", str(other), "--port", q.port, "--input", str(ad01_windows[0])))
        assert "runs model ad01_int8" in line and "not ad01_retrained.tflite" in line
