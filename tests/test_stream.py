"""`edgeneuro stream`: windows go to the board over a serial line (QEMU's console UART on a pty),
one frame at a time, and what comes back equals the host's reference bit for bit. The protocol's
host end is checked against injected faults (a corrupted byte, a dropped frame, a duplicate, an
out-of-order answer), its firmware end against bad frames sent to QEMU, and the command's errors
(no such port, a port that never answers, a build or firmware for another board) each give one
clear line. Spiking networks (NIR) stream as RESET + one INFER per time step: their per-step
outputs equal the fixed-point reference, RESET starts every sample afresh, a retransmitted or late
RESET does no harm, and an snn detector's decisions and metrics from a recording equal the host's."""

from __future__ import annotations

import dataclasses
import json
import os
import select
import struct
import subprocess
import sys
import time
from pathlib import Path

import nir
import numpy as np
import pytest
from conftest import MLPERF, reference_run

from edgeneuro import boards, build, reference
from edgeneuro.compiler import compile_model, load
from edgeneuro.options import CompileOptions, board_features
from edgeneuro.runner import run_on_board
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
    return target.build(load(AD01), boards.load("mps2-an386"), tmp_path_factory.mktemp("stream") / "build")


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
    # the same count `edgeneuro run` measures for AD01 with the same (the board's) kernels, to the timer's resolution
    board = boards.load("mps2-an386")
    run = run_on_board(load(AD01, CompileOptions(features=board_features(board))), board, path, tmp_path / "run")
    assert abs(r["instructions"] - run.report["instructions"]) <= 2 * r["instructions_resolution"]
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
    b = target.build(load(AD01), boards.load(name), tmp_path / "build")
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
    from edgeneuro.evaluate import evaluate_model
    from edgeneuro.train import train

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


def echo(f: P.Frame) -> bytes:
    """What OUTPUT ends with: the CRC of the request frame it answers."""
    return P.CRC.pack(P.crc32(P.HEADER.pack(f.kind, f.seq, len(f.payload)) + f.payload))


class FaultyLine:
    """The far end of a serial line, in bytes: what the host writes is read with the real parser
    and answered with real frames, and ``faults`` (by the number of the request received) damage
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
            self.deliver(f, P.encode(P.OUTPUT, f.seq, answer(f.payload) + TICKS.pack(1000 + f.seq) + echo(f)))
        return len(data)

    def deliver(self, f: P.Frame, good: bytes) -> None:
        """The answer ``good`` to request ``f``, damaged by the fault of this request's number."""
        fault = self.faults.get(self.infers)
        self.infers += 1
        if fault == "corrupt":
            bad = bytearray(good)
            bad[8] ^= 0x10  # inside the payload (an ACK's: its CRC)
            self.to_host += bad
        elif fault == "drop":
            pass
        elif fault == "duplicate":
            self.to_host += good + good
        elif fault == "out_of_order":
            self.to_host += P.encode(P.OUTPUT, f.seq + 1, b"XXXX" + TICKS.pack(7) + echo(f)) + good
        elif fault == "nak":
            self.to_host += P.encode(P.NAK, f.seq, bytes([P.NAK_CRC, 0]))
        elif fault == "stale_nak":
            self.to_host += P.encode(P.NAK, f.seq - 1, bytes([P.NAK_CRC, 0])) + good
        else:
            self.to_host += good

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
            assert (info.version, info.stateful, info.state_bytes) == (P.VERSION, False, 0)

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
            # a frame that stops mid-way is abandoned after the board's byte timeout: 1 s of its clock, 1e9
            # instructions of polling under -icount (5-7 s of real time on a loaded 2-core machine)
            partial = P.encode(P.INFER, 6, window)[:200]
            assert _answer(port, partial, timeout=120) == P.Frame(P.NAK, 6, bytes([P.NAK_TIMEOUT, 0]))
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
    build.build_firmware(compile_model(load(AD01), b, tmp_path / "run").out_dir, b)
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


# --- (e) spiking networks (NIR): RESET + one INFER per time step ---------------------------------------


class SteppingLine(FaultyLine):
    """A fake board whose model has state, under the firmware's sequence rules: RESET zeroes a step
    counter, each new INFER advances it and answers it (the count is the output), and a request
    with the last seq and type is a retransmission, answered from a copy. ``faults`` damage the
    answers (RESET's ACKs too) by request number, as FaultyLine's."""

    INFO = P.Info(P.VERSION, 4, 4, 25_000_000, b"\x02" * 8, "fake-board", "fake-snn", stateful=True, state_bytes=16)

    def __init__(self, faults: dict[int, str]) -> None:
        super().__init__(faults)
        self.state = self.resets = 0
        self.last: tuple[int, int] | None = None
        self.copy = b""

    def write(self, data: bytes) -> int:
        for f in self.parser.feed(data):
            if f.kind == P.HELLO:
                self.to_host += P.encode(P.INFO, f.seq, self.INFO.pack())
                self.last = None
                continue
            if self.last != (f.seq, f.kind):
                if f.kind == P.RESET:
                    self.state, self.resets = 0, self.resets + 1
                    self.copy = P.encode(P.ACK, f.seq)
                else:
                    self.state += 1
                    out = bytes([self.state, 0, 0, 0]) + TICKS.pack(10 * self.state) + echo(f)
                    self.copy = P.encode(P.OUTPUT, f.seq, out)
                self.last = (f.seq, f.kind)
            self.deliver(f, self.copy)
        return len(data)


