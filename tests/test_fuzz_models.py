"""Mutated model files (tests/fuzz/): every TFLite, ONNX and NIR mutant either compiles or is
refused with one line naming the file; none raises an unforeseen exception or hangs. The normal run
takes a few hundred mutants; ``pytest -m fuzz`` thousands; ``python -m tests.fuzz --count N --seed S``
prints the table and keeps the failing mutants. A few mutants the fuzzer found are pinned below."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fuzz import mutate, seeds
from fuzz.harness import FAILURES, run_one
from fuzz.run import run, save, table

from edgeneuro import compiler
from edgeneuro.errors import ModelError
from edgeneuro.options import CompileOptions

CI_COUNT = 600  # in two halves that xdist runs side by side; 1,000 took 21-40 s without the host checks
# and 120 s with them on a loaded machine (each of the ~130 accepted mutants built and run under the sanitizers)
LARGE_COUNT = 5000


def failures(results) -> str:
    bad = [r for r in results if r.outcome in FAILURES]
    return "\n".join(f"mutant {r.mutant.index} of seed {r.mutant.seed} ({r.mutant.fmt} {r.mutant.model} "
                     f"{r.mutant.kind}: {r.mutant.recipe[:120]}): {r.outcome}: {r.detail}" for r in bad)  # fmt: skip


def test_mutants_are_deterministic():
    a, b = mutate.mutant(3, 17), mutate.mutant(3, 17)
    assert a == b and a.data == b.data
    kinds = {(m.fmt, m.kind) for m in (mutate.mutant(3, k) for k in range(200))}
    assert {f for f, _ in kinds} == {".tflite", ".onnx", ".nir"}
    assert len(kinds) > 30  # most mutations of every format come up in 200 draws


@pytest.mark.parametrize("half", [0, 1])
def test_mutants_never_traceback_nor_hang(tmp_path, half):
    """Every accepted mutant is also checked on the host (the tests set EDGENEURO_HOST_CHECKS=1)."""
    results = run(CI_COUNT // 2, seed=0, start=half * CI_COUNT // 2, out=tmp_path / "failing")
    print("\n" + table(results))
    assert not failures(results), failures(results)
    assert sum(r.outcome == "accepted" for r in results) < len(results) // 2


@pytest.mark.fuzz
def test_many_mutants_never_traceback_nor_hang(tmp_path):
    """``pytest -m fuzz``: 5,000 mutants of seed 1 (about 4 minutes alone)."""
    results = run(LARGE_COUNT, seed=1, out=tmp_path / "failing")
    print("\n" + table(results))
    assert not failures(results), failures(results)


# Mutants the fuzzer found, pinned: each is refused naming the file, the operator or tensor and the rule.


def patched(tmp_path: Path, seed: str, edit) -> Path:
    """The seed TFLite model with ``edit(model, buffer)`` applied in place."""
    (s,) = [s for s in seeds.tflite_seeds() if s.name == seed]
    m, buf = mutate.TFLite(s.data), bytearray(s.data)
    edit(m, buf)
    path = tmp_path / f"{seed}.tflite"
    path.write_bytes(bytes(buf))
    return path


def refused(path: Path, *needles: str, options: CompileOptions | None = None) -> str:
    with pytest.raises(ModelError) as e:
        compiler.load(path, options)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg, msg
    for n in needles:
        assert n in msg, msg
    return msg


def _output_shape(m, buf, value):
    (out,) = [int(j) for j in m.sg.OutputsAsNumpy()]
    start, n, fmt = mutate.vector(m.tensors[out], "Shape")
    mutate.put(buf, start + 4 * (n - 1), fmt, value)


def test_declared_output_shape_is_checked(tmp_path):
    """The seizure CNN's output [1, 2] declared [1, 1] or [1, 5]: its last operator computes 2 values."""
    for v in (1, 5):
        refused(patched(tmp_path, "seizure_cnn1d", lambda m, b, v=v: _output_shape(m, b, v)), "declares output 0",
                "computes 2 values")  # fmt: skip


def _option(m, buf, field, value):
    for k in range(len(m.ops)):
        o = mutate._options(m, k)
        if o is not None and field in (fields := mutate.option_fields(o[1])):
            pos, fmt = fields[field]
            mutate.put(buf, pos, fmt, value)
            return
    raise AssertionError(field)


@pytest.mark.parametrize(
    "field, value, rule",
    [("fused_activation_function", 42, "fused activation 42"), ("padding", 7, "padding 7"),
     ("stride_w", 0, "stride_w 0: it must be at least 1")],
)  # fmt: skip
def test_options_out_of_range(tmp_path, field, value, rule):
    refused(patched(tmp_path, "kws_ref_model", lambda m, b: _option(m, b, field, value)), "operator", rule)


def test_options_removed(tmp_path):
    """A CONV_2D whose options table is gone: named, not a KeyError from the op module."""

    def edit(m, buf):
        k = next(k for k in range(len(m.ops)) if mutate._options(m, k) and mutate._options(m, k)[0] == "Conv2DOptions")
        pos, fmt = mutate.field(m.ops[k], "BuiltinOptionsType")
        mutate.put(buf, pos, fmt, 0)

    refused(patched(tmp_path, "pretrainedResnet_quant", edit), "CONV_2D", "options have no", "NONE")


