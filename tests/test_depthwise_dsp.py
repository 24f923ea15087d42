"""DEPTHWISE_CONV_2D's DSP kernel (firmware/kernels/depthwise_conv2d_dsp.c, chosen with the core
feature ``dsp``) computes the portable kernel's bits: over randomized shapes, zero points and
per-channel scales, its numpy reference (from the re-laid-out constants) == the portable reference,
and its C built for the host (the plain-C twins of en_simd.h) == its reference; on QEMU (the SIMD
instructions themselves), VWW == TFLM's stored output and a few single-layer models == the
reference. Where the output has the input's shape and every input row enters the kernel's ring
before the output row over it is written (dsp_inplace: stride 1 SAME, any window and dilation),
the kernel writes its output over its input: the one-layer models here put the two in the same
bytes (the graph input dies at the layer), so the host C checks run in place."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import MLPERF, examples, forced_variant
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from opcheck import log_uniform, samples
from tflite_builder import ACT, PAD, ModelBuilder, options

from edgeneuro import boards, compiler, reference
from edgeneuro.ops import depthwise_conv2d
from edgeneuro.ops.base import out_size
from edgeneuro.options import CompileOptions
from edgeneuro.runner import run_on_board, run_on_host

DSP = CompileOptions(features=("dsp",))
FN = "en_depthwise_conv2d_s8_dsp"


def depthwise_model(
    rng: np.random.Generator,
    h: int,
    w: int,
    c: int,
    k: tuple[int, int],
    stride: tuple[int, int] = (1, 1),
    dil: tuple[int, int] = (1, 1),
    pad: str = "SAME",
    act: str = "NONE",
    per_channel: bool = True,
    big_scale: bool = False,
    mult: int = 1,
    batch: int = 1,
) -> tuple[bytes, np.ndarray]:
    """A single DEPTHWISE_CONV_2D model and int8 samples for it. big_scale: output scales that make
    some requantization multipliers >= 0.5 (the DSP kernel's exact fallback)."""
    kh, kw = k
    oh, ow = out_size(pad, h, kh, stride[0], dil[0]), out_size(pad, w, kw, stride[1], dil[1])
    cout = c * mult
    s_in = log_uniform(rng, 1e-3, 1.0)
    s_w = np.array([log_uniform(rng, 1e-3, 0.1) for _ in range(cout if per_channel else 1)], np.float32)
    spread = rng.uniform(0.2, 2.5) if big_scale else rng.uniform(4, 40) * np.sqrt(kh * kw)
    s_out = float(np.float32(s_in * float(s_w.mean()) * spread))
    zp = lambda: int(rng.choice([-128, int(rng.integers(-128, 128))]))  # noqa: E731
    b = ModelBuilder()
    x = b.tensor([batch, h, w, c], scale=s_in, zero_point=zp())
    wt = b.tensor([1, kh, kw, cout], scale=s_w, zero_point=0, axis=3, data=rng.integers(-127, 128, (1, kh, kw, cout)))
    bias = b.tensor([cout], "int32", scale=s_in * s_w.astype(np.float64), zero_point=0,
                    data=rng.integers(-3000, 3000, cout))  # fmt: skip
    y = b.tensor([batch, oh, ow, cout], scale=s_out, zero_point=zp())
    opts = options("DepthwiseConv2DOptions", padding=PAD[pad], strideH=stride[0], strideW=stride[1],
                   depthMultiplier=mult, dilationHFactor=dil[0], dilationWFactor=dil[1],
                   fusedActivationFunction=ACT[act])  # fmt: skip
    b.op("DEPTHWISE_CONV_2D", [x, wt, bias], [y], opts, "DepthwiseConv2DOptions")
    return b.build([x], [y]), samples(rng, [batch, h, w, c])


@st.composite
def dsp_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    square = draw(st.booleans())
    kh = draw(st.sampled_from([3, 3, 1, 2, 4, 5]))
    kw = kh if square else draw(st.integers(1, 5))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dil = (draw(st.sampled_from([1, 1, 2])), draw(st.sampled_from([1, 1, 2])))
    h, w, pad = draw(st.integers(1, 9)), draw(st.integers(1, 9)), draw(st.sampled_from(["SAME", "VALID"]))
    assume(out_size(pad, h, kh, stride[0], dil[0]) > 0 and out_size(pad, w, kw, stride[1], dil[1]) > 0)
    return depthwise_model(
        rng, h, w, draw(st.integers(1, 20)), (kh, kw), stride, dil, pad,
        act=draw(st.sampled_from(["NONE", "RELU", "RELU6"])),
        per_channel=draw(st.booleans()),
        big_scale=draw(st.integers(0, 5)) == 0,
        batch=draw(st.sampled_from([1, 1, 1, 2])),
    )  # fmt: skip


def forced(prepared: compiler.Prepared) -> compiler.Prepared:
    return forced_variant(prepared, "DEPTHWISE_CONV_2D", "dsp")


def check_dsp(model: bytes, x: np.ndarray, host_c: bool = True) -> compiler.Prepared:
    """The DSP variant is chosen where it does not grow the arena, its reference == the portable
    reference, its host C == both (in place where the kernel declares it)."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "dw.tflite"
        path.write_bytes(model)
        portable, auto = compiler.load(path), compiler.load(path, DSP)
        assert [k.fn for k in portable.kernels] == ["en_depthwise_conv2d_s8"]
        assert auto.plan.arena_bytes <= portable.plan.arena_bytes
        assert [k.fn for k in auto.kernels] in ([FN], ["en_depthwise_conv2d_s8"])
        dsp = forced(auto)
        (k,) = dsp.kernels
        assert k.fn == FN and k.c_file == "depthwise_conv2d_dsp" and k.scratch == depthwise_conv2d.dsp_scratch(k.params)
        assert k.inplace == ((0,) if depthwise_conv2d.dsp_inplace(k.params) else ())
        (x_name,), (y_name,) = dsp.graph.inputs, dsp.graph.outputs
        assert (dsp.plan.offsets[x_name] == dsp.plan.offsets[y_name]) == bool(k.inplace)  # the input dies here
        expected = reference.run_batch(portable.graph, portable.kernels, x)
        ref = reference.run_batch(dsp.graph, dsp.kernels, x)
        mismatch = np.argwhere(ref != expected)
        assert mismatch.size == 0, f"DSP reference != portable at {mismatch[:5].tolist()} of {expected.size}"
        if host_c:
            c = compiler.compile_model(dsp, boards.load("mps2-an386"), Path(d) / "gen")
            (y,) = run_on_host(c, x).values()
            np.testing.assert_array_equal(y, ref, err_msg="host C (DSP kernel) != reference")
        return dsp


@given(dsp_case())
@settings(max_examples=examples(40))
def test_dsp_kernel_is_bit_exact(case):
    check_dsp(*case)


@st.composite
def inplace_case(draw):
    """Stride 1, SAME: the output has the input's shape, for any window and dilation."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    k = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    dil = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return depthwise_model(
        rng, draw(st.integers(1, 9)), draw(st.integers(1, 9)), draw(st.integers(1, 20)), k, (1, 1), dil, "SAME",
        act=draw(st.sampled_from(["NONE", "RELU6"])),
        big_scale=draw(st.integers(0, 5)) == 0,
        batch=draw(st.sampled_from([1, 1, 2])),
    )  # fmt: skip


