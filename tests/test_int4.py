"""int4 weights (TFLite INT4 tensors, two values a byte): FULLY_CONNECTED, CONV_2D and
DEPTHWISE_CONV_2D whose filter is INT4 compile to kernels that read the packed bytes
(firmware/kernels/*_s4.c) and compute TFLM's bits.

The pinned tflite_micro interpreter runs INT4 filters itself (it unpacks them into int8 scratch,
``tensor_utils::UnpackDenseInt4IntoInt8``), so every case is checked against TFLM running the INT4
model; each case also runs the same weights as an int8 model through TFLM, which must agree (a
check of the packing written here, independent of edgeneuro's). Per case: TFLM == the numpy
reference (portable and DSP kernels) == the generated C built for the host (portable and DSP).
The models' packed buffers are written here (``pack``), not with edgeneuro's helpers."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import examples, forced_variant, host_c_run, reference_run, tflm_run
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from opcheck import log_uniform, samples
from tflite_builder import ACT, PAD, ModelBuilder, S, conv2d_options, fc_options, options

from edgeneuro import boards, compiler, reference
from edgeneuro.errors import ModelError
from edgeneuro.ir.quant import pack_int4, unpack_int4
from edgeneuro.ops import fully_connected
from edgeneuro.ops.base import out_size
from edgeneuro.options import CompileOptions
from edgeneuro.runner import run_on_host

DSP = CompileOptions(features=("dsp",))


def pack(values) -> bytes:
    """TFLite's INT4 packing, written out: value 2i in the low nibble of byte i, 2i + 1 in the high."""
    flat = [int(v) for v in np.asarray(values).reshape(-1)]
    out = bytearray()
    for i in range(0, len(flat), 2):
        lo = flat[i] & 0xF
        hi = (flat[i + 1] & 0xF) if i + 1 < len(flat) else 0
        out.append(lo | (hi << 4))
    return bytes(out)


def as_int4(b: ModelBuilder, tensor: int, values) -> None:
    """Make the builder's constant ``tensor`` an INT4 tensor holding ``values``."""
    t = b.tensors[tensor]
    t.type = S.TensorType.INT4
    b.buffers[t.buffer].data = pack(values)


def _build(b: ModelBuilder, x: int, y: int, wt: int, w: np.ndarray) -> tuple[bytes, bytes]:
    """The model with int8 weights, then with the same weights as INT4."""
    int8 = b.build([x], [y])
    as_int4(b, wt, w)
    return int8, b.build([x], [y])


def weights(rng: np.random.Generator, shape) -> np.ndarray:
    """int4 weights: often the full range [-8, 7], sometimes the converter's [-7, 7]."""
    lo = -8 if rng.random() < 0.7 else -7
    return rng.integers(lo, 8, shape)


def fc_int4(rng, batches: int, depth: int, units: int, act: str = "NONE", with_bias: bool = True, big_scale=False):
    """One FULLY_CONNECTED with per-tensor int4 weights (TFLM takes no per-channel int4 there)."""
    s_in, s_w = log_uniform(rng, 1e-3, 1.0), log_uniform(rng, 1e-3, 0.1)
    spread = rng.uniform(0.05, 2.0) if big_scale else rng.uniform(2, 20) * np.sqrt(depth)
    s_out = float(np.float32(s_in * s_w * spread))
    zp = lambda: int(rng.choice([-128, int(rng.integers(-128, 128))]))  # noqa: E731
    b = ModelBuilder()
    x = b.tensor([batches, depth], scale=s_in, zero_point=zp())
    w = weights(rng, (units, depth))
    wt = b.tensor([units, depth], scale=s_w, zero_point=0, data=w)
    bias = b.tensor([units], "int32", scale=s_in * s_w, data=rng.integers(-3000, 3000, units)) if with_bias else -1
    y = b.tensor([batches, units], scale=s_out, zero_point=zp())
    b.op("FULLY_CONNECTED", [x, wt, bias], [y], fc_options(act), "FullyConnectedOptions")
    return (*_build(b, x, y, wt, w), samples(rng, [batches, depth]), w)


