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
from conftest import examples, host_c_run, reference_run, tflm_run
from hypothesis import given, settings
from hypothesis import strategies as st
from opcheck import check_on_qemu
from test_mve import fc_model

from edgeneuro import compiler
from edgeneuro.ops import fully_connected
from edgeneuro.options import CompileOptions

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
