"""The Helium (MVE) kernel variants (firmware/kernels/*_mve.c, chosen with the core feature ``mve``,
the Cortex-M55) compute the portable kernels' bits: over randomized shapes, zero points and scales,
each variant's numpy reference (from its re-laid-out constants) == the portable reference, and its
C built for the host (the plain-C twins of en_mve.h) == its reference; on QEMU mps3-an547 (the MVE
instructions themselves) single-operator models == the portable reference and the MLPerf Tiny
models == TFLM's stored outputs."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import MLPERF, examples
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from opcheck import log_uniform, samples
from test_depthwise_dsp import depthwise_model
from tflite_builder import ACT, PAD, ModelBuilder, conv2d_options, fc_options, options, pool_options

from edgeneuro import boards, compiler, frontends, ops, reference
from edgeneuro.ops import depthwise_conv2d
from edgeneuro.ops.base import out_size
from edgeneuro.options import CompileOptions, board_features
from edgeneuro.plan import plan_memory
from edgeneuro.runner import run_on_board, run_on_host

MVE = CompileOptions(features=("dsp", "mve"))
M55 = "mps3-an547"


def with_mve(path: Path, instead: str | None = None) -> tuple[compiler.Prepared, compiler.Prepared]:
    """The model's portable pipeline and the same graph with every layer whose module offers an
    ``mve`` variant lowered to it (as the choose-kernel-variants pass does, whatever scratch memory
    the variant takes, and even where the DSP kernel would take fewer instructions: asked with the
    feature ``mve`` alone), or to ``instead`` (e.g. ``mve_direct``, the fallback without scratch)."""
    portable = compiler.load(path)
    g = portable.graph
    chosen = []
    for op in g.ops:
        choose = getattr(ops.MODULES.get(op.kind), "variant", None)
        v = (choose(op, g, ("mve",)) or choose(op, g, MVE.features)) if choose else None
        v = instead if v == "mve" and instead else v
        chosen.append(dataclasses.replace(op, attrs={**op.attrs, "variant": v}) if v else op)
    g = dataclasses.replace(g, ops=tuple(chosen))
    kernels = tuple(ops.lower(op, g) for op in g.ops)
    return portable, dataclasses.replace(portable, graph=g, kernels=kernels, plan=plan_memory(g, list(kernels)),
                                         options=MVE)  # fmt: skip


def check_mve(
    model: bytes, x: np.ndarray, fn: str, c_file: str, host_c: bool = True, instead: str | None = None
) -> compiler.Prepared:
    """The MVE variant ``fn`` is chosen (or lowered as ``instead``), its reference == the portable
    reference, its host C == both."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "op.tflite"
        path.write_bytes(model)
        portable, mve = with_mve(path, instead)
        (k,) = mve.kernels
        assert (k.fn, k.c_file, k.op.attrs.get("variant")) == (fn, c_file, instead or "mve")
        expected = reference.run_batch(portable.graph, portable.kernels, x)
        ref = reference.run_batch(mve.graph, mve.kernels, x)
        mismatch = np.argwhere(ref != expected)
        assert mismatch.size == 0, f"MVE reference != portable at {mismatch[:5].tolist()} of {expected.size}"
        if host_c:
            c = compiler.compile_model(mve, boards.load(M55), Path(d) / "gen")
            (y,) = run_on_host(c, x).values()
            np.testing.assert_array_equal(y, ref, err_msg="host C (MVE kernel) != reference")
        return mve