def test_a_retransmitted_reset_is_harmless():
    """An ACK lost, duplicated or damaged: the host retransmits RESET with the same seq (or drops
    the copy), the board answers from its copy, and every sample's steps still start from zero."""
    # requests: 0 RESET (its ACK lost), 1 its retransmission, 2-4 the steps (the last answer sent
    # twice), 5 RESET (its ACK damaged), 6 its retransmission, 7-9 the steps
    line = SteppingLine({0: "drop", 4: "duplicate", 5: "corrupt"})
    link = P.Link(line, timeout=0.2, retries=2, where="the fake line")
    info = link.hello()
    assert info.stateful and info.state_bytes == 16
    first, second = link.sample([b"abcd"] * 3), link.sample([b"efgh"] * 3)
    assert first == second == [(bytes([n, 0, 0, 0]), 10 * n) for n in (1, 2, 3)]
    assert line.resets == 2 and line.infers == 10  # each retransmitted RESET was answered from the copy
    s = link.stats
    assert (s["timeouts"], s["damaged_crc"], s["stale"], s["retransmits"]) == (1, 1, 1, 2)


def test_firmware_of_an_older_protocol_is_refused():
    """A version 1 board (no RESET, the old INFO layout) is stopped at HELLO with what to do."""

    class OldBoard(FaultyLine):
        def write(self, data: bytes) -> int:
            for f in self.parser.feed(data):
                info = struct.pack("<BBIII8s", 1, 0, 4, 4, 25_000_000, b"\x01" * 8) + b"\x03old\x03net"
                self.to_host += P.encode(P.INFO, f.seq, info)
            return len(data)

    link = P.Link(OldBoard({}), timeout=0.2, where="the fake line")
    with pytest.raises(P.StreamError, match=rf"the fake line runs stream firmware of protocol version 1; this host "
                       rf"speaks version {P.VERSION} \(version 2 adds RESET.*; version 3 adds the request's CRC.*"
                       r"rebuild the stream firmware"):  # fmt: skip
        link.hello()


def test_info_must_match_the_models_state():
    from edgeneuro.stream.command import _check_info

    board = boards.load("mps2-an386")
    info = P.Info(P.VERSION, 32, 8, board.systick_hz, target.model_id(AD01), board.name, "ad01_int8")
    with pytest.raises(P.StreamError, match="the firmware's model has no state, but ad01_int8.tflite has state"):
        _check_info(info, board, AD01, 32, 8, "the board", stateful=True, state_bytes=136)
    stateful = dataclasses.replace(info, stateful=True, state_bytes=208)
    with pytest.raises(P.StreamError, match="keeps 208 B of state; ad01_int8.tflite compiled with these options "
                       "keeps 136 B"):  # fmt: skip
        _check_info(stateful, board, AD01, 32, 8, "the board", stateful=True, state_bytes=136)


def test_spiking_options_errors(ad01_windows, tmp_path):
    line = one_error_line(edgeneuro("stream", str(AD01), "--dt", "1e-3", "--input", str(ad01_windows[0])))
    assert "--dt: options of spiking networks (.nir files)" in line
    path = lif_network(tmp_path, np.random.default_rng(1), 4, 8, 2, 1e-3)
    np.save(tmp_path / "x.npy", np.zeros((1, 3, 4), np.float32))
    line = one_error_line(edgeneuro("stream", str(path), "--input", str(tmp_path / "x.npy")))
    assert "give the step with --dt SECONDS" in line
    line = one_error_line(edgeneuro("stream", str(path), "--dt", "1e-3", "--input", str(ad01_windows[0])))
    assert "expected [N, T, 4]" in line


