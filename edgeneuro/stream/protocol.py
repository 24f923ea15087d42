"""The serial protocol between the host and the stream harnesses (firmware/stream.c: one window
per INFER; firmware/stream_detector.c: the whole detector fed raw samples; both frame with
firmware/frame.c and mirror this docstring). Pure Python: it runs over any byte transport (a serial
port, a pty, a test's fake).

Frames
------
Every frame, in both directions::

    SYNC 0xA5 0x5A | type u8 | seq u8 | length u16 LE | payload (length bytes) | CRC-32 u32 LE

The CRC-32 is zlib's (IEEE 802.3: reflected polynomial 0xEDB88320, initial value and final XOR
0xFFFFFFFF) over type, seq, length and payload, not over SYNC. ``seq`` numbers the host's requests
(it wraps from 255 to 0); an answer carries the seq of the request it answers.

Types
-----
host -> board

- ``HELLO`` 0x01, empty payload. The board answers INFO and forgets its sequence state (the next
  INFER or RESET may carry any seq). It leaves the model's state alone.
- ``INFER`` 0x02, payload: the model's input bytes, all inputs back to back (exactly ``in_bytes``).
  The board copies them into ``en_model_inputs``, times ``en_model_invoke()`` with SysTick and
  answers OUTPUT. For a model with state (INFO's flag: a spiking network), one INFER is one time
  step: the state it leaves is where the next INFER starts.
- ``RESET`` 0x03, empty payload. The board calls ``en_model_reset()`` (it zeroes a spiking
  network's membranes, synaptic currents and recurrent values; nothing, for a model without state)
  and answers ACK. The host sends RESET before the first time step of each sample; the board never
  resets by itself.

board -> host

- ``INFO`` 0x81, the answer to HELLO: ``version u8 | flags u8 | in_bytes u32 | out_bytes u32 |
  systick_hz u32 | state_bytes u32 | model id (8 bytes: the first 8 bytes of the model file's
  SHA-256) | channels u16 | board name (u8 length + ASCII) | model name (u8 length + ASCII)``.
  Flags: bit 0, the model has state (``EN_HAS_STATE``: one INFER is one time step); bit 1, the
  board runs the whole detector (stream_detector.c: SAMPLES, see below); the other bits are 0.
  ``state_bytes`` is ``EN_STATE_BYTES``, the persistent state that RESET zeroes (0 without state).
  ``channels`` is the int16 values per ADC sample that SAMPLES carries (0 on stream.c). A detector
  announces as ``in_bytes`` its largest SAMPLES payload (4 + ``samples_max`` x channels x 2) and as
  ``out_bytes`` one window's model outputs.
  The host reads ``version`` first and stops, saying which version each end speaks, on any version
  but its own: version 1 firmware (no RESET, no flags or state_bytes in INFO), version 2 (no
  request CRC in OUTPUT) and version 3 (no channels in INFO, no SAMPLES) must be rebuilt.
- ``OUTPUT`` 0x82, the answer to INFER: the output bytes (all outputs back to back, ``out_bytes``),
  then the inference's duration in SysTick ticks as u64 LE, then the CRC-32 of the INFER frame it
  answers as u32 LE (the frame's own CRC field): the host takes the answer only to the INFER it
  sent. Without it, a truncated INFER of another input with the same seq, completed by the first
  byte (0xA5) of the next frame, matches its CRC once in 256 times when only its last byte is
  missing, and its answer would be taken for the answer to the next frame.
- ``NAK`` 0x83: the request was rejected, retransmit it. Payload ``reason u8 | expected seq u8``;
  its seq is the rejected frame's seq as received. Reasons: 1 bad CRC, 2 bad length (INFER's must
  be ``in_bytes``, HELLO's and RESET's 0), 3 unexpected seq (``expected`` says which), 4 unknown
  type, 5 the frame stopped mid-way (no byte for 1 s of the board's clock), 6 a gap or overlap in
  a detector's sample index (then the payload goes on: the next sample index u32; see below).
- ``ERROR`` 0x84: the board cannot answer. Payload ``code u8 | value i32 LE``; code 1: the
  inference failed (value: what ``en_model_invoke()`` returned); code 2: a detector got SAMPLES
  after FINISH (value: its sample count).
- ``ACK`` 0x85, the answer to RESET: empty payload; the state is zero. (A detector's ACK of
  SAMPLES carries the next sample index, u32.)

The detector (flags bit 1): continuous streaming
-------------------------------------------------
The board runs the detector of ``compile --app detector`` (edgeneuro/detector/) and takes raw ADC
samples; time is the sample index, counted from RESET.

host -> board

- ``RESET`` 0x03, empty: ``en_detector_reset()``, the next sample is 0; answered ACK (empty). After
  HELLO the first RESET resets; one with the seq and CRC of the last RESET is its retransmission
  and resets nothing, so a late duplicate never zeroes the detector mid-recording.
- ``SAMPLES`` 0x04: ``first u32 | n x channels int16 LE``, 1 <= n <= ``samples_max``; ``first`` is
  the index of its first sample. The board pushes the samples (``en_detector_push``) only if
  ``first`` is the next index, and answers ACK with ``next u32`` (its sample count after the
  frame). A frame wholly before the next index (a retransmission whose ACK was lost, a duplicate)
  is ACKed with ``next`` and pushes nothing. Any other frame (a gap: a frame before it was lost;
  or an overlap) is NAKed with reason 6 and payload ``6 | 0 | next u32``: the host resends from
  ``next``. Nothing is pushed twice or skipped, so time never shifts. SAMPLES frames are not bound
  by the seq rule: the host keeps several in flight and matches answers by the echoed seq; ACKs
  are cumulative.
- ``QUERY`` 0x05, empty: answered STATUS (why 1).
- ``FINISH`` 0x06, empty: the end of the recording, ``en_detector_finish()`` (once: a retransmitted
  FINISH gets the STATUS again); the last EVENT frames, then STATUS (why 2). SAMPLES after it get
  ERROR 2 (value: the sample count) until the next RESET.

board -> host, unasked (the seq of the frame that caused them)

- ``WINDOW`` 0x88, each window decided: ``index u32 | class u8 | samples pushed u32 | the push's
  SysTick ticks u64 | the model's outputs (out_bytes)``.
- ``EVENT`` 0x86: ``number u32 | kind u8 | a u32 | b u32``, numbered from 0 since RESET so that a
  lost one shows; kind 1: an event ended, onset and offset (ADC sample indices, offset exclusive);
  kind 2: the alarm went on (a = 1) or off (a = 0) when b samples had been pushed.
- ``STATUS`` 0x87: ``why u8 (0 unasked, every 8 windows; 1 QUERY; 2 FINISH) | alarm u8 | samples
  u32 | windows u32 | events u32 | clipped u32 | repeated u32 (SAMPLES ACKed without a push) |
  refused u32 (SAMPLES NAKed for a gap or overlap) | EVENT frames sent u32 | the worst ticks of a
  push u64 | of a push that ran no window u64 | of all pushes u64 | stack used u32``.

Sequence rules on the board: INFER and RESET share one sequence. After HELLO any seq is accepted;
then a request with the seq and the type of the last one answered (an INFER's also with its CRC,
so its input) is a retransmission and gets the same answer again, from a copy (an INFER does not
run twice, so a time step never advances the state twice; a RESET is not redone, although redoing
it would be harmless since no step ran since); an INFER with the last INFER's seq and another CRC
is run as a new request; seq + 1 (mod 256) is the next request; any other seq, or the last seq
with another type, gets NAK 3. A late duplicate of a RESET (after a step ran) therefore never
zeroes the state mid-sample.

The board's parser hunts for SYNC, refuses a frame by its header (unknown type: NAK 4; a length
other than the type's: NAK 2, before reading any payload, so no length can overrun its buffer),
by silence mid-frame (NAK 5) or by its CRC (NAK 1), and after any refusal resumes the hunt one
byte after that frame's SYNC, through the bytes the frame had taken, as ``Parser`` does: a request
sent after a truncated frame is found among them, not swallowed.

The host (``Link``) has one request in flight. It takes as the answer only a frame whose CRC is
right, whose type answers the request, whose seq is the request's, whose length is what INFO
announced and, for OUTPUT, whose request CRC is the one of the INFER it sent. Everything else is
counted and dropped: frames with a bad CRC (it then retransmits at once, since the answer may be
the frame that was damaged), frames of another seq (a duplicate or a late answer to an earlier
retransmission, or one out of order, and NAKs of those: a request whose seq arrived damaged is
retransmitted after the timeout), frames of the wrong length or type, OUTPUTs of the request's seq
with another request's CRC (``foreign``: the answer to a frame the host did not send, which took
the request's first byte; it retransmits at once, and the board runs the retransmission as a new
request since its CRC differs). A NAK of the request, or no answer within ``timeout`` seconds,
makes it retransmit the same request with the same seq; after ``retries`` retransmissions it stops
with an error that says what it tried.

A spiking network's sample of T steps is streamed as RESET, then T INFERs (``Link.sample``).
A recording goes to a detector as HELLO, RESET, SAMPLES frames (``Link.stream_samples``: up to
``in_flight`` unacknowledged; a NAK 6 or the NAK of a damaged frame rewinds to the index to resend
from, ``timeout`` seconds without an ACK to the last acknowledged one), FINISH.
"""

