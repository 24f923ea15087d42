"""CONV_2D's DSP kernel (firmware/kernels/conv2d_dsp.c) gives the portable kernel's bits: chosen for
int8 convolutions without groups when the core has the DSP extension, its numpy reference equals the
portable reference, and its C (built for the host, so through en_simd.h's plain-C twins) equals
its reference, over shapes (1x1 to 5x5, strides, dilations, SAME/VALID, the Conv1D form), input
channels that are and are not multiples of 4, odd output channels and pixel counts, zero points,
per-channel scales, dead channels and multipliers above one (the exact requantization)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import MLPERF
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from opcheck import log_uniform, samples
from tflite_builder import ModelBuilder, conv2d_options

from edgeneuro import boards, frontends, reference
from edgeneuro.compiler import compile_model, load
from edgeneuro.ops import conv2d
from edgeneuro.ops.base import out_size
from edgeneuro.options import CompileOptions
from edgeneuro.runner import run_on_board, run_on_host

DSP = CompileOptions(features=("dsp",))


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
@settings(max_examples=40)
def test_dsp_kernel_equals_portable(case):
    model, xs = case
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "conv.tflite"
        path.write_bytes(model)
        portable, dsp = load(path), load(path, DSP)
        assert portable.kernels[0].fn == "en_conv2d_s8"
        (k,) = dsp.kernels
        assert (k.fn, k.c_file) == ("en_conv2d_s8_dsp", "conv2d_dsp")
        assert k.scratch == conv2d.dsp_scratch(k.params)
        event("short requantization" if k.params["fast"] else "exact requantization")
        event("in_c % 4 == 0" if k.params["in_c"] % 4 == 0 else "in_c % 4 != 0")
        expected = reference.run_batch(portable.graph, portable.kernels, xs)
        ref = reference.run_batch(dsp.graph, dsp.kernels, xs)
        np.testing.assert_array_equal(ref, expected, err_msg=f"DSP reference != portable (fast={k.params['fast']})")
        c = compile_model(dsp, boards.load("mps2-an386"), Path(d) / "gen")
        (out,) = run_on_host(c, xs).values()
        np.testing.assert_array_equal(out, ref, err_msg=f"host C != DSP reference (fast={k.params['fast']})")


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
    assert conv2d.variant(g.ops[0], g, ("mve",)) is None
    grouped = _graph(8, groups=2)
    assert conv2d.variant(grouped.ops[0], grouped, ("dsp",)) is None
    wide = _graph(8, dtype="int16")
    assert conv2d.variant(wide.ops[0], wide, ("dsp",)) is None


@pytest.mark.sim
def test_kws_on_qemu_with_dsp_kernels(tmp_path):
    """The keyword-spotting model with every convolution on the DSP kernel, as firmware on QEMU's
    Cortex-M4, gives TFLM's stored output; the pointwise convolutions stay near 1.2 instructions
    per MAC (a loose bound: TFLM with CMSIS-NN takes 2.09)."""
    model = MLPERF / "kws_ref_model.tflite"
    if not model.exists():
        pytest.skip(f"{model} is not here")
    prepared = load(model, DSP)
    convs = [k for k in prepared.kernels if k.op.kind == "CONV_2D"]
    assert convs and all(k.fn == "en_conv2d_s8_dsp" for k in convs)
    res = run_on_board(prepared, boards.load("mps2-an386"), MLPERF / "kws_ref_model_input.npy", tmp_path, profile=True)
    expected = np.load(MLPERF / "kws_ref_model_expected_output.npy")
    np.testing.assert_array_equal(res.output.reshape(expected.shape), expected)
    for k, layer in zip(prepared.kernels, res.report["profile"], strict=True):
        if k.fn == "en_conv2d_s8_dsp" and k.params["k_h"] * k.params["k_w"] == 1:
            assert layer["instructions"] / k.macs < 1.5, layer
