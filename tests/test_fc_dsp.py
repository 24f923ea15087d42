"""FULLY_CONNECTED's DSP kernel (firmware/kernels/fully_connected_dsp.c, chosen with the core
feature ``dsp``) computes the portable kernel's bits: over randomized depths (with and without a
depth % 4 tail), unit counts (blocks of 4 and the rows after them), batches, zero points, per-tensor
and per-channel scales and fused activations, TFLM == the numpy reference == the DSP variant's own
reference (from its re-laid-out constants) == its C built for the host (the plain-C twin of the
assembly step); the short requantization and the spec's (output scales small enough to make a
multiplier >= 0.5) are both drawn (the models: test_mve.fc_model). On QEMU the assembly itself
runs a few such models."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import examples, forced_variant, host_c_run, reference_run, tflm_run
from hypothesis import given, settings
from hypothesis import strategies as st
from opcheck import check_on_qemu
from test_mve import fc_model

from edgeneuro import boards, compiler, reference
from edgeneuro.ops import fully_connected
from edgeneuro.options import CompileOptions
from edgeneuro.runner import run_on_host

DSP = CompileOptions(features=("dsp",))


@st.composite
def fc_dsp_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return fc_model(
        rng,
        batches=draw(st.sampled_from([1, 1, 2, 3])),
        depth=draw(st.one_of(st.integers(1, 12), st.integers(13, 300))),
        units=draw(st.integers(1, 21)),
        per_channel=draw(st.booleans()),
        act=draw(st.sampled_from(["NONE", "RELU", "RELU6"])),
        big_scale=draw(st.integers(0, 4)) == 0,
    )


def check_dsp(model: bytes, x: np.ndarray) -> dict:
    """The DSP variant's kernel, its reference and its host C against TFLM; returns its params."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fc.tflite"
        path.write_bytes(model)
        (k,) = compiler.load(path, DSP).kernels
        assert k.fn == "en_fully_connected_s8_dsp" and k.c_file == "fully_connected_dsp"
        expected = tflm_run(model, x)
        np.testing.assert_array_equal(reference_run(path, x), expected, err_msg="portable reference != TFLM")
        np.testing.assert_array_equal(reference_run(path, x, DSP), expected, err_msg="DSP reference != TFLM")
        c = host_c_run(path, x, Path(d) / "gen", features=("dsp",))
        np.testing.assert_array_equal(c, expected, err_msg="host C (DSP kernel) != TFLM")
        return k.params


@given(fc_dsp_case())
@settings(max_examples=examples(40))
def test_dsp_kernel_is_bit_exact(case):
    check_dsp(*case)


def test_both_requantizations_and_shared_fields_occur():
    """The cases above draw both forms; here each is pinned once: a per-tensor layer takes one
    shared requantization triple, a per-channel one a triple per unit, and output scales that
    make the multiplier >= 0.5 take the spec's arithmetic (fast = 0)."""
    rng = np.random.default_rng(7)
    seen = set()
    for per_channel, exact in ((False, False), (True, False), (False, True)):
        p = check_dsp(*fc_model(rng, 2, 37, 11, per_channel, "RELU", big_scale=exact))
        seen.add((p["shared"], p["fast"]))
    assert seen == {(1, 1), (0, 1), (1, 0)}


def test_fields_are_read_back():
    """dsp_fields undoes dsp_constants' stream, shared or not."""
    rng = np.random.default_rng(3)
    w = rng.integers(-127, 128, (6, 10)).astype(np.int8)
    consts = dict(weights=w, bias=rng.integers(-99, 99, 6).astype(np.int32))
    p = dict(in_zp=5, out_zp=-3, act_min=-128, act_max=127)
    for mult in (np.full(6, 1 << 30), np.arange(6) + (1 << 30)):
        consts.update(mult=mult.astype(np.int32), shift=np.full(6, -7, np.int32))
        ((_, packed), (_, stream)), fast, shared = fully_connected.dsp_constants(consts, p)
        fields = fully_connected.dsp_fields(stream, 6, int(shared))
        np.testing.assert_array_equal(fields[:, 0], consts["bias"] - 5 * w.astype(np.int64).sum(axis=1))
        np.testing.assert_array_equal(fields[:, 1], consts["mult"])
        assert fast and shared == (len(set(mult.tolist())) == 1)
        np.testing.assert_array_equal(fully_connected.unpack_rows(packed, 6, 10), w)


@pytest.mark.sim
@given(fc_dsp_case())
@settings(max_examples=examples(6), deadline=None)
def test_dsp_kernel_on_qemu(case):
    check_on_qemu(*case)


# The sparse form (en_fully_connected_s8_dsp_sparse): 4-unit blocks' zero input words left out.


