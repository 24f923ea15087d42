"""The stream protocol under garbage (issue 15, item 7): hostile bytes sent to the stream firmware
on QEMU (random blobs, truncated frames, wrong length fields, oversized and zero-length frames,
bad CRCs, unknown types, runs of SYNC bytes, a storm of header-only frames, a 64 KiB flood, bytes
written while the board computes) never crash or hang it, and after each piece a valid INFER gets
the right answer, bit for bit the reference's, without waiting for the host's timeout. A frame the
host did not send never gets its answer taken (the OUTPUT carries the request's CRC). The host's
parser and link are checked against garbage with hypothesis. Every random draw comes from a fixed
seed; ``pytest -m fuzz`` runs many more cases."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pytest
from conftest import MLPERF, examples, reference_run
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeneuro import boards, build
from edgeneuro.compiler import load
from edgeneuro.stream import protocol as P
from edgeneuro.stream import target

AD01 = MLPERF / "ad01_int8.tflite"
BOARD = "mps2-an386"
SEED = 15
IN_BYTES = OUT_BYTES = 640  # AD01's
TIMEOUT = 8.0  # the host's per-try timeout: no valid request may need it (none does: see the counts)


@pytest.fixture(scope="module")
def ad01(tmp_path_factory):
    """AD01's stream firmware for mps2-an386, 16 windows (the stored MLPerf input and 15 random) and
    the numpy reference's outputs."""
    rng = np.random.default_rng(SEED)
    x = np.concatenate([np.load(MLPERF / "ad01_int8_input.npy"), rng.integers(-128, 128, (15, 640), dtype=np.int8)])
    built = target.build(load(AD01), boards.load(BOARD), tmp_path_factory.mktemp("garbage") / "build")
    return built, [w.tobytes() for w in x], [y.tobytes() for y in reference_run(AD01, x)]


class Tap:
    """The serial port as ``Link`` sees it, with every byte the board sends also parsed here to count
    its frames (NAKs by reason), ``pending`` bytes read while the test wrote garbage (handed to the
    link first), and ``after``: bytes written right behind the next request, while the board computes."""

    def __init__(self, port) -> None:
        self.port = port
        self.parser = P.Parser()
        self.frames: Counter = Counter()
        self.pending = bytearray()
        self.after = b""

    def _seen(self, data: bytes) -> bytes:
        for item in self.parser.feed(data):
            key = f"nak_{item.payload[0]}" if isinstance(item, P.Frame) and item.kind == P.NAK else None
            self.frames[key or (item.name if isinstance(item, P.Frame) else f"damaged_{item.why}")] += 1
        return data

    def write(self, data: bytes) -> int:
        n = self.port.write(data)
        if self.after:
            self.port.write(self.after)
            self.after = b""
        return n

    @property
    def in_waiting(self) -> int:
        return len(self.pending) or self.port.in_waiting

    def read(self, size: int = 1) -> bytes:
        if self.pending:
            out = bytes(self.pending[:size])
            del self.pending[:size]
            return out
        return self._seen(self.port.read(size))

    def send_garbage(self, data: bytes, chunk: int = 1024) -> None:
        """``data`` in chunks, reading what the board answers in between (a storm of NAKs must not
        fill the pty's other direction while this end only writes)."""
        for i in range(0, len(data), chunk):
            self.port.write(data[i : i + chunk])
            if self.port.in_waiting:
                self.pending += self._seen(self.port.read(self.port.in_waiting))


def _frame_with_length(kind: int, seq: int, payload: bytes, length: int) -> bytes:
    """A frame whose length field says ``length`` but which carries ``payload``, its CRC right."""
    body = P.HEADER.pack(kind, seq, length) + payload
    return P.SYNC + body + P.CRC.pack(P.crc32(body))