from __future__ import annotations

import struct
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from edgeneuro.errors import EdgeNeuroError

SYNC = b"\xa5\x5a"
HEADER = struct.Struct("<BBH")  # type, seq, length
CRC = struct.Struct("<I")
TICKS = struct.Struct("<Q")
VERSION = 4  # 2: RESET / ACK, and INFO's flags and state_bytes (spiking networks); 3: the request CRC in OUTPUT
VERSIONS = {
    2: "RESET and the model's state to INFO, for spiking networks",
    3: "the request's CRC to OUTPUT, so that the answer to a frame the host did not send is never taken",
    4: "SAMPLES, EVENT, WINDOW and STATUS frames and INFO's channels, for the detector on the chip",
}
MAX_PAYLOAD = 0xFFFF

HELLO, INFER, RESET, SAMPLES, QUERY, FINISH = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
INFO, OUTPUT, NAK, ERROR, ACK, EVENT, STATUS, WINDOW = 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88
TYPE_NAMES = {HELLO: "HELLO", INFER: "INFER", RESET: "RESET", SAMPLES: "SAMPLES", QUERY: "QUERY", FINISH: "FINISH",
              INFO: "INFO", OUTPUT: "OUTPUT", NAK: "NAK", ERROR: "ERROR", ACK: "ACK", EVENT: "EVENT",
              STATUS: "STATUS", WINDOW: "WINDOW"}  # fmt: skip

