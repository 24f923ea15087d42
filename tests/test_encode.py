"""EEG -> spikes (edgeneuro/data/encode.py, the ENCODE op): the integer rules' properties, the
generated C equal to numpy bit for bit over whole synthetic recordings on the host, an encoder +
LIF network on QEMU equal to the reference, and the errors of an encoder that does not fit."""

from __future__ import annotations

from pathlib import Path

import nir
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgeneuro import boards, cli, reference
from edgeneuro.compiler import compile_model, load
from edgeneuro.data import encode
from edgeneuro.data.synthetic import CHANNELS, recording
from edgeneuro.data.windows import cut
from edgeneuro.errors import InputError
from edgeneuro.options import CompileOptions
from edgeneuro.runner import run_on_host

FS = 256.0
DT = 1 / FS  # one time step per EEG sample
SCALE_UV = 0.1  # the int16 samples: 0.1 uV per count


def write(tmp: Path, graph: nir.NIRGraph, name: str = "net.nir") -> Path:
    path = tmp / name
    nir.write(path, graph)
    return path


def passthrough(size: int) -> nir.NIRGraph:
    """Input -> Output: the network's input (the encoder's spikes) is its output."""
    return nir.NIRGraph(nodes={"in": nir.Input(np.array([size])), "out": nir.Output(np.array([size]))},
                        edges=[("in", "out")], type_check=False)  # fmt: skip


