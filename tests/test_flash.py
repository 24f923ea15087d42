"""`edgeneuro flash`: a real model's firmware written into an empty QEMU board through its gdbstub,
verified, started, and its results equal to the numpy reference; the RSP client's flash path
(memory map, vFlashErase/vFlashWrite) against a small in-test GDB server; and the errors."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from conftest import MLPERF, reference_run

from edgeneuro import boards, build, flash
from edgeneuro.compiler import compile_model, load
from edgeneuro.targets import records

pytestmark = pytest.mark.sim

AD01 = MLPERF / "ad01_int8.tflite"


def edgeneuro(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgeneuro.cli", *args], capture_output=True, text=True, timeout=120)


def error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgeneuro: error: "), proc.stderr
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_ad01(board_name: str, out: Path) -> Path:
    """The MLPerf Tiny anomaly-detection model built for a board, laid out as `run --build-dir` leaves it."""
    board = boards.load(board_name)
    c = compile_model(load(AD01), board, out)
    build.build_firmware(c.out_dir, board)
    return out


@pytest.fixture(scope="module")
def ad01_build(tmp_path_factory) -> Path:
    return build_ad01("mps2-an386", tmp_path_factory.mktemp("flash") / "build")


@contextmanager
def qemu_gdbstub(board_name: str, work: Path):
    """QEMU's model of the board with NO -kernel (empty memory), halted (-S), its gdbstub on a
    free port, semihosting on (files in ``work``)."""
    q = boards.load(board_name).require_qemu()
    serial = ["-serial", "null"] * q.get("serial", 0) + ["-serial", "stdio"]
    proc = None
    for _ in range(5):
        port = free_port()
        with open(work / "qemu.log", "wb") as log:  # QEMU keeps its own copy of the descriptor
            proc = subprocess.Popen(
                ["qemu-system-arm", "-M", q["machine"], "-cpu", q["cpu"], "-S", "-gdb", f"tcp:127.0.0.1:{port}",
                 "-nographic", "-monitor", "none", *serial, "-semihosting-config", "enable=on,target=native"],
                cwd=work, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        if proc.poll() is None:
            break
    assert proc is not None and proc.poll() is None, (work / "qemu.log").read_text()
    try:
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@pytest.mark.parametrize(("board", "flash_origin"), [("mps2-an386", 0), ("stm32f4-discovery", 0x08000000)])
def test_flash_empty_qemu_board_and_run_bitexact(ad01_build, board, flash_origin, tmp_path):
    """Flash through the CLI into a QEMU board that started with empty memory, let it run, and read
    what the firmware wrote through semihosting: equal to the reference, bit for bit."""
    build_dir = ad01_build if board == "mps2-an386" else build_ad01(board, tmp_path / "build")
    stored = np.load(MLPERF / "ad01_int8_input.npy")
    x = np.concatenate([stored, np.random.default_rng(5).integers(-128, 128, (2, 640), dtype=np.int8)])
    (tmp_path / "input.bin").write_bytes(x.tobytes())
    image = flash.load_image(build_dir)
    with qemu_gdbstub(board, tmp_path) as (qemu, port):
        proc = edgeneuro("flash", str(build_dir), "--gdb", f"localhost:{port}", "--board", board, "--json")
        assert proc.returncode == 0, proc.stderr
        r = json.loads(proc.stdout)
        rc = qemu.wait(timeout=60)
    assert rc == 0, (tmp_path / "qemu.log").read_text()  # the firmware's exit code, through semihosting
    assert r["board"] == board and r["server"] == f"localhost:{port}"
    assert r["verify"] == "ok" and r["verified_bytes"] == r["bytes_written"] == image.nbytes > 280_000
    assert r["memory_map"] == [] and r["write_packet"] == "M"  # QEMU: no memory map, no X packets
    assert r["packet_size"] == 4096
    assert r["start"] == f"vector table at {flash_origin:#010x}" and r["registers_via"] == "P" and r["running"]
    assert r["segments"][0]["address"] == flash_origin
    assert r["sp"] == int.from_bytes(image.segments[0].data[:4], "little")
    raw = (tmp_path / "output.bin").read_bytes()
    rec = records.split(raw, 640, len(x), trailer=True)
    y = np.stack([np.frombuffer(o, np.int8) for o in rec.outputs])
    np.testing.assert_array_equal(y, reference_run(AD01, x))
    np.testing.assert_array_equal(y[0], np.load(MLPERF / "ad01_int8_expected_output.npy")[0])


def test_no_run_then_verify_finds_a_changed_byte(ad01_build, tmp_path):
    """--no-run leaves the core halted; the image verifies through the module API until one byte
    of it is changed, and then the difference is reported at its address."""
    (tmp_path / "input.bin").write_bytes(np.load(MLPERF / "ad01_int8_input.npy").tobytes())
    image = flash.load_image(ad01_build)
    with qemu_gdbstub("mps2-an386", tmp_path) as (qemu, port):
        proc = edgeneuro("flash", str(ad01_build), "--gdb", f"localhost:{port}", "--no-run")
        assert proc.returncode == 0, proc.stderr
        assert f"{image.nbytes:,} B read back, identical" in proc.stdout and "halted (--no-run)" in proc.stdout
        with flash.RspClient("localhost", port) as gdb:
            gdb.handshake()
            gdb.halt()
            assert flash.verify(gdb, image.segments) == image.nbytes
            addr = image.segments[0].address + 0x1234
            old = gdb.read_memory(addr, 1)[0]
            gdb.write_memory(addr, bytes([old ^ 0x5A]))
            with pytest.raises(flash.VerifyError) as e:
                flash.verify(gdb, image.segments)
        assert e.value.address == addr
        assert f"verify failed at {addr:#010x}: wrote {old:#04x}, read back {old ^ 0x5A:#04x}" in str(e.value)
        time.sleep(0.2)
        assert qemu.poll() is None  # still halted: the firmware never ran
    assert not (tmp_path / "output.bin").exists()


def test_verify_fails_where_qemu_has_no_memory(tmp_path):
    """mps2-an386 ignores writes at 0x10000000 and reads zeros there; 0x60000000 cannot be read at all."""
    with qemu_gdbstub("mps2-an386", tmp_path) as (_, port):
        ignored = flash.Image((flash.Segment(0x10000000, bytes(8) + b"\x5a" * 56),), 0x20001000, 0x10000001, "test")
        with pytest.raises(flash.VerifyError, match="verify failed at 0x10000008: wrote 0x5a, read back 0x00") as e:
            flash.flash_gdb(ignored, "localhost", port, run=False)
        assert e.value.address == 0x10000008
        absent = flash.Image((flash.Segment(0x60000000, b"\x01\x02\x03\x04"),), 0x20001000, 0x60000001, "test")
        with pytest.raises(flash.VerifyError, match="cannot read back 0x60000000: .* answered E14") as e:
            flash.flash_gdb(absent, "localhost", port, run=False)
        assert e.value.address == 0x60000000


def test_refused_connection_names_the_address(ad01_build):
    port = free_port()  # nothing listens there
    t0 = time.monotonic()
    line = error_line(edgeneuro("flash", str(ad01_build), "--gdb", f"localhost:{port}"))
    assert time.monotonic() - t0 < 10
    assert f"localhost:{port}" in line and "connection refused" in line


def test_silent_server_times_out(ad01_build):
    """A TCP server that accepts and never answers: a timeout naming the address, not a hang."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    stop = threading.Event()

    def serve():
        conn, _ = server.accept()
        with conn:
            stop.wait(30)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        t0 = time.monotonic()
        line = error_line(edgeneuro("flash", str(ad01_build), "--gdb", f"127.0.0.1:{port}", "--timeout", "1"))
        elapsed = time.monotonic() - t0
    finally:
        stop.set()
        t.join(5)
        server.close()
    assert f"127.0.0.1:{port} did not answer" in line and "within 1 s" in line
    assert elapsed < 15


