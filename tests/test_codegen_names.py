"""Names are data, not code: tensor names and file names from a model file reach the generated C
only as escaped comments, string literals and identifiers (edgeneuro/codegen/cnames.py)."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tflite_builder import ModelBuilder, fc_options

from edgeneuro import boards, codegen
from edgeneuro.codegen import cnames
from edgeneuro.compiler import compile_model, load
from edgeneuro.runner import run_on_host

HOSTILE = [
    '*/ extern int system(const char *); static int evil = system("touch PWNED"); /*',
    'quote " and backslash \\" end',
    "newline\n#define en_model_invoke evil_invoke\n",
    "trigraph ??/\n??= ??' \x00\x07\x7f",
    "/* nested */ // line comment \\",
    "uni\u00e9\u2028code \ud7ff",
]


def _strip_comments_and_strings(c: str) -> str:
    """The code of a C source without its comments and string literals (what the compiler reads
    as tokens), by gcc's own preprocessor, then the literals removed."""
    code = subprocess.run(
        ["gcc", "-fpreprocessed", "-dD", "-E", "-P", "-x", "c", "-"],
        input=c,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return re.sub(r'"(\\.|[^"\\])*"', '""', code)


@given(st.text(max_size=40))
def test_comment_and_string_filters_cannot_be_broken_out_of(text):
    comment = cnames.c_comment(text)
    assert "*/" not in comment and "/*" not in comment and "??" not in comment
    assert not any(ch < " " or ch == "\x7f" for ch in comment)
    literal = cnames.c_string(text)
    assert re.fullmatch(r"([A-Za-z0-9 _.,:;+=()\[\]<>@%-]|\\[0-7]{3})*", literal)
    ident = cnames.c_identifier(text)
    assert re.fullmatch(r"t_[A-Za-z0-9_]+", ident) and len(ident) <= cnames.MAX_IDENTIFIER


def test_string_literals_read_back_as_the_name(tmp_path):
    """A C program prints each escaped name; the bytes equal the name's UTF-8."""
    names = [h.replace("\x00", "") for h in HOSTILE]  # a C string ends at NUL
    body = "\n".join(f'    fputs("{cnames.c_string(n)}", stdout); putchar(0);' for n in names)
    src = tmp_path / "p.c"
    src.write_text(f"#include <stdio.h>\nint main(void)\n{{\n{body}\n    return 0;\n}}\n")
    exe = tmp_path / "p"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, check=True).stdout
    assert out.split(b"\0")[:-1] == [n.encode("utf-8") for n in names]


def test_the_template_environment_refuses_unfiltered_names():
    e = codegen.env()
    assert e.from_string("/* {{ x }} */").render(x="conv1 [1, 2]") == "/* conv1 [1, 2] */"
    for bad in ("a */ b", 'a " b', "a\nb", "a ?? b"):
        with pytest.raises(ValueError, match="unfiltered text"):
            e.from_string("/* {{ x }} */").render(x=bad)
        assert "*/" not in e.from_string("/* {{ x | c_comment }} */").render(x=bad)[3:-3]


def _hostile_model(path):
    """FULLY_CONNECTED -> SOFTMAX whose every tensor carries a hostile name."""
    rng = np.random.default_rng(7)
    b = ModelBuilder()
    x = b.tensor([1, 8], scale=0.05, zero_point=-3, name=HOSTILE[0])
    w = b.tensor([4, 8], scale=0.02, data=rng.integers(-127, 128, (4, 8)), name=HOSTILE[1])
    bias = b.tensor([4], "int32", scale=0.001, data=rng.integers(-500, 500, 4), name=HOSTILE[2])
    h = b.tensor([1, 4], scale=0.1, zero_point=2, name=HOSTILE[3])
    y = b.tensor([1, 4], scale=1 / 256, zero_point=-128, name=HOSTILE[4] + HOSTILE[5])
    b.op("FULLY_CONNECTED", [x, w, bias], [h], fc_options("NONE"), "FullyConnectedOptions")
    from tflite_builder import softmax_options

    b.op("SOFTMAX", [h], [y], softmax_options(1.0), "SoftmaxOptions")
    path.write_bytes(b.build([x], [y]))
    return path


def test_hostile_names_compile_to_inert_c(tmp_path):
    """A model whose tensor names and file name try to close comments, break string literals and
    start preprocessor lines compiles under -Werror, runs like the reference, and no name reaches
    the C as code; the model name reads back from EN_MODEL_NAME as it is."""
    folder = tmp_path / 'dir "* x'  # a file name cannot hold '/', so no '*/' there
    folder.mkdir()
    model = _hostile_model(folder / 'evil"name* ??\\ #x\n#define y.tflite')
    c = compile_model(load(model), boards.load("mps2-an386"), tmp_path / "gen")
    x = np.random.default_rng(1).integers(-128, 128, (5, 8), dtype=np.int8)
    from conftest import reference_run

    y = run_on_host(c, x)
    (host,) = y.values()
    np.testing.assert_array_equal(host, reference_run(model, x))
    for name in ("model.c", "model.h"):
        code = _strip_comments_and_strings((c.out_dir / name).read_text())
        code = re.sub(r"\bt_\w+", "t_", code)  # buffer identifiers are made of names, letters and _ only
        for word in ("system", "evil", "PWNED", "nested", "trigraph", "backslash"):
            assert word not in code, (name, word)
        assert not re.search(r"^\s*#\s*define\s+en_model_invoke", code, re.M)
    assert not (tmp_path / "PWNED").exists()
    probe = tmp_path / "name.c"
    probe.write_text(
        '#include <stdio.h>\n#include "model.h"\nint main(void) { fputs(EN_MODEL_NAME, stdout); return 0; }\n'
    )
    exe = tmp_path / "name"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", f"-I{c.out_dir}", str(probe), "-o", str(exe)],
                   check=True)  # fmt: skip
    assert subprocess.run([str(exe)], capture_output=True, check=True).stdout.decode() == c.graph.name


def test_buffers_are_named_after_their_tensors(tmp_path, mps2):
    from conftest import MLPERF

    c = compile_model(load(MLPERF / "ad01_int8.tflite"), mps2, tmp_path / "gen")
    src = (c.out_dir / "model.c").read_text()
    invoke = src[src.index("int en_model_invoke(void)") :]
    assert "EN_ARENA(" not in invoke  # the calls name buffers, not offsets
    for t in (c.graph.inputs[0], c.graph.outputs[0]):
        ident = cnames.c_identifier(t)
        assert re.search(rf"static int8_t \*const {ident} = EN_ARENA\({c.plan.offsets[t]}, \d+\);", src)
        assert ident in invoke