def lif_net(rng: np.random.Generator, features: int, hidden: int = 16, outputs: int = 2) -> nir.NIRGraph:
    """Input -> Affine -> LIF -> Affine -> LI readout, the hidden spikes a second output."""
    tau_h, tau_o = rng.uniform(4, 20, hidden) * DT, rng.uniform(10, 40, outputs) * DT
    nodes = {
        "in": nir.Input(np.array([features])),
        "fc1": nir.Affine(rng.normal(0, 0.8, (hidden, features)), rng.normal(0, 0.05, hidden)),
        "lif": nir.LIF(
            tau=tau_h, r=tau_h / DT, v_leak=np.zeros(hidden), v_threshold=np.ones(hidden), v_reset=np.zeros(hidden)
        ),  # fmt: skip
        "fc2": nir.Affine(rng.normal(0, 0.5, (outputs, hidden)), np.zeros(outputs)),
        "li": nir.LI(tau=tau_o, r=tau_o / DT, v_leak=np.zeros(outputs)),
        "out": nir.Output(np.array([outputs])),
        "spikes": nir.Output(np.array([hidden])),
    }
    edges = [("in", "fc1"), ("fc1", "lif"), ("lif", "fc2"), ("fc2", "li"), ("li", "out"), ("lif", "spikes")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def eeg(seed: int, seconds: float, channels: int = 4) -> np.ndarray:
    """A synthetic EEG recording with one seizure, int16 [T, channels] at 0.1 uV per count."""
    rec, _ = recording(np.random.default_rng(seed), seconds, FS, CHANNELS[:channels], seizures=1)
    return encode.quantize(rec.signals.T, SCALE_UV)


def aligned(n: int) -> int:
    """The plan's 8-byte alignment of each state buffer."""
    return -(-n // 8) * 8


# ---------------------------------------------------------------------------------------------
# The integer rules.


def test_quantize_rounds_half_away_and_saturates():
    x = np.array([0.5, -0.5, 1.49, -1.5, 2.5, 1e9, -1e9, 3276.7, -3276.8])
    np.testing.assert_array_equal(encode.quantize(x, 1.0)[:7], [1, -1, 1, -2, 3, 32767, -32768])
    np.testing.assert_array_equal(encode.quantize(x[7:], 0.1), [32767, -32768])
    assert encode.quantize(x, 1.0).dtype == np.int16
    with pytest.raises(InputError, match="NaN"):
        encode.quantize(np.array([np.nan]), 1.0)


@st.composite
def slow_signal(draw):
    """int16 signals [T, C] whose change per step is at most the threshold."""
    threshold = draw(st.integers(1, 3000))
    channels, steps = draw(st.integers(1, 4)), draw(st.integers(1, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    start = rng.integers(-32768, 32768, channels)
    walk = start + np.cumsum(rng.integers(-threshold, threshold + 1, (steps, channels)), axis=0)
    walk[0] = start
    q = np.clip(walk, -32768, 32767)  # clipping never makes a step larger
    return q.astype(np.int16), threshold


@given(slow_signal())
@settings(max_examples=200)
def test_delta_reconstruction_within_one_threshold(case):
    """While the signal changes by at most THRESHOLD per step, the reference rebuilt from the spikes
    stays within one THRESHOLD of the quantized signal; no spike at the first step; UP and DOWN
    never together."""
    q, t = case
    z = encode.delta(q, t)
    c = q.shape[1]
    assert z.shape == (len(q), 2 * c) and z.dtype == np.int8 and set(np.unique(z)) <= {0, 1}
    assert not z[0].any()  # the reference starts at the first sample
    assert not (z[:, :c] & z[:, c:]).any()
    r = encode.reconstruct(z, t, q[0])
    assert np.abs(q.astype(np.int64) - r).max() <= t


@given(st.integers(0, 2**32 - 1), st.sampled_from([1, 7, 100, 4000, 65535]), st.integers(1, 200))
@settings(max_examples=200)
def test_delta_slope_overload(seed, t, steps):
    """Any int16 signal, jumps from -32768 to 32767 included: the error e = q - r follows
    |e[t]| <= max(T, |e[t-1]| + |q[t] - q[t-1]| - T) (it shrinks by T per step until caught up)."""
    rng = np.random.default_rng(seed)
    q = rng.choice([-32768, 32767, 0, 1, -1, 5000], (steps, 3)).astype(np.int16)
    q = np.where(rng.random(q.shape) < 0.5, rng.integers(-32768, 32768, q.shape, dtype=np.int16), q)
    z = encode.delta(q, t)
    assert not (z[:, :3] & z[:, 3:]).any()
    e = np.abs(q.astype(np.int64) - encode.reconstruct(z, t, q[0]))
    dq = np.abs(np.diff(q.astype(np.int64), axis=0))
    assert (e[0] == 0).all()
    assert (e[1:] <= np.maximum(t, e[:-1] + dq - t)).all()


@given(st.integers(0, 2**32 - 1), st.integers(1, 32768), st.integers(1, 300))
@settings(max_examples=200)
def test_rate_count_is_the_scaled_sum(seed, full, steps):
    """The spike count over T steps is floor(sum min(|q|, FULL) / FULL): within 1 of the scaled
    sum, never above it; a channel at |q| >= FULL fires every step."""
    rng = np.random.default_rng(seed)
    q = rng.integers(-32768, 32768, (steps, 4), dtype=np.int16)
    q[:, 0] = rng.integers(-min(full, 32767), min(full, 32767) + 1, steps)  # below FULL: a true rate
    q[:, 3] = -32768  # |q| >= FULL always
    z = encode.rate(q, full)
    assert z.shape == q.shape and set(np.unique(z)) <= {0, 1}
    scaled = np.minimum(np.abs(q.astype(np.int64)), full).sum(axis=0) / full
    count = z.sum(axis=0)
    assert (count <= scaled).all() and (count > scaled - 1).all()
    np.testing.assert_array_equal(count, np.floor(scaled))
    assert z[:, 3].all()


def test_rules_reject_bad_inputs():
    with pytest.raises(InputError, match="int16"):
        encode.delta(np.zeros((3, 2), np.float32), 10)
    with pytest.raises(InputError, match=r"\[1, 65535\]"):
        encode.delta(np.zeros((3, 2), np.int16), 0)
    with pytest.raises(InputError, match=r"\[1, 32768\]"):
        encode.rate(np.zeros((3, 2), np.int16), 40000)


def test_parse():
    assert encode.parse("delta:40") == encode.Encoder("delta", 40)
    assert encode.parse("rate:2000,channels=4,scale=0.1") == encode.Encoder("rate", 2000, 4, 0.1)
    assert encode.parse("delta:40,channels=3").spec() == "delta:40,channels=3"
    for bad in ("delta", "delta:", "delta:1.5", "delta:0", "rate:40000", "sigma:3", "delta:4,foo=1",
                "delta:4,channels=0", "delta:4,scale=-1", "delta:4,channels"):  # fmt: skip
        with pytest.raises(InputError, match="--encode"):
            encode.parse(bad)


# ---------------------------------------------------------------------------------------------
# The C kernel on the host: the numpy rules bit for bit.


@pytest.mark.parametrize("rule, value", [("delta", 200), ("rate", 1500)])
def test_host_c_equals_numpy_over_recordings(tmp_path, rule, value):
    """Two whole synthetic recordings (4 channels, 4 min at 256 Hz, a seizure each: 61,440 steps),
    each one sample from the reset state: the firmware's spikes equal the numpy encoder's."""
    q = np.stack([eeg(seed, 240.0) for seed in (1, 2)])
    enc = encode.parse(f"{rule}:{value}")
    path = write(tmp_path, passthrough(enc.per_channel * 4))
    p = load(path, CompileOptions(dt=DT, encode=enc.spec()))
    host = run_on_host(compile_model(p, boards.load("mps2-an386"), tmp_path / "gen"), q)["out"]
    want = np.stack([enc(s) for s in q])
    assert want.sum() > 1000 and (want.sum(axis=1) > 0).all()  # every spike channel fires
    np.testing.assert_array_equal(host, want.astype(np.float32))
    graph, kernels = p.graph, p.kernels  # the reference (same step functions) over the first 20 s
    np.testing.assert_array_equal(reference.run_steps(graph, kernels, q[0, :5120])[0], want[0, :5120])


@pytest.mark.parametrize("rule, value", [("delta", 1), ("delta", 65535), ("delta", 9000), ("rate", 1),
                                         ("rate", 32768), ("rate", 777)])  # fmt: skip
def test_host_c_equals_numpy_at_the_limits(tmp_path, rule, value):
    """Extreme samples (full-scale jumps, -32768) and the thresholds' limits."""
    rng = np.random.default_rng(value)
    q = rng.choice([-32768, 32767, 0, -1, 1, 12345], (3, 120, 5)).astype(np.int16)
    q[1] = rng.integers(-32768, 32768, (120, 5), dtype=np.int16)
    q[2] = np.cumsum(rng.integers(-3000, 3001, (120, 5)), axis=0).clip(-32768, 32767)
    enc = encode.Encoder(rule, value)
    path = write(tmp_path, passthrough(enc.per_channel * 5))
    p = load(path, CompileOptions(dt=DT, encode=enc.spec()))
    host = run_on_host(compile_model(p, boards.load("mps2-an386"), tmp_path / "gen"), q)["out"]
    np.testing.assert_array_equal(host, np.stack([enc(s) for s in q]).astype(np.float32))


def eeg_windows(seconds: float = 1.0, n: int = 3) -> np.ndarray:
    """n one-second windows of a synthetic recording (one in the seizure), int16 [n, 256, 4]."""
    rec, sz = recording(np.random.default_rng(5), 300.0, FS, CHANNELS[:4], seizures=1)
    w = cut(rec, sz, seconds, seconds)
    ictal = int(np.argmax(w.y))
    x = w.x[[0, ictal, ictal + 3][:n]]
    return encode.quantize(x, SCALE_UV)


@pytest.mark.parametrize("rule, value", [("delta", 40), ("rate", 1500)])
def test_encoder_lif_host_equals_reference(tmp_path, rule, value):
    """Encoder + LIF network: the host C equals the reference, and both equal the network without
    the encoder given the numpy encoder's spikes as float 0 / 1 (one rule on host and chip)."""
    enc = encode.Encoder(rule, value)
    path = write(tmp_path, lif_net(np.random.default_rng(0), enc.per_channel * 4))
    q = eeg_windows()
    p = load(path, CompileOptions(dt=DT, encode=enc.spec()))
    host = run_on_host(compile_model(p, boards.load("mps2-an386"), tmp_path / "gen"), q)
    graph, kernels = p.graph, p.kernels
    plain_p = load(path, CompileOptions(dt=DT))
    plain, plain_kernels = plain_p.graph, plain_p.kernels
    for s, sample in enumerate(q):
        ref = reference.run_steps(graph, kernels, sample)
        spikes = enc(sample).astype(np.float32)
        without = reference.run_steps(plain, plain_kernels, spikes)
        for i, name in enumerate(graph.outputs):
            np.testing.assert_array_equal(host[name][s], ref[i], err_msg=name)
            np.testing.assert_array_equal(ref[i], without[i], err_msg=name)
    assert host["spikes"].any() and not host["spikes"].all()


@pytest.mark.sim
@pytest.mark.parametrize("rule, value", [("delta", 40), ("rate", 1500)])
def test_encoder_lif_on_qemu(tmp_path, capsys, rule, value):
    """`edgeneuro run model.nir --dt --encode` on QEMU mps2-an386 with int16 EEG windows: the
    outputs equal the reference, the same window twice gives the same outputs (the encoder's state
    is reset too), the state bytes count the encoder's."""
    import json

    enc = encode.Encoder(rule, value)
    path = write(tmp_path, lif_net(np.random.default_rng(1), enc.per_channel * 4))
    q = eeg_windows()
    q = np.concatenate([q, q[:1]])
    np.save(tmp_path / "x.npy", q)
    rc = cli.main(["run", str(path), "--dt", str(DT), "--encode", f"{rule}:{value},scale={SCALE_UV}", "--input",
                   str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npz"), "--report",
                   str(tmp_path / "r.json")])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    y = np.load(tmp_path / "y.npz")
    p = load(path, CompileOptions(dt=DT, encode=enc.spec()))
    graph, kernels = p.graph, p.kernels
    for i, name in enumerate(graph.outputs):
        want = np.stack([reference.run_steps(graph, kernels, s)[i] for s in q])
        np.testing.assert_array_equal(y[name], want, err_msg=name)
        np.testing.assert_array_equal(y[name][0], y[name][3], err_msg=name)
    assert y["spikes"].any()
    r = json.loads((tmp_path / "r.json").read_text())
    assert (r["samples"], r["time_steps"]) == (4, 256)
    assert r["state_bytes"] == aligned(4 * encode.state_words(rule, 4)) + 4 * (16 + 2)


# ---------------------------------------------------------------------------------------------
# --calibrate with --encode: raw int16 samples, encoded to measure the synapses' input spike rates.


def spike_rate(enc: encode.Encoder, q: np.ndarray) -> float:
    """The fraction of non-zero spikes the host encoder gives for the samples ``q`` [N, T, C]."""
    z = np.stack([enc(s) for s in q])
    return np.count_nonzero(z) / z.size


def choices(g) -> dict[str, dict]:
    return {
        op.attrs["node"]: {**op.attrs["kernel_choice"], "op": op.kind} for op in g.ops if "kernel_choice" in op.attrs
    }


def test_calibrate_raw_samples_picks_event_kernels(tmp_path, capsys):
    """`compile --encode --calibrate Q.npy` (raw int16 samples, as `run --input` takes them): the
    fixed-point reference runs them through ENCODE and the network, and auto makes each synapse
    event-driven below the break-even rate; the rate recorded in plan.json is the host encoder's
    spike count over the calibration samples (and for the hidden synapse the reference's hidden
    spikes). The compiled host C equals the reference on other samples."""
    import json

    from edgeneuro.ops.synapse import BREAK_EVEN

    enc = encode.Encoder("delta", 40)
    path = write(tmp_path, lif_net(np.random.default_rng(0), enc.per_channel * 4))
    cal = eeg_windows()  # int16 [3, 256, 4]
    np.save(tmp_path / "cal.npy", cal)
    rate = spike_rate(enc, cal)
    assert 0.05 < rate < BREAK_EVEN["NIR_AFFINE"]
    rc = cli.main(["compile", str(path), "--dt", str(DT), "--encode", f"delta:40,scale={SCALE_UV}", "--calibrate",
                   str(tmp_path / "cal.npy"), "-o", str(tmp_path / "gen")])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    layers = json.loads((tmp_path / "gen" / "plan.json").read_text())["layers"]
    assert layers[0]["op"] == "ENCODE"
    fc1, fc2 = [la for la in layers if la["op"].startswith("NIR_AFFINE")]
    assert (fc1["op"], fc1["kernel"]) == ("NIR_AFFINE_EVENT", "en_snn_affine_event_s8")
    assert fc1["kernel_choice"]["kernel"] == "event" and "< break-even 82 %" in fc1["kernel_choice"]["why"]
    assert fc1["kernel_choice"]["input_spike_rate"] == pytest.approx(rate, abs=1e-5)

    p = load(path, CompileOptions(dt=DT, calibration=cal, encode=enc.spec()))
    g = graph = p.graph
    kernels = p.kernels
    k = graph.outputs.index("spikes")
    hidden = np.stack([reference.run_steps(graph, kernels, s)[k] for s in cal])
    assert 0 < hidden.mean() < BREAK_EVEN["NIR_AFFINE"]
    assert fc2["kernel_choice"]["input_spike_rate"] == pytest.approx(np.count_nonzero(hidden) / hidden.size, abs=1e-5)
    assert fc2["kernel"] == "en_snn_affine_event_s8"
    ch = choices(g)
    assert {n: c["op"] for n, c in ch.items()} == {"fc1": "NIR_AFFINE_EVENT", "fc2": "NIR_AFFINE_EVENT"}
    as_float = CompileOptions(dt=DT, calibration=cal.astype(np.float64), encode=enc.spec())
    assert choices(load(path, as_float).graph) == ch  # integers

    q = eeg(9, 240.0)[:768].reshape(3, 256, 4)  # not the calibration samples
    c = compile_model(p, boards.load("mps2-an386"), tmp_path / "host")
    assert [kk.fn for kk in c.kernels].count("en_snn_affine_event_s8") == 2
    host = run_on_host(c, q)
    for s, sample in enumerate(q):
        for i, name in enumerate(graph.outputs):
            np.testing.assert_array_equal(host[name][s], reference.run_steps(graph, kernels, sample)[i], err_msg=name)
    assert host["spikes"].any() and not host["spikes"].all()

    # rate:1 fires at every non-zero sample: above the break-even, the first synapse stays dense
    busy = encode.Encoder("rate", 1)
    rate = spike_rate(busy, cal)
    assert rate >= BREAK_EVEN["NIR_AFFINE"]
    net = write(tmp_path, lif_net(np.random.default_rng(0), 4), "rate.nir")
    ch = choices(load(net, CompileOptions(dt=DT, calibration=cal, encode=busy.spec())).graph)
    assert ch["fc1"]["op"] == "NIR_AFFINE" and ch["fc1"]["kernel"] == "dense" and ">= break-even" in ch["fc1"]["why"]
    assert ch["fc1"]["input_spike_rate"] == pytest.approx(rate, abs=1e-5)


@pytest.mark.sim
def test_stream_build_keeps_raw_calibration(tmp_path, capsys):
    """`stream --encode --calibrate --build DIR`: stream.json records the encoder and the raw
    samples (int16, stream_calibration.npy); DIR streams again with the same kernels, on QEMU equal to
    the reference; other calibration samples are refused."""
    import json

    from edgeneuro.options import from_cli
    from edgeneuro.stream import target

    board = boards.load("mps2-an386")
    spec = f"delta:40,scale={SCALE_UV}"
    path = write(tmp_path, lif_net(np.random.default_rng(2), 8))
    cal = eeg_windows()
    np.save(tmp_path / "cal.npy", cal.astype(np.int32))  # integers in the int16 range, of another dtype
    q = eeg(11, 240.0)[:64].reshape(2, 32, 4)
    np.save(tmp_path / "q.npy", q)
    rc = cli.main(["stream", str(path), "--dt", str(DT), "--encode", spec, "--calibrate", str(tmp_path / "cal.npy"),
                   "--input", str(tmp_path / "q.npy"), "--build", str(tmp_path / "build"), "--json"])  # fmt: skip
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert json.loads(out)["outputs_equal_reference"] == 2
    doc = json.loads((tmp_path / "build" / "stream.json").read_text())
    assert doc["nir"] == {"dt": DT, "encode": spec, "synapse_kernels": "auto", "synapse_weights": "auto",
                          "calibration": target.CALIBRATION}  # fmt: skip
    kept = np.load(tmp_path / "build" / target.CALIBRATION)
    assert kept.dtype == np.int16 and np.array_equal(kept, cal)

    built = target.load(tmp_path / "build", board)
    opts = from_cli(built.model, built, calibrate=tmp_path / "cal.npy", encode=spec)  # the same: taken
    g = load(built.model, opts).graph
    assert {c["op"] for c in choices(g).values()} == {"NIR_AFFINE_EVENT"}
    rc = cli.main(["stream", str(tmp_path / "build"), "--input", str(tmp_path / "q.npy"), "--json"])
    out, err = capsys.readouterr()
    assert rc == 0 and json.loads(out)["outputs_equal_reference"] == 2, err
    np.save(tmp_path / "other.npy", cal[:1])
    with pytest.raises(InputError, match="was built with --calibrate samples"):
        from_cli(built.model, built, calibrate=tmp_path / "other.npy")


# ---------------------------------------------------------------------------------------------
# Errors: one line naming the file and the sizes, a non-zero exit code.


def compile_error(tmp_path, capsys, graph: nir.NIRGraph, *extra: str) -> str:
    path = write(tmp_path, graph)
    rc = cli.main(["compile", str(path), "-o", str(tmp_path / "gen"), "--dt", str(DT), *extra])
    err = capsys.readouterr().err
    assert rc != 0 and str(path) in err, err
    assert not (tmp_path / "gen").exists()
    return err


def test_error_input_size_does_not_fit_channels(tmp_path, capsys):
    err = compile_error(tmp_path, capsys, lif_net(np.random.default_rng(0), 6), "--encode", "delta:40,channels=4")
    assert "2 x 4 = 8 spike channels" in err and "NIR Input node 'in' takes 6 values" in err


def test_error_odd_input_size_for_delta(tmp_path, capsys):
    err = compile_error(tmp_path, capsys, lif_net(np.random.default_rng(0), 5), "--encode", "delta:40")
    assert "NIR Input node 'in' takes 5 values" in err and "2 x channels" in err


def test_error_rate_channels(tmp_path, capsys):
    err = compile_error(tmp_path, capsys, lif_net(np.random.default_rng(0), 8), "--encode", "rate:100,channels=4")
    assert "1 x 4 = 4 spike channels" in err and "takes 8 values" in err


@pytest.mark.parametrize(
    "samples, spec, names_model, says",
    [
        (np.full((2, 8, 4), 0.5), "delta:40", False, ["hold 0.5, not an integer", "quantize"]),
        (np.full((2, 8, 4), 40000.0), "delta:40", False, ["hold 40000.0, outside the int16 range"]),
        (np.full((2, 8, 4), -70000, np.int32), "rate:100", False, ["hold -70000, outside the int16 range"]),
        (np.full((2, 8, 4), np.nan, np.float32), "delta:40", False, ["hold nan, not an integer"]),
        (np.zeros((8, 4), np.int16), "delta:40,channels=4", False, ["shape [8, 4]", "[samples, T, 4]"]),
        (np.zeros((2, 8, 3), np.int16), "delta:40", True, ["shape [2, 8, 3]", "[samples, T, 4]", "4 channels"]),
        (np.zeros((2, 8, 8), np.int16), "rate:100", True, ["shape [2, 8, 8]", "[samples, T, 4]"]),
        (np.array([[["a"]]]), "delta:40", False, ["dtype <U1"]),
    ],
)
def test_error_bad_raw_calibration(tmp_path, capsys, samples, spec, names_model, says):
    """--calibrate with --encode takes raw int16 samples [samples, T, channels]: anything else stops
    the command with one line that names the file (the model's when only its input size shows the
    problem) and what to give."""
    path = write(tmp_path, lif_net(np.random.default_rng(0), 8 if spec.startswith("delta") else 4))
    cal = tmp_path / "cal.npy"
    np.save(cal, samples)
    for cmd in (["compile", str(path), "-o", str(tmp_path / "gen")], ["inspect", str(path)]):
        rc = cli.main([*cmd, "--dt", str(DT), "--encode", spec, "--calibrate", str(cal)])
        err = capsys.readouterr().err
        assert rc != 0 and len(err.strip().splitlines()) == 1, err
        assert str(path if names_model else cal) in err, err
        assert "with --encode, --calibrate takes raw int16 samples" in err and "edgeneuro run --input" in err, err
        for text in says:
            assert text in err, err
    assert not (tmp_path / "gen").exists()


def test_error_bad_spec_and_float_samples(tmp_path, capsys):
    path = write(tmp_path, lif_net(np.random.default_rng(0), 8))
    rc = cli.main(["compile", str(path), "-o", str(tmp_path / "gen"), "--dt", str(DT), "--encode", "delta:-3"])
    assert rc != 0 and "THRESHOLD must lie in [1, 65535]" in capsys.readouterr().err
    np.save(tmp_path / "x.npy", np.zeros((1, 4, 4), np.float32))
    rc = cli.main(["run", str(path), "--dt", str(DT), "--encode", "delta:4,scale=0.1", "--input",
                   str(tmp_path / "x.npy")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc != 0 and "is int16" in err and "round(x / 0.1)" in err


def test_compiled_layer_and_state(tmp_path):
    """The ENCODE layer replaces the input's QUANTIZE; its state is planned outside the arena."""
    path = write(tmp_path, lif_net(np.random.default_rng(0), 8))
    p = load(path, CompileOptions(dt=DT, encode=encode.parse("delta:40,scale=0.1").spec()))
    graph, kernels = p.graph, p.kernels
    assert [k.op.kind for k in kernels][0] == "ENCODE" and "QUANTIZE" not in [k.op.kind for k in kernels]
    t = graph.t(graph.inputs[0])
    assert (t.shape, t.dtype, t.scale) == ((1, 4), "int16", 0.1)
    assert kernels[0].params == {"channels": 4, "threshold": 40, "spike": 127}
    plan = p.plan
    assert plan.state_bytes == aligned(4 * 5) + 4 * (16 + 2)