def hostile(kind: str, rng: np.random.Generator, seq: int) -> bytes:
    """One piece of garbage of ``kind``; frames in it carry ``seq`` (the next request's, the last
    one's or any) and a random input, so that one taken for a request would give a wrong answer."""
    window = rng.integers(0, 256, IN_BYTES, dtype=np.uint8).tobytes()
    blob = lambda lo, hi: rng.integers(0, 256, int(rng.integers(lo, hi)), dtype=np.uint8).tobytes()  # noqa: E731
    if kind == "random":
        return blob(1, 1500)
    if kind == "random_with_syncs":
        data = bytearray(blob(50, 800))
        for at in rng.integers(0, len(data), 10):
            data[at : at + 2] = P.SYNC
        return bytes(data)
    if kind == "truncated":
        which = rng.choice([P.INFER, P.INFER, P.HELLO, P.RESET])
        frame = P.encode(int(which), seq, window if which == P.INFER else b"")
        return frame[: int(rng.integers(1, len(frame)))]
    if kind == "truncated_in_crc":  # all but 1-3 bytes of the CRC: the next frame's SYNC completes it
        frame = P.encode(P.INFER, seq, window)
        return frame[: len(frame) - int(rng.integers(1, 4))]
    if kind == "length_too_small":
        return _frame_with_length(P.INFER, seq, window, int(rng.integers(1, IN_BYTES)))
    if kind == "length_too_big":
        return _frame_with_length(P.INFER, seq, window, int(rng.integers(IN_BYTES + 1, 0x10000)))
    if kind == "length_huge":
        return _frame_with_length(int(rng.choice([P.INFER, P.HELLO, P.RESET])), seq, window, 0xFFFF)
    if kind == "length_on_empty":  # HELLO / RESET announcing a payload
        return _frame_with_length(int(rng.choice([P.HELLO, P.RESET])), seq, b"", int(rng.integers(1, 0x10000)))
    if kind == "zero_length":
        return P.encode(P.INFER, seq)
    if kind == "oversized":
        return P.encode(P.INFER, seq, window + blob(1, 3000))
    if kind == "bad_crc":
        frame = bytearray(P.encode(int(rng.choice([P.INFER, P.INFER, P.HELLO, P.RESET])), seq, window))
        if frame[2] != P.INFER:
            frame = bytearray(P.encode(frame[2], seq))
        at = int(rng.integers(2, len(frame)))  # header, payload or CRC
        frame[at] ^= 1 << int(rng.integers(0, 8))
        return bytes(frame)
    if kind == "unknown_type":
        t = int(rng.choice([0x00, 0x04, 0x7F, 0x81, 0x82, 0x83, 0xA5, 0xFF, int(rng.integers(4, 256))]))
        return P.encode(t, seq, blob(0, 100))
    if kind == "sync_runs":  # SYNC0 repeated (the board's loop over repeated SYNC0), SYNC pairs
        return bytes([0xA5]) * int(rng.integers(1, 3000)) + P.SYNC * int(rng.integers(0, 4))
    if kind == "header_storm":  # a NAK for each: the host must keep reading while it writes
        heads = [P.SYNC + bytes([int(rng.choice([0x00, 0x44, 0xEE])), int(rng.integers(0, 256)), 0, 0])
                 for _ in range(200)]  # fmt: skip
        return b"".join(heads)
    if kind == "flood":
        return rng.integers(0, 256, 64 * 1024, dtype=np.uint8).tobytes()
    raise AssertionError(kind)


KINDS = ("random", "random_with_syncs", "truncated", "truncated_in_crc", "length_too_small", "length_too_big",
         "length_huge", "length_on_empty", "zero_length", "oversized", "bad_crc", "unknown_type", "sync_runs",
         "header_storm", "during_compute")  # fmt: skip


@dataclass
class Tally:
    cases: int = 0
    correct: int = 0
    wrong: list = field(default_factory=list)  # (case, kind): an answer taken that was not the reference's
    failed: list = field(default_factory=list)  # (case, kind, error): no answer after every retransmission
    slowest: float = 0.0
    by_kind: Counter = field(default_factory=Counter)
    silent: Counter = field(default_factory=Counter)  # pieces the board dropped without a NAK
    retransmitted: Counter = field(default_factory=Counter)  # the valid request needed a retransmission
    link: Counter = field(default_factory=Counter)
    board: Counter = field(default_factory=Counter)
    seconds: float = 0.0


def serve(built: target.StreamBuild, where: str) -> target.PtyBoard:
    """The stream firmware on QEMU, or (``host``) the same harness built for the host under ASan and
    UBSan (firmware/host_board.c: its UART a pty too), so the protocol code runs under the sanitizers."""
    if where == "qemu":
        return target.Qemu(boards.load(BOARD), built.elf)
    exe = built.folder / "stream_host"
    if not exe.exists():
        build.build_host_stream(built.folder, boards.load(BOARD), exe)
    return target.HostBoard(exe)