def check_mve_on_qemu(model: bytes, x: np.ndarray, fn: str, tmp_path: Path, instead: str | None = None) -> None:
    """The MVE variant cross-compiled for the Cortex-M55 and run on QEMU == the portable reference."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "op.tflite"
    path.write_bytes(model)
    portable, mve = with_mve(path, instead)
    assert [k.fn for k in mve.kernels] == [fn]
    np.save(tmp_path / "in.npy", x)
    res = run_on_board(mve, boards.load(M55), tmp_path / "in.npy", tmp_path / "build")
    expected = reference.run_batch(portable.graph, portable.kernels, x)
    np.testing.assert_array_equal(res.output.reshape(expected.shape), expected)


# FULLY_CONNECTED


def fc_model(
    rng: np.random.Generator,
    batches: int,
    depth: int,
    units: int,
    per_channel: bool = True,
    act: str = "NONE",
    with_bias: bool = True,
    big_scale: bool = False,
    mask: np.ndarray | None = None,
) -> tuple[bytes, np.ndarray]:
    """A single FULLY_CONNECTED model and int8 samples. big_scale: multipliers near or above 1 (left
    shifts in the requantization); mask [units, depth]: where the weights are kept (else 0)."""
    s_in = log_uniform(rng, 1e-3, 1.0)
    s_w = np.array([log_uniform(rng, 1e-3, 0.1) for _ in range(units if per_channel else 1)], np.float32)
    spread = rng.uniform(0.05, 2.0) if big_scale else rng.uniform(8, 80) * np.sqrt(depth)
    s_out = float(np.float32(s_in * float(s_w.mean()) * spread))
    zp = lambda: int(rng.choice([-128, int(rng.integers(-128, 128))]))  # noqa: E731
    b = ModelBuilder()
    x = b.tensor([batches, depth], scale=s_in, zero_point=zp())
    data = rng.integers(-127, 128, (units, depth)) * (1 if mask is None else mask)
    wt = b.tensor([units, depth], scale=s_w, zero_point=0, data=data)
    bias = (
        b.tensor([units], "int32", scale=s_in * s_w.astype(np.float64), zero_point=0,
                 data=rng.integers(-3000, 3000, units))
        if with_bias else -1
    )  # fmt: skip
    y = b.tensor([batches, units], scale=s_out, zero_point=zp())
    b.op("FULLY_CONNECTED", [x, wt, bias], [y], fc_options(act), "FullyConnectedOptions")
    return b.build([x], [y]), samples(rng, [batches, depth])


@st.composite
def fc_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return fc_model(
        rng,
        batches=draw(st.sampled_from([1, 1, 2, 3])),
        depth=draw(st.sampled_from([1, 7, 15, 16, 17, 31, 32, 48, 64, 100])),
        units=draw(st.integers(1, 13)),
        per_channel=draw(st.booleans()),
        act=draw(st.sampled_from(["NONE", "RELU", "RELU6"])),
        with_bias=draw(st.booleans()),
        big_scale=draw(st.integers(0, 4)) == 0,
    )


@given(fc_case())
@settings(max_examples=examples(30))
def test_fully_connected_mve(case):
    check_mve(*case, "en_fully_connected_s8_mve", "fully_connected_mve")


def test_fully_connected_left_shifts():
    """Multipliers above 1 (left shifts, the general requantization) and the short form."""
    for seed in range(4):
        mve = check_mve(*fc_model(np.random.default_rng(seed), 2, 40, 9, big_scale=True),
                        "en_fully_connected_s8_mve", "fully_connected_mve")  # fmt: skip
        assert mve.kernels[0].params["right"] in (0, 1)
    mve = check_mve(*fc_model(np.random.default_rng(5), 1, 33, 6), "en_fully_connected_s8_mve", "fully_connected_mve")
    assert mve.kernels[0].params["right"] == 1


def test_fully_connected_variant_choice(tmp_path: Path):
    """``mve`` only with the feature; ``dsp`` without it; the portable kernel with --kernels reference."""
    path = tmp_path / "fc.tflite"
    path.write_bytes(fc_model(np.random.default_rng(1), 1, 20, 5)[0])
    fn = lambda o: [k.fn for k in compiler.load(path, o).kernels]  # noqa: E731
    assert fn(MVE) == ["en_fully_connected_s8_mve"]
    assert fn(CompileOptions(features=("dsp",))) == ["en_fully_connected_s8_dsp"]
    assert fn(CompileOptions(features=("dsp", "mve"), kernels="reference")) == ["en_fully_connected_s8"]


@pytest.mark.sim
@pytest.mark.parametrize(
    "shape",
    [dict(batches=1, depth=100, units=13), dict(batches=2, depth=16, units=4, act="RELU"),
     dict(batches=1, depth=7, units=9, big_scale=True)],
)  # fmt: skip
def test_fully_connected_mve_on_qemu(shape, tmp_path: Path):
    check_mve_on_qemu(*fc_model(np.random.default_rng(3), **shape), "en_fully_connected_s8_mve", tmp_path)


# DEPTHWISE_CONV_2D

DW = ("en_depthwise_conv2d_s8_mve", "depthwise_conv2d_mve")


@st.composite
def dw_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    square = draw(st.booleans())
    kh = draw(st.sampled_from([3, 3, 1, 2, 4, 5]))
    kw = kh if square else draw(st.integers(1, 5))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dil = (draw(st.sampled_from([1, 1, 2])), draw(st.sampled_from([1, 1, 2])))
    h, w, pad = draw(st.integers(1, 9)), draw(st.integers(1, 9)), draw(st.sampled_from(["SAME", "VALID"]))
    assume(out_size(pad, h, kh, stride[0], dil[0]) > 0 and out_size(pad, w, kw, stride[1], dil[1]) > 0)
    return depthwise_model(
        rng, h, w, draw(st.sampled_from([1, 2, 3, 4, 5, 8, 12, 16, 17, 20, 32, 40])), (kh, kw), stride, dil, pad,
        act=draw(st.sampled_from(["NONE", "RELU", "RELU6"])),
        per_channel=draw(st.booleans()),
        big_scale=draw(st.integers(0, 4)) == 0,
        batch=draw(st.sampled_from([1, 1, 1, 2])),
    )  # fmt: skip


@given(dw_case())
@settings(max_examples=examples(30))
def test_depthwise_mve(case):
    check_mve(*case, *DW)


@pytest.mark.parametrize(
    "shape",
    [
        dict(h=5, w=6, c=8, k=(3, 3)),  # flat: two pixels a vector
        dict(h=7, w=7, c=16, k=(3, 3), stride=(2, 2), act="RELU6"),  # stride 2: two planes
        dict(h=4, w=5, c=20, k=(3, 3), act="RELU6"),  # 20 channels in 32 lanes
        dict(h=6, w=4, c=9, k=(5, 5), dil=(2, 1), pad="SAME"),  # any window
        dict(h=5, w=5, c=4, k=(3, 3), big_scale=True),  # multipliers >= 0.5: left shifts
        dict(h=5, w=9, c=3, k=(2, 3), stride=(1, 3)),  # 3 planes, 3 channels
    ],
)
def test_depthwise_mve_paths(shape):
    check_mve(*depthwise_model(np.random.default_rng(7), **shape), *DW)


def test_depthwise_mve_without_pairs(tmp_path: Path):
    """Weights of -128 next to each other: the taps' products are widened one tap at a time."""
    model, x = depthwise_model(np.random.default_rng(2), 5, 5, 16, (3, 3))
    path = tmp_path / "dw.tflite"
    path.write_bytes(model)
    g = frontends.load(path)
    (op,) = g.ops
    wt = g.t(op.inputs[1])
    data = wt.data.copy()
    data[0, 0, :2, 5] = -128
    g = dataclasses.replace(g, tensors={**g.tensors, wt.name: dataclasses.replace(wt, data=data)})
    k = depthwise_conv2d.lower(dataclasses.replace(op, attrs={**op.attrs, "variant": "mve"}), g)
    assert k.params["pairs"] == 0
    portable = depthwise_conv2d.lower(op, g)
    xs = x.reshape(-1, 1, 5, 5, 16)
    for s in xs:
        np.testing.assert_array_equal(
            depthwise_conv2d.reference(k, s, *(v for _, v in k.consts)),
            depthwise_conv2d.reference(portable, s, *(v for _, v in portable.consts)),
        )