def lif_network(folder: Path, rng: np.random.Generator, features: int, hidden: int, outputs: int, dt: float) -> Path:
    """Input -> Affine -> LIF (with a recurrent Linear, so the state carries from step to step)
    -> Affine -> LI; the hidden spikes are a second output. Written with ``nir.write``."""
    zeros = np.zeros(hidden)
    tau = rng.uniform(5, 40, hidden) * dt
    tau_o = rng.uniform(5, 40, outputs) * dt
    nodes = {
        "in": nir.Input(np.array([features])),
        "fc1": nir.Affine(rng.normal(0, 0.6, (hidden, features)), rng.normal(0, 0.05, hidden)),
        "lif": nir.LIF(tau=tau, r=tau / dt, v_leak=zeros, v_threshold=np.ones(hidden), v_reset=zeros),
        "rec": nir.Linear(rng.normal(0, 0.15, (hidden, hidden))),
        "fc2": nir.Affine(rng.normal(0, 0.4, (outputs, hidden)), np.zeros(outputs)),
        "li": nir.LI(tau=tau_o, r=tau_o / dt, v_leak=np.zeros(outputs)),
        "out": nir.Output(np.array([outputs])),
        "spikes": nir.Output(np.array([hidden])),
    }
    edges = [("in", "fc1"), ("fc1", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "fc2"), ("fc2", "li"),
             ("li", "out"), ("lif", "spikes")]  # fmt: skip
    path = folder / "lif.nir"
    nir.write(path, nir.NIRGraph(nodes=nodes, edges=edges, type_check=False))
    return path


@pytest.fixture(scope="module")
def lif(tmp_path_factory):
    """A small recurrent LIF network, its stream firmware for mps2-an386 (dt 1 ms), and 3 samples of
    25 steps (the third is the first again) with the fixed-point reference's outputs."""
    d = tmp_path_factory.mktemp("lif")
    rng = np.random.default_rng(5)
    path = lif_network(d, rng, 6, 16, 3, 1e-3)
    x = (rng.random((3, 25, 6)) < 0.3).astype(np.float32)
    x[2] = x[0]
    np.save(d / "x.npy", x)
    p = load(path, CompileOptions(dt=1e-3))
    lowered, kernels = p.graph, p.kernels
    expected = {n: np.stack([reference.run_steps(lowered, kernels, s)[i] for s in x])
                for i, n in enumerate(lowered.outputs)}  # fmt: skip
    built = target.build(p, boards.load("mps2-an386"), d / "build")
    return path, d / "x.npy", x, expected, built, p.plan.state_bytes