def fuzz_session(ad01, cases: int, floods: int, seed: int, where: str = "qemu") -> Tally:
    """One session on QEMU (or the host build: ``serve``): HELLO, then ``cases`` hostile pieces
    (kinds in a shuffled round robin, plus ``floods`` 64 KiB floods in one write each), each
    followed by a valid INFER through ``Link``."""
    built, windows, expected = ad01
    rng = np.random.default_rng(seed)
    order = [KINDS[i % len(KINDS)] for i in range(cases)]
    rng.shuffle(order)
    for _ in range(floods):
        order.insert(int(rng.integers(0, len(order) + 1)), "flood")
    tally = Tally()
    t0 = time.monotonic()
    with serve(built, where) as q:
        port = target.open_port(q.port, 115200, 60.0)
        try:
            tap = Tap(port)
            link = P.Link(tap, timeout=TIMEOUT, retries=3, where=where)
            assert link.hello().in_bytes == IN_BYTES
            for case, kind in enumerate(order):
                seq = int(rng.choice([(link.seq + 1) & 0xFF, link.seq, rng.integers(0, 256)]))
                naks = sum(v for k, v in tap.frames.items() if k.startswith("nak_"))
                before = Counter(link.stats)
                if kind == "during_compute":
                    tap.after = rng.integers(0, 256, int(rng.integers(1, 700)), dtype=np.uint8).tobytes()
                elif kind == "flood":
                    port.write(hostile(kind, rng, seq))  # one write of 64 KiB
                else:
                    tap.send_garbage(hostile(kind, rng, seq))
                i = int(rng.integers(0, len(windows)))
                start = time.monotonic()
                try:
                    out, ticks = link.infer(windows[i])
                except P.StreamError as e:
                    tally.failed.append((case, kind, str(e)))
                    continue
                finally:
                    tally.slowest = max(tally.slowest, time.monotonic() - start)
                    tally.cases += 1
                    tally.by_kind[kind] += 1
                if out == expected[i] and ticks > 0:
                    tally.correct += 1
                else:
                    tally.wrong.append((case, kind))
                if sum(v for k, v in tap.frames.items() if k.startswith("nak_")) == naks:
                    tally.silent[kind] += 1
                if link.stats["retransmits"] > before["retransmits"]:
                    tally.retransmitted[kind] += 1
            # the firmware is alive and still answers: HELLO (the sequence forgotten), one more window
            assert link.hello().board == BOARD
            assert link.infer(windows[0])[0] == expected[0]
            tally.link, tally.board = Counter(link.stats), tap.frames
        except Exception as e:  # the board gone mid-way (a fault, a sanitizer's report): say why
            if q.exited() is None:
                raise
            q.stop()
            raise AssertionError(f"{q.exited()}: {q.output.decode(errors='replace')[-3000:]}") from e
        finally:
            port.close()
        assert q.exited() is None, q.exited()  # no fault, no exit
    tally.seconds = time.monotonic() - t0
    return tally


def check(tally: Tally, cases: int, floods: int) -> None:
    print(f"\n{tally.cases} hostile pieces in {tally.seconds:.1f} s (slowest answer {tally.slowest:.2f} s): "
          f"{tally.correct} correct, {len(tally.wrong)} wrong, {len(tally.failed)} unanswered; "
          f"board sent {dict(tally.board)}; link {dict(tally.link)}; dropped without a NAK "
          f"{dict(tally.silent)}; the valid request retransmitted after {dict(tally.retransmitted)}")  # fmt: skip
    assert tally.cases == cases + floods and tally.by_kind["flood"] == floods
    assert not tally.wrong and not tally.failed, (tally.wrong, tally.failed)
    assert tally.correct == tally.cases  # every valid request after every piece: the reference's answer
    assert tally.link["timeouts"] == 0  # resynchronised without the host's timeout, every time
    assert tally.slowest < TIMEOUT
    # the board's refusals all happened (one NAK per bad header or CRC) and it never sent an error
    assert min(tally.board[f"nak_{r}"] for r in (P.NAK_CRC, P.NAK_LENGTH, P.NAK_TYPE)) > 0
    assert tally.board["nak_5"] == 0  # no frame waited for bytes that never came
    assert tally.board["ERROR"] == 0 and not any(k.startswith("damaged") for k in tally.board)
    assert tally.board["nak_4"] >= 200 * tally.by_kind["header_storm"]  # the storm was answered, not lost
    # only a truncated frame completed by the next frame's SYNC byte (1 in 256 for a missing last CRC
    # byte) is taken by the board as a request: its answer reaches the host as foreign and is not taken
    assert tally.link["foreign"] <= tally.by_kind["truncated"] + tally.by_kind["truncated_in_crc"]