@given(inplace_case())
@settings(max_examples=examples(30))
def test_dsp_kernel_in_place(case):
    """Every stride-1 SAME layer is in place (its output in its input's bytes), and bit-exact."""
    dsp = check_dsp(*case)
    assert dsp.kernels[0].inplace == (0,)


def _rows_in_order(p: dict) -> list[tuple[str, int]]:
    """What en_depthwise_conv2d_s8_dsp does, row by row, in one image: ("read", r) when input row r
    enters the ring, ("write", oy) when output row oy is written (after its window's rows)."""
    events, next_row = [], -p["pad_h"]
    for oy in range(p["out_h"]):
        top = oy * p["stride_h"] - p["pad_h"]
        next_row = max(next_row, top)
        for r in range(next_row, top + (p["k_h"] - 1) * p["dil_h"] + 1):
            if 0 <= r < p["in_h"]:
                events.append(("read", r))
        next_row = max(next_row, top + (p["k_h"] - 1) * p["dil_h"] + 1)
        events.append(("write", oy))
    return events


@given(
    st.integers(1, 12), st.integers(1, 6), st.integers(1, 3), st.integers(1, 3), st.integers(0, 12),
    st.integers(1, 12),
)  # fmt: skip
@settings(max_examples=300)
def test_inplace_rule_matches_the_kernels_order(in_h, k_h, dil_h, stride_h, pad_h, out_h):
    """dsp_inplace (which declares Kernel.inplace) holds exactly where, in the kernel's order, no
    input row is read after the output row over its bytes was written: over strides, dilations,
    paddings (as EXPLICIT padding may give them) and shapes, same or not."""
    p = dict(in_h=in_h, out_h=out_h, in_w=3, out_w=3, k_h=k_h, dil_h=dil_h, stride_h=stride_h, pad_h=pad_h)
    written, safe = set(), True
    for kind, r in _rows_in_order(p):
        if kind == "write":
            written.add(r)
        elif r in written:
            safe = False
    assert depthwise_conv2d.dsp_inplace(p) == (safe and in_h == out_h)