def conv_int4(rng, h, w_, cin, cout, k, stride=(1, 1), dil=(1, 1), pad="SAME", act="NONE", per_channel=True, groups=1,
              big_scale=False):  # fmt: skip
    """One CONV_2D with int4 weights [cout, kh, kw, cin / groups]. big_scale: multipliers near or
    above 0.5 (the DSP kernels' spec requantization instead of the short form)."""
    kh, kw = k
    oh, ow = out_size(pad, h, kh, stride[0], dil[0]), out_size(pad, w_, kw, stride[1], dil[1])
    fc = cin // groups
    s_in = log_uniform(rng, 1e-3, 1.0)
    s_w = np.array([log_uniform(rng, 1e-3, 0.1) for _ in range(cout if per_channel else 1)], np.float32)
    spread = rng.uniform(0.05, 2.0) if big_scale else np.sqrt(kh * kw * fc) * rng.uniform(2, 20)
    s_out = float(np.float32(s_in * float(s_w.mean()) * spread))
    zp = lambda: int(rng.choice([-128, int(rng.integers(-128, 128))]))  # noqa: E731
    b = ModelBuilder()
    x = b.tensor([1, h, w_, cin], scale=s_in, zero_point=zp())
    w = weights(rng, (cout, kh, kw, fc))
    wt = b.tensor([cout, kh, kw, fc], scale=s_w, zero_point=0, data=w)
    bias_scale = s_in * s_w.astype(np.float64)
    bias = b.tensor([cout], "int32", scale=bias_scale, data=rng.integers(-3000, 3000, cout))
    y = b.tensor([1, oh, ow, cout], scale=s_out, zero_point=zp())
    b.op("CONV_2D", [x, wt, bias], [y], conv2d_options(pad, stride[0], stride[1], dil[0], dil[1], act), "Conv2DOptions")
    return (*_build(b, x, y, wt, w), samples(rng, [1, h, w_, cin]), w)


def depthwise_int4(rng, h, w_, c, k, stride=(1, 1), pad="SAME", act="NONE", mult=1, per_channel=True):
    """One DEPTHWISE_CONV_2D with int4 weights [1, kh, kw, c * mult]."""
    kh, kw = k
    oh, ow = out_size(pad, h, kh, stride[0], 1), out_size(pad, w_, kw, stride[1], 1)
    cout = c * mult
    s_in = log_uniform(rng, 1e-3, 1.0)
    s_w = np.array([log_uniform(rng, 1e-3, 0.1) for _ in range(cout if per_channel else 1)], np.float32)
    s_out = float(np.float32(s_in * float(s_w.mean()) * np.sqrt(kh * kw) * rng.uniform(2, 20)))
    b = ModelBuilder()
    x = b.tensor([1, h, w_, c], scale=s_in, zero_point=int(rng.integers(-128, 128)))
    w = weights(rng, (1, kh, kw, cout))
    wt = b.tensor([1, kh, kw, cout], scale=s_w, zero_point=0, axis=3, data=w)
    bias = b.tensor([cout], "int32", scale=s_in * s_w.astype(np.float64), data=rng.integers(-3000, 3000, cout))
    y = b.tensor([1, oh, ow, cout], scale=s_out, zero_point=int(rng.integers(-128, 128)))
    opts = options("DepthwiseConv2DOptions", padding=PAD[pad], strideH=stride[0], strideW=stride[1],
                   depthMultiplier=mult, dilationHFactor=1, dilationWFactor=1,
                   fusedActivationFunction=ACT[act])  # fmt: skip
    b.op("DEPTHWISE_CONV_2D", [x, wt, bias], [y], opts, "DepthwiseConv2DOptions")
    return (*_build(b, x, y, wt, w), samples(rng, [1, h, w_, c]), w)


