"""NIR Conv2d, SumPool2d and AvgPool2d: the float simulation equals a direct reading of PyTorch's
definitions (and NIR's own shape inference, for square kernels), the fixed-point reference follows
the float simulation (spike-decision agreement >= 99 % feed-forward), the generated C (dense and
event-driven Conv2d, the three pool kernels) equals the reference bit for bit over whole spike
trains on the host and on QEMU, the pools of spikes are exact, and bad nodes stop the compile with
an error naming the file and the node."""

from __future__ import annotations

from pathlib import Path

import nir
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_nir import compare, compile_error, grid_weights, host_equals_reference, write
from test_snn_event import event_and_dense_equal_reference

from edgeneuro import boards, reference
from edgeneuro.compiler import compile_model, load
from edgeneuro.frontends import nir as fnir
from edgeneuro.ir.quant import mul_round
from edgeneuro.ops.snn_pool import pool_multiplier
from edgeneuro.ops.synapse import BREAK_EVEN
from edgeneuro.options import CompileOptions
from edgeneuro.runner import run_on_host

DT = 1e-3


def lif(n: int, rng: np.random.Generator, thr: float = 1.0) -> nir.LIF:
    tau = rng.uniform(5, 30, n) * DT
    return nir.LIF(tau=tau, r=tau / DT, v_leak=np.zeros(n), v_threshold=np.full(n, thr), v_reset=np.zeros(n))


def li(n: int) -> nir.LI:
    return nir.LI(tau=np.full(n, 10 * DT), r=np.full(n, 10.0), v_leak=np.zeros(n))


def conv_weights(rng, c_out: int, c_in_g: int, kh: int, kw: int, grid: bool, gain: float = 1.5) -> np.ndarray:
    fan = c_in_g * kh * kw
    if grid:
        return grid_weights(rng, c_out, fan, gain * 2 / np.sqrt(fan)).reshape(c_out, c_in_g, kh, kw)
    return rng.normal(0, gain / np.sqrt(fan), (c_out, c_in_g, kh, kw))


