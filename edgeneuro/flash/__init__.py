"""`edgeneuro flash`: write a built firmware to a board, read it back, start it.

Two ways in:

* a GDB server, spoken to over the GDB Remote Serial Protocol (RSP): OpenOCD, pyOCD and SEGGER's
  J-Link GDB server in front of a real board, or QEMU's gdbstub (``-gdb tcp::PORT``). The client is
  :class:`RspClient` (``gdb.py``): ``$data#cs`` framing, ``+``/``-`` acknowledgements with retransmission,
  run-length decoding of answers, escaping of ``#$}*`` in binary packets, ``E NN`` errors, and a
  timeout on every read. Where the server publishes a memory map (``qXfer:memory-map:read``) and a
  segment lies in flash, it is erased and written with ``vFlashErase`` / ``vFlashWrite`` /
  ``vFlashDone`` (the server runs the chip's flash algorithm); elsewhere, and on servers without a
  map such as QEMU, plain ``X`` (binary) or ``M`` (hex) memory writes are used.
* pyOCD's Python API with a USB debug probe (``--probe pyocd``; pyOCD is the optional ``probe``
  extra and is imported only then).

Either way every byte of every PT_LOAD segment (at its load address, LMA) is read back and compared,
and the core is started from the vector table at the start of the image: SP = word 0, PC = word 1.

The package: ``image.py`` loads the ELF (segments, SP and PC), ``gdb.py`` is the RSP client,
``flows.py`` plans the writes, runs the gdb and pyOCD flows and renders the report, and
``errors.py`` holds :class:`FlashError` and :class:`VerifyError`.
"""

from edgeneuro.flash.errors import FlashError, VerifyError
from edgeneuro.flash.flows import Piece, erase_ranges, flash_gdb, flash_pyocd, plan_writes, render_text, verify
from edgeneuro.flash.gdb import (
    DEFAULT_PACKET_SIZE,
    ESCAPED,
    FLASH_TIMEOUT,
    LEGACY_ARM,
    MAX_PACKET_SIZE,
    REGISTER_NAMES,
    SERVER_HINT,
    Region,
    Register,
    RspClient,
    checksum,
    escape,
    frame,
    parse_address,
    rle_decode,
    unescape,
)
from edgeneuro.flash.image import ELF_NAME, PLAN_NAME, XPSR_THUMB, Image, Segment, check_fits, load_image

__all__ = [
    "DEFAULT_PACKET_SIZE",
    "ELF_NAME",
    "ESCAPED",
    "FLASH_TIMEOUT",
    "LEGACY_ARM",
    "MAX_PACKET_SIZE",
    "PLAN_NAME",
    "REGISTER_NAMES",
    "SERVER_HINT",
    "XPSR_THUMB",
    "FlashError",
    "Image",
    "Piece",
    "Region",
    "Register",
    "RspClient",
    "Segment",
    "VerifyError",
    "check_fits",
    "checksum",
    "erase_ranges",
    "escape",
    "flash_gdb",
    "flash_pyocd",
    "frame",
    "load_image",
    "parse_address",
    "plan_writes",
    "render_text",
    "rle_decode",
    "unescape",
    "verify",
]
