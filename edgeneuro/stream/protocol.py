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
  INFER may carry any seq).
- ``INFER`` 0x02, payload: the model's input bytes, all inputs back to back (exactly ``in_bytes``).
  The board copies them into ``en_model_inputs``, times ``en_model_invoke()`` with SysTick and
  answers OUTPUT.

board -> host

- ``INFO`` 0x81, the answer to HELLO: ``version u8 | reserved u8 | in_bytes u32 | out_bytes u32 |
  systick_hz u32 | model id (8 bytes: the first 8 bytes of the model file's SHA-256) | board name
  (u8 length + ASCII) | model name (u8 length + ASCII)``.
- ``OUTPUT`` 0x82, the answer to INFER: the output bytes (all outputs back to back, ``out_bytes``),
  then the inference's duration in SysTick ticks as u64 LE.
- ``NAK`` 0x83: the request was rejected, retransmit it. Payload ``reason u8 | expected seq u8``;
  its seq is the rejected frame's seq as received. Reasons: 1 bad CRC, 2 bad length (INFER's must
  be ``in_bytes``, HELLO's 0), 3 unexpected seq (``expected`` says which), 4 unknown type, 5 the
  frame stopped mid-way (no byte for 1 s of the board's clock).
- ``ERROR`` 0x84: the board cannot answer. Payload ``code u8 | value i32 LE``; code 1: the
  inference failed (value: what ``en_model_invoke()`` returned).

Sequence rules on the board: after HELLO any INFER seq is accepted; then an INFER with the seq of
the last one answered is a retransmission and gets the same OUTPUT again, from a copy (the model
does not run twice); seq + 1 (mod 256) is the next window; any other seq gets NAK 3.

The host (``Link``) has one request in flight. It takes as the answer only a frame whose CRC is
right, whose type answers the request, whose seq is the request's and whose length is what INFO
announced. Everything else is counted and dropped: frames with a bad CRC (it then retransmits at
once, since the answer may be the frame that was damaged), frames of another seq (a duplicate or
a late answer to an earlier retransmission, or one out of order, and NAKs of those: a request
whose seq arrived damaged is retransmitted after the timeout), frames of the wrong length or type.
A NAK of the request, or no answer within ``timeout`` seconds, makes it retransmit the same
request with the same seq; after ``retries`` retransmissions it stops with an error that says
what it tried.
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
VERSION = 1
MAX_PAYLOAD = 0xFFFF

HELLO, INFER = 0x01, 0x02
INFO, OUTPUT, NAK, ERROR = 0x81, 0x82, 0x83, 0x84
TYPE_NAMES = {HELLO: "HELLO", INFER: "INFER", INFO: "INFO", OUTPUT: "OUTPUT", NAK: "NAK", ERROR: "ERROR"}

NAK_CRC, NAK_LENGTH, NAK_SEQ, NAK_TYPE, NAK_TIMEOUT = 1, 2, 3, 4, 5
NAK_REASONS = {
    NAK_CRC: "bad CRC",
    NAK_LENGTH: "bad length",
    NAK_SEQ: "unexpected seq",
    NAK_TYPE: "unknown type",
    NAK_TIMEOUT: "frame timed out",
}
ERROR_INVOKE = 1

INFO_FIXED = struct.Struct("<BBIII8s")  # version, reserved, in_bytes, out_bytes, systick_hz, model id
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

    def pack(self) -> bytes:
        b, m = self.board.encode(), self.model.encode()
        fixed = INFO_FIXED.pack(self.version, 0, self.in_bytes, self.out_bytes, self.systick_hz, self.model_id)
        return fixed + bytes([len(b)]) + b + bytes([len(m)]) + m

    @staticmethod
    def unpack(payload: bytes) -> Info:
        try:
            version, _, in_bytes, out_bytes, hz, model_id = INFO_FIXED.unpack_from(payload)
            at = INFO_FIXED.size
            board = payload[at + 1 : at + 1 + payload[at]]
            at += 1 + payload[at]
            model = payload[at + 1 : at + 1 + payload[at]]
            if at + 1 + payload[at] != len(payload):
                raise ValueError("trailing bytes")
        except (struct.error, IndexError, ValueError) as e:
            raise StreamError(f"the board's INFO frame is malformed ({e}): {payload.hex()}") from e
        return Info(version, in_bytes, out_bytes, hz, model_id, board.decode(errors="replace"),
                    model.decode(errors="replace"))  # fmt: skip


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
        self.info = Info.unpack(frame.payload)
        if self.info.version != VERSION:
            raise StreamError(f"{self.where} speaks protocol version {self.info.version}; this host speaks {VERSION}")
        self.parser.max_payload = max(self.info.out_bytes + TICKS.size, INFO_MAX)  # OUTPUT, or INFO again
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

    def _valid_length(self, frame: Frame) -> bool:
        if frame.kind == OUTPUT:
            return self.info is not None and len(frame.payload) == self.info.out_bytes + TICKS.size
        if frame.kind == NAK:
            return len(frame.payload) == 2
        if frame.kind == ERROR:
            return len(frame.payload) == 5
        return frame.kind == INFO

    def _request(self, kind: int, payload: bytes, answer: int, timeout: float | None) -> Frame:
        timeout = self.timeout if timeout is None else timeout
        name = TYPE_NAMES[kind]
        frame = encode(kind, self.seq, payload)
        why = []
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats["retransmits"] += 1
            self.transport.write(frame)
            self.stats["sent"] += 1
            got, reason = self._await(answer, time.monotonic() + timeout)
            if got is not None:
                return got
            why.append(reason)
        tried = f"{self.retries + 1} tries, {timeout:g} s each"
        if all(r == "no answer" for r in why):
            raise StreamTimeout(f"no answer from {self.where} to {name} (seq {self.seq}) after {tried}")
        raise StreamError(f"no valid answer from {self.where} to {name} (seq {self.seq}) after {tried}: "
                          f"{', '.join(why)}")  # fmt: skip

    def _await(self, answer: int, deadline: float) -> tuple[Frame | None, str]:
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
                return item, ""
            if time.monotonic() >= deadline:
                self.stats["timeouts"] += 1
                return None, "no answer"
            data = self.transport.read(max(1, getattr(self.transport, "in_waiting", 0)))