def test_build_for_another_board_is_refused(ad01_build):
    """Refused before any connection: the port is closed, and the error is about the board."""
    line = error_line(
        edgeneuro("flash", str(ad01_build), "--gdb", f"localhost:{free_port()}", "--board", "stm32f4-discovery")
    )
    assert "built for mps2-an386, not stm32f4-discovery" in line


def test_elf_outside_the_boards_memory_is_refused(ad01_build, tmp_path):
    """An ELF given without its plan.json: its segments are checked against the board's memory map."""
    elf = tmp_path / "fw.elf"
    elf.write_bytes((ad01_build / "firmware.elf").read_bytes())
    line = error_line(edgeneuro("flash", str(elf), "--gdb", f"localhost:{free_port()}", "--board", "stm32f4-discovery"))
    first = flash.load_image(elf).segments[0]
    assert f"segment {first.address:#010x}..{first.end:#010x}" in line
    assert "lies outside the memory of stm32f4-discovery" in line


def test_probe_pyocd_without_a_probe(ad01_build):
    line = error_line(edgeneuro("flash", str(ad01_build), "--probe", "pyocd"))
    assert "no debug probe" in line or "pip install pyocd" in line


def test_missing_build(tmp_path):
    (tmp_path / "empty").mkdir()
    line = error_line(edgeneuro("flash", str(tmp_path / "empty"), "--gdb", "localhost:3333"))
    assert "no firmware.elf" in line