def block_mask(rng: np.random.Generator, units: int, depth: int, kept: float) -> np.ndarray:
    """A mask of 4x4 blocks (rows x inputs, partial at the edges), each kept with probability kept."""
    blocks = rng.random((-(-units // 4), -(-depth // 4))) < kept
    return np.kron(blocks, np.ones((4, 4), bool))[:units, :depth]


@st.composite
def sparse_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    units, depth = draw(st.integers(4, 26)), draw(st.integers(4, 150))
    mask = block_mask(rng, units, depth, draw(st.sampled_from([0.0, 0.1, 0.3, 0.6])))
    model, x = fc_model(rng, batches=draw(st.sampled_from([1, 1, 2])), depth=depth, units=units,
                        per_channel=draw(st.booleans()), act=draw(st.sampled_from(["NONE", "RELU"])),
                        big_scale=draw(st.integers(0, 4)) == 0, mask=mask)  # fmt: skip
    return model, x


def check_sparse(model: bytes, x: np.ndarray) -> None:
    """The sparse form, forced, computes TFLM's bits: its reference (from its stream, which holds the
    dense form's weights) and its host C. --sparse auto takes it exactly where it keeps at most 75 %
    of the words and its stream is smaller than the dense weights; --sparse off never."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fc.tflite"
        path.write_bytes(model)
        auto, dense = compiler.load(path, DSP), compiler.load(path, CompileOptions(features=("dsp",), sparse="off"))
        sparse = forced_variant(dense, "FULLY_CONNECTED", "dsp_sparse")
        (k,), (kd,) = sparse.kernels, dense.kernels
        assert (k.fn, kd.fn) == (FN_SPARSE, "en_fully_connected_s8_dsp")
        units, depth = k.params["units"], k.params["depth"]
        w = fully_connected.unpack_rows(dict(kd.consts)["weights"], units, depth)
        np.testing.assert_array_equal(fully_connected.unpack_sparse(dict(k.consts)["weights"], units, depth), w)
        raw = dense.graph.t(dense.graph.ops[0].inputs[1]).data  # the model's weights (w: dead units zeroed)
        stream_bytes = 4 * len(fully_connected.pack_sparse(raw))
        pays = fully_connected.kept_words(raw).mean() <= 0.75 and stream_bytes < -(-raw.size // 4) * 4
        assert [k.fn for k in auto.kernels] == [FN_SPARSE if pays else kd.fn]
        expected = tflm_run(model, x)
        np.testing.assert_array_equal(reference.run_batch(sparse.graph, sparse.kernels, x), expected)
        c = compiler.compile_model(sparse, boards.load("mps2-an386"), Path(d) / "gen")
        (y,) = run_on_host(c, x).values()
        np.testing.assert_array_equal(y, expected, err_msg="host C (sparse kernel) != TFLM")


FN_SPARSE = "en_fully_connected_s8_dsp_sparse"


@given(sparse_case())
@settings(max_examples=examples(30))
def test_sparse_kernel_is_bit_exact(case):
    check_sparse(*case)


def test_sparse_form_only_where_it_pays():
    """Dense weights, unstructured 80 % zeros (a 4x4 block is rarely all zero) and blocks kept at
    90 % stay dense; on the M55 Helium's dense kernel stays; --kernels reference stays portable."""
    rng = np.random.default_rng(5)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fc.tflite"
        for mask in (None, rng.random((16, 64)) > 0.8, block_mask(rng, 16, 64, 0.9)):
            path.write_bytes(fc_model(rng, 1, 64, 16, mask=mask)[0])
            assert [k.fn for k in compiler.load(path, DSP).kernels] == ["en_fully_connected_s8_dsp"]
        path.write_bytes(fc_model(rng, 1, 64, 16, mask=block_mask(rng, 16, 64, 0.2))[0])
        assert [k.fn for k in compiler.load(path, DSP).kernels] == [FN_SPARSE]
        mve = compiler.load(path, CompileOptions(features=("dsp", "mve")))
        assert [k.fn for k in mve.kernels] == ["en_fully_connected_s8_mve"]
        portable = compiler.load(path, CompileOptions(features=("dsp",), kernels="reference"))
        assert [k.fn for k in portable.kernels] == ["en_fully_connected_s8"]


@pytest.mark.sim
def test_sparse_kernel_on_qemu(tmp_path):
    """The assembly on the M4 (QEMU mps2-an386) == TFLM, and fewer instructions than dense."""
    from edgeneuro import boards
    from edgeneuro.runner import run_on_board

    rng = np.random.default_rng(11)
    model, x = fc_model(rng, 1, 256, 32, mask=block_mask(rng, 32, 256, 0.2))
    path = tmp_path / "fc.tflite"
    path.write_bytes(model)
    np.save(tmp_path / "x.npy", x)
    board = boards.load("mps2-an386")
    counts = {}
    for sparse in ("auto", "off"):
        prepared = compiler.load(path, CompileOptions(features=("dsp",), sparse=sparse))
        res = run_on_board(prepared, board, tmp_path / "x.npy", tmp_path / sparse, profile=True)
        np.testing.assert_array_equal(res.output.reshape(len(x), -1), tflm_run(model, x).reshape(len(x), -1))
        counts[sparse] = res.report["instructions"]
    assert counts["auto"] < 0.5 * counts["off"], counts


def test_inspect_shows_the_sparse_form(tmp_path):
    """`inspect` names the sparse kernel, its density and the bytes it saves; --sparse off is dense."""
    import subprocess
    import sys

    rng = np.random.default_rng(2)
    path = tmp_path / "fc.tflite"
    path.write_bytes(fc_model(rng, 1, 128, 16, mask=block_mask(rng, 16, 128, 0.25))[0])
    run = lambda *a: subprocess.run([sys.executable, "-m", "edgeneuro.cli", "inspect", str(path), "--board",  # noqa: E731
                                     "mps2-an386", *a], capture_output=True, text=True, check=True).stdout  # fmt: skip
    auto, off = run(), run("--sparse", "off")
    assert "fully_connected_s8_dsp_sparse" in auto and "% of words kept" in auto and "B saved" in auto
    assert "fully_connected_s8_dsp " in off and "words kept" not in off
