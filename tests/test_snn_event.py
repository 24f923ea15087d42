"""Event-driven synapse kernels (edgeneuro/ops/synapse_event.py, firmware/kernels/synapse_event.c):
their C equals the dense reference bit for bit over whole spike trains, on the host (any size and
spike rate, 0 % and 100 % included) and on QEMU; the compiler picks them by the spike rate measured
on calibration samples, or by --synapse-kernels; and at a low rate they take fewer instructions per
time step than the dense kernels (counted by QEMU)."""

from __future__ import annotations

import json
from pathlib import Path

import nir
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeneuro import boards, cli, ops, reference
from edgeneuro.compiler import compile_model, load
from edgeneuro.ops.synapse_event import from_event_layout, to_event_layout
from edgeneuro.options import CompileOptions
from edgeneuro.runner import run_on_host

DT = 1e-3
SYNAPSES = ("NIR_AFFINE", "NIR_CONV1D", "NIR_CONV2D")


def write(tmp: Path, graph: nir.NIRGraph) -> Path:
    path = tmp / "net.nir"
    nir.write(path, graph)
    return path


def lif(n: int, rng: np.random.Generator, thr: float = 1.0) -> nir.LIF:
    tau = rng.uniform(5, 30, n) * DT
    return nir.LIF(tau=tau, r=tau / DT, v_leak=np.zeros(n), v_threshold=np.full(n, thr), v_reset=np.zeros(n))


