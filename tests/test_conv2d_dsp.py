"""CONV_2D's DSP kernels (firmware/kernels/conv2d_dsp.c) give the portable kernel's bits: chosen for
int8 convolutions without groups when the core has the DSP extension, their numpy reference equals
the portable reference, and their C (built for the host, so through en_simd.h's plain-C twins)
equals their reference, over shapes (1x1 to 5x5, strides, dilations, SAME/VALID, the Conv1D form),
input channels that are and are not multiples of 4, odd output channels and pixel counts, zero
points, per-channel scales, dead channels and multipliers above one (the exact requantization).
Both forms: the one that gathers columns into scratch memory (``dsp``) and, for in_c % 4 == 0, the
one without (``dsp_noscratch``: columns gathered into the output's last bytes while they are free,
the last pixels read from the input in place), which the kernel-variants pass falls back to where
scratch memory would grow the arena."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import MLPERF, examples, forced_variant
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from opcheck import log_uniform, samples
from tflite_builder import ModelBuilder, conv2d_options

from edgeneuro import boards, frontends, reference
from edgeneuro.compiler import Prepared, compile_model, load
from edgeneuro.ops import conv2d
from edgeneuro.ops.base import out_size
from edgeneuro.options import CompileOptions
from edgeneuro.runner import run_on_board, run_on_host

DSP = CompileOptions(features=("dsp",))
FORMS = {"dsp": "en_conv2d_s8_dsp", "dsp_noscratch": "en_conv2d_s8_dsp_direct"}


def forced(prepared: Prepared, variant: str) -> Prepared:
    return forced_variant(prepared, "CONV_2D", variant)


@st.composite
def conv_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(1, 2))
    if draw(st.booleans()):  # Conv1D: H = 1, a 1 x k filter
        h, w, kh, kw = 1, draw(st.integers(1, 24)), 1, draw(st.integers(1, 5))
    else:
        h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
        kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    pad, act = draw(st.sampled_from(["SAME", "VALID"])), draw(st.sampled_from(["NONE", "RELU", "RELU6"]))
    cin, cout = draw(st.sampled_from([1, 2, 3, 4, 5, 7, 8, 12, 16, 20])), draw(st.integers(1, 9))
    oh, ow = out_size(pad, h, kh, sh, dh), out_size(pad, w, kw, sw, dw)
    assume(oh > 0 and ow > 0)
    per_channel = draw(st.booleans())
    s_in = log_uniform(rng, 1e-3, 1.0)
    s_w = np.array([log_uniform(rng, 1e-3, 0.1) for _ in range(cout if per_channel else 1)], np.float32)
    # the output scale: the usual (multipliers well below 1), or small (multipliers above 1:
    # a left shift, the kernel's exact requantization)
    gain = rng.uniform(8, 80) if draw(st.integers(0, 5)) else rng.uniform(0.05, 0.5)
    s_out = float(np.float32(s_in * float(s_w.mean()) * np.sqrt(kh * kw * cin) * gain))
    weights = rng.integers(-127, 128, (cout, kh, kw, cin))
    bias = rng.integers(-3000, 3000, cout)
    if cout > 1 and draw(st.booleans()):  # a dead channel: zero weights, a large bias
        dead = int(rng.integers(cout))
        weights[dead] = 0
        # (below 2^24 with a left shift: TFLite's acc * 2^left would overflow int32 beyond)
        big = 2**30 if gain >= 8 else 2**24
        bias[dead] = int(rng.integers(-big, big))
    b = ModelBuilder()
    x = b.tensor([n, h, w, cin], scale=s_in, zero_point=int(rng.integers(-128, 128)))
    wt = b.tensor([cout, kh, kw, cin], scale=s_w, zero_point=0, data=weights)
    bias_scale = s_in * s_w.astype(np.float64)
    bt = b.tensor([cout], "int32", scale=bias_scale if per_channel else bias_scale[:1], zero_point=0, data=bias)
    y = b.tensor([n, oh, ow, cout], scale=s_out, zero_point=int(rng.integers(-128, 128)))
    b.op("CONV_2D", [x, wt, bt], [y], conv2d_options(pad, sh, sw, dh, dw, act), "Conv2DOptions")
    return b.build([x], [y]), samples(rng, [n, h, w, cin])


@given(conv_case())
@settings(max_examples=examples(40))
def test_dsp_kernel_equals_portable(case):
    model, xs = case
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "conv.tflite"
        path.write_bytes(model)
        portable, auto = load(path), load(path, DSP)
        assert portable.kernels[0].fn == "en_conv2d_s8"
        # the pass: the scratch form where the arena allows, else the form without, else portable
        assert auto.plan.arena_bytes <= portable.plan.arena_bytes
        in_c = portable.kernels[0].params["in_c"]
        allowed = {"en_conv2d_s8_dsp", "en_conv2d_s8"} | ({"en_conv2d_s8_dsp_direct"} if in_c % 4 == 0 else set())
        assert auto.kernels[0].fn in allowed
        event("in_c % 4 == 0" if in_c % 4 == 0 else "in_c % 4 != 0")
        expected = reference.run_batch(portable.graph, portable.kernels, xs)
        for variant in ("dsp", "dsp_noscratch") if in_c % 4 == 0 else ("dsp",):
            dsp = forced(auto, variant)
            (k,) = dsp.kernels
            assert (k.fn, k.c_file) == (FORMS[variant], "conv2d_dsp")
            assert k.scratch == (conv2d.dsp_scratch(k.params) if variant == "dsp" else 0)
            event("short requantization" if k.params["fast"] else "exact requantization")
            if variant == "dsp_noscratch":
                event(_staging(k.params))
            ref = reference.run_batch(dsp.graph, dsp.kernels, xs)
            why = f"{variant}, fast={k.params['fast']}"
            np.testing.assert_array_equal(ref, expected, err_msg=f"DSP reference != portable ({why})")
            c = compile_model(dsp, boards.load("mps2-an386"), Path(d) / variant)
            (out,) = run_on_host(c, xs).values()
            np.testing.assert_array_equal(out, ref, err_msg=f"host C != DSP reference ({why})")


def _staging(p: dict) -> str:
    staged, pixels = conv2d.dsp_staged(p), p["batches"] * p["out_h"] * p["out_w"]
    return "no pixel gathered" if staged == 0 else "all but the last pair" if staged >= pixels - 2 else "some gathered"


@st.composite
def noscratch_case(draw):
    """Wider images and more channels than conv_case, in_c % 4 == 0: the direct form gathers most
    pairs into its output and reads the last ones (the bottom border among them) in place."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    h, w, k = draw(st.integers(1, 16)), draw(st.integers(3, 16)), draw(st.integers(1, 3))
    s, d = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    pad = draw(st.sampled_from(["SAME", "VALID"]))
    cin, cout = draw(st.sampled_from([4, 8, 12, 16, 32])), draw(st.integers(1, 32))
    oh, ow = out_size(pad, h, k, s, d), out_size(pad, w, k, s, d)
    assume(oh > 0 and ow > 0)
    b = ModelBuilder()
    x = b.tensor([1, h, w, cin], scale=0.05, zero_point=int(rng.integers(-128, 128)))
    s_w = np.array([log_uniform(rng, 1e-3, 0.1) for _ in range(cout)], np.float32)
    wt = b.tensor([cout, k, k, cin], scale=s_w, zero_point=0, data=rng.integers(-127, 128, (cout, k, k, cin)))
    bt = b.tensor([cout], "int32", scale=0.05 * s_w.astype(np.float64), zero_point=0,
                  data=rng.integers(-3000, 3000, cout))  # fmt: skip
    y = b.tensor([1, oh, ow, cout], scale=float(0.05 * s_w.mean() * k * np.sqrt(cin) * rng.uniform(8, 40)),
                 zero_point=int(rng.integers(-128, 128)))  # fmt: skip
    act = draw(st.sampled_from(["NONE", "RELU"]))
    b.op("CONV_2D", [x, wt, bt], [y], conv2d_options(pad, s, s, d, d, act), "Conv2DOptions")
    return b.build([x], [y]), samples(rng, [1, h, w, cin])