@pytest.mark.sim
def test_firmware_survives_garbage(ad01):
    """150 hostile pieces of 15 kinds (10 each) and one 64 KiB flood, each followed by a valid INFER."""
    check(fuzz_session(ad01, cases=150, floods=1, seed=SEED), 150, 1)


def test_harness_survives_garbage_under_the_sanitizers(ad01):
    """The same on the host build of the harness under ASan and UBSan, another seed: a read or write
    outside frame[] or answer[], or signed overflow, stops it with a report."""
    check(fuzz_session(ad01, cases=300, floods=2, seed=SEED + 2, where="host"), 300, 2)


@pytest.mark.sim
@pytest.mark.fuzz
@pytest.mark.parametrize("where", ["qemu", "host"])
def test_firmware_survives_garbage_long(ad01, where):
    """``pytest -m fuzz``: 3,000 pieces and 8 floods (QEMU: 6 min 42 s on 2026-12-06, all 3,008
    valid requests answered correctly), on QEMU and on the host build under the sanitizers."""
    check(fuzz_session(ad01, cases=3000, floods=8, seed=SEED + 1, where=where), 3000, 8)


@pytest.mark.sim
def test_the_answer_to_a_frame_the_host_did_not_send_is_not_taken(ad01):
    """An INFER of another input with the next request's seq, its last byte missing and that byte
    0xA5: the first byte of the host's request completes it, the board runs it, and its OUTPUT
    (right seq, right CRC) would be taken for the answer to the host's request but for the request
    CRC it carries. The host drops it, retransmits at once, and the board runs the retransmission
    (another CRC than the last INFER's) as a new request: the right answer, no timeout."""
    built, windows, expected = ad01
    rng = np.random.default_rng(SEED)
    with target.Qemu(boards.load(BOARD), built.elf) as q:
        port = target.open_port(q.port, 115200, 10.0)
        try:
            link = P.Link(port, timeout=TIMEOUT, retries=3, where="QEMU")
            link.hello()
            assert link.infer(windows[0])[0] == expected[0]
            while True:  # an input whose frame with the next seq ends in 0xA5 (1 in 256)
                other = rng.integers(0, 256, IN_BYTES, dtype=np.uint8).tobytes()
                forged = P.encode(P.INFER, link.seq + 1, other)
                if forged[-1] == P.SYNC[0]:
                    break
            port.write(forged[:-1])
            out, _ = link.infer(windows[1])
            assert out == expected[1]
            assert (link.stats["foreign"], link.stats["retransmits"], link.stats["timeouts"]) == (1, 1, 0)
            # and a true retransmission (the same frame) is still answered from the copy
            again = P.encode(P.INFER, link.seq, windows[1])
            port.write(again)
            parser, deadline, got = P.Parser(), time.monotonic() + TIMEOUT, None
            while got is None and time.monotonic() < deadline:
                got = next((f for f in parser.feed(port.read(max(1, port.in_waiting))) if isinstance(f, P.Frame)), None)
            assert got is not None and got.kind == P.OUTPUT and got.payload[:OUT_BYTES] == expected[1]
            assert got.payload[-4:] == again[-4:]  # the request's CRC
        finally:
            port.close()
        assert q.exited() is None


# --- the host's end against garbage (hypothesis) ---------------------------------------------------

MAX = 64
frames = st.builds(
    lambda kind, seq, payload: P.encode(kind, seq, payload),
    st.sampled_from([P.INFO, P.OUTPUT, P.NAK, P.ERROR, P.ACK]),
    st.integers(0, 255),
    st.binary(max_size=MAX),
)
garbage = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda f, cut: f[: max(1, cut % len(f))], frames, st.integers(0, 10_000)),  # truncated
    st.builds(
        lambda f, at, bit: f[: at % len(f)] + bytes([f[at % len(f)] ^ (1 << bit)]) + f[at % len(f) + 1 :],
        frames,
        st.integers(0, 10_000),
        st.integers(0, 7),
    ),  # one bit flipped
    st.builds(
        lambda h, seq, n: P.SYNC + P.HEADER.pack(h, seq, n),
        st.integers(0, 255),
        st.integers(0, 255),
        st.integers(0, 0xFFFF),
    ),  # a bare header, any length
)