# --- the flash path, against a small GDB server written here --------------------------------------


FLASH, FLASH_SIZE, BLOCK = 0x08000000, 0x10000, 0x1000
RAM, RAM_SIZE = 0x20000000, 0x8000
MEMORY_MAP = (
    f'<?xml version="1.0"?><!DOCTYPE memory-map PUBLIC "+//IDN gnu.org//DTD GDB Memory Map V1.0//EN" '
    f'"http://sourceware.org/gdb/gdb-memory-map.dtd"><memory-map>'
    f'<memory type="flash" start="{FLASH:#x}" length="{FLASH_SIZE:#x}"><property name="blocksize">{BLOCK:#x}'
    f'</property></memory><memory type="ram" start="{RAM:#x}" length="{RAM_SIZE:#x}"/></memory-map>'
).encode()
# pyOCD-like: registers numbered in order (no regnum), xpsr right after pc, split over an include.
TARGET_XML = b'<?xml version="1.0"?><target><architecture>arm</architecture><xi:include href="core.xml"/></target>'
CORE_XML = (
    b'<feature name="org.gnu.gdb.arm.m-profile">'
    + b"".join(b'<reg name="r%d" bitsize="32"/>' % i for i in range(13))
    + b'<reg name="sp" bitsize="32" type="data_ptr"/><reg name="lr" bitsize="32"/>'
    + b'<reg name="pc" bitsize="32" type="code_ptr"/><reg name="xpsr" bitsize="32" regnum="16"/></feature>'
)


def rle(data: bytes) -> bytes:
    """Run-length encode as gdbserver does (never a count of '#' or '$')."""
    out = bytearray()
    i = 0
    while i < len(data):
        j = i
        while j < len(data) and data[j] == data[i] and j - i < 98:
            j += 1
        extra = j - i - 1
        if extra in (6, 7):
            extra = 5
        if extra >= 3:
            out += data[i : i + 1] + b"*" + bytes([29 + extra])
        else:
            out += data[i : i + 1] * (extra + 1)
        i += extra + 1
    return bytes(out)


