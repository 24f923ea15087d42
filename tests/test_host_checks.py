"""The checked host build (edgeneuro/targets/host.py): warnings as errors, ASan and UBSan, and the
host debug layout (every buffer of the plan in an array of its own) beside the arena layout. The
tests here plant faults in generated C and require the checks to catch them, so that a passing
suite means the checks ran and would have seen such a fault."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import MLPERF

from edgeneuro import build
from edgeneuro.codegen import buffer_ids, cnames
from edgeneuro.compiler import compile_model, load
from edgeneuro.errors import ToolError
from edgeneuro.runner import encode_inputs
from edgeneuro.targets import host

MODEL = MLPERF / "kws_ref_model.tflite"


@pytest.fixture(scope="module")
def kws(tmp_path_factory, mps2):
    """The keyword spotter compiled once, two of its samples, and the output bytes of its host build."""
    c = compile_model(load(MODEL), mps2, tmp_path_factory.mktemp("kws") / "gen")
    x = np.load(MLPERF / "kws_ref_model_input.npy")[:2]
    return c, x, host.run(build.build_host(c.out_dir, checks=True), encode_inputs(c.graph, x)).records


def _copy_sources(c, to):
    """A copy of the generated sources of ``c`` in ``to``, to plant a fault in."""
    to.mkdir()
    for p in c.out_dir.rglob("*"):
        dst = to / p.relative_to(c.out_dir)
        if p.is_dir():
            dst.mkdir(exist_ok=True)
        elif p.suffix in (".c", ".h"):
            dst.write_bytes(p.read_bytes())
    return to


def _overrun_tensor(c) -> str:
    """An intermediate arena tensor a kernel writes whose size is not a multiple of the arena's
    8-byte alignment: a byte past its end is alignment padding inside the arena."""
    g, plan = c.graph, c.plan
    written = {n for k in c.prepared.kernels if k.fn for n in k.outputs}
    for name, offset in plan.offsets.items():
        t = g.tensors.get(name)
        if t is None or name in g.inputs or name in g.outputs or name not in written:
            continue
        if t.nbytes % 8 and offset + t.nbytes < plan.arena_bytes:
            return name
    raise AssertionError("no intermediate tensor with alignment padding after it")


def test_the_tests_build_checked():
    """conftest turns the checks on for every host build of the suite."""
    assert host.checks_wanted()


def test_both_layouts_run_and_agree(kws, tmp_path):
    """A checked build makes two executables, each runs clean under the sanitizers, and their output
    bytes are the same (host.run compares them); the unchecked build computes the same."""
    c, x, want = kws
    exe = build.build_host(c.out_dir, tmp_path / "checked", checks=True)
    assert host.debug_twin(exe).exists()
    data = encode_inputs(c.graph, x)
    assert host.run(exe, data).records == host._run_one(host.debug_twin(exe), data, 60).records == want
    plain = build.build_host(c.out_dir, tmp_path / "plain", checks=False)
    assert not host.debug_twin(plain).exists()
    assert host.run(plain, data).records == want
    # the debug layout gives each plan buffer an array of its own, views sharing their input's
    src = (c.out_dir / "model.c").read_text()
    for b in c.plan.buffers:
        assert f"static int8_t en_buffer{b.id}[{max(1, b.nbytes)}]" in src
    ids = buffer_ids(c.plan)
    for k in c.prepared.kernels:
        if k.fn is None:  # a view: one array with its input
            assert ids[k.outputs[0]] == ids[k.inputs[0]]


def test_an_overrun_into_padding_is_caught_only_by_the_debug_layout(kws, tmp_path):
    """Plant a one-byte overrun: the pointer of an intermediate tensor moved one byte on, so its
    producer writes its last byte past the tensor (its consumer reads through the same pointer, so
    the values the model computes stay right). In the one arena that byte is alignment padding:
    the arena build runs clean under ASan and computes the right outputs; in the debug layout the
    tensor is an array of its own and ASan stops the program at the write."""
    c, x, want = kws
    name = _overrun_tensor(c)
    ident = cnames.unique_identifiers([*c.plan.offsets, *c.plan.state_offsets])[name]
    model_c = c.out_dir / "model.c"
    src = model_c.read_text()
    decl = re.compile(rf"(static int8_t \*const {re.escape(ident)} = EN_ARENA\(\d+, \d+\))(;)")
    assert len(decl.findall(src)) == 1, ident
    planted = _copy_sources(c, tmp_path / "planted")
    (planted / "model.c").write_text(decl.sub(r"\1 + 1\2", src))

    exe = build.build_host(planted, checks=True)
    data = encode_inputs(c.graph, x)
    assert host._run_one(exe, data, 60).records == want  # the arena layout: nothing to see
    with pytest.raises(ToolError, match=r"AddressSanitizer: global-buffer-overflow") as e:
        host.run(exe, data)  # runs the debug layout too
    assert "_debug_layout" in str(e.value)
    assert f"en_buffer{buffer_ids(c.plan)[name]}" in str(e.value)  # ASan names the array overrun


def test_undefined_behaviour_is_an_error(kws, tmp_path):
    """UBSan does not recover: a signed overflow planted in model.c fails the run with its report."""
    c, x, _ = kws
    planted = _copy_sources(c, tmp_path / "planted")
    src = (c.out_dir / "model.c").read_text()
    hook = "int en_model_invoke(void)\n{\n"
    assert hook in src
    overflow = "    volatile int32_t en_big = INT32_MAX;\n    en_big = en_big + (int32_t)en_model_outputs[0].bytes;\n"
    (planted / "model.c").write_text(src.replace(hook, hook + overflow, 1))
    exe = build.build_host(planted, checks=True)
    with pytest.raises(ToolError, match=r"signed integer overflow"):
        host.run(exe, encode_inputs(c.graph, x))
