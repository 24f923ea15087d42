"""A GDB Remote Serial Protocol client: framing, escaping, run-length decoding and the packets
`edgeneuro flash` needs (memory maps, target descriptions, memory and flash writes, registers)."""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from edgeneuro.errors import InputError
from edgeneuro.flash.errors import FlashError

DEFAULT_PACKET_SIZE = 399  # what gdb assumes of a server that does not say (qSupported PacketSize)
MAX_PACKET_SIZE = 1 << 16
FLASH_TIMEOUT = 300.0  # s: erasing a whole flash bank through a probe can take a while
ESCAPED = frozenset(b"#$}*")
SERVER_HINT = "is a GDB server (OpenOCD, pyOCD gdbserver, JLinkGDBServer, QEMU -gdb tcp::PORT) listening there?"


def checksum(data: bytes) -> int:
    return sum(data) & 0xFF


def frame(data: bytes) -> bytes:
    return b"$" + data + b"#" + b"%02x" % checksum(data)


def escape(data: bytes) -> bytes:
    """Binary packet data (X, vFlashWrite): '#', '$', '}' and '*' become '}' + (byte ^ 0x20)."""
    out = bytearray()
    for b in data:
        if b in ESCAPED:
            out += bytes((0x7D, b ^ 0x20))
        else:
            out.append(b)
    return bytes(out)


def unescape(data: bytes) -> bytes:
    out = bytearray()
    it = iter(data)
    for b in it:
        out.append(next(it, 0x20) ^ 0x20 if b == 0x7D else b)
    return bytes(out)


def rle_decode(data: bytes) -> bytes:
    """Expand run-length encoding: 'X*n' is X followed by ord(n) - 29 more copies of X. An escaped
    byte ('}' and the next) is copied as it is, so binary answers keep their escapes for unescape()."""
    out = bytearray()
    i = 0
    while i < len(data):
        c = data[i]
        if c == 0x2A and out and i + 1 < len(data):  # '*'
            out += out[-1:] * (data[i + 1] - 29)
            i += 2
        elif c == 0x7D:
            out += data[i : i + 2]
            i += 2
        else:
            out.append(c)
            i += 1
    return bytes(out)