@given(noscratch_case())
@settings(max_examples=examples(25))
def test_noscratch_form_equals_portable(case):
    model, xs = case
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "conv.tflite"
        path.write_bytes(model)
        portable, dsp = load(path), forced(load(path, DSP), "dsp_noscratch")
        (k,) = dsp.kernels
        assert k.fn == "en_conv2d_s8_dsp_direct" and k.scratch == 0
        event(_staging(k.params))
        expected = reference.run_batch(portable.graph, portable.kernels, xs)
        ref = reference.run_batch(dsp.graph, dsp.kernels, xs)
        np.testing.assert_array_equal(ref, expected)
        (out,) = run_on_host(compile_model(dsp, boards.load("mps2-an386"), Path(d) / "gen"), xs).values()
        np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize(
    "shape",
    [
        dict(h=8, w=8, cin=16, cout=16, k=(3, 3), pad="SAME"),  # ResNet's 3x3: gathered, the border rows in place
        dict(h=5, w=5, cin=64, cout=64, k=(1, 1), pad="VALID"),  # KWS's 1x1: gathered but the last pair
        dict(h=3, w=3, cin=8, cout=5, k=(3, 3), pad="SAME", dil=2),  # all in place, dilated, odd channels
        dict(h=1, w=30, cin=4, cout=16, k=(1, 7), pad="VALID", stride=2),  # the seizure CNN's Conv1D
        dict(h=6, w=7, cin=12, cout=7, k=(3, 2), pad="SAME", stride=2, act="RELU6"),  # strided, clamped
    ],
)
def test_noscratch_paths(shape):
    """The scratch-free form on shapes that take each of its paths, host C == reference == portable."""
    rng = np.random.default_rng(5)
    (kh, kw), dil, stride = shape["k"], shape.get("dil", 1), shape.get("stride", 1)
    oh, ow = out_size(shape["pad"], shape["h"], kh, stride, dil), out_size(shape["pad"], shape["w"], kw, stride, dil)
    b = ModelBuilder()
    x = b.tensor([1, shape["h"], shape["w"], shape["cin"]], scale=0.05, zero_point=-7)
    wt = b.tensor([shape["cout"], kh, kw, shape["cin"]], scale=np.full(shape["cout"], 0.01, np.float32), zero_point=0,
                  data=rng.integers(-127, 128, (shape["cout"], kh, kw, shape["cin"])))  # fmt: skip
    bt = b.tensor([shape["cout"]], "int32", scale=np.full(shape["cout"], 0.0005), zero_point=0,
                  data=rng.integers(-3000, 3000, shape["cout"]))  # fmt: skip
    y = b.tensor([1, oh, ow, shape["cout"]], scale=0.05 * 0.01 * np.sqrt(kh * kw * shape["cin"]) * 20, zero_point=3)
    opts = conv2d_options(shape["pad"], stride, stride, dil, dil, shape.get("act", "NONE"))
    b.op("CONV_2D", [x, wt, bt], [y], opts, "Conv2DOptions")
    xs = samples(rng, [1, shape["h"], shape["w"], shape["cin"]])
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "conv.tflite"
        path.write_bytes(b.build([x], [y]))
        portable = load(path)
        dsp = forced(load(path, DSP), "dsp_noscratch")
        assert dsp.kernels[0].fn == "en_conv2d_s8_dsp_direct" and dsp.kernels[0].scratch == 0
        expected = reference.run_batch(portable.graph, portable.kernels, xs)
        ref = reference.run_batch(dsp.graph, dsp.kernels, xs)
        np.testing.assert_array_equal(ref, expected)
        (out,) = run_on_host(compile_model(dsp, boards.load("mps2-an386"), Path(d) / "gen"), xs).values()
        np.testing.assert_array_equal(out, ref)