@pytest.mark.parametrize(
    "shape",
    [
        dict(h=5, w=6, c=8, k=(3, 3)),  # the 3x3 stride-1 loop, no clamp
        dict(h=7, w=7, c=12, k=(3, 3), stride=(2, 2), act="RELU6"),  # stride 2, clamped, 3 groups
        dict(h=4, w=5, c=7, k=(3, 3), act="RELU6"),  # 3x3 groups and the 3-channel tail
        dict(h=6, w=4, c=9, k=(5, 5), dil=(2, 1), pad="SAME"),  # any window
        dict(h=5, w=5, c=4, k=(3, 3), big_scale=True),  # multipliers >= 0.5: the exact fallback
    ],
)
def test_dsp_paths(shape):
    dsp = check_dsp(*depthwise_model(np.random.default_rng(7), **shape))
    p = dsp.kernels[0].params
    assert p["fast"] == (0 if shape.get("big_scale") else 1)


def test_variant_only_for_int8_depth_multiplier_1():
    """Depth multiplier 2 and a core without DSP keep the portable kernel."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "dw.tflite"
        path.write_bytes(depthwise_model(np.random.default_rng(1), 4, 4, 3, (3, 3), mult=2)[0])
        assert [k.fn for k in compiler.load(path, DSP).kernels] == ["en_depthwise_conv2d_s8"]
        path.write_bytes(depthwise_model(np.random.default_rng(1), 4, 4, 3, (3, 3))[0])
        assert [k.fn for k in compiler.load(path, CompileOptions()).kernels] == ["en_depthwise_conv2d_s8"]
        assert [k.fn for k in compiler.load(path, CompileOptions(features=("dsp",), kernels="reference")).kernels] == [
            "en_depthwise_conv2d_s8"
        ]


def test_kws_depthwise_in_place():
    """KWS: with the DSP kernels the arena stays the portable kernels' 16,000 B (two 8,000 B
    activations): every depthwise layer (stride 1 SAME) writes its output over its input, so its
    ring fits beside them, and no variant is given up."""
    model = MLPERF / "kws_ref_model.tflite"
    portable, dsp = compiler.load(model), compiler.load(model, DSP)
    assert dsp.plan.arena_bytes == portable.plan.arena_bytes == 16_000
    dws = [(s, k) for s, k in enumerate(dsp.kernels) if k.op.kind == "DEPTHWISE_CONV_2D"]
    assert len(dws) == 4 and all(k.fn == FN and k.inplace == (0,) for _, k in dws)
    for s, k in dws:
        assert dsp.plan.offsets[k.inputs[0]] == dsp.plan.offsets[k.outputs[0]], s
        assert "variant_dropped" not in k.op.attrs


@pytest.mark.sim
def test_vww_on_qemu_with_dsp_kernels(tmp_path: Path):
    """VWW (MobileNetV1, 13 depthwise layers: 3x3, strides 1 and 2, 8 to 256 channels) with the
    DSP kernels on mps2-an386 (Cortex-M4) == TFLM's stored output."""
    model = MLPERF / "vww_96_int8.tflite"
    p = compiler.load(model, DSP)
    assert sum(k.fn == FN for k in p.kernels) == 13
    res = run_on_board(p, boards.load("mps2-an386"), MLPERF / "vww_96_int8_input.npy", tmp_path / "build")
    expected = np.load(MLPERF / "vww_96_int8_expected_output.npy")
    np.testing.assert_array_equal(res.output.reshape(expected.shape), expected)


@pytest.mark.sim
@pytest.mark.parametrize(
    "shape",
    [
        dict(h=7, w=7, c=12, k=(3, 3), stride=(2, 2), act="RELU6"),
        dict(h=5, w=6, c=6, k=(3, 3), act="RELU6"),
        dict(h=6, w=4, c=9, k=(5, 5), dil=(2, 1)),
        dict(h=5, w=5, c=4, k=(3, 3), big_scale=True),
    ],
)
def test_dsp_paths_on_qemu(shape, tmp_path: Path):
    """The paths VWW does not take (clamping, odd groups, the channel tail, any window, the exact
    requantization) on the Cortex-M4, == the portable reference; the stride-1 ones in place."""
    model, x = depthwise_model(np.random.default_rng(11), **shape)
    path = tmp_path / "dw.tflite"
    path.write_bytes(model)
    portable = compiler.load(path)
    np.save(tmp_path / "in.npy", x)
    dsp = forced(compiler.load(path, DSP))  # its ring would grow this one-layer model's arena
    res = run_on_board(dsp, boards.load("mps2-an386"), tmp_path / "in.npy", tmp_path / "build")
    expected = reference.run_batch(portable.graph, portable.kernels, x)
    np.testing.assert_array_equal(res.output.reshape(expected.shape), expected)