NAK_CRC, NAK_LENGTH, NAK_SEQ, NAK_TYPE, NAK_TIMEOUT, NAK_SAMPLES = 1, 2, 3, 4, 5, 6
NAK_REASONS = {
    NAK_CRC: "bad CRC",
    NAK_LENGTH: "bad length",
    NAK_SEQ: "unexpected seq",
    NAK_TYPE: "unknown type",
    NAK_TIMEOUT: "frame timed out",
    NAK_SAMPLES: "a gap or overlap in the sample index",
}
ERROR_INVOKE, ERROR_FINISHED = 1, 2

INFO_FIXED = struct.Struct("<BBIIII8sH")  # version, flags, in_bytes, out_bytes, systick_hz, state_bytes, model id,
# channels
INFO_STATEFUL = 0x01  # INFO's flags: the model has state (EN_HAS_STATE)
INFO_DETECTOR = 0x02  # INFO's flags: the board runs the whole detector (SAMPLES)
INFO_MAX = INFO_FIXED.size + 2 * 256  # and two names of up to 255 bytes
SAMPLES_HEAD = struct.Struct("<I")  # SAMPLES: the first sample's index; ACK of SAMPLES: the next index
NAK_NEXT = struct.Struct("<BBI")  # NAK 6: reason, 0, the next sample index
EVENT_BODY = struct.Struct("<IBII")  # number, kind, a, b
EVENT_END, EVENT_ALARM = 1, 2
WINDOW_HEAD = struct.Struct("<IBIQ")  # index, class, samples pushed, ticks; then the outputs
STATUS_BODY = struct.Struct("<BBIIIIIIIQQQI")
STATUS_FIELDS = ("why", "alarm", "samples", "windows", "events", "clipped", "repeated", "refused", "reports",
                 "worst_ticks", "worst_plain_ticks", "total_ticks", "stack_used")  # fmt: skip
STATUS_PERIODIC, STATUS_QUERY, STATUS_FINISH = 0, 1, 2


class StreamError(EdgeNeuroError):
    """The board did not answer as the protocol says, or not at all."""