class FakeGdbServer:
    """An RSP server for one connection: NOR flash (erase to 0xFF by block, writes can only clear
    bits, plain memory writes refused), RAM, a memory map, a target description, no P packet (so the
    client must use G), no vCont. It rejects the first packet it gets ('-') and corrupts the
    checksum of its first answer, to make the client retransmit and re-request; it run-length
    encodes its answers."""

    def __init__(self) -> None:
        self.flash = bytearray(b"\x00" * FLASH_SIZE)  # programmed garbage: a write without an erase shows
        self.ram = bytearray(RAM_SIZE)
        self.regs = [0] * 17
        self.log: list[bytes] = []
        self.longest = 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def mem(self, addr: int, n: int) -> tuple[bytearray, int] | None:
        for base, buf in ((FLASH, self.flash), (RAM, self.ram)):
            if base <= addr and addr + n <= base + len(buf):
                return buf, addr - base
        return None

    def serve(self) -> None:
        conn, _ = self.server.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        nak_once, corrupt_once = True, True
        buf = b""
        with conn:
            while True:
                while b"#" not in buf or len(buf) - buf.index(b"#") < 3:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                start = buf.index(b"$")
                end = buf.index(b"#", start)
                data, buf = buf[start + 1 : end], buf[end + 3 :]
                self.longest = max(self.longest, end - start + 3)
                if nak_once:
                    nak_once = False
                    conn.sendall(b"-")
                    continue
                conn.sendall(b"+")
                self.log.append(data)
                replies = self.handle(data)
                for reply in [replies] if isinstance(replies, bytes) else replies or []:
                    body = reply if data.startswith(b"qXfer") else rle(reply)
                    cs = sum(body) & 0xFF
                    if corrupt_once:
                        corrupt_once = False
                        conn.sendall(b"$" + body + b"#%02x" % ((cs + 1) & 0xFF))
                        while b"-" not in buf:  # the client asks again
                            buf += conn.recv(1)
                        buf = buf[buf.index(b"-") + 1 :]
                    conn.sendall(b"$" + body + b"#%02x" % cs)

    def handle(self, d: bytes) -> bytes | list[bytes] | None:
        if d.startswith(b"qSupported"):
            return b"PacketSize=100;qXfer:memory-map:read+;qXfer:features:read+"
        if d.startswith(b"qXfer:"):
            _, obj, _, annex, span = d.split(b":")
            off, n = (int(v, 16) for v in span.split(b","))
            doc = {b"memory-map": MEMORY_MAP, b"target.xml": TARGET_XML, b"core.xml": CORE_XML}[annex or obj]
            part = doc[off : off + n]
            return (b"l" if off + n >= len(doc) else b"m") + flash.escape(part)
        if d == b"?":
            return b"S05"
        if d.startswith(b"qRcmd,"):
            return [b"O" + b"Resetting target\n".hex().encode(), b"OK"]  # console output, then the result
        if d[:1] == b"m":
            a, n = (int(v, 16) for v in d[1:].split(b","))
            m = self.mem(a, n)
            return b"E01" if m is None else m[0][m[1] : m[1] + n].hex().encode()
        if d[:1] in b"MX":
            head, payload = d[1:].split(b":", 1)
            a, n = (int(v, 16) for v in head.split(b","))
            payload = bytes.fromhex(payload.decode()) if d[:1] == b"M" else flash.unescape(payload)
            m = self.mem(a, n)
            if m is None or m[0] is self.flash:
                return b"E01" if n else b"OK"
            m[0][m[1] : m[1] + n] = payload
            return b"OK"
        if d.startswith(b"vFlashErase:"):
            a, n = (int(v, 16) for v in d[12:].split(b","))
            if (a - FLASH) % BLOCK or n % BLOCK or self.mem(a, n) is None:
                return b"E03"
            self.flash[a - FLASH : a - FLASH + n] = b"\xff" * n
            return b"OK"
        if d.startswith(b"vFlashWrite:"):
            a, payload = d[12:].split(b":", 1)
            a, payload = int(a, 16) - FLASH, flash.unescape(payload)
            for i, b in enumerate(payload):
                self.flash[a + i] &= b
            return b"OK"
        if d == b"vFlashDone":
            return b"OK"
        if d == b"g":
            return b"".join(r.to_bytes(4, "little").hex().encode() for r in self.regs)
        if d[:1] == b"G":
            raw = bytes.fromhex(d[1:].decode())
            self.regs = [int.from_bytes(raw[i : i + 4], "little") for i in range(0, 68, 4)]
            return b"OK"
        if d == b"c":
            return None  # running: no answer until it stops
        return b""  # P, vCont?, anything else: not supported


