"""The DSP variant of UNIDIRECTIONAL_SEQUENCE_LSTM (en_lstm_s8_dsp, firmware/kernels/lstm_dsp.c):
chosen for cores with SIMD32, its numpy reference (from its own re-laid-out constants) equals the
portable kernel's reference and its host C build equals both, bit for bit, over randomized shapes,
layouts, scales, zero points and cell clips (the models of tests/test_ops_lstm.py); its activation
tables reproduce TFLite's int16 sigmoid and tanh on every input; on QEMU the seizure LSTM equals
TFLM's outputs."""

from __future__ import annotations

import dataclasses
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED, examples, forced_variant, tflm_run
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ops_lstm import lstm_model

from edgeneuro import boards, frontends, reference
from edgeneuro.compiler import compile_model, load
from edgeneuro.ops import lstm
from edgeneuro.options import CompileOptions
from edgeneuro.runner import run_on_board, run_on_host

ROOT = Path(__file__).resolve().parents[1]
SEIZURE = SHARED / "models" / "seizure"
LSTM = "UNIDIRECTIONAL_SEQUENCE_LSTM"
DSP = CompileOptions(features=("dsp",))
TFLM_CMSIS_NN = 1_745_720  # instructions of the seizure LSTM under TFLM + CMSIS-NN on mps2-an386