@settings(max_examples=examples(200))
@given(st.lists(st.tuples(garbage, frames), max_size=8), st.lists(st.integers(1, 64), min_size=1, max_size=8))
def test_parser_finds_every_frame_among_garbage(pieces, chunks):
    """Garbage then a good frame, several times, fed in chunks of any size: the parser yields the
    good frames, in order, once the bytes after the last one would complete any frame started
    before it, and nothing that is not a frame's bytes in the stream (a truncated frame completed
    by the next frame's first bytes is one: the link's seq and request CRC checks are for those)."""
    stream = b"".join(g + f for g, f in pieces) + bytes(MAX + 10)
    parser = P.Parser(max_payload=MAX)
    got, at, i = [], 0, 0
    while at < len(stream):
        n = chunks[i % len(chunks)]
        got += [x for x in parser.feed(stream[at : at + n]) if isinstance(x, P.Frame)]
        at, i = at + n, i + 1
    want = iter(got)
    assert all(any(g == x for g in want) for x in (next(iter(P.Parser(MAX).feed(f))) for _, f in pieces))
    assert all(P.encode(g.kind, g.seq, g.payload) in stream for g in got)
    assert len(parser.buf) <= 2 + P.HEADER.size + MAX + P.CRC.size  # the parser never holds more than a frame


INFO = P.Info(P.VERSION, 4, 4, 25_000_000, b"\x01" * 8, "fake-board", "fake-model")


def right(request: P.Frame) -> bytes:
    return bytes(reversed(request.payload)) + P.TICKS.pack(1000 + request.seq)


class HostileBoard:
    """A fake board that answers each INFER, by the number of the request received, with a script of
    hostile pieces and then (when the script says so) the right answer: ``noise`` (bytes), ``stale``
    (an OUTPUT of another seq with a wrong answer), ``foreign`` (an OUTPUT of the right seq but of
    another request's CRC, and a wrong answer), ``damaged`` (a wrong answer with a bit flipped),
    ``short`` (the right seq and CRC, a wrong length), ``nak_other`` (a NAK of another seq)."""

    def __init__(self, script: dict[int, tuple[list, bool]]) -> None:
        self.parser, self.to_host, self.script, self.requests = P.Parser(), bytearray(), script, 0

    def write(self, data: bytes) -> int:
        for f in self.parser.feed(data):
            assert isinstance(f, P.Frame)
            if f.kind == P.HELLO:
                self.to_host += P.encode(P.INFO, f.seq, INFO.pack())
                continue
            crc = P.CRC.pack(P.crc32(P.HEADER.pack(f.kind, f.seq, len(f.payload)) + f.payload))
            pieces, answer = self.script.get(self.requests, ([], True))
            self.requests += 1
            wrong = b"BAD!" + P.TICKS.pack(7)
            for kind, noise in pieces:
                self.to_host += {
                    "noise": noise,
                    "stale": P.encode(P.OUTPUT, f.seq ^ 0x80, wrong + crc),
                    "foreign": P.encode(P.OUTPUT, f.seq, wrong + P.CRC.pack(P.crc32(noise))),
                    "damaged": P.encode(P.OUTPUT, f.seq, wrong + crc)[:-1] + b"\x00",
                    "short": P.encode(P.OUTPUT, f.seq, wrong[:5] + crc),
                    "nak_other": P.encode(P.NAK, f.seq ^ 0x01, bytes([P.NAK_CRC, 0])),
                }[kind]
            if answer:
                self.to_host += P.encode(P.OUTPUT, f.seq, right(f) + crc)
        return len(data)

    @property
    def in_waiting(self) -> int:
        return len(self.to_host)

    def read(self, size: int = 1) -> bytes:
        out = bytes(self.to_host[:size])
        del self.to_host[:size]
        return out


piece = st.tuples(
    st.sampled_from(["noise", "stale", "foreign", "damaged", "short", "nak_other"]), st.binary(max_size=80)
)


@settings(max_examples=examples(60))
@given(st.dictionaries(st.integers(0, 12), st.tuples(st.lists(piece, max_size=4), st.booleans()), max_size=8))
def test_link_never_takes_a_wrong_answer(script):
    """Whatever the line carries around (or instead of) the right answer, ``Link.infer`` returns the
    right answer or raises StreamError, never a wrong one; a stale, foreign, damaged or short frame
    is never taken."""
    link = P.Link(HostileBoard(script), timeout=0.01, retries=3, where="the fake board")
    assert link.hello() == INFO
    for n in range(4):
        window = bytes([n, n + 1, n + 2, n + 3])
        try:
            out, ticks = link.infer(window)
        except P.StreamError:
            continue
        assert out + P.TICKS.pack(ticks) == right(P.Frame(P.INFER, link.seq, window))
