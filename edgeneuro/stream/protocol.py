"""The serial protocol between the host and the stream harness (firmware/stream.c, which mirrors
this docstring). Pure Python: it runs over any byte transport (a serial port, a pty, a test's fake).

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
  SHA-256) | board name (u8 length + ASCII) | model name (u8 length + ASCII)``. Flags: bit 0, the
  model has state (``EN_HAS_STATE``: one INFER is one time step); the other bits are 0.
  ``state_bytes`` is ``EN_STATE_BYTES``, the persistent state that RESET zeroes (0 without state).
  The host reads ``version`` first and stops, saying which version each end speaks, on any version
  but its own: version 1 firmware (no RESET, no flags or state_bytes in INFO) and version 2 (no
  request CRC in OUTPUT) must be rebuilt.
- ``OUTPUT`` 0x82, the answer to INFER: the output bytes (all outputs back to back, ``out_bytes``),
  then the inference's duration in SysTick ticks as u64 LE, then the CRC-32 of the INFER frame it
  answers as u32 LE (the frame's own CRC field): the host takes the answer only to the INFER it
  sent. Without it, a truncated INFER of another input with the same seq, completed by the first
  byte (0xA5) of the next frame, matches its CRC once in 256 times when only its last byte is
  missing, and its answer would be taken for the answer to the next frame.
- ``NAK`` 0x83: the request was rejected, retransmit it. Payload ``reason u8 | expected seq u8``;
  its seq is the rejected frame's seq as received. Reasons: 1 bad CRC, 2 bad length (INFER's must
  be ``in_bytes``, HELLO's and RESET's 0), 3 unexpected seq (``expected`` says which), 4 unknown
  type, 5 the frame stopped mid-way (no byte for 1 s of the board's clock).
- ``ERROR`` 0x84: the board cannot answer. Payload ``code u8 | value i32 LE``; code 1: the
  inference failed (value: what ``en_model_invoke()`` returned).
- ``ACK`` 0x85, the answer to RESET: empty payload; the state is zero.

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
"""

from __future__ import annotations

import struct
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from edgeneuro.errors import EdgeNeuroError

SYNC = b"\xa5\x5a"
HEADER = struct.Struct("<BBH")  # type, seq, length
CRC = struct.Struct("<I")
TICKS = struct.Struct("<Q")
VERSION = 3  # 2: RESET / ACK, and INFO's flags and state_bytes (spiking networks); 3: the request CRC in OUTPUT
VERSIONS = {
    2: "RESET and the model's state to INFO, for spiking networks",
    3: "the request's CRC to OUTPUT, so that the answer to a frame the host did not send is never taken",
}
MAX_PAYLOAD = 0xFFFF

HELLO, INFER, RESET = 0x01, 0x02, 0x03
INFO, OUTPUT, NAK, ERROR, ACK = 0x81, 0x82, 0x83, 0x84, 0x85
TYPE_NAMES = {HELLO: "HELLO", INFER: "INFER", RESET: "RESET", INFO: "INFO", OUTPUT: "OUTPUT", NAK: "NAK",
              ERROR: "ERROR", ACK: "ACK"}  # fmt: skip

NAK_CRC, NAK_LENGTH, NAK_SEQ, NAK_TYPE, NAK_TIMEOUT = 1, 2, 3, 4, 5
NAK_REASONS = {
    NAK_CRC: "bad CRC",
    NAK_LENGTH: "bad length",
    NAK_SEQ: "unexpected seq",
    NAK_TYPE: "unknown type",
    NAK_TIMEOUT: "frame timed out",
}
ERROR_INVOKE = 1

INFO_FIXED = struct.Struct("<BBIIII8s")  # version, flags, in_bytes, out_bytes, systick_hz, state_bytes, model id
INFO_STATEFUL = 0x01  # INFO's flags: the model has state (EN_HAS_STATE)
INFO_MAX = INFO_FIXED.size + 2 * 256  # and two names of up to 255 bytes


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

    def pack(self) -> bytes:
        b, m = self.board.encode(), self.model.encode()
        flags = INFO_STATEFUL if self.stateful else 0
        fixed = INFO_FIXED.pack(self.version, flags, self.in_bytes, self.out_bytes, self.systick_hz,
                                self.state_bytes, self.model_id)  # fmt: skip
        return fixed + bytes([len(b)]) + b + bytes([len(m)]) + m

    @staticmethod
    def unpack(payload: bytes, where: str = "the board") -> Info:
        """INFO's fields; its version is read first, and any but ``VERSION`` stops here with what
        to do (the layout after the version byte is that version's)."""
        if payload and payload[0] != VERSION:
            raise StreamError(version_mismatch(payload[0], where))
        try:
            version, flags, in_bytes, out_bytes, hz, state_bytes, model_id = INFO_FIXED.unpack_from(payload)
            at = INFO_FIXED.size
            board = payload[at + 1 : at + 1 + payload[at]]
            at += 1 + payload[at]
            model = payload[at + 1 : at + 1 + payload[at]]
            if at + 1 + payload[at] != len(payload):
                raise ValueError("trailing bytes")
        except (struct.error, IndexError, ValueError) as e:
            raise StreamError(f"the board's INFO frame is malformed ({e}): {payload.hex()}") from e
        return Info(version, in_bytes, out_bytes, hz, model_id, board.decode(errors="replace"),
                    model.decode(errors="replace"), bool(flags & INFO_STATEFUL), state_bytes)  # fmt: skip


def version_mismatch(version: int, where: str) -> str:
    """What to do when the board's firmware speaks another protocol version than this host."""
    text = f"{where} runs stream firmware of protocol version {version}; this host speaks version {VERSION}"
    if version < VERSION:
        adds = "; ".join(f"version {v} adds {what}" for v, what in VERSIONS.items() if v > version)
        return (f"{text} ({adds}): "
                "rebuild the stream firmware with this edgeneuro (`edgeneuro stream MODEL --build DIR`) and "
                "flash it (`edgeneuro flash DIR`)")  # fmt: skip
    return f"{text}: stream to it with the edgeneuro that built its firmware, or upgrade this one"


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

    def __post_init__(self) -> None:
        # a length above the longest valid answer is damage (and must not make the parser wait for it)
        self.parser = Parser(INFO_MAX)

    def hello(self, timeout: float | None = None) -> Info:
        self.seq = (self.seq + 1) & 0xFF
        frame = self._request(HELLO, b"", INFO, timeout)
        self.info = Info.unpack(frame.payload, self.where)  # stops on another protocol version
        self.parser.max_payload = max(self.info.out_bytes + TICKS.size + CRC.size, INFO_MAX)  # OUTPUT, or INFO
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

    def _valid_length(self, frame: Frame) -> bool:
        if frame.kind == OUTPUT:
            return self.info is not None and len(frame.payload) == self.info.out_bytes + TICKS.size + CRC.size
        if frame.kind == NAK:
            return len(frame.payload) == 2
        if frame.kind == ERROR:
            return len(frame.payload) == 5
        if frame.kind == ACK:
            return not frame.payload
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