def test_flash_regions_go_through_vflash_packets():
    """Flash segments are erased by whole blocks and written with vFlashWrite, RAM with X (binary,
    escaped); every packet fits the server's PacketSize; SP, PC and xPSR go in through G when the
    server has no P; then a plain c."""
    srv = FakeGdbServer()
    special = bytes(range(256)) * 20 + b"#$}*" * 64  # every byte value, and the four that need escaping
    text = (0x20001000).to_bytes(4, "little") + (FLASH + 0x101).to_bytes(4, "little") + special
    data = b"}}##$$**" * 40  # .data's load image, in the block after .text's
    ram = b"*$#}" * 100 + bytes(300)
    image = flash.Image(
        (flash.Segment(FLASH, text), flash.Segment(FLASH + 0x2400, data), flash.Segment(RAM + 0x10, ram)),
        0x20001000,
        FLASH + 0x101,
        "vector table at 0x08000000",
    )
    r = flash.flash_gdb(image, "127.0.0.1", srv.port, timeout=5)
    srv.thread.join(5)
    assert srv.flash[: len(text)] == text
    assert srv.flash[0x2400 : 0x2400 + len(data)] == data
    assert srv.flash[0x2400 + len(data) : 0x3000] == b"\xff" * (0x3000 - 0x2400 - len(data))  # erased block
    assert srv.flash[0x3000:] == bytes(FLASH_SIZE - 0x3000)  # blocks not touched stay as they were
    assert srv.ram[0x10 : 0x10 + len(ram)] == ram
    erases = [p for p in srv.log if p.startswith(b"vFlashErase")]
    assert erases == [b"vFlashErase:8000000,3000"]  # .text's two blocks and .data's one, merged
    assert srv.log.index(erases[0]) > srv.log.index(b"qRcmd," + b"reset halt".hex().encode())
    assert b"vFlashDone" in srv.log and not any(p.startswith(b"M") for p in srv.log)
    assert srv.longest <= 0x100
    assert srv.regs[13] == 0x20001000 and srv.regs[15] == FLASH + 0x100 and srv.regs[16] == 1 << 24
    assert srv.log[-1] == b"c"
    assert r["flash_erased_bytes"] == 0x3000 and r["write_packet"] == "X" and r["registers_via"] == "G"
    assert r["memory_map"][0] == {"type": "flash", "start": FLASH, "length": FLASH_SIZE, "blocksize": BLOCK}
    assert [s["memory"] for s in r["segments"]] == ["flash", "flash", "ram"]
    assert r["verified_bytes"] == len(text) + len(data) + len(ram) and r["continue_packet"] == "c"


def test_rsp_framing_helpers():
    assert flash.frame(b"m0,4") == b"$m0,4#fd"
    assert flash.rle_decode(b"0* 1") == b"00001"  # ' ' = 32: three more
    assert flash.rle_decode(rle(b"0" * 200 + b"12" + b"f" * 7)) == b"0" * 200 + b"12" + b"f" * 7
    raw = bytes(range(256))
    assert flash.unescape(flash.escape(raw)) == raw
    assert flash.escape(b"#$}*a") == b"}\x03}\x04}]}\na"
    assert flash.parse_address("localhost:3333") == ("localhost", 3333)
    assert flash.parse_address(":2331") == ("localhost", 2331)
    assert flash.parse_address("[::1]:1234") == ("::1", 1234)


def test_a_stop_reply_before_the_ack_is_not_taken_for_the_answer():
    """Renode's GDB server, as a client connects, sends a stop reply (S02) before it acknowledges the
    client's first packet; the client must take qSupported's answer, not that, and '?' its own."""
    server = socket.create_server(("127.0.0.1", 0))

    def packet(body: bytes) -> bytes:
        return b"$" + body + b"#%02x" % flash.checksum(body)

    def serve():
        conn, _ = server.accept()
        with conn:
            conn.recv(4096)  # qSupported
            conn.sendall(packet(b"S02") + b"+" + packet(b"PacketSize=400;swbreak+"))
            buf = b""
            while b"$?#" not in buf:
                buf += conn.recv(4096)
            conn.sendall(b"+" + packet(b"S05"))
            conn.recv(4096)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        with flash.RspClient("127.0.0.1", server.getsockname()[1], 5) as gdb:
            assert gdb.handshake()["PacketSize"] == "400"
            assert gdb.packet_size == 0x400
            assert gdb.halt() == b"S05"
    finally:
        t.join(5)
        server.close()