class StreamTimeout(StreamError):
    """No valid answer after every retransmission."""


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def encode(kind: int, seq: int, payload: bytes = b"") -> bytes:
    """One frame: SYNC, header, payload, CRC-32 of header + payload."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} B; a frame carries at most {MAX_PAYLOAD} B")
    body = HEADER.pack(kind, seq & 0xFF, len(payload)) + payload
    return SYNC + body + CRC.pack(crc32(body))


@dataclass(frozen=True)
class Frame:
    kind: int
    seq: int
    payload: bytes

    @property
    def name(self) -> str:
        return TYPE_NAMES.get(self.kind, f"type 0x{self.kind:02x}")


@dataclass(frozen=True)
class Damaged:
    """Bytes that started like a frame but were not one: ``why`` is 'crc' or 'length'."""

    why: str
    kind: int
    seq: int


class Parser:
    """Bytes in, frames out. It hunts for SYNC, reads the header, refuses lengths above
    ``max_payload`` and checks the CRC. After a damaged frame it resumes the hunt one byte after
    that frame's SYNC, so a good frame inside the damaged one's bytes is still found."""

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self.max_payload = max_payload
        self.buf = bytearray()
        self.skipped = 0  # bytes that were not part of any frame

    def feed(self, data: bytes) -> Iterator[Frame | Damaged]:
        self.buf += data
        while True:
            start = self.buf.find(SYNC)
            if start < 0:
                keep = 1 if self.buf[-1:] == SYNC[:1] else 0
                self.skipped += len(self.buf) - keep
                del self.buf[: len(self.buf) - keep]
                return
            if start:
                self.skipped += start
                del self.buf[:start]
            if len(self.buf) < 2 + HEADER.size:
                return
            kind, seq, length = HEADER.unpack_from(self.buf, 2)
            if length > self.max_payload:
                del self.buf[:1]
                yield Damaged("length", kind, seq)
                continue
            end = 2 + HEADER.size + length + CRC.size
            if len(self.buf) < end:
                return
            body = bytes(self.buf[2 : end - CRC.size])
            (crc,) = CRC.unpack_from(self.buf, end - CRC.size)
            if crc != crc32(body):
                del self.buf[:1]
                yield Damaged("crc", kind, seq)
                continue
            del self.buf[:end]
            yield Frame(kind, seq, body[HEADER.size :])


@dataclass(frozen=True)
class Info:
    """The board's answer to HELLO."""

    version: int
    in_bytes: int
    out_bytes: int
    systick_hz: int
    model_id: bytes
    board: str
    model: str
    stateful: bool = False  # EN_HAS_STATE: one INFER is one time step (a spiking network)
    state_bytes: int = 0  # EN_STATE_BYTES: what RESET zeroes
    detector: bool = False  # the whole detector (stream_detector.c): SAMPLES of ``channels`` int16 values
    channels: int = 0

    @property
    def samples_max(self) -> int:
        """The most samples one SAMPLES frame may carry (a detector)."""
        return (self.in_bytes - SAMPLES_HEAD.size) // (2 * self.channels) if self.channels else 0

    def pack(self) -> bytes:
        b, m = self.board.encode(), self.model.encode()
        flags = (INFO_STATEFUL if self.stateful else 0) | (INFO_DETECTOR if self.detector else 0)
        fixed = INFO_FIXED.pack(self.version, flags, self.in_bytes, self.out_bytes, self.systick_hz,
                                self.state_bytes, self.model_id, self.channels)  # fmt: skip
        return fixed + bytes([len(b)]) + b + bytes([len(m)]) + m

    @staticmethod
    def unpack(payload: bytes, where: str = "the board") -> Info:
        """INFO's fields; its version is read first, and any but ``VERSION`` stops here with what
        to do (the layout after the version byte is that version's)."""
        if payload and payload[0] != VERSION:
            raise StreamError(version_mismatch(payload[0], where))
        try:
            version, flags, in_bytes, out_bytes, hz, state_bytes, model_id, channels = INFO_FIXED.unpack_from(payload)
            at = INFO_FIXED.size
            board = payload[at + 1 : at + 1 + payload[at]]
            at += 1 + payload[at]
            model = payload[at + 1 : at + 1 + payload[at]]
            if at + 1 + payload[at] != len(payload):
                raise ValueError("trailing bytes")
        except (struct.error, IndexError, ValueError) as e:
            raise StreamError(f"the board's INFO frame is malformed ({e}): {payload.hex()}") from e
        return Info(version, in_bytes, out_bytes, hz, model_id, board.decode(errors="replace"),
                    model.decode(errors="replace"), bool(flags & INFO_STATEFUL), state_bytes,
                    bool(flags & INFO_DETECTOR), channels)  # fmt: skip