def pool_out(hw: tuple[int, int], k, stride, pad) -> tuple[int, int]:
    return tuple((hw[a] + 2 * pad[a] - k[a]) // stride[a] + 1 for a in (0, 1))


def conv_out(hw: tuple[int, int], k, stride, padding, dilation) -> tuple[int, int]:
    """PyTorch's Conv2d output size. (NIR's Conv2d infers its output_type from kH for both axes, so
    it is wrong for kernels that are not square.)"""
    stride, dilation = np.broadcast_to(stride, (2,)), np.broadcast_to(dilation, (2,))
    if isinstance(padding, str):
        return hw if padding == "same" else conv_out(hw, k, stride, 0, dilation)
    pad = np.broadcast_to(padding, (2,))
    return tuple(int((hw[a] + 2 * pad[a] - dilation[a] * (k[a] - 1) - 1) // stride[a] + 1) for a in (0, 1))


def cnn(rng, shape, c_out, k, stride, padding, dilation, groups, pool="SumPool2d", pool_k=(2, 2), pool_stride=None,
        pool_pad=(0, 0), where="spikes", grid=True, readout="LI") -> nir.NIRGraph:  # fmt: skip
    """A spiking CNN. ``where`` places the pool: "spikes" (Input -> Conv2d -> LIF -> pool -> Flatten
    -> Affine -> readout, the usual form), "current" (Conv2d -> pool -> LIF: a pool of int32
    currents) or "input" (Input -> pool -> LIF, and Input -> Conv2d -> LIF as before). The conv
    layer's spikes are a second output ("spikes"), the pooled values a third ("pooled")."""
    c_in, h, w = shape
    pool_stride = pool_stride or pool_k
    wc = conv_weights(rng, c_out, c_in // groups, *k, grid)
    conv = nir.Conv2d((h, w), wc, stride, padding, dilation, groups, rng.normal(0, 0.05, c_out))
    conv_shape = (c_out, *conv_out((h, w), k, stride, padding, dilation))
    nodes = {"in": nir.Input(np.array(shape)), "conv": conv,
             "pool": getattr(nir, pool)(np.array(pool_k), np.array(pool_stride), np.array(pool_pad))}  # fmt: skip
    if where == "input":
        pooled = (c_in, *pool_out((h, w), pool_k, pool_stride, pool_pad))
        spikes, flat_in = conv_shape, conv_shape
        nodes["lif_pool"] = lif(int(np.prod(pooled)), rng, 0.61)  # no ties with averaged spikes
        edges = [("in", "pool"), ("pool", "lif_pool"), ("in", "conv"), ("conv", "lif"), ("lif", "flat")]
        nodes["out_pool"] = nir.Output(np.array(pooled))
        edges += [("lif_pool", "out_pool")]
    else:
        pooled = (c_out, *pool_out(conv_shape[1:], pool_k, pool_stride, pool_pad))
        spikes = conv_shape if where == "spikes" else pooled
        flat_in = pooled if where == "spikes" else spikes
        if where == "spikes":
            edges = [("in", "conv"), ("conv", "lif"), ("lif", "pool"), ("pool", "flat")]
        else:
            edges = [("in", "conv"), ("conv", "pool"), ("pool", "lif"), ("lif", "flat")]
    n_flat = int(np.prod(flat_in))
    n_out = 3
    nodes |= {
        "lif": lif(int(np.prod(spikes)), rng),
        "flat": nir.Flatten(start_dim=0, input_type=np.array(flat_in)),
        "fc": nir.Affine((grid_weights(rng, n_out, n_flat, 3 / np.sqrt(n_flat)) if grid
                          else rng.normal(0, 1.5 / np.sqrt(n_flat), (n_out, n_flat))), np.zeros(n_out)),
        "readout": li(n_out) if readout == "LI" else lif(n_out, rng, 0.5),
        "out": nir.Output(np.array([n_out])),
        "spikes": nir.Output(np.array(spikes)),
        "pooled": nir.Output(np.array(pooled)),
    }  # fmt: skip
    edges += [("flat", "fc"), ("fc", "readout"), ("readout", "out"), ("lif", "spikes"), ("pool", "pooled")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def spike_trains(rng, n: int, steps: int, shape, rate: float = 0.3) -> np.ndarray:
    return (rng.random((n, steps, *shape)) < rate).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# The float simulation: PyTorch's definitions, read directly.


def naive_conv2d(x, w, b, stride, pad, dilation, groups, out_hw):
    """out[o, y, x] = b[o] + sum_{c,i,j} w[o,c,i,j] * x[g*C_in/groups + c, y*s + i*d - p, x*s + j*d - p]."""
    c_out, c_in_g, kh, kw = w.shape
    c_out_g = c_out // groups
    y = np.zeros((c_out, *out_hw))
    for o in range(c_out):
        g = o // c_out_g
        for oy in range(out_hw[0]):
            for ox in range(out_hw[1]):
                acc = b[o]
                for c in range(c_in_g):
                    for i in range(kh):
                        for j in range(kw):
                            iy = oy * stride[0] + i * dilation[0] - pad[0]
                            ix = ox * stride[1] + j * dilation[1] - pad[1]
                            if 0 <= iy < x.shape[1] and 0 <= ix < x.shape[2]:
                                acc += w[o, c, i, j] * x[g * c_in_g + c, iy, ix]
                y[o, oy, ox] = acc
    return y


def naive_pool(x, k, stride, pad, avg):
    c, h, w = x.shape
    out = pool_out((h, w), k, stride, pad)
    y = np.zeros((c, *out))
    for oy in range(out[0]):
        for ox in range(out[1]):
            for i in range(k[0]):
                for j in range(k[1]):
                    iy, ix = oy * stride[0] + i - pad[0], ox * stride[1] + j - pad[1]
                    if 0 <= iy < h and 0 <= ix < w:
                        y[:, oy, ox] += x[:, iy, ix]
    return y / (k[0] * k[1]) if avg else y


@st.composite
def conv_params(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    c_in, c_out = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    mode = draw(st.sampled_from(["int", "pair", "same", "valid"]))
    stride = (1, 1) if mode == "same" else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    h = draw(st.integers(dil[0] * (kh - 1) + 1, 9))
    w = draw(st.integers(dil[1] * (kw - 1) + 1, 9))
    if mode == "int":
        padding = draw(st.integers(0, 2))
    elif mode == "pair":
        padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    else:
        padding = mode
    return (c_in, h, w), c_out, (kh, kw), stride, padding, dil, groups


@given(conv_params(), st.integers(0, 2**32 - 1))
@settings(max_examples=40)
def test_conv2d_float_is_pytorch(tmp_path_factory, params, seed):
    """Any padding (int, pair, 'same', 'valid'), stride, dilation and groups: the shape is PyTorch's
    (and NIR's own inference, for square kernels), the values PyTorch's cross-correlation ('same'
    pads dilation * (k - 1) // 2 first)."""
    shape, c_out, k, stride, padding, dil, groups = params
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 1, (c_out, shape[0] // groups, *k))
    b = rng.normal(0, 1, c_out)
    conv = nir.Conv2d(shape[1:], w, stride, padding, dil, groups, b)
    out_shape = (c_out, *conv_out(shape[1:], k, stride, padding, dil))
    if k[0] == k[1]:
        assert tuple(conv.output_type["output"]) == out_shape
    graph = nir.NIRGraph(nodes={"in": nir.Input(np.array(shape)), "conv": conv, "out": nir.Output(np.array(out_shape))},
                         edges=[("in", "conv"), ("conv", "out")], type_check=False)  # fmt: skip
    net = fnir.read(write(tmp_path_factory.mktemp("c2"), graph))
    assert net.node("conv").shape == out_shape
    x = rng.normal(0, 1, (2, *shape))
    pad = {"same": (dil[0] * (k[0] - 1) // 2, dil[1] * (k[1] - 1) // 2), "valid": (0, 0)}.get(
        padding, np.broadcast_to(padding, (2,))
    )
    got = fnir.simulate(net, x, DT)["out"]
    for t in range(2):
        np.testing.assert_allclose(got[t], naive_conv2d(x[t], w, b, stride, pad, dil, groups, out_shape[1:]),
                                   rtol=1e-12, atol=1e-12)  # fmt: skip


@given(st.integers(1, 3), st.integers(1, 9), st.integers(1, 9), st.integers(1, 3), st.integers(1, 3),
       st.integers(1, 3), st.integers(1, 3), st.booleans(), st.integers(0, 2**32 - 1))  # fmt: skip
@settings(max_examples=40)
def test_pools_float(tmp_path_factory, c, h, w, kh, kw, sh, sw, avg, seed):
    rng = np.random.default_rng(seed)
    kh, kw = min(kh, h), min(kw, w)
    pad = (int(rng.integers(0, kh // 2 + 1)), int(rng.integers(0, kw // 2 + 1)))
    kind = "AvgPool2d" if avg else "SumPool2d"
    out = (c, *pool_out((h, w), (kh, kw), (sh, sw), pad))
    graph = nir.NIRGraph(nodes={"in": nir.Input(np.array([c, h, w])),
                                "pool": getattr(nir, kind)(np.array([kh, kw]), np.array([sh, sw]), np.array(pad)),
                                "out": nir.Output(np.array(out))},
                         edges=[("in", "pool"), ("pool", "out")], type_check=False)  # fmt: skip
    net = fnir.read(write(tmp_path_factory.mktemp("p"), graph))
    assert net.node("pool").shape == out
    x = rng.normal(0, 1, (1, c, h, w))
    np.testing.assert_allclose(fnir.simulate(net, x, DT)["out"][0], naive_pool(x[0], (kh, kw), (sh, sw), pad, avg),
                               rtol=1e-12, atol=1e-12)  # fmt: skip


def test_flatten_is_row_major_channels_first(tmp_path):
    """[C, H, W] flattens channel by channel, row by row (NIR's Flatten, numpy's reshape)."""
    rng = np.random.default_rng(0)
    wfc = rng.normal(0, 1, (4, 2 * 3 * 5))
    graph = nir.NIRGraph(nodes={"in": nir.Input(np.array([2, 3, 5])),
                                "flat": nir.Flatten(start_dim=0, input_type=np.array([2, 3, 5])),
                                "fc": nir.Linear(wfc), "out": nir.Output(np.array([4]))},
                         edges=[("in", "flat"), ("flat", "fc"), ("fc", "out")], type_check=False)  # fmt: skip
    net = fnir.read(write(tmp_path, graph))
    x = rng.normal(0, 1, (1, 2, 3, 5))
    np.testing.assert_allclose(fnir.simulate(net, x, DT)["out"][0], wfc @ x[0].reshape(-1))


# ---------------------------------------------------------------------------------------------
# Fixed point.


@st.composite
def cnn_case(draw, grid: bool = True):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    groups = draw(st.sampled_from([1, 1, 2]))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 3))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    mode = draw(st.sampled_from(["int", "pair", "same", "valid"]))
    stride = (1, 1) if mode == "same" else (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = {"int": 1, "pair": (1, 0), "same": "same", "valid": "valid"}[mode]
    h, w = draw(st.integers(6, 9)), draw(st.integers(6, 9))
    where = draw(st.sampled_from(["spikes", "spikes", "current", "input"]))
    pooled = (h, w) if where == "input" else conv_out((h, w), k, stride, padding, dil)
    pool_k = (min(pooled[0], draw(st.integers(1, 3))), min(pooled[1], draw(st.integers(1, 3))))
    pool_pad = (draw(st.integers(0, pool_k[0] // 2)), draw(st.integers(0, pool_k[1] // 2)))
    graph = cnn(rng, (c_in, h, w), c_out, k, stride, padding, dil, groups,
                pool=draw(st.sampled_from(["SumPool2d", "AvgPool2d"])), pool_k=pool_k,
                pool_stride=(draw(st.integers(1, 2)), draw(st.integers(1, 2))), pool_pad=pool_pad, where=where,
                grid=grid, readout=draw(st.sampled_from(["LI", "LIF"])))  # fmt: skip
    return graph, spike_trains(rng, 2, draw(st.integers(20, 40)), (c_in, h, w))


@given(cnn_case())
@settings(max_examples=60)
def test_fixed_point_follows_float(tmp_path_factory, case):
    """Weights on the int8 grid: the spike decisions of the fixed-point reference agree with the
    float simulation on >= 99 % (every spiking output, every step)."""
    graph, x = case
    agree, _ = compare(write(tmp_path_factory.mktemp("cnn"), graph), DT, x)
    assert agree >= 0.99


def test_float_weights_agreement(tmp_path):
    """The file's float weights, rounded to int8 per channel, on six spiking CNNs (Conv2d 3x3 ->
    LIF -> SumPool2d / AvgPool2d 2x2 -> Flatten -> Affine -> LIF): >= 99 % of the spike decisions."""
    worst = 1.0
    for seed in range(6):
        rng = np.random.default_rng(seed)
        graph = cnn(rng, (2, 8, 8), 4, (3, 3), 1, 1, 1, 1, pool=("SumPool2d", "AvgPool2d")[seed % 2], grid=False,
                    readout="LIF")  # fmt: skip
        agree, _ = compare(write(tmp_path, graph, f"n{seed}.nir"), DT, spike_trains(rng, 3, 60, (2, 8, 8)))
        worst = min(worst, agree)
    assert worst >= 0.99


@pytest.mark.parametrize("kind", ["SumPool2d", "AvgPool2d"])
@pytest.mark.parametrize("k", [(2, 2), (3, 3), (1, 3)])
def test_pools_of_spikes_are_exact(tmp_path, kind, k):
    """A pool of spikes is the exact count (SumPool2d) or count / (kH * kW) (AvgPool2d), held as an
    int8 count; the only rounding left is DEQUANTIZE's float32 product."""
    rng = np.random.default_rng(1)
    path = write(tmp_path, cnn(rng, (1, 7, 7), 2, (3, 3), 1, 1, 1, 1, pool=kind, pool_k=k, pool_stride=(1, 2),
                               pool_pad=(k[0] // 2, k[1] // 2)))  # fmt: skip
    x = spike_trains(rng, 2, 30, (1, 7, 7))
    p = load(path, CompileOptions(dt=DT))
    graph, kernels = p.graph, p.kernels
    (pool,) = [kk for kk in kernels if kk.op.kind.endswith("POOL2D")]
    assert pool.fn == "en_snn_pool2d_s8"  # the count fits int8
    for s in x:
        fixed = dict(zip(graph.outputs, reference.run_steps(graph, kernels, s), strict=True))
        assert fixed["spikes"].any()
        for spikes, pooled in zip(fixed["spikes"], fixed["pooled"], strict=True):
            exact = naive_pool(spikes, k, (1, 2), (k[0] // 2, k[1] // 2), kind == "AvgPool2d")
            if kind == "SumPool2d":
                np.testing.assert_array_equal(pooled, exact)
            else:
                np.testing.assert_allclose(pooled, exact, rtol=1e-7, atol=0)


def test_pool_multiplier():
    """Pools of int32 currents: a power-of-two ratio is a rounding shift (1 leaves the sum as it is),
    and the product stays exact in int64 for the largest sums."""
    acc = np.random.default_rng(0).integers(-(2**33), 2**33, 10_000)
    for window, ratio, want in ((4, 1.0, acc), (4, 0.25, (acc + 2) >> 2), (9, 0.5, (acc + 1) >> 1)):
        m, n = pool_multiplier(ratio, window)
        np.testing.assert_array_equal(mul_round(acc, m, n), want)
    m, n = pool_multiplier(1 / 9, 9)
    assert abs(m) < 2 ** (31 - 4) and abs(m * 2.0**-n - 1 / 9) < 2**-30
    got = mul_round(acc, m, n)
    assert np.abs(got - acc / 9).max() <= 0.5 + 2**-20 * np.abs(acc).max() / 9


# ---------------------------------------------------------------------------------------------
# The generated C.


@given(cnn_case(grid=False))
@settings(max_examples=25)
def test_host_c_equals_reference(tmp_path_factory, case):
    """The generated C, built for the host, equals the fixed-point reference bit for bit over whole
    spike trains (every output, every step): Conv2d with any padding, stride, dilation, groups; pools
    of spikes (int8), of currents (int32) and of the input."""
    graph, x = case
    d = tmp_path_factory.mktemp("cnn")
    host_equals_reference(write(d, graph), DT, x, d / "gen")


def test_every_pool_kernel_on_host(tmp_path):
    """The three pool kernels (int8 -> int8, int8 -> int32, int32 -> int32 with a 3x3 window's
    multiplier) and the dense Conv2d in one run, against the reference."""
    rng = np.random.default_rng(5)
    fns = set()
    for where, kind, k in (("spikes", "AvgPool2d", (3, 3)), ("input", "SumPool2d", (2, 3)),
                           ("current", "AvgPool2d", (3, 3))):  # fmt: skip
        d = tmp_path / where
        d.mkdir()
        path = write(d, cnn(rng, (2, 7, 8), 3, (3, 2), (2, 1), (1, 0), (1, 2), 1, pool=kind, pool_k=k, where=where,
                            grid=False))  # fmt: skip
        x = spike_trains(rng, 2, 25, (2, 7, 8), 0.4)
        p = load(path, CompileOptions(dt=DT))
        graph, kernels = p.graph, p.kernels
        fns |= {kk.fn for kk in kernels}
        host = run_on_host(compile_model(p, boards.load("mps2-an386"), d / "gen"), x)
        for i, name in enumerate(graph.outputs):
            want = np.stack([reference.run_steps(graph, kernels, s)[i] for s in x])
            np.testing.assert_array_equal(host[name], want, err_msg=f"{where}: {name}")
            if name == "spikes":
                assert want.any()
    assert fns >= {"en_snn_conv2d_s8", "en_snn_pool2d_s8", "en_snn_pool2d_s8_s32", "en_snn_pool2d_s32"}


@given(cnn_case(grid=False), st.sampled_from([0.0, 0.02, 0.1, 0.4, 1.0]), st.sampled_from(["int8", "int16"]))
@settings(max_examples=20)
def test_host_c_event_conv2d_equals_reference(tmp_path_factory, case, rate, weights):
    """The event-driven Conv2d (forced; the input is a spike train, every calibration value being 0
    or 1) and the dense one, with int8 or int16 weights: the event-driven reference equals the dense
    one, and the host C of both equals it, bit for bit, at any rate."""
    graph, x = case
    x = (np.random.default_rng(int(x.sum())).random(x.shape) < rate).astype(np.float32)
    d = tmp_path_factory.mktemp("ev")
    g, _ = event_and_dense_equal_reference(write(d, graph), x, weights, d)["event"]
    assert "NIR_CONV2D_EVENT" in {op.kind for op in g.ops} and "NIR_CONV2D" not in {op.kind for op in g.ops}
    assert {g.t(op.inputs[1]).dtype for op in g.ops if op.kind == "NIR_CONV2D_EVENT"} == {weights}


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
       st.integers(0, 2**32 - 1))  # fmt: skip
def test_event_conv2d_weight_layout_round_trip(groups, c_in_g, c_out_g, kh, kw, seed):
    from edgeneuro.ir import Op
    from edgeneuro.ops import synapse_event
    from edgeneuro.ops.base import Kernel

    rng = np.random.default_rng(seed)
    w = rng.integers(-127, 128, (groups * c_out_g, c_in_g, kh, kw)).astype(np.int8)
    params = dict(c_in=groups * c_in_g, c_out=groups * c_out_g, k_h=kh, k_w=kw, groups=groups)
    op = Op("NIR_CONV2D_EVENT", (), (), {}, 0)
    wt = synapse_event.to_event_layout(Kernel(op=op, fn="en_snn_conv2d_s8", params=params), w)
    assert wt.shape == (groups * c_in_g, kh, kw, c_out_g)
    c, i, j = int(rng.integers(0, groups * c_in_g)), kh - 1, kw - 1  # input channel c, tap (i, j) -> c's group
    g = c // c_in_g
    np.testing.assert_array_equal(wt[c, i, j], w[g * c_out_g : (g + 1) * c_out_g, c % c_in_g, i, j])
    back = synapse_event.from_event_layout(Kernel(op=op, fn="en_snn_conv2d_event_s8", params=params), wt)
    np.testing.assert_array_equal(back, w)


def test_auto_picks_conv2d_by_rate(tmp_path):
    """auto: the Conv2d on spikes is event-driven below its break-even rate, dense above it."""
    rng = np.random.default_rng(2)
    path = write(tmp_path, cnn(rng, (2, 6, 6), 3, (3, 3), 1, 1, 1, 1))
    for rate, kind in ((0.05, "NIR_CONV2D_EVENT"), (min(1.0, BREAK_EVEN["NIR_CONV2D"] + 0.2), "NIR_CONV2D")):
        g = load(path, CompileOptions(dt=DT, calibration=spike_trains(rng, 3, 20, (2, 6, 6), rate))).graph
        (conv,) = [op for op in g.ops if op.attrs.get("node") == "conv"]
        assert conv.kind == kind and conv.attrs["kernel_choice"]["break_even"] == BREAK_EVEN["NIR_CONV2D"]
    # the pooled spike counts are sparse too: the Affine after the pool can be event-driven
    opts = CompileOptions(dt=DT, calibration=spike_trains(rng, 3, 20, (2, 6, 6), 0.05), synapse_kernels="event")
    g = load(path, opts).graph
    assert {op.attrs["node"]: op.kind for op in g.ops if "kernel_choice" in op.attrs} == {
        "conv": "NIR_CONV2D_EVENT",
        "fc": "NIR_AFFINE_EVENT",
    }


@pytest.mark.sim
@pytest.mark.parametrize("kernels", ["dense", "event"])
def test_spiking_cnn_on_qemu(tmp_path, kernels):
    """A spiking CNN (Conv2d 3x3 -> LIF -> SumPool2d 2x2 -> Flatten -> Affine -> LI) as firmware on
    QEMU mps2-an386 == the fixed-point reference over whole spike trains, with the dense and the
    event-driven Conv2d; the report counts instructions per step."""
    from edgeneuro.runner import run_on_board

    rng = np.random.default_rng(11)
    path = write(tmp_path, cnn(rng, (2, 10, 10), 4, (3, 3), 1, 1, 1, 1, grid=False))
    x = spike_trains(rng, 2, 30, (2, 10, 10), 0.2)
    np.save(tmp_path / "x.npy", x)
    p = load(path, CompileOptions(dt=DT, calibration=x, synapse_kernels=kernels))
    res = run_on_board(p, boards.load("mps2-an386"), tmp_path / "x.npy", tmp_path / "build")
    graph, kernels_ = p.graph, p.kernels
    assert ("en_snn_conv2d_event_s8" in {k.fn for k in kernels_}) == (kernels == "event")
    for i, name in enumerate(graph.outputs):
        want = np.stack([reference.run_steps(graph, kernels_, s)[i] for s in x])
        np.testing.assert_array_equal(res.outputs[name], want, err_msg=name)
    assert res.outputs["spikes"].any()
    r = res.report
    assert (r["samples"], r["time_steps"]) == (2, 30)
    assert 0 < r["instructions_per_step"] <= r["instructions_per_sample"]
    assert 4 * (4 * 10 * 10 + 3) <= r["state_bytes"] <= 4 * (4 * 10 * 10 + 3) + 8  # LIF and LI membranes, aligned


# ---------------------------------------------------------------------------------------------
# Errors: one line naming the file and the node.


def one_node(node, shape, out_shape=(1,)) -> nir.NIRGraph:
    return nir.NIRGraph(nodes={"in": nir.Input(np.array(shape)), "n": node, "out": nir.Output(np.array(out_shape))},
                        edges=[("in", "n"), ("n", "out")], type_check=False)  # fmt: skip


def conv(padding=1, stride=1, c_in=2, input_shape=(6, 6), k=3) -> nir.Conv2d:
    return nir.Conv2d(input_shape, np.ones((3, c_in, k, k)), stride, padding, 1, 1, np.zeros(3))


ERRORS = {
    "same with stride": (lambda: one_node(conv("same", 2), (2, 6, 6)),
                         "node 'n' (Conv2d): padding 'same' with stride (2, 2)"),
    # the nir package itself refuses other modes when it reads the file; the error still names the node
    "padding mode": (lambda: one_node(conv(b"reflect"), (2, 6, 6)),
                     "node 'n' (Conv2d): the nir package (version 1.0.8) cannot read it: padding must be"),
    "asymmetric padding": (lambda: one_node(conv(np.array([1, 0, 1, 0])), (2, 6, 6)),
                           "node 'n' (Conv2d): padding [1, 0, 1, 0]: expected an int or a (height, width) pair"),
    "channels": (lambda: one_node(conv(c_in=3, input_shape=(6, 6)), (2, 6, 6)),
                 "node 'n' (Conv2d): input [2, 6, 6] does not fit: a Conv2d takes [3, H, W]"),
    "rank": (lambda: one_node(conv(input_shape=(6, 6)), (72,)),
             "node 'n' (Conv2d): input [72] does not fit: a Conv2d takes [2, H, W]"),
    "declared input": (lambda: one_node(conv(input_shape=(5, 6)), (2, 6, 6)),
                       "node 'n' (Conv2d): declares an input of [5, 6] (H, W) but receives [2, 6, 6]"),
    "kernel too large": (lambda: one_node(conv(0, input_shape=(2, 2)), (2, 2, 2)),
                         "node 'n' (Conv2d): the 3x3 kernel (dilation (1, 1)) is larger than the input"),
    "window too large": (lambda: one_node(nir.SumPool2d(np.array([4, 4]), np.array([1, 1]), np.array([0, 0])),
                                          (1, 3, 5)),
                         "node 'n' (SumPool2d): the 4x4 window is larger than the input [1, 3, 5] with padding (0, 0)"),
    "pool padding": (lambda: one_node(nir.AvgPool2d(np.array([2, 2]), np.array([2, 2]), np.array([2, 0])), (1, 6, 6)),
                     "node 'n' (AvgPool2d): padding (2, 0) is more than half the 2x2 window"),
    "pool rank": (lambda: one_node(nir.AvgPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])), (6, 6)),
                  "node 'n' (AvgPool2d): input [6, 6] does not fit: a AvgPool2d takes [C, H, W]"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors(tmp_path, capsys, case):
    build, message = ERRORS[case]
    assert message in compile_error(tmp_path, capsys, build(), "--dt", "1e-3")


def test_error_synapse_after_an_int32_pool(tmp_path, capsys):
    """A pool of the network's input sums int8 codes beyond int8: a neuron can take that int32
    value, a synapse cannot."""
    rng = np.random.default_rng(0)
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(np.array([1, 4, 4])),
               "pool": nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])),
               "flat": nir.Flatten(start_dim=0, input_type=np.array([1, 2, 2])),
               "fc": nir.Affine(rng.normal(0, 1, (2, 4)), np.zeros(2)), "lif": lif(2, rng),
               "out": nir.Output(np.array([2]))},
        edges=[("in", "pool"), ("pool", "flat"), ("flat", "fc"), ("fc", "lif"), ("lif", "out")], type_check=False,
    )  # fmt: skip
    err = compile_error(tmp_path, capsys, graph, "--dt", "1e-3")
    assert "node 'fc' (Affine): a synapse fed by a non-spiking value" in err and "pool" in err


def test_cli_compiles_a_spiking_cnn(tmp_path):
    """`edgeneuro compile` writes the Conv2d and pool kernels next to the model."""
    from edgeneuro import cli

    path = write(tmp_path, cnn(np.random.default_rng(3), (1, 6, 6), 2, (3, 3), 1, 1, 1, 1, pool="AvgPool2d"))
    assert cli.main(["compile", str(path), "--dt", "1e-3", "-o", str(tmp_path / "gen")]) == 0
    kernels = Path(tmp_path / "gen" / "kernels")
    assert (kernels / "snn_pool.c").exists() and (kernels / "synapse.c").exists()
