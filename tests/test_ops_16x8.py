"""TFLite's 16x8 mode (int16 activations with zero point 0, int8 weights, int64 biases) for
CONV_2D, FULLY_CONNECTED and ADD/SUB/MUL: reference == TFLM, host C == reference, bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from opcheck import check, log_uniform
from tflite_builder import ACT, ModelBuilder, conv2d_options, fc_options, options

from edgeneuro.ops.base import out_size

ACTS = st.sampled_from(["NONE", "RELU", "RELU6"])


def samples16(rng: np.random.Generator, shape: list[int], n: int = 3) -> np.ndarray:
    return rng.integers(-32768, 32768, (n, *(shape[1:] if shape[0] == 1 else shape)), dtype=np.int16)


@st.composite
def conv16(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    h, w, cin, cout = draw(st.integers(1, 8)), draw(st.integers(1, 8)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    kh, kw, sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    pad, act = draw(st.sampled_from(["SAME", "VALID"])), draw(ACTS)
    oh, ow = out_size(pad, h, kh, sh, 1), out_size(pad, w, kw, sw, 1)
    assume(oh > 0 and ow > 0)
    s_in = log_uniform(rng, 1e-4, 1e-2)
    s_w = np.array([log_uniform(rng, 1e-3, 0.1) for _ in range(cout)], np.float32)
    s_out = float(np.float32(s_in * float(s_w.mean()) * np.sqrt(kh * kw * cin) * rng.uniform(50, 400)))
    b = ModelBuilder()
    x = b.tensor([1, h, w, cin], "int16", scale=s_in, zero_point=0)
    wt = b.tensor([cout, kh, kw, cin], scale=s_w, zero_point=0, data=rng.integers(-127, 128, (cout, kh, kw, cin)))
    bias = b.tensor([cout], "int64", scale=s_in * s_w.astype(np.float64), zero_point=0,
                    data=rng.integers(-(2**20), 2**20, cout))  # fmt: skip
    y = b.tensor([1, oh, ow, cout], "int16", scale=s_out, zero_point=0)
    b.op("CONV_2D", [x, wt, bias], [y], conv2d_options(pad, sh, sw, 1, 1, act), "Conv2DOptions")
    return b.build([x], [y]), samples16(rng, [1, h, w, cin])


@st.composite
def fc16(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    depth, units, act = draw(st.integers(1, 48)), draw(st.integers(1, 16)), draw(ACTS)
    s_in, s_w = log_uniform(rng, 1e-4, 1e-2), log_uniform(rng, 1e-3, 0.1)
    s_out = float(np.float32(s_in * s_w * np.sqrt(depth) * rng.uniform(50, 400)))
    b = ModelBuilder()
    x = b.tensor([1, depth], "int16", scale=s_in, zero_point=0)
    w = b.tensor([units, depth], scale=s_w, zero_point=0, data=rng.integers(-127, 128, (units, depth)))
    bias = b.tensor([units], "int64", scale=s_in * s_w, zero_point=0, data=rng.integers(-(2**20), 2**20, units))
    y = b.tensor([1, units], "int16", scale=s_out, zero_point=0)
    b.op("FULLY_CONNECTED", [x, w, bias], [y], fc_options(act), "FullyConnectedOptions")
    return b.build([x], [y]), samples16(rng, [1, depth])


@st.composite
def add16(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind, act = draw(st.sampled_from(["ADD", "SUB", "MUL"])), draw(ACTS)
    shape = [1] + [draw(st.integers(1, 5)) for _ in range(draw(st.integers(1, 3)))]
    other = [d if draw(st.booleans()) else 1 for d in shape]
    s_a, s_b = log_uniform(rng, 1e-4, 1e-2), log_uniform(rng, 1e-4, 1e-2)
    s_out = float(np.float32((s_a * s_b * 16384 if kind == "MUL" else max(s_a, s_b)) * rng.uniform(0.5, 3)))
    b = ModelBuilder()
    xa = b.tensor(shape, "int16", scale=s_a, zero_point=0)
    xb = b.tensor(other, "int16", scale=s_b, zero_point=0, data=rng.integers(-32768, 32768, other))
    y = b.tensor(shape, "int16", scale=s_out, zero_point=0)
    opt = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions"}[kind]
    b.op(kind, [xa, xb], [y], options(opt, fusedActivationFunction=ACT[act]), opt)
    return b.build([xa], [y]), samples16(rng, shape)


@given(st.one_of(conv16(), fc16(), add16()))
@settings(max_examples=60)
def test_16x8(case):
    check(*case)


def test_sub_rescales_in_double():
    """SUB's multipliers are quotients in double of the float32 scales (TFLM's sub_common.cc), as
    ADD's: with float32 quotients their last bits differ, and so do some of these 4,096 outputs."""
    rng = np.random.default_rng(12)
    b = ModelBuilder()
    xa = b.tensor([1, 4096], "int16", scale=0.0013173, zero_point=0)
    xb = b.tensor([1, 4096], "int16", scale=0.00071, zero_point=0, data=rng.integers(-32768, 32768, (1, 4096)))
    y = b.tensor([1, 4096], "int16", scale=0.0021, zero_point=0)
    b.op("SUB", [xa, xb], [y], options("SubOptions", fusedActivationFunction=ACT["NONE"]), "SubOptions")
    check(b.build([xa], [y]), samples16(rng, [1, 4096], n=4))
