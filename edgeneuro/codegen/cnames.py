"""Names are data, not code: how a name from a model file (a tensor, an operator, the file itself)
may appear in generated C.

A model file is input from anyone; its names reach the generated sources in three places, each
with its own filter in the templates:

* ``c_comment``: inside ``/* ... */``. It cannot close the comment (``*/``), open a nested one
  (``/*``, which ``-Wcomment`` rejects), start a line (no newlines or other control characters,
  so no ``#`` directive and no line splice) or form a trigraph (``??``).
* ``c_string``: inside a ``"..."`` literal. Only letters, digits and a few punctuation marks stay
  as they are; every other byte of its UTF-8 becomes a three-digit octal escape, so the literal
  cannot be ended, spliced or extended by a trigraph.
* ``c_identifier``: a symbol (a buffer's name). Letters, digits and ``_`` only, with a prefix, so
  it cannot be a keyword, a reserved name or one of the kernels' symbols.

The template environment (``codegen.env``) checks every value it prints: a string that could end a
comment or a literal, or start a line, is refused unless it went through one of these filters or
is code this package generated (``Code``), so a template that forgets a filter fails to render
instead of writing what a model file chose.
"""

from __future__ import annotations

import re

_DANGEROUS = re.compile(r'\*/|/\*|"|\\|\?\?|[\x00-\x1f\x7f]')
_STRING_SAFE = re.compile(r"[A-Za-z0-9 _.,:;+=()\[\]<>@%-]")
MAX_IDENTIFIER = 40


class Code(str):
    """Text that is C this package generated (numbers, symbols, its own punctuation): printed as is."""


def c_comment(text: object) -> Code:
    """``text`` made safe inside a C block comment, on one line."""
    s = "".join(ch if " " <= ch != "\x7f" else " " for ch in str(text))
    while "*/" in s or "/*" in s or "??" in s:
        s = s.replace("*/", "* /").replace("/*", "/ *").replace("??", "? ?")
    return Code(s.replace("\\", "\\ "))


def c_string(text: object) -> Code:
    """``text`` as the body of a C string literal (without the quotes)."""
    out = []
    for ch in str(text):
        if _STRING_SAFE.fullmatch(ch):
            out.append(ch)
        else:
            out.extend(f"\\{b:03o}" for b in ch.encode("utf-8"))
    return Code("".join(out))


def c_identifier(name: str, prefix: str = "t_") -> Code:
    """A C identifier that reads like ``name``: its last meaningful part (TFLite joins fused names
    with ';'), letters, digits and single underscores, at most MAX_IDENTIFIER characters."""
    part = str(name).split(";")[0]
    body = re.sub(r"[^A-Za-z0-9]+", "_", part).strip("_")
    if len(body) > MAX_IDENTIFIER - len(prefix):  # keep the end: it names the layer ('.../conv2d_3/Relu')
        body = body[-(MAX_IDENTIFIER - len(prefix)) :].lstrip("_")
    return Code(prefix + (body or "tensor"))


def unique_identifiers(names: list[str], prefix: str = "t_") -> dict[str, Code]:
    """``c_identifier`` of each name, made distinct with a numeric suffix where two collide."""
    seen: set[str] = set()
    out: dict[str, Code] = {}
    for name in names:
        base = c_identifier(name, prefix)
        ident, k = base, 2
        while ident in seen:
            ident, k = Code(f"{base}_{k}"), k + 1
        seen.add(ident)
        out[name] = ident
    return out


def checked(value: object) -> object:
    """The template environment's ``finalize``: every printed value passes through here."""
    if isinstance(value, str) and not isinstance(value, Code) and _DANGEROUS.search(value):
        raise ValueError(
            f"unfiltered text {value[:60]!r} reached generated C; print it with c_comment, c_string or c_identifier"
        )
    return value