@pytest.mark.parametrize("value, rule", [(0.0, "scale 0.0"), (float("nan"), "scale nan"), (1e-45, "scale 1.4"),
                                         (3e38, "scale 3")])  # fmt: skip
def test_scales_out_of_range(tmp_path, value, rule):
    def edit(m, buf):
        start, _, fmt = mutate.vector(m.tensors[int(m.sg.InputsAsNumpy()[0])].Quantization(), "Scale")
        mutate.put(buf, start, fmt, value)

    refused(patched(tmp_path, "ad01_int8", edit), "tensor #", rule, "finite and positive")


def test_bad_indices(tmp_path):
    def input_index(m, buf):
        start, _, fmt = mutate.vector(m.ops[0], "Inputs")
        mutate.put(buf, start, fmt, -5)

    refused(patched(tmp_path, "ad01_int8", input_index), "operator #0", "tensor -5")

    def opcode(m, buf):
        pos, fmt = next(f for op in m.ops if (f := mutate.field(op, "OpcodeIndex")) is not None)
        mutate.put(buf, pos, fmt, 10**5)

    refused(patched(tmp_path, "pretrainedResnet_quant", opcode), "opcode index 100000")

    def missing_weights(m, buf):  # a FULLY_CONNECTED's weights index -1 (only its bias may be left out)
        start, _, fmt = mutate.vector(m.ops[0], "Inputs")
        mutate.put(buf, start + 4, fmt, -1)

    refused(patched(tmp_path, "ad01_int8", missing_weights), "FULLY_CONNECTED #0 leaves out input 1")


def test_onnx_per_channel_axis_and_arity(tmp_path):
    for edit, rule in (
        (lambda g: mutate._set_attr(next(n for n in g.node if n.input[0] == "w_q"), "axis", 1),
         "3 scales for the 1 elements"),
        (lambda g: setattr(next(n for n in g.node if n.op_type == "Gemm"), "op_type", "Transpose"),
         "3 inputs; the ONNX operator takes 1 to 1"),
        (lambda g: g.input[0].type.tensor_type.shape.dim[0].__setattr__("dim_value", -7), "dimension 0 = -7"),
    ):  # fmt: skip
        m = seeds.onnx_qdq_model(True)
        edit(m.graph)
        path = tmp_path / "m.onnx"
        path.write_bytes(m.SerializeToString())
        refused(path, rule)


def test_nir_parameters_must_be_finite(tmp_path):
    import nir

    g = seeds.nir_graph()
    g.nodes["hidden"].v_reset = np.array([0, 0, -np.inf, 0, 0, 0, 0, 0], float)
    path = tmp_path / "g.nir"
    nir.write(path, g)
    refused(path, "node 'hidden' (LIF)", "v_reset[2] is -inf", options=CompileOptions(dt=seeds.NIR_DT))


def test_nir_duplicate_edge(tmp_path):
    import nir

    g = seeds.nir_graph()
    g.edges.append(("fc1", "hidden"))
    path = tmp_path / "g.nir"
    nir.write(path, g)
    refused(path, "edge ('fc1', 'hidden') appears twice", options=CompileOptions(dt=seeds.NIR_DT))


def test_negative_depth_multiplier(tmp_path):
    refused(patched(tmp_path, "kws_ref_model", lambda m, b: _option(m, b, "depth_multiplier", -1)),
            "DEPTHWISE_CONV_2D", "depth_multiplier -1")  # fmt: skip


def test_failing_mutant_is_saved_for_reproduction(tmp_path):
    """What ``python -m tests.fuzz`` keeps of a failing mutant: its bytes, under a name that says
    where it came from, and a note with the recipe and the outcome."""
    m = mutate.mutant(0, 5)
    r = run_one(m, tmp_path / "work")
    assert r.outcome in ("clean error", "accepted")
    save(r, tmp_path / "kept")
    assert (tmp_path / "kept" / m.filename).read_bytes() == mutate.mutant(0, 5).data
    note = (tmp_path / "kept" / f"{m.filename}.txt").read_text()
    assert m.recipe in note and r.outcome in note


def test_onnx_opset_from_the_future(tmp_path):
    m = seeds.onnx_qdq_model(True)
    m.opset_import[0].version = 99
    path = tmp_path / "m.onnx"
    path.write_bytes(m.SerializeToString())
    refused(path, "opset 99 is newer than the onnx package knows")


@pytest.mark.parametrize("value, rule", [(float("inf"), "beta inf: options must be finite"),
                                         (-1.0, "beta -1.0: a softmax's beta is positive")])  # fmt: skip
def test_softmax_beta(tmp_path, value, rule):
    refused(patched(tmp_path, "kws_ref_model", lambda m, b: _option(m, b, "beta", value)),
            "SOFTMAX", rule)  # fmt: skip


def test_unknown_options_type(tmp_path):
    def edit(m, buf):
        pos, fmt = next(f for op in m.ops if (f := mutate.field(op, "BuiltinOptionsType")) is not None)
        mutate.put(buf, pos, fmt, 200)

    refused(patched(tmp_path, "kws_ref_model", edit), "options are of type 200")