def affine_net(rng, n_in: int, hidden: int, n_out: int, recurrent: bool = False) -> nir.NIRGraph:
    """Input -> Affine -> LIF (-> Linear back into it) -> Linear -> LIF; both spike trains are outputs."""
    nodes = {
        "in": nir.Input(np.array([n_in])),
        "fc1": nir.Affine(rng.normal(0, 1.5 / np.sqrt(n_in), (hidden, n_in)), rng.normal(0, 0.05, hidden)),
        "hidden": lif(hidden, rng),
        "fc2": nir.Linear(rng.normal(0, 2 / np.sqrt(hidden), (n_out, hidden))),
        "readout": lif(n_out, rng, 0.5),
        "out": nir.Output(np.array([n_out])),
        "spikes": nir.Output(np.array([hidden])),
    }
    edges = [("in", "fc1"), ("fc1", "hidden"), ("hidden", "fc2"), ("fc2", "readout"), ("readout", "out"),
             ("hidden", "spikes")]  # fmt: skip
    if recurrent:
        nodes["rec"] = nir.Linear(rng.normal(0, 0.5 / np.sqrt(hidden), (hidden, hidden)))
        edges += [("hidden", "rec"), ("rec", "hidden")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def conv_net(rng, c_in: int, n: int, c_out: int, k: int, stride: int, pad: int, dilation: int, groups: int):
    """Input [C, N] -> Conv1d -> LIF -> Conv1d (on spikes) -> LIF -> Flatten -> Affine -> LI."""
    w1 = rng.normal(0, 1.5 / np.sqrt(c_in // groups * k), (c_out, c_in // groups, k))
    n1 = (n + 2 * pad - dilation * (k - 1) - 1) // stride + 1
    w2 = rng.normal(0, 1.5 / np.sqrt(c_out * 3), (4, c_out, 3))
    nodes = {
        "in": nir.Input(np.array([c_in, n])),
        "conv1": nir.Conv1d(n, w1, stride, pad, dilation, groups, rng.normal(0, 0.05, c_out)),
        "lif1": lif(c_out * n1, rng),
        "conv2": nir.Conv1d(n1, w2, 1, 1, 1, 1, np.zeros(4)),
        "lif2": lif(4 * n1, rng),
        "flat": nir.Flatten(start_dim=0, input_type=np.array([4, n1])),
        "fc": nir.Affine(rng.normal(0, 1 / np.sqrt(4 * n1), (3, 4 * n1)), np.zeros(3)),
        "li": nir.LI(tau=np.full(3, 10 * DT), r=np.full(3, 10.0), v_leak=np.zeros(3)),
        "out": nir.Output(np.array([3])),
        "spikes": nir.Output(np.array([c_out, n1])),
    }
    edges = [("in", "conv1"), ("conv1", "lif1"), ("lif1", "conv2"), ("conv2", "lif2"), ("lif2", "flat"),
             ("flat", "fc"), ("fc", "li"), ("li", "out"), ("lif1", "spikes")]  # fmt: skip
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def spikes(rng, shape, rate: float) -> np.ndarray:
    return (rng.random(shape) < rate).astype(np.float32)


@st.composite
def event_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rate = draw(st.sampled_from([0.0, 0.01, 0.05, 0.2, 0.5, 1.0]))
    steps = draw(st.integers(1, 25))
    if draw(st.booleans()):
        n_in = draw(st.integers(1, 70))
        graph = affine_net(rng, n_in, draw(st.integers(1, 40)), draw(st.integers(1, 6)), draw(st.booleans()))
        shape = (n_in,)
    else:
        groups = draw(st.sampled_from([1, 2]))
        c_in, c_out = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 4))
        k, stride, dilation = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
        pad = draw(st.integers(0, dilation * (k - 1)))
        n = draw(st.integers(dilation * (k - 1) + 1, 20))
        graph = conv_net(rng, c_in, n, c_out, k, stride, pad, dilation, groups)
        shape = (c_in, n)
    return graph, spikes(rng, (2, steps, *shape), rate)


def event_and_dense_equal_reference(path: Path, x: np.ndarray, weights: str, out: Path) -> dict:
    """Compiles the NIR file ``path`` twice, every synapse event-driven (forced) and every synapse
    dense, with ``weights`` (``--synapse-weights``), and checks that the event-driven graph's
    reference equals the dense one's and that the host C of each equals it bit for bit over the
    samples ``x``, at every output and step. Returns {"event": ..., "dense": ...} of (graph, compiled)."""
    built = {}
    for kernels in ("event", "dense"):
        p = load(path, CompileOptions(dt=DT, calibration=x, synapse_kernels=kernels, synapse_weights=weights))
        c = compile_model(p, boards.load("mps2-an386"), out / kernels)
        built[kernels] = (p.graph, c, (p.graph, p.kernels), run_on_host(c, x))
    (_, _, (ev_graph, ev_kernels), ev_host), (_, _, (dense_graph, dense_kernels), dense_host) = built.values()
    for i, name in enumerate(ev_graph.outputs):
        want = np.stack([reference.run_steps(ev_graph, ev_kernels, s)[i] for s in x])
        dense = np.stack([reference.run_steps(dense_graph, dense_kernels, s)[i] for s in x])
        np.testing.assert_array_equal(want, dense, err_msg=name)
        np.testing.assert_array_equal(ev_host[name], want, err_msg=name)
        np.testing.assert_array_equal(dense_host[name], want, err_msg=name)
    return {k: (g, c) for k, (g, c, _, _) in built.items()}


@given(event_case(), st.sampled_from(["int8", "int16"]))
@settings(max_examples=30)
def test_host_c_event_and_dense_equal_reference(tmp_path_factory, case, weights):
    """Every synapse event-driven (forced), then every synapse dense, with int8 or int16 weights:
    the host C of each equals the reference bit for bit over whole spike trains, for every output
    and step, and the event-driven graph's reference equals the dense one's."""
    graph, x = case
    d = tmp_path_factory.mktemp("ev")
    built = event_and_dense_equal_reference(write(d, graph), x, weights, d)
    assert {op.kind for op in built["event"][0].ops} & set(SYNAPSES) == set()  # every synapse takes spikes
    for kernels, (_, c) in built.items():
        fns = {k.fn for k in c.kernels if k.op.kind.removesuffix("_EVENT") in ("NIR_AFFINE", "NIR_CONV1D")}
        assert fns and all(("_event_" in fn) == (kernels == "event") for fn in fns), fns
        assert all(fn.endswith("_w16") == (weights == "int16") for fn in fns), fns


@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_event_weight_layout_round_trip(groups, c_out_g, k, seed):
    from edgeneuro.ir import Op
    from edgeneuro.ops import synapse_event
    from edgeneuro.ops.base import Kernel

    rng = np.random.default_rng(seed)
    c_in_g = int(rng.integers(1, 4))
    w = rng.integers(-127, 128, (groups * c_out_g, c_in_g, k)).astype(np.int8)
    params = dict(c_in=groups * c_in_g, n_in=5, c_out=groups * c_out_g, n_out=5, kernel=k, stride=1, pad=0,
                  dilation=1, groups=groups)  # fmt: skip
    op = Op("NIR_CONV1D_EVENT", (), (), {}, 0)
    dense = Kernel(op=op, fn="en_snn_conv1d_s8", params=params)
    wt = to_event_layout(dense, w)
    assert wt.shape == (groups * c_in_g, k, c_out_g)
    c = int(rng.integers(0, groups * c_in_g))  # input channel c, tap j -> output o of c's group
    g = c // c_in_g
    np.testing.assert_array_equal(wt[c, k - 1], w[g * c_out_g : (g + 1) * c_out_g, c % c_in_g, k - 1])
    event = Kernel(op=op, fn="en_snn_conv1d_event_s8", params=params)
    np.testing.assert_array_equal(from_event_layout(event, wt), w)
    assert synapse_event.dense_fn(event.fn) == dense.fn
    assert synapse_event.dense_fn(event.fn + "_w16") == dense.fn + "_w16"


def choices(g) -> dict[str, dict]:
    return {
        op.attrs["node"]: {**op.attrs["kernel_choice"], "op": op.kind} for op in g.ops if "kernel_choice" in op.attrs
    }


def test_auto_picks_by_calibration_rate(tmp_path):
    """auto: event-driven below the break-even rate measured on the calibration samples, dense
    above it and without calibration samples; the measured rate is the calibration's."""
    rng = np.random.default_rng(1)
    path = write(tmp_path, affine_net(rng, 64, 32, 4))
    sparse = spikes(rng, (4, 30, 64), 0.02)
    busy = spikes(rng, (4, 30, 64), min(1.0, (1 + ops.trait("NIR_AFFINE", "BREAK_EVEN")) / 2 + 0.05))
    ch = choices(load(path, CompileOptions(dt=DT, calibration=sparse)).graph)
    assert ch["fc1"]["op"] == "NIR_AFFINE_EVENT" and ch["fc1"]["kernel"] == "event"
    assert ch["fc1"]["input_spike_rate"] == pytest.approx(sparse.mean(), abs=1e-5)
    ch = choices(load(path, CompileOptions(dt=DT, calibration=busy)).graph)
    assert ch["fc1"]["op"] == "NIR_AFFINE" and ch["fc1"]["kernel"] == "dense"
    assert ch["fc1"]["input_spike_rate"] == pytest.approx(busy.mean(), abs=1e-5) and "break-even" in ch["fc1"]["why"]
    # the hidden layer's rate is counted on the fixed-point reference's spikes
    p = load(path, CompileOptions(dt=DT, calibration=busy, synapse_kernels="dense"))
    graph, kernels = p.graph, p.kernels
    hidden = np.concatenate([reference.run_steps(graph, kernels, s)[1] for s in busy])
    assert ch["fc2"]["input_spike_rate"] == pytest.approx(hidden.mean(), abs=1e-5)
    ch = choices(load(path, CompileOptions(dt=DT)).graph)
    assert {c["kernel"] for c in ch.values()} == {"dense"} and ch["fc2"]["input_spike_rate"] is None
    assert "no calibration samples" in ch["fc2"]["why"]


def test_only_spike_inputs_qualify(tmp_path):
    """--synapse-kernels event makes every synapse on spikes event-driven; the network's input is a
    spike train only when every calibration value is 0 or 1."""
    rng = np.random.default_rng(2)
    path = write(tmp_path, affine_net(rng, 8, 16, 3))
    ch = choices(load(path, CompileOptions(dt=DT, synapse_kernels="event")).graph)
    assert (ch["fc1"]["kernel"], ch["fc2"]["kernel"]) == ("dense", "event")
    assert "not a spike train" in ch["fc1"]["why"]
    analog = rng.uniform(-1, 1, (2, 10, 8)).astype(np.float32)
    ch = choices(load(path, CompileOptions(dt=DT, calibration=analog, synapse_kernels="event")).graph)
    assert (ch["fc1"]["kernel"], ch["fc2"]["kernel"]) == ("dense", "event")
    opts = CompileOptions(dt=DT, calibration=spikes(rng, (2, 10, 8), 0.01), synapse_kernels="dense")
    ch = choices(load(path, opts).graph)
    assert {c["op"] for c in ch.values()} == {"NIR_AFFINE"}


def test_plan_and_inspect_show_the_choice(tmp_path, capsys):
    rng = np.random.default_rng(3)
    path = write(tmp_path, affine_net(rng, 32, 24, 4))
    np.save(tmp_path / "x.npy", spikes(rng, (3, 20, 32), 0.03))
    rc = cli.main(["compile", str(path), "--dt", "1e-3", "--calibrate", str(tmp_path / "x.npy"), "-o",
                   str(tmp_path / "gen")])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    layers = json.loads((tmp_path / "gen" / "plan.json").read_text())["layers"]
    fc1 = next(la for la in layers if la["op"].startswith("NIR_AFFINE"))
    assert fc1["kernel"] == "en_snn_affine_event_s8" and fc1["kernel_choice"]["kernel"] == "event"
    assert 0.0 < fc1["kernel_choice"]["input_spike_rate"] < 0.1
    assert (tmp_path / "gen" / "kernels" / "synapse_event.c").is_file()
    capsys.readouterr()
    rc = cli.main(["inspect", str(path), "--dt", "1e-3", "--synapse-kernels", "dense", "--json"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    kernels = [la["kernel"] for la in doc["layers"] if "kernel_choice" in la]
    assert kernels == ["en_snn_affine_s8", "en_snn_affine_s8"]
    rc = cli.main(["inspect", str(path), "--dt", "1e-3", "--calibrate", str(tmp_path / "x.npy")])
    out = capsys.readouterr().out
    assert rc == 0 and "snn_affine_event_s8" in out and "% spikes" in out


def test_synapse_kernels_flag_is_for_nir(tmp_path, capsys):
    rc = cli.main(["compile", str(tmp_path / "m.onnx"), "-o", str(tmp_path / "gen"), "--synapse-kernels", "event"])
    assert rc != 0 and "--synapse-kernels" in capsys.readouterr().err


@pytest.mark.sim
def test_event_on_qemu(tmp_path):
    """Firmware with event-driven Affine and Conv1d synapses, int8 and int16 weights, on QEMU
    mps2-an386 == the reference, whole spike trains."""
    from edgeneuro.runner import run_on_board

    rng = np.random.default_rng(5)
    for name, graph, shape, weights in (
        ("affine", affine_net(rng, 24, 32, 4, recurrent=True), (24,), "auto"),  # int16: a recurrent population
        ("conv", conv_net(rng, 4, 16, 6, 3, 2, 1, 2, 2), (4, 16), "int8"),
        ("conv16", conv_net(rng, 4, 16, 6, 3, 2, 1, 2, 2), (4, 16), "int16"),
    ):
        d = tmp_path / name
        d.mkdir()
        path = write(d, graph)
        x = spikes(rng, (2, 30, *shape), 0.1)
        np.save(d / "x.npy", x)
        p = load(path, CompileOptions(dt=DT, calibration=x, synapse_kernels="event", synapse_weights=weights))
        res = run_on_board(p, boards.load("mps2-an386"), d / "x.npy", d / "build")
        g, kernels = p.graph, p.kernels
        event = [k.fn for k in kernels if "_event_s8" in (k.fn or "")]
        wide = {fn.endswith("_w16") for fn in event}  # auto: int16 into the recurrent population, int8 after it
        assert len(event) >= 2 and wide == {"auto": {True, False}, "int8": {False}, "int16": {True}}[weights], event
        for i, out in enumerate(g.outputs):
            want = np.stack([reference.run_steps(g, kernels, s)[i] for s in x])
            np.testing.assert_array_equal(res.outputs[out], want, err_msg=f"{name}: {out}")


@pytest.mark.sim
def test_event_fewer_instructions_at_low_rate(tmp_path):
    """At a 2 % input spike rate the event-driven build of Input -> Affine 64->128 -> LIF takes far
    fewer instructions per step than the dense build (QEMU counts; measured 0.31 of the dense)."""
    from edgeneuro.runner import run_on_board

    rng = np.random.default_rng(6)
    graph = affine_net(rng, 64, 128, 4)
    path = write(tmp_path, graph)
    x = spikes(rng, (2, 20, 64), 0.02)
    np.save(tmp_path / "x.npy", x)
    per_step = {}
    for kernels in ("dense", "event"):
        p = load(path, CompileOptions(dt=DT, calibration=x, synapse_kernels=kernels))
        res = run_on_board(p, boards.load("mps2-an386"), tmp_path / "x.npy", tmp_path / kernels)
        per_step[kernels] = res.report["instructions_per_step_mean"]
    assert per_step["event"] / per_step["dense"] < 0.6, per_step