@pytest.mark.sim
def test_stream_spiking_network_through_qemu_bitexact(lif, tmp_path):
    """Each sample goes as RESET + 25 INFER frames; every step's outputs equal the fixed-point
    reference bit for bit, and the same sample twice gives the same outputs (the reset works)."""
    path, xpath, x, expected, _, state_bytes = lif
    proc = edgeneuro("stream", str(path), "--dt", "1e-3", "--input", str(xpath), "--output", str(tmp_path / "y.npz"),
                     "--build", str(tmp_path / "build"), "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    y = np.load(tmp_path / "y.npz")
    for name in ("out", "spikes"):
        assert y[name].shape == (3, 25, expected[name].shape[-1]) and y[name].dtype == np.float32
        assert y[name].tobytes() == expected[name].tobytes(), name
    assert y["spikes"].any() and not y["spikes"].all()  # spikes, and not everywhere: the comparison means something
    np.testing.assert_array_equal(y["out"][2], y["out"][0])
    np.testing.assert_array_equal(y["spikes"][2], y["spikes"][0])
    assert not np.array_equal(y["out"][1], y["out"][0])
    assert r["ok"] and (r["samples"], r["time_steps"], r["outputs_equal_reference"]) == (3, 25, 3)
    assert (r["steps_equal_reference"], r["steps_compared"]) == (75, 75)
    requests = r["protocol"]["sent"] - r["protocol"].get("retransmits", 0)  # a loaded machine may retransmit
    assert requests == 1 + 3 * 26  # HELLO, then RESET + 25 INFER per sample
    assert r["state_bytes"] == state_bytes >= 4 * (16 + 3) + 4 * 16  # membranes, the recurrent edge's values
    assert 0 < r["instructions_per_step"] <= r["instructions_per_sample"] <= 25 * r["instructions_per_step"]
    assert r["instructions_per_sample_mean"] == pytest.approx(25 * r["instructions_per_step_mean"])
    doc = json.loads((tmp_path / "build" / "stream.json").read_text())
    assert doc["nir"] == {"dt": 1e-3, "encode": None, "synapse_kernels": "auto", "synapse_weights": "auto",
                          "calibration": None}  # fmt: skip

    # the build folder streams with the options it was built with (no --dt); others are refused
    text = edgeneuro("stream", str(tmp_path / "build"), "--input", str(xpath))
    assert text.returncode == 0, text.stderr
    assert "3 samples x 25 time steps (RESET + 25 INFER frames each)" in text.stdout
    assert "instructions per step" in text.stdout and "3/3 samples (75/75 time steps)" in text.stdout
    line = one_error_line(edgeneuro("stream", str(tmp_path / "build"), "--dt", "2e-3", "--input", str(xpath)))
    assert "was built with --dt 0.001" in line


@pytest.mark.sim
def test_firmware_reset_frames(lif):
    """RESET on QEMU: ACK with its seq; a retransmitted RESET is answered again without a second
    reset, a late duplicate after a step is refused (NAK 3) and leaves the state alone, and a new
    RESET starts the sample over; a retransmitted INFER does not step the network twice."""
    _, _, x, expected, built, state_bytes = lif
    board = boards.load("mps2-an386")
    out_bytes = 4 * (3 + 16)

    def step(port, seq: int, t: int) -> P.Frame:
        """INFER of sample 0's step t; its outputs must be the reference's step t."""
        out = _answer(port, P.encode(P.INFER, seq, x[0][t].tobytes()))
        assert (out.kind, out.seq) == (P.OUTPUT, seq)
        want = np.concatenate([expected["out"][0][t], expected["spikes"][0][t]])
        assert out.payload[:out_bytes] == want.tobytes(), t
        return out

    with target.Qemu(board, built.elf) as q:
        port = target.open_port(q.port, 115200, 5.0)
        try:
            info = P.Info.unpack(_answer(port, P.encode(P.HELLO, 1)).payload)
            assert (info.stateful, info.state_bytes, info.in_bytes) == (True, state_bytes, 4 * 6)
            assert info.out_bytes == out_bytes
            assert _answer(port, P.encode(P.RESET, 10, b"x")) == P.Frame(P.NAK, 10, bytes([P.NAK_LENGTH, 0]))
            assert _answer(port, P.encode(P.RESET, 10)) == P.Frame(P.ACK, 10, b"")
            assert _answer(port, P.encode(P.RESET, 10)) == P.Frame(P.ACK, 10, b"")  # retransmitted
            step(port, 11, 0)
            step(port, 12, 1)
            # a late duplicate of RESET 10, then RESET with the last INFER's seq: refused, the state kept
            assert _answer(port, P.encode(P.RESET, 10)) == P.Frame(P.NAK, 10, bytes([P.NAK_SEQ, 13]))
            assert _answer(port, P.encode(P.RESET, 12)) == P.Frame(P.NAK, 12, bytes([P.NAK_SEQ, 13]))
            step(port, 13, 2)
            assert _answer(port, P.encode(P.RESET, 14)) == P.Frame(P.ACK, 14, b"")  # the sample over
            step(port, 15, 0)
            again = step(port, 16, 1)
            assert _answer(port, P.encode(P.INFER, 16, x[0][1].tobytes())) == again  # from the copy
            step(port, 17, 2)  # so the network stepped once for seq 16
        finally:
            port.close()
        assert q.exited() is None


@pytest.mark.sim
@pytest.mark.slow
def test_stream_a_recording_to_a_spiking_detector(tmp_path):
    """An snn detector trained for a few epochs: each window of a recording becomes its time steps
    (models.snn.features) on the board; the decisions (models.snn.decide) and the seizure metrics
    equal the host's and `edgeneuro eval`'s. dt and the calibration come from the model's folder."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from edgeneuro.data.dataset import item_of
    from edgeneuro.data.meta import Meta
    from edgeneuro.data.synthetic import write_dataset
    from edgeneuro.evaluate import predictor
    from edgeneuro.metrics.seizures import evaluate
    from edgeneuro.train import train

    data, det = tmp_path / "data", tmp_path / "snn"
    write_dataset(data, subjects=2, recordings=2, seconds=300, fs=64.0, seed=1)
    train(data, "snn", det, window=2.0, stride=2.0, epochs=8, verbose=0)
    model, edf = det / "model.nir", data / "chb02" / "chb02_01.edf"

    proc = edgeneuro("stream", str(model), "--edf", str(edf), "--json")
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["ok"] and r["decisions_equal_host"] and r["metrics_identical_to_host"]
    assert (r["windows"], r["time_steps"], r["dt_s"]) == (150, 32, 1 / 16)  # 2 s windows of 4-sample steps at 64 Hz
    assert r["outputs_equal_reference"] == 150 and r["steps_equal_reference"] == r["steps_compared"] == 150 * 32
    assert r["metrics"]["event"] == r["metrics_host"]["event"] and r["metrics"]["window"] == r["metrics_host"]["window"]
    host = evaluate(predictor(model), [item_of(edf)], Meta.load(model))  # `edgeneuro eval`'s, this recording
    assert r["metrics_host"]["event"] == host["event"] and r["metrics_host"]["window"] == host["window"]
    w = r["metrics"]["window"]
    flagged = w["ictal_detected"] + w["interictal"] - w["interictal_correct"]
    assert 0 < flagged < w["windows"]  # the decisions are not all one class: the comparison means something
    requests = r["protocol"]["sent"] - r["protocol"].get("retransmits", 0)  # a loaded machine may retransmit
    assert 0 < r["instructions_per_step"] and requests == 1 + 150 * 33