# MAX_POOL_2D, AVERAGE_POOL_2D


def pool_model(
    rng: np.random.Generator, kind: str, n: int, h: int, w: int, c: int, k: tuple[int, int], stride: tuple[int, int],
    pad: str = "VALID", act: str = "NONE",
) -> tuple[bytes, np.ndarray]:  # fmt: skip
    oh, ow = out_size(pad, h, k[0], stride[0], 1), out_size(pad, w, k[1], stride[1], 1)
    scale, zp = log_uniform(rng, 1e-3, 0.1), int(rng.integers(-128, 128))
    b = ModelBuilder()
    x = b.tensor([n, h, w, c], scale=scale, zero_point=zp)
    y = b.tensor([n, oh, ow, c], scale=scale, zero_point=zp)
    b.op(kind, [x], [y], pool_options(pad, k[0], k[1], stride[0], stride[1], act), "Pool2DOptions")
    return b.build([x], [y]), samples(rng, [n, h, w, c])


@st.composite
def pool_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["MAX_POOL_2D", "AVERAGE_POOL_2D"]))
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    k, stride = (draw(st.integers(1, 4)), draw(st.integers(1, 4))), (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pad = draw(st.sampled_from(["SAME", "VALID"]))
    assume(out_size(pad, h, k[0], stride[0], 1) > 0 and out_size(pad, w, k[1], stride[1], 1) > 0)
    c = draw(st.sampled_from([1, 3, 8, 15, 16, 17, 24, 32, 40]))
    return pool_model(rng, kind, draw(st.integers(1, 2)), h, w, c, k, stride, pad,
                      draw(st.sampled_from(["NONE", "RELU", "RELU6"]))), kind  # fmt: skip


@given(pool_case())
@settings(max_examples=examples(30))
def test_pool_mve(case):
    (model, x), kind = case
    fn = "en_max_pool2d_s8_mve" if kind == "MAX_POOL_2D" else "en_avg_pool2d_s8_mve"
    check_mve(model, x, fn, "pool_mve")


def test_global_average_pool_mve():
    """A whole 15x17 map averaged (255 values, the most an int16 sum takes), as the MLPerf models do."""
    for c in (5, 64):
        rng = np.random.default_rng(c)
        model, _ = pool_model(rng, "AVERAGE_POOL_2D", 1, 15, 17, c, (15, 17), (1, 1))
        extreme = np.stack([np.full((15, 17, c), -128, np.int8), np.full((15, 17, c), 127, np.int8),
                            rng.integers(-128, 128, (15, 17, c), dtype=np.int8)])  # fmt: skip
        check_mve(model, extreme, "en_avg_pool2d_s8_mve", "pool_mve")


# CONV_2D


def conv_model(
    rng: np.random.Generator, n: int, h: int, w: int, cin: int, cout: int, k: tuple[int, int],
    stride: tuple[int, int] = (1, 1), dil: tuple[int, int] = (1, 1), pad: str = "SAME", act: str = "NONE",
    per_channel: bool = True, big_scale: bool = False, mask: np.ndarray | None = None,
) -> tuple[bytes, np.ndarray]:  # fmt: skip
    """A single CONV_2D model and int8 samples. big_scale: multipliers near or above 1; mask
    [cout, kh * kw * cin] (OHWI order): where the weights are kept (else 0)."""
    kh, kw = k
    oh, ow = out_size(pad, h, kh, stride[0], dil[0]), out_size(pad, w, kw, stride[1], dil[1])
    s_in = log_uniform(rng, 1e-3, 1.0)
    s_w = np.array([log_uniform(rng, 1e-3, 0.1) for _ in range(cout if per_channel else 1)], np.float32)
    spread = rng.uniform(0.05, 2.0) if big_scale else np.sqrt(kh * kw * cin) * rng.uniform(8, 80)
    s_out = float(np.float32(s_in * float(s_w.mean()) * spread))
    zp = lambda: int(rng.choice([-128, int(rng.integers(-128, 128))]))  # noqa: E731
    b = ModelBuilder()
    x = b.tensor([n, h, w, cin], scale=s_in, zero_point=zp())
    data = rng.integers(-127, 128, (cout, kh, kw, cin))
    data = data if mask is None else data * mask.reshape(data.shape)
    wt = b.tensor([cout, kh, kw, cin], scale=s_w, zero_point=0, data=data)
    bias_scale = s_in * s_w.astype(np.float64)
    bias = b.tensor([cout], "int32", scale=bias_scale if per_channel else bias_scale[:1], zero_point=0,
                    data=rng.integers(-3000, 3000, cout))  # fmt: skip
    y = b.tensor([n, oh, ow, cout], scale=s_out, zero_point=zp())
    b.op("CONV_2D", [x, wt, bias], [y], conv2d_options(pad, stride[0], stride[1], dil[0], dil[1], act), "Conv2DOptions")
    return b.build([x], [y]), samples(rng, [n, h, w, cin])


CONV = ("en_conv2d_s8_mve", "conv2d_mve")  # the columns gathered in working memory
CONV_1X1 = ("en_conv2d_s8_mve_direct", "conv2d_mve")  # read in place


@st.composite
def conv_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    k = (draw(st.sampled_from([1, 1, 2, 3, 4])), draw(st.sampled_from([1, 1, 2, 3])))
    stride, dil = (draw(st.integers(1, 2)), draw(st.integers(1, 3))), (draw(st.integers(1, 2)), 1)
    h, w, pad = draw(st.integers(1, 8)), draw(st.integers(1, 8)), draw(st.sampled_from(["SAME", "VALID"]))
    assume(out_size(pad, h, k[0], stride[0], dil[0]) > 0 and out_size(pad, w, k[1], stride[1], dil[1]) > 0)
    model = conv_model(
        rng, draw(st.sampled_from([1, 1, 2])), h, w,
        cin=draw(st.sampled_from([1, 3, 8, 16, 17, 33])), cout=draw(st.sampled_from([1, 3, 4, 5, 8, 13])),
        k=k, stride=stride, dil=dil, pad=pad, act=draw(st.sampled_from(["NONE", "RELU", "RELU6"])),
        per_channel=draw(st.booleans()), big_scale=draw(st.integers(0, 4)) == 0,
    )  # fmt: skip
    return model, CONV_1X1 if k == (1, 1) else None


@given(conv_case())
@settings(max_examples=examples(30))
def test_conv2d_mve(case):
    """The ``mve`` variant, gathering the columns or reading them in place as conv2d.mve_direct
    decides (1x1 windows: always in place)."""
    (model, x), fn = case
    if fn is None:
        with tempfile.TemporaryDirectory() as d:
            (Path(d) / "c.tflite").write_bytes(model)
            fn = (with_mve(Path(d) / "c.tflite")[1].kernels[0].fn, "conv2d_mve")
    check_mve(model, x, *fn)


@given(conv_case())
@settings(max_examples=examples(30))
def test_conv2d_mve_direct(case):
    """The fallback without working memory (the pass takes it where the gathered columns would grow
    the arena): every window read in place, the border through zero-point lanes."""
    (model, x), _ = case
    check_mve(model, x, *CONV_1X1, instead="mve_direct")


@pytest.mark.parametrize(
    "shape, fn",
    [
        (dict(h=5, w=5, cin=64, cout=64, k=(1, 1)), CONV_1X1),  # KWS's pointwise layers: 4 vectors a column
        (dict(h=3, w=5, cin=16, cout=8, k=(1, 1)), CONV_1X1),  # one vector a column, loaded once
        (dict(h=3, w=3, cin=8, cout=7, k=(1, 1)), CONV_1X1),  # half a vector
        (dict(h=5, w=7, cin=20, cout=6, k=(1, 1), stride=(2, 2)), CONV_1X1),  # strided, a 4-byte tail
        (dict(h=9, w=4, cin=1, cout=8, k=(5, 2), stride=(2, 2), pad="SAME"), CONV),  # KWS's first layer, in small
        (dict(h=6, w=6, cin=16, cout=9, k=(3, 3), act="RELU6"), CONV),  # ResNet-like, 9 channels (a block of 1)
        (dict(h=4, w=5, cin=3, cout=5, k=(3, 3), big_scale=True), CONV),  # left shifts
        (dict(h=24, w=24, cin=3, cout=8, k=(3, 3), stride=(2, 2)), CONV_1X1),  # VWW's first layer, in small
        (dict(h=9, w=7, cin=1, cout=5, k=(6, 2), dil=(1, 2)), CONV),  # short rows: gathered
    ],
)
def test_conv2d_mve_paths(shape, fn):
    check_mve(*conv_model(np.random.default_rng(5), 1, **shape), *fn)


# The requantization's edge cases: every input value through power-of-two multipliers, whose products
# land exactly on the halves where the two roundings (SaturatingRoundingDoublingHighMul, then
# RoundingDivideByPOT half away from zero) differ from VRSHL's half up unless corrected.


def ties_fc_model(zp_in: int, zp_out: int) -> tuple[bytes, np.ndarray]:
    """FULLY_CONNECTED of depth 1 over all 256 inputs, 12 units whose multipliers s_in * s_w / s_out
    are 2^-1 .. 2^-9 and 2^1 .. 2^3 (left shifts, the general requantization), weights and biases
    near the roundings' halves."""
    shifts = np.array([-1, -2, -3, -4, -5, -6, -7, -9, 1, 2, 3, -2])
    s_w = np.exp2(shifts).astype(np.float32)
    weights = np.array([1, 3, -1, -5, 127, -127, 7, 64, 1, -1, 2, 9]).reshape(-1, 1)
    b = ModelBuilder()
    x = b.tensor([1, 1], scale=1.0, zero_point=zp_in)
    wt = b.tensor([12, 1], scale=s_w, zero_point=0, data=weights)
    bias = b.tensor([12], "int32", scale=s_w.astype(np.float64), zero_point=0,
                    data=np.array([0, 1, -1, 2, -3, 5, -7, 100, 0, 1, -2, -1]))  # fmt: skip
    y = b.tensor([1, 12], scale=1.0, zero_point=zp_out)
    b.op("FULLY_CONNECTED", [x, wt, bias], [y], fc_options("NONE"), "FullyConnectedOptions")
    return b.build([x], [y]), np.arange(-128, 128, dtype=np.int8).reshape(256, 1)


def ties_dw_model(zp_in: int, zp_out: int) -> tuple[bytes, np.ndarray]:
    """DEPTHWISE_CONV_2D 1x1 over a 16x16 image holding all 256 input values in each of 16
    channels, multipliers 2^-2 .. 2^-9 twice with other weights and biases (every shift right:
    the short requantization)."""
    shifts = np.tile(np.arange(-2, -10, -1), 2)
    s_w = np.exp2(shifts).astype(np.float32)
    b = ModelBuilder()
    x = b.tensor([1, 16, 16, 16], scale=1.0, zero_point=zp_in)
    wt = b.tensor(
        [1, 1, 1, 16],
        scale=s_w,
        zero_point=0,
        axis=3,
        data=np.array([1, 3, -1, -5, 127, -127, 7, 64, 2, -3, 5, -9, 1, 11, -64, 33]).reshape(1, 1, 1, 16),
    )
    bias = b.tensor(
        [16],
        "int32",
        scale=s_w.astype(np.float64),
        zero_point=0,
        data=np.array([0, 1, -1, 2, -3, 5, -7, 100, 1, 0, -1, 3, -2, 4, -8, 0]),
    )
    y = b.tensor([1, 16, 16, 16], scale=1.0, zero_point=zp_out)
    opts = options(
        "DepthwiseConv2DOptions",
        padding=PAD["VALID"],
        strideH=1,
        strideW=1,
        depthMultiplier=1,
        dilationHFactor=1,
        dilationWFactor=1,
        fusedActivationFunction=ACT["NONE"],
    )
    b.op("DEPTHWISE_CONV_2D", [x, wt, bias], [y], opts, "DepthwiseConv2DOptions")
    return b.build([x], [y]), np.repeat(np.arange(-128, 128, dtype=np.int8).reshape(1, 16, 16, 1), 16, axis=3)


TIES = [(0, 0), (-128, 5), (77, -128), (-3, 127)]


@pytest.mark.parametrize("zp_in, zp_out", TIES)
def test_requantization_ties(zp_in: int, zp_out: int):
    """The MVE requantization == en_requant (the spec) on every input at the rounding halves, with
    and without left shifts, on the host (the plain-C twins of VQRDMULH, VRSHL, VQADD, VQMOVN)."""
    fc = check_mve(*ties_fc_model(zp_in, zp_out), "en_fully_connected_s8_mve", "fully_connected_mve")
    dw = check_mve(*ties_dw_model(zp_in, zp_out), *DW)
    assert (fc.kernels[0].params["right"], dw.kernels[0].params["right"]) == (0, 1)


@pytest.mark.sim
@pytest.mark.parametrize("zp_in, zp_out", TIES[:2])
def test_requantization_ties_on_qemu(zp_in: int, zp_out: int, tmp_path: Path):
    """The same on the Cortex-M55 (the MVE instructions themselves)."""
    check_mve_on_qemu(*ties_fc_model(zp_in, zp_out), "en_fully_connected_s8_mve", tmp_path / "fc")
    check_mve_on_qemu(*ties_dw_model(zp_in, zp_out), DW[0], tmp_path / "dw")


def test_conv2d_fallback_without_scratch():
    """Where the gathered columns would grow the arena, the pass falls back to reading in place."""
    from edgeneuro.ops import conv2d

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "conv.tflite"
        path.write_bytes(conv_model(np.random.default_rng(3), 1, 6, 6, 8, 8, (3, 3))[0])
        g = frontends.load(path)
        (op,) = g.ops
        assert conv2d.variant(op, g, MVE.features) == "mve"
        assert conv2d.variant_fallback(op, g, "mve") == "mve_direct"
        assert conv2d.lower(dataclasses.replace(op, attrs={**op.attrs, "variant": "mve_direct"}), g).scratch == 0


# On QEMU mps3-an547 (Cortex-M55): the MVE instructions themselves.


@pytest.mark.sim
@pytest.mark.parametrize(
    "shape",
    [
        dict(h=5, w=6, c=8, k=(3, 3)),  # flat: two pixels a vector
        dict(h=7, w=7, c=16, k=(3, 3), stride=(2, 2), act="RELU6"),  # stride 2
        dict(h=4, w=5, c=20, k=(3, 3), act="RELU6"),  # 16 channels in the 3x3 run, 4 one pixel at a time
        dict(h=6, w=4, c=9, k=(5, 5), dil=(2, 1), pad="SAME"),  # any window
        dict(h=5, w=5, c=32, k=(3, 3), big_scale=True),  # left shifts
    ],
)
def test_depthwise_mve_on_qemu(shape, tmp_path: Path):
    check_mve_on_qemu(*depthwise_model(np.random.default_rng(11), **shape), DW[0], tmp_path)


@pytest.mark.sim
@pytest.mark.parametrize(
    "shape, instead",
    [
        (dict(h=5, w=5, cin=64, cout=13, k=(1, 1)), None),
        (dict(h=9, w=4, cin=1, cout=8, k=(5, 2), stride=(2, 2)), None),
        (dict(h=6, w=6, cin=16, cout=9, k=(3, 3), act="RELU6"), None),
        (dict(h=6, w=6, cin=16, cout=9, k=(3, 3), act="RELU6"), "mve_direct"),
        (dict(h=7, w=5, cin=3, cout=6, k=(3, 3), stride=(2, 2), big_scale=True), "mve_direct"),
    ],
)
def test_conv2d_mve_on_qemu(shape, instead, tmp_path: Path):
    fn = "en_conv2d_s8_mve_direct" if instead or shape["k"] == (1, 1) else "en_conv2d_s8_mve"
    check_mve_on_qemu(*conv_model(np.random.default_rng(13), 1, **shape), fn, tmp_path, instead)


@pytest.mark.sim
@pytest.mark.parametrize(
    "kind, c, k, stride, pad",
    [("MAX_POOL_2D", 24, (3, 3), (2, 2), "SAME"), ("AVERAGE_POOL_2D", 19, (2, 3), (1, 2), "VALID"),
     ("AVERAGE_POOL_2D", 64, (7, 5), (1, 1), "VALID")],
)  # fmt: skip
def test_pool_mve_on_qemu(kind, c, k, stride, pad, tmp_path: Path):
    model, x = pool_model(np.random.default_rng(c), kind, 1, 7, 5, c, k, stride, pad, "RELU6")
    fn = "en_max_pool2d_s8_mve" if kind == "MAX_POOL_2D" else "en_avg_pool2d_s8_mve"
    check_mve_on_qemu(model, x, fn, tmp_path)


MODELS = ["kws_ref_model", "vww_96_int8", "ad01_int8", "pretrainedResnet_quant"]


@pytest.mark.sim
@pytest.mark.parametrize("name", MODELS)
def test_mlperf_on_qemu(name: str, tmp_path: Path, capsys):
    """The MLPerf Tiny models compiled for mps3-an547 (its features pick the MVE kernels) == TFLM's
    stored outputs."""
    board = boards.load(M55)
    p = compiler.load(MLPERF / f"{name}.tflite", CompileOptions(features=board_features(board)))
    mve = [k.fn for k in p.kernels if (k.fn or "").endswith(("_mve", "_mve_direct"))]
    assert mve, "no MVE kernel chosen"
    res = run_on_board(p, board, MLPERF / f"{name}_input.npy", tmp_path / "build")
    expected = np.load(MLPERF / f"{name}_expected_output.npy")
    np.testing.assert_array_equal(res.output.reshape(expected.shape), expected)
    with capsys.disabled():
        print(f"\n{name} on {M55}: {res.report['instructions']:,} instructions, {len(mve)} MVE layers")