def test_pass_falls_back_to_the_form_without_scratch():
    """KWS's pointwise layers: the gathering form's 256 B of scratch would grow the arena (two
    8,000 B activations fill it), so the kernel-variants pass gives it up for the form without,
    and records why; the first layer (in_c 1) keeps its scratch, which fits."""
    model = MLPERF / "kws_ref_model.tflite"
    prepared = load(model, DSP)
    assert prepared.plan.arena_bytes == load(model).plan.arena_bytes == 16_000
    convs = [k for k in prepared.kernels if k.op.kind == "CONV_2D"]
    assert convs[0].fn == "en_conv2d_s8_dsp" and convs[0].scratch > 0 and "variant_dropped" not in convs[0].op.attrs
    for k in convs[1:]:
        assert (k.fn, k.scratch, k.op.attrs["variant"]) == ("en_conv2d_s8_dsp_direct", 0, "dsp_noscratch")
        dropped = k.op.attrs["variant_dropped"]
        assert (dropped["variant"], dropped["instead"]) == ("dsp", "dsp_noscratch")
        assert "256 B of scratch would grow the arena from 16,000" in dropped["why"]


def test_pass_gives_up_without_a_fallback():
    """in_c % 4 != 0 has no form without scratch: where the scratch would grow the arena (a
    one-layer model: its input and output are the arena) the layer keeps the portable kernel."""
    b = ModelBuilder()
    x = b.tensor([1, 6, 6, 3], scale=0.1, zero_point=0)
    wt = b.tensor([8, 3, 3, 3], "int8", scale=0.01, zero_point=0, data=np.ones((8, 3, 3, 3)))
    y = b.tensor([1, 6, 6, 8], scale=0.1, zero_point=0)
    b.op("CONV_2D", [x, wt, -1], [y], conv2d_options("SAME", 1, 1, 1, 1, "NONE"), "Conv2DOptions")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "conv.tflite"
        path.write_bytes(b.build([x], [y]))
        (k,) = load(path, DSP).kernels
    assert k.fn == "en_conv2d_s8" and "variant" not in k.op.attrs
    assert k.op.attrs["variant_dropped"]["variant"] == "dsp" and "instead" not in k.op.attrs["variant_dropped"]