def _lstm_kernel(prepared):
    (k,) = [k for k in prepared.kernels if k.op.kind == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
    return k


@st.composite
def lstm_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    batches, steps = draw(st.integers(1, 2)), draw(st.integers(1, 9))
    in_dim, units = draw(st.integers(1, 9)), draw(st.integers(1, 13))
    time_major = draw(st.booleans())
    model = lstm_model(
        rng, batches, steps, in_dim, units, time_major,
        cell_power=draw(st.integers(-15, -9)),
        cell_clip=draw(st.sampled_from([0.0, 0.5, 3.0, 10.0])),
        weight_range=draw(st.sampled_from([0.01, 0.05, 0.2])),
    )  # fmt: skip
    shape = (steps, batches, in_dim) if time_major else (batches, steps, in_dim)
    return model, rng.integers(-128, 128, (2, *(shape[1:] if shape[0] == 1 else shape)), dtype=np.int8)


@given(lstm_case())
@settings(max_examples=examples(30))
def test_lstm_dsp_bitexact(case):
    model, x = case
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "lstm.tflite"
        path.write_bytes(model)
        portable, dsp = load(path), forced_variant(load(path, DSP), LSTM)
        assert _lstm_kernel(portable).fn == "en_lstm_s8"
        k = _lstm_kernel(dsp)
        assert (k.fn, k.c_file, k.op.attrs["variant"]) == ("en_lstm_s8_dsp", "lstm_dsp", "dsp")
        expected = reference.run_batch(portable.graph, portable.kernels, x)
        ref = reference.run_batch(dsp.graph, dsp.kernels, x)
        np.testing.assert_array_equal(ref, expected, err_msg="DSP reference != portable reference")
        (c_out,) = run_on_host(compile_model(dsp, boards.load("mps2-an386"), Path(d) / "gen"), x).values()
        np.testing.assert_array_equal(c_out, ref, err_msg="host C (DSP) != reference")


def test_activation_tables_are_tflite_on_every_input():
    """sigmoid16 and tanh16 as the DSP kernel computes them (one table read) equal TFLite's over
    every int16 input: the gates' Q3.12 and the cell's tanh at every cell scale TFLM allows."""
    a = np.arange(-32768, 32768)
    np.testing.assert_array_equal(lstm._dsp_sigmoid(a), lstm.sigmoid16(a))
    np.testing.assert_array_equal(lstm._dsp_tanh(a, 3, 0, 0), lstm.tanh16(a))
    for cell_power in range(-20, 0):
        mult, shift = lstm.tanh_input_scaling(cell_power)
        rnd = (1 << (shift - 1)) if shift > 0 else 0
        np.testing.assert_array_equal(lstm._dsp_tanh(a, mult, rnd, shift), lstm.tanh16(a, mult, shift))


def test_dsp_tables_are_the_same_in_c():
    """The C kernel's (C, D) pair tables are dsp_tables() of the spec."""
    src = (ROOT / "firmware" / "kernels" / "lstm_dsp.c").read_text()
    sig, tanh, d = lstm.dsp_tables()
    for name, c in (("sigmoid_cd", sig), ("tanh_cd", tanh)):
        body = re.search(rf"{name}\[512\]\[2\] = \{{(.*?)\}};", src, re.S).group(1)
        values = [int(v) for v in body.replace("{", " ").replace("}", " ").replace(",", " ").split()]
        assert values == np.stack([c, d], axis=1).reshape(-1).tolist(), name


def test_variant_needs_dsp_and_exact_ranges(tmp_path):
    path = tmp_path / "lstm.tflite"
    path.write_bytes(lstm_model(np.random.default_rng(7), 1, 4, 3, 5, False, -12, 0.0, 0.05))
    g = frontends.load(path)
    (op,) = [op for op in g.ops if op.kind == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
    assert lstm.variant(op, g, ("dsp",)) == "dsp"
    assert lstm.variant(op, g, ()) is None
    assert lstm.variant(op, g, ("mve",)) is None
    # a bias whose accumulator would not stay below 2^29 keeps the portable kernel
    b = g.t(op.inputs[12])
    huge = dataclasses.replace(b, data=np.full(b.shape, 2**30, np.int32))
    assert lstm.variant(op, dataclasses.replace(g, tensors={**g.tensors, b.name: huge}), ("dsp",)) is None


@pytest.mark.sim
@pytest.mark.parametrize(
    "batches, steps, in_dim, units, time_major, cell_power, cell_clip",
    [(2, 5, 7, 5, True, -11, 3.0), (1, 6, 1, 13, False, -15, 0.0), (3, 4, 9, 8, False, -9, 0.5)],
)
def test_lstm_dsp_on_qemu(tmp_path, batches, steps, in_dim, units, time_major, cell_power, cell_clip):
    """The DSP kernel cross-compiled (its SMLAD loop is inline assembly there) == TFLM on QEMU."""
    rng = np.random.default_rng(units)
    path = tmp_path / "lstm.tflite"
    path.write_bytes(lstm_model(rng, batches, steps, in_dim, units, time_major, cell_power, cell_clip, 0.2))
    shape = (steps, batches, in_dim) if time_major else (batches, steps, in_dim)
    x = rng.integers(-128, 128, (2, *(shape[1:] if shape[0] == 1 else shape)), dtype=np.int8)
    np.save(tmp_path / "in.npy", x)
    p = forced_variant(load(path, DSP), LSTM)  # the variant the module chooses, scratch or not
    assert _lstm_kernel(p).fn == "en_lstm_s8_dsp"
    res = run_on_board(p, boards.load("mps2-an386"), tmp_path / "in.npy", tmp_path / "b")
    np.testing.assert_array_equal(res.output, tflm_run(path, x))


@pytest.mark.sim
def test_seizure_lstm_on_qemu(tmp_path, capsys):
    """The seizure LSTM (AveragePooling1D -> LSTM(16) over 128 steps -> Dense -> Softmax) with the
    DSP kernel on mps2-an386 equals TFLM's outputs, in at most half TFLM + CMSIS-NN's instructions."""
    model = SEIZURE / "seizure_lstm.tflite"
    p = load(model, DSP)
    assert _lstm_kernel(p).fn == "en_lstm_s8_dsp"
    res = run_on_board(p, boards.load("mps2-an386"), SEIZURE / "seizure_lstm_input.npy", tmp_path / "b", profile=True)
    np.testing.assert_array_equal(res.output, np.load(SEIZURE / "seizure_lstm_expected_output.npy"))
    total = res.report["instructions"]
    (layer,) = [r["instructions"] for r in res.report["profile"] if r["kernel"] == "en_lstm_s8_dsp"]
    with capsys.disabled():
        print(f"\nseizure LSTM, DSP kernel: {total:,} instructions (LSTM layer {layer:,}); "
              f"{total / TFLM_CMSIS_NN:.3f}x TFLM + CMSIS-NN")  # fmt: skip
    assert total <= TFLM_CMSIS_NN // 2