KERNELS = {  # portable, on a core with SIMD32
    "FULLY_CONNECTED": ("en_fully_connected_s4", "en_fully_connected_s4_dsp"),
    "CONV_2D": ("en_conv2d_s4", "en_conv2d_s4_dsp"),
    "DEPTHWISE_CONV_2D": ("en_depthwise_conv2d_s4", "en_depthwise_conv2d_s4"),
}


def check(int8: bytes | None, int4: bytes, x: np.ndarray, w: np.ndarray, tflm_int8: bool = True) -> None:
    """TFLM (INT4 model) == TFLM (int8 model) == references == host C, portable and DSP."""
    expected = tflm_run(int4, x)
    if tflm_int8:
        np.testing.assert_array_equal(tflm_run(int8, x), expected, err_msg="TFLM: INT4 model != int8 model")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "int4.tflite"
        path.write_bytes(int4)
        portable, dsp = compiler.load(path), compiler.load(path, DSP)
        op = portable.graph.ops[0]
        t = portable.graph.t(op.inputs[1])
        assert t.dtype == "int4"
        np.testing.assert_array_equal(t.data, w)  # the front end's unpacking
        (k,) = portable.kernels
        assert k.fn == KERNELS[op.kind][0]
        np.testing.assert_array_equal(reference_run(path, x), expected, err_msg="portable reference != TFLM")
        c = host_c_run(path, x, Path(d) / "gen")
        np.testing.assert_array_equal(c, expected, err_msg="host C (portable int4 kernel) != TFLM")
        forms = [None]  # what the op module picks; a convolution with in_c % 4 == 0 also its in-place form
        groups = op.kind == "CONV_2D" and t.shape[3] != portable.graph.t(op.inputs[0]).shape[3]
        if op.kind == "CONV_2D" and not groups and t.shape[3] % 4 == 0:
            forms.append("dsp_s4_direct")
        for form in forms:
            chosen = forced_variant(dsp, op.kind, form)  # even where its scratch would grow the arena
            (kd,) = chosen.kernels
            assert kd.fn == (k.fn if groups else "en_conv2d_s4_dsp_direct" if form else KERNELS[op.kind][1])
            got = reference.run_batch(chosen.graph, chosen.kernels, x)
            np.testing.assert_array_equal(got, expected, err_msg=f"DSP reference ({kd.fn}) != TFLM")
            if kd.fn != k.fn:
                built = compiler.compile_model(chosen, boards.load("mps2-an386"), Path(d) / f"gen_{form}")
                (c,) = run_on_host(built, x).values()
                np.testing.assert_array_equal(c, expected, err_msg=f"host C ({kd.fn}) != TFLM")


@st.composite
def fc_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return fc_int4(
        rng,
        batches=draw(st.sampled_from([1, 1, 2, 3])),
        depth=draw(st.one_of(st.integers(1, 20), st.integers(21, 300))),
        units=draw(st.integers(1, 13)),
        act=draw(st.sampled_from(["NONE", "RELU", "RELU6"])),
        with_bias=draw(st.integers(0, 4)) > 0,
        big_scale=draw(st.integers(0, 4)) == 0,
    )


@given(fc_case())
@settings(max_examples=examples(30))
def test_fully_connected_int4(case):
    check(*case)


@st.composite
def conv_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    k = (draw(st.sampled_from([1, 2, 3])), draw(st.sampled_from([1, 2, 3])))
    stride, dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2))), (draw(st.integers(1, 2)), 1)
    h, w, pad = draw(st.integers(1, 7)), draw(st.integers(1, 7)), draw(st.sampled_from(["SAME", "VALID"]))
    assume(out_size(pad, h, k[0], stride[0], dil[0]) > 0 and out_size(pad, w, k[1], stride[1], dil[1]) > 0)
    groups = draw(st.sampled_from([1, 1, 1, 2]))
    cin = groups * draw(st.sampled_from([1, 3, 4, 7, 16]))
    cout = groups * draw(st.integers(1, 6))
    act, big = draw(st.sampled_from(["NONE", "RELU6"])), draw(st.integers(0, 4)) == 0
    return conv_int4(rng, h, w, cin, cout, k, stride, dil, pad, act, per_channel=draw(st.booleans()), groups=groups,
                     big_scale=big)  # fmt: skip