def version_mismatch(version: int, where: str) -> str:
    """What to do when the board's firmware speaks another protocol version than this host."""
    text = f"{where} runs stream firmware of protocol version {version}; this host speaks version {VERSION}"
    if version < VERSION:
        adds = "; ".join(f"version {v} adds {what}" for v, what in VERSIONS.items() if v > version)
        return (f"{text} ({adds}): "
                "rebuild the stream firmware with this edgeneuro (`edgeneuro stream MODEL --build DIR`) and "
                "flash it (`edgeneuro flash DIR`)")  # fmt: skip
    return f"{text}: stream to it with the edgeneuro that built its firmware, or upgrade this one"


def status_of(payload: bytes) -> dict[str, int]:
    """A STATUS frame's fields by name (``STATUS_FIELDS``)."""
    return dict(zip(STATUS_FIELDS, STATUS_BODY.unpack(payload), strict=True))


class Transport(Protocol):
    """What ``Link`` needs of a port: pyserial's ``Serial`` has it (with a short read timeout).
    ``read(n)`` returns up to n bytes, or b"" after its timeout; ``in_waiting`` (optional) says how
    many bytes can be read at once."""

    def write(self, data: bytes) -> int | None: ...

    def read(self, size: int = 1) -> bytes: ...


@dataclass
class Link:
    """The host's end: one request in flight, answers checked as the module docstring says.
    ``transport.read`` must return within a fraction of ``timeout`` (pyserial: ``timeout=0.05``)."""

    transport: Transport
    timeout: float = 5.0
    retries: int = 3
    where: str = "the board"
    stats: Counter = field(default_factory=Counter)
    info: Info | None = None
    seq: int = 0
    on_report: Callable[[Frame], None] | None = None  # a detector's WINDOW, EVENT and unasked STATUS frames

    def __post_init__(self) -> None:
        # a length above the longest valid answer is damage (and must not make the parser wait for it)
        self.parser = Parser(INFO_MAX)

    def hello(self, timeout: float | None = None) -> Info:
        self.seq = (self.seq + 1) & 0xFF
        frame = self._request(HELLO, b"", INFO, timeout)
        self.info = Info.unpack(frame.payload, self.where)  # stops on another protocol version
        # OUTPUT, a detector's WINDOW, or INFO
        self.parser.max_payload = max(self.info.out_bytes + max(TICKS.size + CRC.size, WINDOW_HEAD.size), INFO_MAX)
        return self.info

    def infer(self, data: bytes) -> tuple[bytes, int]:
        """One inference: the output bytes and the duration in SysTick ticks."""
        if self.info is None:
            raise StreamError("send HELLO first")
        if len(data) != self.info.in_bytes:
            raise StreamError(f"an input of {len(data)} B; the board's model takes {self.info.in_bytes} B")
        self.seq = (self.seq + 1) & 0xFF
        frame = self._request(INFER, data, OUTPUT, None)
        out = frame.payload[: self.info.out_bytes]
        (ticks,) = TICKS.unpack_from(frame.payload, self.info.out_bytes)
        return out, ticks

    def reset(self) -> None:
        """RESET: the board zeroes the model's state (``en_model_reset()``) and answers ACK."""
        if self.info is None:
            raise StreamError("send HELLO first")
        self.seq = (self.seq + 1) & 0xFF
        self._request(RESET, b"", ACK, None)

    def sample(self, steps: list[bytes]) -> list[tuple[bytes, int]]:
        """One sample of a model with state: RESET, then one INFER per time step; each step's
        output bytes and duration in SysTick ticks."""
        self.reset()
        return [self.infer(step) for step in steps]

    def query(self) -> dict[str, int]:
        """QUERY: the detector's STATUS now."""
        if self.info is None or not self.info.detector:
            raise StreamError("QUERY goes to a detector's stream firmware, after HELLO")
        self.seq = (self.seq + 1) & 0xFF
        return status_of(self._request(QUERY, b"", STATUS, None).payload)

    def finish(self) -> dict[str, int]:
        """FINISH: the detector decides the recording's last windows; its final STATUS (the last EVENT
        frames go to ``on_report`` before it)."""
        if self.info is None or not self.info.detector:
            raise StreamError("FINISH goes to a detector's stream firmware, after HELLO")
        self.seq = (self.seq + 1) & 0xFF
        return status_of(self._request(FINISH, b"", STATUS, None).payload)

    def stream_samples(self, data: bytes, per_frame: int, in_flight: int = 4, rate: float | None = None,
                       progress: Callable[[int], None] | None = None) -> None:  # fmt: skip
        """``data`` (int16 LE samples of ``info.channels`` values, the first one index 0 after RESET) to
        a detector in SAMPLES frames of up to ``per_frame`` samples, at most ``in_flight`` of them
        unacknowledged; with ``rate`` (samples per second) a frame leaves once its last sample's time
        has come, as an ADC gives them. Returns when the board has ACKed every sample; its WINDOW,
        EVENT and STATUS frames go to ``on_report`` meanwhile, and ``progress(acked)`` is called as
        the ACKs advance. A NAK 6 (a gap or overlap) resends from the index it names, a NAK of a
        damaged frame from that frame's first sample, ``timeout`` seconds without an answer from the
        last acknowledged sample; ``retries`` timeouts in a row without progress stop it."""
        if self.info is None or not self.info.detector:
            raise StreamError("SAMPLES go to a detector's stream firmware, after HELLO")
        size = 2 * self.info.channels
        total = len(data) // size
        per_frame = max(1, min(per_frame, self.info.samples_max))
        acked = sent = high = tries = 0
        flight: dict[int, tuple[int, int, float]] = {}  # seq -> first sample, samples, when sent
        t0 = time.monotonic()
        while acked < total:
            now = time.monotonic()
            while sent < total and len(flight) < in_flight:
                n = min(per_frame, total - sent)
                if rate and t0 + (sent + n) / rate > now:
                    break
                self.seq = (self.seq + 1) & 0xFF
                self.transport.write(
                    encode(SAMPLES, self.seq, SAMPLES_HEAD.pack(sent) + data[sent * size : (sent + n) * size])
                )
                self.stats["sent"] += 1
                self.stats["samples_frames"] += 1
                self.stats["retransmits"] += sent < high
                flight[self.seq] = (sent, n, now)
                sent += n
                high = max(high, sent)
            before = acked
            data_in = self.transport.read(max(1, getattr(self.transport, "in_waiting", 0)))
            self.stats["bytes_received"] += len(data_in)
            for item in self.parser.feed(data_in):
                if isinstance(item, Damaged):
                    self.stats[f"damaged_{item.why}"] += 1
                    continue
                if self._is_report(item):
                    continue
                entry = flight.get(item.seq)
                if item.kind == ACK and len(item.payload) == SAMPLES_HEAD.size:
                    (nxt,) = SAMPLES_HEAD.unpack(item.payload)
                    if nxt > high:  # more samples than were sent: not an answer to this stream
                        self.stats["foreign"] += 1
                        continue
                    self.stats["stale"] += entry is None
                    acked = max(acked, nxt)
                    flight = {q: f for q, f in flight.items() if f[0] + f[1] > acked}
                elif item.kind == NAK and entry is not None and self._valid_length(item):
                    self.stats["nak"] += 1
                    self.stats[f"nak_{item.payload[0]}"] += 1
                    if item.payload[0] == NAK_SAMPLES:  # the board has every sample before `nxt`
                        acked = max(acked, NAK_NEXT.unpack(item.payload)[2])
                    sent = max(acked, entry[0]) if item.payload[0] != NAK_SAMPLES else acked
                    flight.clear()  # the frames after it are refused too: their NAKs are stale now
                elif item.kind == ERROR and len(item.payload) == 5:
                    code, value = struct.unpack("<Bi", item.payload)
                    what = "the recording was finished (RESET first)" if code == ERROR_FINISHED else f"error {code}"
                    raise StreamError(f"{self.where}: {what} at sample {value}")
                else:
                    self.stats["stale" if item.kind in (ACK, NAK) else "unexpected_type"] += 1
            if acked > before:
                tries = 0
                if progress:
                    progress(acked)
            elif flight and time.monotonic() > min(f[2] for f in flight.values()) + self.timeout:
                self.stats["timeouts"] += 1
                tries += 1
                if tries > self.retries:
                    raise StreamTimeout(f"no answer from {self.where} to SAMPLES from sample {acked:,} after "
                                        f"{self.retries + 1} tries, {self.timeout:g} s each")  # fmt: skip
                sent = acked
                flight.clear()

    def _is_report(self, item: Frame) -> bool:
        """A detector's WINDOW, EVENT or unasked STATUS: handed to ``on_report``, never an answer."""
        if item.kind not in (WINDOW, EVENT) and not (
            item.kind == STATUS and item.payload[:1] == bytes([STATUS_PERIODIC])
        ):
            return False
        self.stats["reports"] += 1
        if self.on_report is not None:
            self.on_report(item)
        return True

    def _valid_length(self, frame: Frame) -> bool:
        if frame.kind == OUTPUT:
            return self.info is not None and len(frame.payload) == self.info.out_bytes + TICKS.size + CRC.size
        if frame.kind == NAK:
            return len(frame.payload) == (NAK_NEXT.size if frame.payload[:1] == bytes([NAK_SAMPLES]) else 2)
        if frame.kind == ERROR:
            return len(frame.payload) == 5
        if frame.kind == ACK:
            return not frame.payload
        if frame.kind == STATUS:
            return len(frame.payload) == STATUS_BODY.size
        return frame.kind == INFO

    def _request(self, kind: int, payload: bytes, answer: int, timeout: float | None) -> Frame:
        timeout = self.timeout if timeout is None else timeout
        name = TYPE_NAMES[kind]
        frame = encode(kind, self.seq, payload)
        (echo,) = CRC.unpack_from(frame, len(frame) - CRC.size)  # what OUTPUT must carry
        why = []
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats["retransmits"] += 1
            self.transport.write(frame)
            self.stats["sent"] += 1
            got, reason = self._await(answer, time.monotonic() + timeout, echo)
            if got is not None:
                return got
            why.append(reason)
        tried = f"{self.retries + 1} tries, {timeout:g} s each"
        if all(r == "no answer" for r in why):
            raise StreamTimeout(f"no answer from {self.where} to {name} (seq {self.seq}) after {tried}")
        raise StreamError(f"no valid answer from {self.where} to {name} (seq {self.seq}) after {tried}: "
                          f"{', '.join(why)}")  # fmt: skip

    def _await(self, answer: int, deadline: float, echo: int) -> tuple[Frame | None, str]:
        """The answer to the request in flight, or (None, why it is to be retransmitted)."""
        data = b""  # first the bytes already buffered: frames that came after a damaged one
        while True:
            self.stats["bytes_received"] += len(data)
            for item in self.parser.feed(data):
                if isinstance(item, Damaged):
                    self.stats[f"damaged_{item.why}"] += 1
                    return None, f"damaged frame ({item.why})"
                if self._is_report(item):
                    continue
                if item.seq != self.seq:
                    self.stats["stale"] += 1  # a duplicate, a late answer or one out of order, or a NAK of those
                    continue
                if item.kind == NAK and self._valid_length(item):
                    reason, expected = item.payload
                    self.stats["nak"] += 1
                    self.stats[f"nak_{reason}"] += 1
                    text = NAK_REASONS.get(reason, f"reason {reason}")
                    if reason == NAK_SEQ:
                        text += f", the board expects seq {expected}"
                    return None, f"NAK ({text})"
                if item.kind == ERROR and self._valid_length(item):
                    code, value = struct.unpack("<Bi", item.payload)
                    what = "the inference failed" if code == ERROR_INVOKE else f"error code {code}"
                    raise StreamError(f"{self.where}: {what} (en_model_invoke returned {value}) at seq {self.seq}")
                if item.kind != answer:
                    self.stats["unexpected_type"] += 1
                    continue
                if not self._valid_length(item):
                    self.stats["bad_length"] += 1
                    return None, f"{item.name} of {len(item.payload)} B"
                if item.kind == OUTPUT and CRC.unpack_from(item.payload, len(item.payload) - CRC.size)[0] != echo:
                    self.stats["foreign"] += 1  # the answer to a frame this host did not send
                    return None, "the answer to another frame of this seq"
                return item, ""
            if time.monotonic() >= deadline:
                self.stats["timeouts"] += 1
                return None, "no answer"
            data = self.transport.read(max(1, getattr(self.transport, "in_waiting", 0)))
