"""CONV_2D's sparse DSP form (en_conv2d_s8_dsp_sparse, conv2d_dsp.c): the groups of 4 column
elements (OHWI order) where both channels of a pair have zero weights are left out of the stream and
the loop. Forced on randomized shapes, block masks of 2 channels x 4 elements, scales and
activations, it computes TFLM's bits: its reference (from its own stream) and its C on the host
(plain-C twins); --sparse auto takes it exactly where it keeps at most 60 % of the groups in fewer
words; on QEMU the firmware == TFLM with fewer instructions than the dense form."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import examples, forced_variant, tflm_run
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_mve import conv_model

from edgeneuro import boards, compiler, reference
from edgeneuro.ops import conv2d
from edgeneuro.ops.base import out_size
from edgeneuro.options import CompileOptions
from edgeneuro.runner import run_on_board, run_on_host

DSP = CompileOptions(features=("dsp",))
FN = "en_conv2d_s8_dsp_sparse"


def pair_mask(rng: np.random.Generator, cout: int, depth: int, kept: float) -> np.ndarray:
    """A mask [cout, depth] of blocks of 2 channels x 4 elements, each kept with probability kept."""
    blocks = rng.random((-(-cout // 2), -(-depth // 4))) < kept
    return np.kron(blocks, np.ones((2, 4), bool))[:cout, :depth]


@st.composite
def sparse_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    k = (draw(st.sampled_from([1, 1, 3])), draw(st.sampled_from([1, 3, 5, 7])))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    h, w, pad = draw(st.integers(1, 6)), draw(st.integers(1, 12)), draw(st.sampled_from(["SAME", "VALID"]))
    assume(out_size(pad, h, k[0], stride[0], 1) > 0 and out_size(pad, w, k[1], stride[1], 1) > 0)
    cin, cout = draw(st.sampled_from([1, 3, 4, 8, 16])), draw(st.sampled_from([2, 3, 5, 8, 16]))
    mask = pair_mask(rng, cout, k[0] * k[1] * cin, draw(st.sampled_from([0.0, 0.2, 0.5, 0.9])))
    return conv_model(rng, draw(st.sampled_from([1, 1, 2])), h, w, cin, cout, k, stride=stride, pad=pad,
                      act=draw(st.sampled_from(["NONE", "RELU"])), per_channel=draw(st.booleans()),
                      big_scale=draw(st.integers(0, 4)) == 0, mask=mask)  # fmt: skip


def check_sparse(model: bytes, x: np.ndarray) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "conv.tflite"
        path.write_bytes(model)
        auto = compiler.load(path, DSP)
        dense = compiler.load(path, CompileOptions(features=("dsp",), sparse="off"))
        sparse, dsp = forced_variant(dense, "CONV_2D", "dsp_sparse"), forced_variant(dense, "CONV_2D", "dsp")
        (k,), (kd,) = sparse.kernels, dsp.kernels
        assert k.fn == FN and k.entry.startswith(FN) and kd.fn == "en_conv2d_s8_dsp"
        shape = dense.graph.t(dense.graph.ops[0].inputs[1]).shape
        for got, want in zip(conv2d.unpack_sparse(dict(k.consts)["packed"], shape),
                             conv2d.unpack_stream(dict(kd.consts)["packed"], shape), strict=True):  # fmt: skip
            np.testing.assert_array_equal(got, want)  # the dense stream's weights and fields
        # --sparse auto: sparse where it keeps at most 60 % of the groups in fewer words, unless its
        # scratch would grow the arena (then the pass records why and falls back)
        raw = dense.graph.t(dense.graph.ops[0].inputs[1]).data
        kept = conv2d.kept_groups(raw)
        pays = kept.mean() <= 0.6 and kept.shape[0] * (1 + 3 * kept.mean() * kept.shape[1]) < 2 * kept.size
        (op,) = auto.graph.ops
        tried = op.attrs.get("variant_dropped", {}).get("variant") == "dsp_sparse"
        assert (auto.kernels[0].fn == FN or tried) == pays
        assert auto.plan.arena_bytes <= dense.plan.arena_bytes
        expected = tflm_run(model, x)
        np.testing.assert_array_equal(reference.run_batch(sparse.graph, sparse.kernels, x), expected)
        c = compiler.compile_model(sparse, boards.load("mps2-an386"), Path(d) / "gen")
        (y,) = run_on_host(c, x).values()
        np.testing.assert_array_equal(y, expected, err_msg="host C (sparse kernel) != TFLM")


@given(sparse_case())
@settings(max_examples=examples(30))
def test_sparse_conv_is_bit_exact(case):
    check_sparse(*case)


@pytest.mark.sim
def test_sparse_conv_on_qemu(tmp_path):
    """A 1-D convolution like the seizure CNN's (kernel 1x7, 16 -> 32 channels) with 20 % of its
    2x4 blocks kept: on the M4 (QEMU mps2-an386) == TFLM, in under half the dense instructions."""
    rng = np.random.default_rng(4)
    model, x = conv_model(rng, 1, 1, 128, 16, 32, (1, 7), pad="SAME", act="RELU",
                          mask=pair_mask(rng, 32, 7 * 16, 0.2))  # fmt: skip
    path = tmp_path / "conv.tflite"
    path.write_bytes(model)
    np.save(tmp_path / "x.npy", x)
    counts = {}
    dense = compiler.load(path, CompileOptions(features=("dsp",), sparse="off"))
    for name, variant in (("sparse", "dsp_sparse"), ("dense", "dsp")):  # both gathering (one layer: no room)
        prepared = forced_variant(dense, "CONV_2D", variant)
        res = run_on_board(prepared, boards.load("mps2-an386"), tmp_path / "x.npy", tmp_path / name, profile=True)
        np.testing.assert_array_equal(res.output.reshape(len(x), -1), tflm_run(model, x).reshape(len(x), -1))
        counts[name] = res.report["instructions"]
    assert counts["sparse"] < 0.5 * counts["dense"], counts