def parse_address(text: str) -> tuple[str, int]:
    """'HOST:PORT', ':PORT' or 'PORT' (localhost); IPv6 as '[::1]:PORT'."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "", text
    host = host.strip("[]") or "localhost"
    try:
        p = int(port)
    except ValueError:
        p = -1
    if not 0 < p < 65536:
        raise InputError(f"--gdb {text}: expected HOST:PORT, e.g. localhost:3333")
    return host, p


@dataclass(frozen=True)
class Region:
    kind: str  # ram | rom | flash
    start: int
    length: int
    blocksize: int = 0

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass(frozen=True)
class Register:
    name: str
    regnum: int
    bits: int
    offset: int  # in the 'g' packet


# gdb's Arm register layout for servers without a target description: r0-r15, the FPA's f0-f7
# (96 bits each) and fps, then cpsr (xPSR on M-profile) as register 25.
LEGACY_ARM = [(f"r{i}", i, 32) for i in range(13)] + [("sp", 13, 32), ("lr", 14, 32), ("pc", 15, 32)]
LEGACY_ARM += [(f"f{i}", 16 + i, 96) for i in range(8)] + [("fps", 24, 32), ("cpsr", 25, 32)]
REGISTER_NAMES = {"sp": ("sp", "msp", "r13"), "pc": ("pc", "r15"), "xpsr": ("xpsr", "cpsr")}


def _registers(regs: list[tuple[str, int, int]]) -> dict[str, Register]:
    out: dict[str, Register] = {}
    offset = 0
    for name, num, bits in sorted(regs, key=lambda r: r[1]):
        out.setdefault(name.lower(), Register(name, num, bits, offset))
        offset += bits // 8
    return out


class RspClient:
    """A GDB Remote Serial Protocol client for one server connection (all-stop mode, with acks)."""

    def __init__(self, host: str, port: int, timeout: float = 5.0, retries: int = 4) -> None:
        self.where = f"{host}:{port}"
        self.timeout = timeout
        self.retries = retries
        self.packet_size = DEFAULT_PACKET_SIZE
        self.features: dict[str, str] = {}
        self.binary_writes: bool | None = None  # X packets: unknown until probed
        self.p_packets = True
        self._regs: dict[str, Register] | None = None
        self._buf = b""
        self._pos = 0
        self._pending: bytes | None = None  # an answer that came before its request's ack
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except ConnectionRefusedError as e:
            raise FlashError(
                f"cannot connect to the GDB server at {self.where}: connection refused; {SERVER_HINT}"
            ) from e
        except TimeoutError as e:
            raise FlashError(f"cannot connect to the GDB server at {self.where}: no answer within {timeout:g} s") from e
        except OSError as e:
            raise FlashError(f"cannot connect to the GDB server at {self.where}: {e.strerror or e}") from e
        self.sock.settimeout(timeout)
        # One small packet at a time, each waiting for its answer: without this, Nagle's algorithm
        # and delayed acks add ~40 ms to every packet.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RspClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # framing

    def _send_raw(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise FlashError(f"lost the connection to the GDB server at {self.where} ({e.strerror or e})") from e

    def _getc(self, what: str) -> int:
        if self._pos >= len(self._buf):
            try:
                chunk = self.sock.recv(1 << 16)
            except TimeoutError as e:
                raise FlashError(
                    f"the GDB server at {self.where} did not answer {what} within {self.sock.gettimeout():g} s"
                ) from e
            except OSError as e:
                raise FlashError(f"lost the connection to the GDB server at {self.where} ({e.strerror or e})") from e
            if not chunk:
                raise FlashError(f"the GDB server at {self.where} closed the connection (waiting for {what})")
            self._buf, self._pos = chunk, 0
        c = self._buf[self._pos]
        self._pos += 1
        return c

    def send(self, data: bytes, what: str) -> None:
        """Send one packet and wait for its '+'; a '-' (bad checksum on the way) sends it again."""
        packet = frame(data)
        for _ in range(self.retries + 1):
            self._send_raw(packet)
            while True:
                c = self._getc(f"{what} (acknowledgement)")
                if c == 0x2B:  # '+'
                    return
                if c == 0x2D:  # '-'
                    break
                if c == 0x24:  # '$': a packet before the ack
                    self._pos -= 1
                    early = self.receive(what)
                    if early[:1] in (b"S", b"T") and not data.startswith((b"?", b"c", b"s", b"vCont")):
                        continue  # a stop reply nobody asked for (Renode's, as a client connects): the ack follows
                    self._pending = early  # the answer, from a server that does not ack (no-ack mode)
                    return
        raise FlashError(f"the GDB server at {self.where} rejected {what} {self.retries + 1} times (line errors)")

    def receive(self, what: str) -> bytes:
        """Read one packet, check its checksum, acknowledge it, and expand its run-length encoding."""
        if self._pending is not None:
            early, self._pending = self._pending, None
            return early
        for _ in range(self.retries + 1):
            c = self._getc(what)
            while c not in (0x24, 0x25):  # '$' packet, '%' notification; skip stray acks
                c = self._getc(what)
            notification = c == 0x25
            data = bytearray()
            while (c := self._getc(what)) != 0x23:  # '#'
                data.append(c)
            sent = bytes((self._getc(what), self._getc(what)))
            if notification:
                continue
            try:
                good = int(sent, 16) == checksum(data)
            except ValueError:
                good = False
            if good:
                self._send_raw(b"+")
                return rle_decode(bytes(data))
            self._send_raw(b"-")
        raise FlashError(f"the GDB server at {self.where} sent {what} corrupted {self.retries + 1} times")

    def command(self, data: bytes | str, what: str | None = None, timeout: float | None = None) -> bytes:
        data = data.encode() if isinstance(data, str) else data
        what = what or repr(data[:24].decode(errors="replace"))
        if timeout is not None:
            self.sock.settimeout(max(timeout, self.timeout))
        try:
            self.send(data, what)
            return self.receive(what)
        finally:
            self.sock.settimeout(self.timeout)

    def _check(self, reply: bytes, what: str) -> bytes:
        if re.fullmatch(rb"E[0-9A-Fa-f]{2}", reply) or reply.startswith(b"E."):
            raise FlashError(f"{what}: the GDB server at {self.where} answered {reply.decode(errors='replace')}")
        return reply

    def _expect_ok(self, reply: bytes, what: str) -> None:
        self._check(reply, what)
        if reply != b"OK":
            why = "does not support it" if not reply else f"answered {reply[:40].decode(errors='replace')!r}"
            raise FlashError(f"{what}: the GDB server at {self.where} {why}")

    # session

    def handshake(self) -> dict[str, str]:
        """qSupported: the server's features and its PacketSize."""
        reply = self._check(self.command("qSupported:xmlRegisters=arm;swbreak+;hwbreak+", "qSupported"), "qSupported")
        for item in reply.decode(errors="replace").split(";"):
            if "=" in item:
                k, v = item.split("=", 1)
                self.features[k] = v
            elif item.endswith(("+", "-", "?")):
                self.features[item[:-1]] = item[-1]
        if "PacketSize" in self.features:
            try:
                self.packet_size = min(max(int(self.features["PacketSize"], 16), 64), MAX_PACKET_SIZE)
            except ValueError:
                pass
        return self.features

    def supports(self, feature: str) -> bool:
        return self.features.get(feature) == "+"

    def halt(self) -> bytes:
        """'?': in all-stop mode the server stops the core when a client connects; the answer is
        the stop reason. A core that has exited, or a server that cannot stop it, is an error."""
        reply = self.command("?", "the stop-reason query (?)")
        while reply.startswith(b"O") and reply != b"OK":  # console output
            reply = self.receive("the stop reason (?)")
        if reply[:1] in (b"W", b"X"):
            raise FlashError(f"the target behind {self.where} has exited ({reply.decode(errors='replace')})")
        if reply[:1] not in (b"S", b"T"):
            self._check(reply, "halting the core")
            raise FlashError(f"halting the core: the GDB server at {self.where} answered {reply[:40]!r}")
        return reply

    def monitor(self, cmd: str, timeout: float = 30.0) -> tuple[bool, str]:
        """A server command (``monitor CMD`` in gdb, qRcmd): (it said OK, its console output)."""
        what = f"monitor {cmd}"
        out = []
        reply = self.command(b"qRcmd," + cmd.encode().hex().encode(), what, timeout)
        while reply.startswith(b"O") and reply != b"OK":
            try:
                out.append(bytes.fromhex(reply[1:].decode()).decode(errors="replace"))
            except ValueError:
                pass
            reply = self.receive(what)
        return reply == b"OK", "".join(out).strip()

    def xfer(self, obj: str, annex: str) -> bytes | None:
        """qXfer:OBJ:read:ANNEX, all of it; None if the server does not have it."""
        out = bytearray()
        length = max(self.packet_size - 16, 32)
        while True:
            what = f"qXfer:{obj}:read:{annex}"
            reply = self.command(f"{what}:{len(out):x},{length:x}", what)
            if not reply:
                return None
            self._check(reply, what)
            chunk = unescape(reply[1:])
            out += chunk
            if reply[:1] == b"l" or not chunk:
                return bytes(out)
            if reply[:1] != b"m":
                raise FlashError(f"{what}: unexpected answer {reply[:20]!r} from {self.where}")

    def memory_map(self) -> list[Region]:
        """The server's memory map (hardware GDB servers publish one; QEMU does not)."""
        if not self.supports("qXfer:memory-map:read"):
            return []
        text = self.xfer("memory-map", "")
        if not text:
            return []
        try:
            root = ET.fromstring(text)
        except ET.ParseError as e:
            raise FlashError(f"the memory map of the GDB server at {self.where} is not valid XML ({e})") from e
        regions = []
        for m in root.iter("memory"):
            block = 0
            for p in m.iter("property"):
                if p.get("name") == "blocksize":
                    block = int((p.text or "0").strip(), 0)
            regions.append(Region(m.get("type", "ram"), int(m.get("start"), 0), int(m.get("length"), 0), block))
        return sorted(regions, key=lambda r: r.start)

    def registers(self) -> dict[str, Register]:
        """The register numbers and 'g' offsets from the target description, else gdb's legacy Arm layout."""
        if self._regs is not None:
            return self._regs
        found: list[tuple[str, int, int]] = []
        if self.supports("qXfer:features:read"):
            nxt = 0

            def walk(annex: str, depth: int) -> None:
                nonlocal nxt
                text = self.xfer("features", annex)
                if text is None or depth > 8:
                    return
                text = re.sub(rb"<(/?)xi:include", rb"<\1include", text)
                try:
                    root = ET.fromstring(text)
                except ET.ParseError as e:
                    raise FlashError(f"{annex} from the GDB server at {self.where} is not valid XML ({e})") from e
                for el in root.iter():
                    tag = el.tag.rsplit("}", 1)[-1] if isinstance(el.tag, str) else ""
                    if tag == "include" and el.get("href"):
                        walk(el.get("href"), depth + 1)
                    elif tag == "reg":
                        num = int(el.get("regnum", nxt))
                        found.append((el.get("name", ""), num, int(el.get("bitsize", "32"))))
                        nxt = num + 1

            walk("target.xml", 0)
        self._regs = _registers(found or LEGACY_ARM)
        return self._regs

    def register(self, role: str) -> Register:
        regs = self.registers()
        for name in REGISTER_NAMES[role]:
            if name in regs:
                return regs[name]
        raise FlashError(f"the GDB server at {self.where} describes no {role} register")

    # memory

    def read_memory(self, addr: int, n: int) -> bytes:
        out = bytearray()
        step = max(((self.packet_size - 8) // 2) & ~3, 4)
        while len(out) < n:
            a, k = addr + len(out), min(step, n - len(out))
            what = f"reading {k} B at {a:#010x}"
            reply = self._check(self.command(f"m{a:x},{k:x}", what), what)
            try:
                got = bytes.fromhex(reply.decode())
            except ValueError as e:
                raise FlashError(f"{what}: not hex from {self.where}: {reply[:40]!r}") from e
            if not got:
                raise FlashError(f"{what}: the GDB server at {self.where} returned nothing")
            out += got[:k]
        return bytes(out)

    def _binary_chunks(self, addr: int, data: bytes, header) -> list[tuple[int, bytes]]:
        """Split ``data`` into packets ``header(addr, n) + escaped bytes`` of at most PacketSize
        (counting '$', '#' and the checksum)."""
        out = []
        budget = self.packet_size - 4 - len(header(0xFFFFFFFF, 0xFFFFFFFF))
        i = 0
        while i < len(data):
            j, used = i, 0
            while j < len(data) and used + (2 if data[j] in ESCAPED else 1) <= budget:
                used += 2 if data[j] in ESCAPED else 1
                j += 1
            out.append((addr + i, data[i:j]))
            i = j
        return out

    def write_memory(self, addr: int, data: bytes) -> str:
        """Write RAM (or anything the server writes directly) with X packets, or M where the server
        has no X. Returns the packet used."""
        if self.binary_writes is None:
            reply = self.command(f"X{addr:x},0:", "probing binary writes (X)")
            self.binary_writes = bool(reply)
        if self.binary_writes:
            for a, chunk in self._binary_chunks(addr, data, lambda a, n: f"X{a:x},{n:x}:".encode()):
                what = f"writing {len(chunk)} B at {a:#010x}"
                self._expect_ok(self.command(f"X{a:x},{len(chunk):x}:".encode() + escape(chunk), what), what)
            return "X"
        step = max((self.packet_size - 4 - len("M,:") - 16) // 2, 1)
        for i in range(0, len(data), step):
            a, chunk = addr + i, data[i : i + step]
            what = f"writing {len(chunk)} B at {a:#010x}"
            self._expect_ok(self.command(f"M{a:x},{len(chunk):x}:{chunk.hex()}", what), what)
        return "M"

    def flash_erase(self, addr: int, n: int) -> None:
        what = f"erasing flash {addr:#010x}..{addr + n:#010x}"
        self._expect_ok(self.command(f"vFlashErase:{addr:x},{n:x}", what, FLASH_TIMEOUT), what)

    def flash_write(self, addr: int, data: bytes) -> None:
        for a, chunk in self._binary_chunks(addr, data, lambda a, n: f"vFlashWrite:{a:x}:".encode()):
            what = f"writing {len(chunk)} B of flash at {a:#010x}"
            self._expect_ok(self.command(f"vFlashWrite:{a:x}:".encode() + escape(chunk), what, FLASH_TIMEOUT), what)

    def flash_done(self) -> None:
        self._expect_ok(
            self.command("vFlashDone", "finishing the flash writes (vFlashDone)", FLASH_TIMEOUT), "vFlashDone"
        )

    # registers and execution

    def set_registers(self, values: dict[str, int]) -> str:
        """Write registers by role (sp, pc, xpsr) with P packets, or, where the server has no P, by
        reading all registers (g), patching them and writing them back (G). Returns the packet used."""
        regs = {role: self.register(role) for role in values}
        if self.p_packets:
            for role, value in values.items():
                r = regs[role]
                what = f"setting {r.name}"
                reply = self._check(
                    self.command(f"P{r.regnum:x}={value.to_bytes(r.bits // 8, 'little').hex()}", what), what
                )
                if not reply:
                    self.p_packets = False
                    break
                self._expect_ok(reply, what)
            else:
                return "P"
        g = bytearray(bytes.fromhex(self._check(self.command("g", "reading the registers (g)"), "g").decode()))
        for role, value in values.items():
            r = regs[role]
            if r.offset + r.bits // 8 > len(g):
                raise FlashError(f"the GDB server at {self.where} takes neither P nor a G with {r.name} in it")
            g[r.offset : r.offset + r.bits // 8] = value.to_bytes(r.bits // 8, "little")
        self._expect_ok(self.command(b"G" + g.hex().encode(), "writing the registers (G)"), "writing the registers (G)")
        return "G"

    def resume(self) -> str:
        """Continue (vCont;c where the server lists it, else c) and return without waiting for the
        core to stop: the firmware runs on after the client leaves."""
        reply = self.command("vCont?", "vCont?")
        packet = "vCont;c" if reply.startswith(b"vCont") and "c" in reply.decode().split(";")[1:] else "c"
        self.send(packet.encode(), f"continue ({packet})")
        return packet
