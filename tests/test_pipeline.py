"""The compile pipeline (edgeneuro/compiler.py): front ends only parse, the passes run in one
order with the IR checked after each, and every command reads one Prepared model."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from conftest import MLPERF
from tflite_builder import ModelBuilder, fc_options

from edgeneuro import cli, compiler, frontends, ir, passes, plan
from edgeneuro.errors import ModelError
from edgeneuro.frontends import nir as fnir
from edgeneuro.ir import QuantParams
from edgeneuro.options import CompileOptions

AD01 = MLPERF / "ad01_int8.tflite"


def _two_layers(path):
    rng = np.random.default_rng(3)
    b = ModelBuilder()
    x = b.tensor([1, 6], scale=0.05, zero_point=1)
    w1 = b.tensor([5, 6], scale=0.02, data=rng.integers(-127, 128, (5, 6)))
    h = b.tensor([1, 5], scale=0.1, zero_point=-2)
    w2 = b.tensor([3, 5], scale=0.03, data=rng.integers(-127, 128, (3, 5)))
    y = b.tensor([1, 3], scale=0.2, zero_point=4)
    b.op("FULLY_CONNECTED", [x, w1, -1], [h], fc_options("RELU"), "FullyConnectedOptions")
    b.op("FULLY_CONNECTED", [h, w2, -1], [y], fc_options("NONE"), "FullyConnectedOptions")
    path.write_bytes(b.build([x], [y]))
    return path


def test_the_pipeline_runs_every_pass_in_order_and_records_it(tmp_path):
    p = compiler.load(_two_layers(tmp_path / "m.tflite"))
    assert [r.name for r in p.passes] == [q.name for q in passes.PIPELINE]
    ran = {r.name: r.ran for r in p.passes}
    assert ran == {"inline-subgraphs": False, "nir-fixed-point": False, "insert-encoder": False, "fold-constants": True,
                   "choose-synapse-kernels": False, "choose-kernel-variants": False}  # fmt: skip
    assert all(r.doc for r in p.passes)
    assert len(p.kernels) == 2 and p.plan.arena_bytes > 0 and len(p.sha256) == 64


def test_front_ends_only_parse_nir_keeps_the_files_numbers(tmp_path):
    """The NIR front end gives one float op per node with the file's parameters; the fixed-point
    kernels appear only after the nir-fixed-point pass."""
    import nir

    w = np.array([[0.5, -0.25], [0.125, 1.0], [0.3, 0.7]])
    g = nir.NIRGraph.from_list(nir.Input(np.array([2])), nir.Affine(w, np.array([0.1, 0.0, -0.2])),
                               nir.LIF(np.full(3, 0.02), np.ones(3), np.zeros(3), np.ones(3)),
                               nir.Output(np.array([3])))  # fmt: skip
    path = tmp_path / "net.nir"
    nir.write(path, g)
    parsed = frontends.load(path)
    assert parsed.temporal and all(op.kind.startswith(fnir.OP_PREFIX) for op in parsed.ops)
    (affine,) = [op for op in parsed.ops if op.kind == "NIR.Affine"]
    np.testing.assert_array_equal(affine.attrs["params"]["weight"], w)
    net, back = fnir.read(path), fnir.net_of(parsed)  # the IR holds all the file said
    assert (back.source, back.input, back.outputs) == (net.source, net.input, net.outputs)
    for a, b in zip(back.nodes, net.nodes, strict=True):
        assert (a.name, a.kind, a.shape, a.inputs, a.in_shape) == (b.name, b.kind, b.shape, b.inputs, b.in_shape)
        assert a.params.keys() == b.params.keys()
        assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    p = compiler.prepare(parsed, CompileOptions(dt=1e-3))
    assert not any(op.kind.startswith(fnir.OP_PREFIX) for op in p.graph.ops)
    assert {"NIR_AFFINE", "NIR_LIF"} <= {op.kind for op in p.graph.ops}
    with pytest.raises(ModelError, match="give the step with --dt"):
        compiler.prepare(parsed, CompileOptions())


def _graph(tmp_path):
    return frontends.load(_two_layers(tmp_path / "m.tflite"))


@pytest.mark.parametrize(
    "breakage, rule",
    [
        (lambda g: dataclasses.replace(g, ops=g.ops[::-1]), "before any operator writes it"),
        (lambda g: dataclasses.replace(g, ops=g.ops[1:]), "before any operator writes it"),
        (lambda g: dataclasses.replace(g, ops=g.ops[:1]), "no operator computes it"),
        (lambda g: dataclasses.replace(g, inputs=()), "no inputs"),
        (lambda g: dataclasses.replace(g, ops=(*g.ops, g.ops[1])), "a tensor already written"),
        (lambda g: dataclasses.replace(g, outputs=(g.ops[0].inputs[1],)), "is a constant"),
        (
            lambda g: dataclasses.replace(g, ops=(dataclasses.replace(g.ops[0], inputs=("nothing",)), *g.ops[1:])),
            "names no tensor 'nothing'",
        ),
        (lambda g: _retensor(g, g.outputs[0], shape=(1, -3)), "every dimension must be a positive integer"),
        (lambda g: _retensor(g, g.outputs[0], quant=QuantParams((float("nan"),), (0,))), "finite and positive"),
        (lambda g: _retensor(g, g.outputs[0], quant=QuantParams((0.1,), (2**31 - 1,))), "zero point"),
        (lambda g: dataclasses.replace(g, state=(g.outputs[0],)), "must be temporal"),
    ],
)
def test_verify_refuses_broken_graphs_naming_the_rule(tmp_path, breakage, rule):
    g = _graph(tmp_path)
    ir.verify(g, "the front end")  # the intact graph keeps the rules
    with pytest.raises(ModelError, match=rule) as e:
        compiler.prepare(breakage(g))
    assert str(tmp_path / "m.tflite") in str(e.value)


def _retensor(g, name, **changes):
    return dataclasses.replace(g, tensors={**g.tensors, name: dataclasses.replace(g.t(name), **changes)})


def test_a_pass_that_breaks_the_ir_is_caught_after_it(tmp_path, monkeypatch):
    def drop_last(graph, options):
        return dataclasses.replace(graph, ops=graph.ops[:-1])

    broken = (*passes.PIPELINE, passes.Pass("drop-last", drop_last, lambda g, o: True))
    monkeypatch.setattr(compiler, "PIPELINE", broken)
    with pytest.raises(ModelError, match=r"\(the IR after pass drop-last\)"):
        compiler.load(_two_layers(tmp_path / "m.tflite"))


def test_a_pass_is_pure(tmp_path):
    """Every pass returns a new graph and leaves its input as it was."""
    g = _graph(tmp_path)
    before = json.dumps(g.to_json(), sort_keys=True, default=str)
    for p in passes.PIPELINE:
        if p.applies(g, CompileOptions()):
            p.run(g, CompileOptions())
    assert json.dumps(g.to_json(), sort_keys=True, default=str) == before


def _count_calls(monkeypatch):
    calls = {"frontends.load": 0, "prepare": 0, "plan_memory": 0}

    def counted(name, fn):
        def wrapper(*a, **k):
            calls[name] += 1
            return fn(*a, **k)

        return wrapper

    monkeypatch.setattr(frontends, "load", counted("frontends.load", frontends.load))
    monkeypatch.setattr(compiler, "prepare", counted("prepare", compiler.prepare))
    monkeypatch.setattr(compiler, "plan_memory", counted("plan_memory", plan.plan_memory))
    return calls


@pytest.mark.parametrize("command", ["compile", "inspect"])
def test_a_command_prepares_the_model_once(tmp_path, monkeypatch, command, capsys):
    calls = _count_calls(monkeypatch)
    args = [command, str(AD01)] + (["-o", str(tmp_path / "gen")] if command == "compile" else [])
    assert cli.main(args) == 0
    assert calls == {"frontends.load": 1, "prepare": 1, "plan_memory": 1}


@pytest.mark.sim
def test_run_prepares_the_model_once(tmp_path, monkeypatch, capsys):
    calls = _count_calls(monkeypatch)
    x = tmp_path / "x.npy"
    np.save(x, np.load(MLPERF / "ad01_int8_input.npy"))
    assert cli.main(["run", str(AD01), "--input", str(x)]) == 0
    assert calls == {"frontends.load": 1, "prepare": 1, "plan_memory": 1}


def test_compile_debug_and_inspect_passes_print_the_pipeline(tmp_path, capsys):
    assert cli.main(["compile", str(AD01), "-o", str(tmp_path / "gen"), "--debug"]) == 0
    err = capsys.readouterr().err
    for p in passes.PIPELINE:
        assert p.name in err
    assert "fold-constants           10 -> 10 ops" in err
    assert cli.main(["inspect", str(AD01), "--passes", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [p["pass"] for p in doc["passes"]] == [p.name for p in passes.PIPELINE]
    plan_json = json.loads((tmp_path / "gen" / "plan.json").read_text())
    assert [p["pass"] for p in plan_json["passes"]] == [p.name for p in passes.PIPELINE]


def test_an_unexpected_error_is_one_line_not_a_traceback(tmp_path, monkeypatch, capsys):
    def boom(*a, **k):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(compiler, "prepare", boom)
    assert cli.main(["compile", str(AD01), "-o", str(tmp_path / "gen")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error" in err and "ZeroDivisionError" in err
    assert str(AD01) in err and "Traceback" not in err
    with pytest.raises(ZeroDivisionError):
        cli.main(["compile", str(AD01), "-o", str(tmp_path / "gen"), "--debug"])


def test_options_are_one_frozen_value():
    o = CompileOptions(dt=1e-3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.dt = 2e-3  # type: ignore[misc]
    with pytest.raises(Exception, match="--synapse-kernels 'fast'"):
        CompileOptions(synapse_kernels="fast")