def test_stream_round_trip():
    rng = np.random.default_rng(0)
    for oc, depth in ((1, 1), (2, 4), (5, 27), (8, 64), (9, 10)):
        w = rng.integers(-127, 128, (oc, 1, 1, depth)).astype(np.int8)
        fields = rng.integers(-(2**31), 2**31, (oc, 4))
        stream = conv2d.pack_stream(w, fields)
        assert stream.dtype == np.int32 and stream.size == oc * (4 + -(-depth // 4))
        w2, f2 = conv2d.unpack_stream(stream, w.shape)
        np.testing.assert_array_equal(w2, w)
        np.testing.assert_array_equal(f2, fields)


def _graph(cin: int, groups: int = 1, dtype: str = "int8"):
    b = ModelBuilder()
    x = b.tensor([1, 4, 4, cin], dtype, scale=0.1, zero_point=0)
    wt = b.tensor([4, 1, 1, cin // groups], "int8", scale=0.01, zero_point=0, data=np.ones((4, 1, 1, cin // groups)))
    y = b.tensor([1, 4, 4, 4], dtype, scale=0.1, zero_point=0)
    b.op("CONV_2D", [x, wt, -1], [y], conv2d_options("SAME", 1, 1, 1, 1, "NONE"), "Conv2DOptions")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "conv.tflite"
        path.write_bytes(b.build([x], [y]))
        return frontends.load(path)


def test_variant_only_for_int8_without_groups():
    g = _graph(8)
    assert conv2d.variant(g.ops[0], g, ("dsp",)) == "dsp"
    assert conv2d.variant(g.ops[0], g, ()) is None
    assert conv2d.variant(g.ops[0], g, ("mve",)) != "dsp"  # Helium's own kernel, or none
    grouped = _graph(8, groups=2)
    assert conv2d.variant(grouped.ops[0], grouped, ("dsp",)) is None
    wide = _graph(8, dtype="int16")
    assert conv2d.variant(wide.ops[0], wide, ("dsp",)) is None


@pytest.mark.sim
def test_kws_on_qemu_with_dsp_kernels(tmp_path):
    """The keyword-spotting model with every convolution on a DSP kernel, as firmware on QEMU's
    Cortex-M4, gives TFLM's stored output in the portable kernels' arena: the pointwise layers,
    whose 256 B of scratch memory would grow it, take the form without, still near 1.2
    instructions per MAC (a loose bound: TFLM with CMSIS-NN takes 2.09)."""
    model = MLPERF / "kws_ref_model.tflite"
    prepared = load(model, DSP)
    assert prepared.plan.arena_bytes == load(model).plan.arena_bytes
    convs = [k for k in prepared.kernels if k.op.kind == "CONV_2D"]
    assert [k.fn for k in convs] == ["en_conv2d_s8_dsp"] + 4 * ["en_conv2d_s8_dsp_direct"]
    res = run_on_board(prepared, boards.load("mps2-an386"), MLPERF / "kws_ref_model_input.npy", tmp_path, profile=True)
    expected = np.load(MLPERF / "kws_ref_model_expected_output.npy")
    np.testing.assert_array_equal(res.output.reshape(expected.shape), expected)
    for k, layer in zip(prepared.kernels, res.report["profile"], strict=True):
        if k.op.kind == "CONV_2D" and k.params["k_h"] * k.params["k_w"] == 1:
            assert layer["instructions"] / k.macs < 1.3, layer


@pytest.mark.sim
@pytest.mark.parametrize(
    "model",
    [
        MLPERF / "kws_ref_model.tflite",
        MLPERF / "vww_96_int8.tflite",
        MLPERF / "pretrainedResnet_quant.tflite",
        MLPERF.parent / "seizure" / "seizure_cnn1d.tflite",
    ],
    ids=lambda m: m.stem,
)
def test_models_on_qemu_within_the_portable_arena(model, tmp_path):
    """With the board's kernel variants each model gives TFLM's stored output on QEMU in no more
    arena than with the portable kernels, every convolution on a DSP kernel (the ones whose scratch
    would grow the arena on the form without)."""
    portable, prepared = load(model), load(model, DSP)
    assert prepared.plan.arena_bytes <= portable.plan.arena_bytes
    assert all(k.fn.startswith("en_conv2d_s8_dsp") for k in prepared.kernels if k.op.kind == "CONV_2D")
    stem = model.with_suffix("")
    res = run_on_board(prepared, boards.load("mps2-an386"), Path(f"{stem}_input.npy"), tmp_path)
    expected = np.load(f"{stem}_expected_output.npy")
    np.testing.assert_array_equal(res.output.reshape(expected.shape), expected)