@given(conv_case())
@settings(max_examples=examples(25))
def test_conv2d_int4(case):
    check(*case)


@st.composite
def depthwise_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    k = (draw(st.sampled_from([1, 3])), draw(st.sampled_from([1, 2, 3])))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    h, w, pad = draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.sampled_from(["SAME", "VALID"]))
    assume(out_size(pad, h, k[0], stride[0], 1) > 0 and out_size(pad, w, k[1], stride[1], 1) > 0)
    return depthwise_int4(rng, h, w, draw(st.sampled_from([1, 3, 5, 8])), k, stride, pad,
                          act=draw(st.sampled_from(["NONE", "RELU"])), mult=draw(st.sampled_from([1, 1, 2])),
                          per_channel=draw(st.booleans()))  # fmt: skip


@given(depthwise_case())
@settings(max_examples=examples(20))
def test_depthwise_int4(case):
    check(*case)


@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.integers(1, 70))
@settings(max_examples=examples(40))
def test_packings_round_trip(seed, units, depth):
    """The front end's unpacking reads this file's packing; edgeneuro's packing writes it; the DSP
    kernel's word layout gives every weight back."""
    rng = np.random.default_rng(seed)
    w = rng.integers(-8, 8, (units, depth))
    packed = np.frombuffer(pack(w), np.uint8)
    np.testing.assert_array_equal(unpack_int4(packed, w.size).reshape(w.shape), w)
    np.testing.assert_array_equal(pack_int4(w), packed)
    stream = fully_connected.pack_s4_rows(w)
    assert stream.dtype == np.int32
    assert len(stream) == -(-units // 2) * -(-depth // 4)  # a word per 4 inputs of each row pair
    np.testing.assert_array_equal(fully_connected.unpack_s4_rows(stream, units, depth), w)


def test_out_of_range_values_are_refused():
    with pytest.raises(ValueError, match=r"\[-8, 7\]"):
        pack_int4(np.array([3, 8]))


def test_weights_bytes_count_the_packed_bytes(tmp_path):
    """The plan's weights of an int4 layer are the int8 model's less half the weights (rounded
    down), on the portable kernels; inspect names the format and counts every parameter."""
    rng = np.random.default_rng(4)
    for int8, int4, _, w in (conv_int4(rng, 6, 6, 5, 7, (3, 3)), fc_int4(rng, 1, 37, 9)):
        (tmp_path / "a.tflite").write_bytes(int8)
        (tmp_path / "b.tflite").write_bytes(int4)
        p8 = compiler.load(tmp_path / "a.tflite", CompileOptions(kernels="reference"))
        p4 = compiler.load(tmp_path / "b.tflite", CompileOptions(kernels="reference"))
        assert p8.plan.weights_bytes - p4.plan.weights_bytes == w.size - (w.size + 1) // 2
        assert p4.plan.layers[0]["weights_bytes"] == p4.plan.weights_bytes
        inspect = [sys.executable, "-m", "edgeneuro.cli", "inspect", str(tmp_path / "b.tflite"), "--board"]
        inspect.append("mps2-an386")
        doc = json.loads(subprocess.run([*inspect, "--json"], capture_output=True, text=True, check=False).stdout)
        (layer,) = doc["layers"]
        assert layer["weights_format"] == "int4"
        assert layer["params"] == w.size + w.shape[0]  # weights and biases
        m4 = compiler.load(tmp_path / "b.tflite", DSP)  # inspect plans with the M4's kernels
        assert layer["weights_bytes"] == m4.plan.weights_bytes
        text = subprocess.run(inspect, capture_output=True, text=True, check=False).stdout
        assert "format" in text.splitlines()[0] and "int4" in text.splitlines()[2]


def test_dsp_fc_weights_are_half_the_int8_dsp_weights(tmp_path):
    """On the M4 the int4 DSP layer's weight words are about half the int8 DSP layer's bytes."""
    rng = np.random.default_rng(6)
    int8, int4, _, w = fc_int4(rng, 1, 256, 32)
    (tmp_path / "a.tflite").write_bytes(int8)
    (tmp_path / "b.tflite").write_bytes(int4)
    (k8,), (k4,) = compiler.load(tmp_path / "a.tflite", DSP).kernels, compiler.load(tmp_path / "b.tflite", DSP).kernels
    assert k4.fn == "en_fully_connected_s4_dsp"
    assert dict(k4.consts)["weights"].nbytes == w.size // 2
    assert dict(k8.consts)["weights"].nbytes == w.size


# Errors: INT4 tensors where TFLM does not take them, named with the tensor and the operator.


def _error(tmp_path, model: bytes) -> str:
    path = tmp_path / "bad.tflite"
    path.write_bytes(model)
    with pytest.raises(ModelError) as e:
        compiler.load(path)
    return str(e.value)


def test_int4_where_tflm_refuses_it(tmp_path):
    rng = np.random.default_rng(1)
    # per-channel int4 FULLY_CONNECTED: TFLM refuses it
    b = ModelBuilder()
    x = b.tensor([1, 6], scale=0.1, zero_point=0)
    w = rng.integers(-8, 8, (3, 6))
    wt = b.tensor([3, 6], scale=[0.1, 0.2, 0.3], zero_point=0, data=w, name="dense_w")
    y = b.tensor([1, 3], scale=0.5, zero_point=0)
    b.op("FULLY_CONNECTED", [x, wt, -1], [y], fc_options("NONE"), "FullyConnectedOptions")
    int8, int4 = _build(b, x, y, wt, w)
    with pytest.raises(RuntimeError):
        tflm_run(int4, np.zeros((1, 6), np.int8))
    msg = _error(tmp_path, int4)
    assert "dense_w" in msg and "FULLY_CONNECTED" in msg and "per-channel" in msg
    # int16 activations with int4 weights: TFLM refuses them
    b = ModelBuilder()
    x = b.tensor([1, 6], "int16", scale=0.1, zero_point=0)
    wt = b.tensor([3, 6], scale=0.1, zero_point=0, data=w, name="w16")
    y = b.tensor([1, 3], "int16", scale=0.5, zero_point=0)
    b.op("FULLY_CONNECTED", [x, wt, -1], [y], fc_options("NONE"), "FullyConnectedOptions")
    _, int4 = _build(b, x, y, wt, w)
    with pytest.raises(RuntimeError):
        tflm_run(int4, np.zeros((1, 6), np.int16))
    msg = _error(tmp_path, int4)
    assert "w16" in msg and "int16" in msg and "#0" in msg
    # an int4 operand of an operator other than the three layers
    b = ModelBuilder()
    x = b.tensor([1, 4], scale=0.1, zero_point=0)
    c = b.tensor([1, 4], scale=0.1, zero_point=0, data=np.array([[1, -2, 3, -8]]), name="addend")
    y = b.tensor([1, 4], scale=0.2, zero_point=0)
    b.op("ADD", [x, c], [y], options("AddOptions"), "AddOptions")
    as_int4(b, c, [1, -2, 3, -8])
    msg = _error(tmp_path, b.build([x], [y]))
    assert "addend" in msg and "ADD" in msg and "only as the weights" in msg


def test_truncated_int4_buffer(tmp_path):
    rng = np.random.default_rng(2)
    b = ModelBuilder()
    x = b.tensor([1, 4, 4, 3], scale=0.1, zero_point=0)
    w = rng.integers(-8, 8, (5, 3, 3, 3))  # 135 values: 68 bytes
    wt = b.tensor([5, 3, 3, 3], scale=[0.1] * 5, zero_point=0, data=w, name="kernel4")
    y = b.tensor([1, 4, 4, 5], scale=0.5, zero_point=0)
    b.op("CONV_2D", [x, wt, -1], [y], conv2d_options("SAME", 1, 1, 1, 1, "NONE"), "Conv2DOptions")
    as_int4(b, wt, w)
    b.buffers[b.tensors[wt].buffer].data = pack(w)[:-1]
    msg = _error(tmp_path, b.build([x], [y]))
    assert "kernel4" in msg and "CONV_2D" in msg and "67 bytes, not the 68" in msg


@pytest.mark.sim
@pytest.mark.parametrize("which", ["fc", "conv", "conv_direct"])
def test_on_qemu(which, tmp_path):
    """The firmware on QEMU mps2-an386 (Cortex-M4, the int4 DSP kernels) == TFLM."""
    from edgeneuro import boards
    from edgeneuro.options import board_features
    from edgeneuro.runner import run_on_board

    rng = np.random.default_rng(9)
    cases = {
        "fc": (lambda: fc_int4(rng, 1, 203, 13), "en_fully_connected_s4_dsp"),
        "conv": (lambda: conv_int4(rng, 6, 5, 7, 6, (3, 3), (2, 1)), "en_conv2d_s4_dsp"),
        "conv_direct": (lambda: conv_int4(rng, 7, 6, 8, 7, (3, 2), (1, 2), (2, 1)), "en_conv2d_s4_dsp_direct"),
    }
    make, fn = cases[which]
    _, int4, x, _ = make()
    path = tmp_path / "m.tflite"
    path.write_bytes(int4)
    np.save(tmp_path / "x.npy", x)
    board = boards.load("mps2-an386")
    prepared = compiler.load(path, CompileOptions(features=board_features(board)))
    variant = "dsp_s4_direct" if which == "conv_direct" else None  # None: what the op module picks
    # a one-layer model: the pass would give up a variant whose scratch grows the arena
    prepared = forced_variant(prepared, prepared.graph.ops[0].kind, variant)
    assert prepared.kernels[0].fn == fn
    res = run_on_board(prepared, board, tmp_path / "x.npy", tmp_path / "build")
    np.testing.assert_array_equal(res.output, tflm_run(int4, x))


# `compress --quantize int8w4` (edgeneuro/compress/int4.py): the converter's int8 filters of
# FULLY_CONNECTED and CONV_2D stored as INT4.


def test_rewrite_int4_requantizes_filters_and_biases(tmp_path):
    """rewrite_int4 on an int8 CONV_2D + FULLY_CONNECTED model: each filter becomes INT4 (CONV_2D per
    channel, FULLY_CONNECTED per tensor) with scale 127/7 times the int8 one (the largest of the
    channels for FULLY_CONNECTED), codes round(q8 * s8 / s4), biases round(b * s8 / s4); a depthwise
    filter stays int8; TFLM runs the result and edgeneuro computes its bits."""
    from edgeneuro.compress.int4 import rewrite_int4

    rng = np.random.default_rng(12)
    b = ModelBuilder()
    x = b.tensor([1, 5, 5, 2], scale=0.05, zero_point=-3)
    s_c = np.array([0.02, 0.03, 0.01], np.float32)
    qc = rng.integers(-127, 128, (3, 3, 3, 2))
    wc = b.tensor([3, 3, 3, 2], scale=s_c, zero_point=0, data=qc, name="conv_w")
    bc_data = rng.integers(-5000, 5000, 3)
    bc = b.tensor([3], "int32", scale=0.05 * s_c.astype(np.float64), data=bc_data)
    h = b.tensor([1, 5, 5, 3], scale=0.2, zero_point=1)
    b.op("CONV_2D", [x, wc, bc], [h], conv2d_options("SAME", 1, 1, 1, 1, "RELU"), "Conv2DOptions")
    wd = b.tensor([1, 3, 3, 3], scale=[0.02] * 3, zero_point=0, axis=3, data=rng.integers(-127, 128, (1, 3, 3, 3)),
                  name="dw_w")  # fmt: skip
    d = b.tensor([1, 5, 5, 3], scale=0.3, zero_point=0)
    opts = options("DepthwiseConv2DOptions", padding=PAD["SAME"], strideH=1, strideW=1, depthMultiplier=1,
                   dilationHFactor=1, dilationWFactor=1, fusedActivationFunction=0)  # fmt: skip
    bd = b.tensor([3], "int32", scale=[0.2 * 0.02] * 3, data=rng.integers(-99, 99, 3))  # TFLM needs it
    b.op("DEPTHWISE_CONV_2D", [h, wd, bd], [d], opts, "DepthwiseConv2DOptions")
    s_f = np.array([0.004, 0.008, 0.002, 0.005], np.float32)
    qf = rng.integers(-127, 128, (4, 75))
    wf = b.tensor([4, 75], scale=s_f, zero_point=0, data=qf, name="fc_w")
    bf_data = rng.integers(-5000, 5000, 4)
    bf = b.tensor([4], "int32", scale=0.3 * s_f.astype(np.float64), data=bf_data)
    y = b.tensor([1, 4], scale=1.0, zero_point=0)
    b.op("FULLY_CONNECTED", [d, wf, bf], [y], fc_options("NONE"), "FullyConnectedOptions")  # flattens d
    blob, layers = rewrite_int4(b.build([x], [y]))
    assert [(e["name"], e["op"], e["per_channel"]) for e in layers] == [("conv_w", "CONV_2D", True),
                                                                        ("fc_w", "FULLY_CONNECTED", False)]  # fmt: skip
    path = tmp_path / "w4.tflite"
    path.write_bytes(blob)
    g = compiler.load(path).graph
    conv, dw, fc = g.t("conv_w"), g.t("dw_w"), g.t("fc_w")
    assert (conv.dtype, dw.dtype, fc.dtype) == ("int4", "int8", "int4")
    s4c = (s_c.astype(np.float64) * 127 / 7).astype(np.float32)
    np.testing.assert_allclose(conv.quant.scale, s4c, rtol=0)
    ratio_c = s_c.astype(np.float64) / s4c.astype(np.float64)
    np.testing.assert_array_equal(conv.data, np.clip(np.round(qc * ratio_c[:, None, None, None]), -7, 7))
    s4f = np.float32(float(s_f.max()) * 127 / 7)
    assert fc.quant.scale == (float(s4f),)
    ratio_f = s_f.astype(np.float64) / float(s4f)
    np.testing.assert_array_equal(fc.data, np.round(qf * ratio_f[:, None]))
    conv_op, _, fc_op = g.ops
    np.testing.assert_array_equal(g.t(conv_op.inputs[2]).data, np.round(bc_data * ratio_c))
    np.testing.assert_array_equal(g.t(fc_op.inputs[2]).data, np.round(bf_data * ratio_f))
    xs = samples(rng, [1, 5, 5, 2], 4)
    np.testing.assert_array_equal(reference_run(path, xs), tflm_run(blob, xs))
    np.testing.assert_array_equal(host_c_run(path, xs, tmp_path / "gen", ("dsp",)), tflm_run(blob, xs))


@pytest.fixture(scope="module")
def keras_models(tmp_path_factory):
    """A Conv1D + Dense classifier written by Keras 3 and by tf_keras, trained briefly, its data, and a
    model without Dense or Conv layers."""
    import keras
    import tf_keras

    import edgeneuro.models  # noqa: F401  (tf_keras for tf.keras, before TensorFlow loads)

    d = tmp_path_factory.mktemp("int8w4")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 240)
    x = rng.normal(size=(240, 32, 3)).astype(np.float32)
    x[np.arange(240), :, y] += 1.0
    np.save(d / "x.npy", x)
    np.save(d / "y.npy", y)
    for k, name in ((keras, "k3.keras"), (tf_keras, "tk.h5")):
        k.utils.set_random_seed(0)
        m = k.Sequential([k.Input((32, 3)), k.layers.Conv1D(8, 3, activation="relu"), k.layers.GlobalAveragePooling1D(),
                          k.layers.Dense(16, activation="relu"), k.layers.Dense(3, activation="softmax")])  # fmt: skip
        m.compile(optimizer=k.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
        m.fit(x, y, epochs=6, batch_size=32, verbose=0)
        m.save(d / name)
    keras.Sequential([keras.Input((32, 3)), keras.layers.GlobalAveragePooling1D()]).save(d / "none.keras")
    return d


@pytest.mark.slow
@pytest.mark.parametrize("name", ["k3.keras", "tk.h5"])
def test_compress_int8w4(name, keras_models, capsys, tmp_path):
    """int8w4 writes INT4 filters for the Conv1D (CONV_2D, per channel) and both Dense layers
    (FULLY_CONNECTED, per tensor), reports an int8 and an int8w4 step with fewer weight bytes and
    their accuracy, and edgeneuro computes TFLM's bits on the model it wrote."""
    from edgeneuro.cli import main

    d = keras_models
    out = tmp_path / "m.tflite"
    code = main(["compress", str(d / name), "--quantize", "int8w4", "--fit", str(d / "x.npy"), str(d / "y.npy"),
                 "-o", str(out), "--json"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    r = json.loads(captured.out)
    steps = {s["step"]: s for s in r["steps"]}
    assert list(steps) == ["float", "int8", "int8w4"]
    assert steps["int8w4"]["weights_bytes"] < steps["int8"]["weights_bytes"]
    assert steps["int8w4"]["accuracy"] is not None and steps["int8w4"]["accuracy"] > 0.6
    assert sorted(e["op"] for e in r["int4"]["layers"]) == ["CONV_2D", "FULLY_CONNECTED", "FULLY_CONNECTED"]
    assert len(r["int4"]["snapped"]) == 3  # the Conv1D and Dense kernels
    assert max(e["max_rounding"] for e in r["int4"]["layers"]) < 0.05  # snapped first: no second rounding
    prepared = compiler.load(out)
    g = prepared.graph
    int4 = {op.kind: g.t(op.inputs[1]) for op in g.ops if op.kind in ("CONV_2D", "FULLY_CONNECTED")}
    assert all(t.dtype == "int4" for t in int4.values())
    assert int4["CONV_2D"].quant.per_channel and not int4["FULLY_CONNECTED"].quant.per_channel
    assert all(np.abs(t.data).max() <= 7 for t in int4.values())
    t = g.t(g.inputs[0])
    xs = np.load(d / "x.npy")[:40]
    xq = np.clip(np.round(xs / t.scale) + t.zero_point, -128, 127).astype(np.int8)
    np.testing.assert_array_equal(reference_run(out, xq), tflm_run(out, xq))


@pytest.mark.slow
def test_compress_int8w4_needs_fc_or_conv_weights(keras_models, capsys, tmp_path):
    from edgeneuro.cli import main

    out = tmp_path / "m.tflite"
    code = main(["compress", str(keras_models / "none.keras"), "--quantize", "int8w4", "--calibrate",
                 str(keras_models / "x.npy"), "-o", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert code != 0 and "int8w4" in err and "none" in err and not out.exists()


def test_both_requantizations_occur(tmp_path):
    """The DSP kernels' fields take the short requantization where it is exact (fast = 1) and the
    spec's where a multiplier is >= 0.5 (fast = 0); both forms compute TFLM's bits (above), here
    each is pinned once for FULLY_CONNECTED and CONV_2D."""
    rng = np.random.default_rng(21)
    seen = set()
    for big in (False, True):
        cases = (fc_int4(rng, 2, 37, 11, big_scale=big), conv_int4(rng, 5, 5, 8, 6, (3, 3), big_scale=big))
        for _, int4, x, w in cases:
            check(None, int4, x, w, tflm_int8=False)
            (tmp_path / "m.tflite").write_bytes(int4)
            prepared = compiler.load(tmp_path / "m.tflite", DSP)
            (k,) = forced_variant(prepared, prepared.graph.ops[0].kind).kernels
            seen.add((k.op.kind, k.params["fast"]))
    assert seen == {("FULLY_CONNECTED", 1), ("FULLY_CONNECTED", 0), ("CONV_2D", 1), ("CONV_2D", 0)}
