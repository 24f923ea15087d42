"""The DSP variant of UNIDIRECTIONAL_SEQUENCE_LSTM (en_lstm_s8_dsp, firmware/kernels/lstm_dsp.c):
chosen for cores with SIMD32, its numpy reference (from its own re-laid-out constants) equals the
portable kernel's reference and its host C build equals both, bit for bit, over randomized shapes,
layouts, scales, zero points and cell clips (the models of tests/test_ops_lstm.py); its activation
tables reproduce TFLite's int16 sigmoid and tanh on every input; on QEMU the seizure LSTM equals
TFLM's outputs. Its sparse form (en_lstm_s8_dsp_sparse) for weights pruned in 4x4 blocks: the same
bits from a stream without the all-zero groups, chosen only where it is smaller."""

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
from edgeneuro.compiler import compile_model, load, prepare
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


def _block_pruned(path: Path, keep: float, seed: int, options: CompileOptions = DSP):
    """The LSTM of ``path`` prepared with its input and recurrent weights zeroed in whole groups of
    4 rows x 4 columns of the stacked [4 * units, depth] matrices (the DSP kernel's row blocks; a
    group kept with probability ``keep``)."""
    g = frontends.load(path)
    (op,) = [op for op in g.ops if op.kind == LSTM]
    rng = np.random.default_rng(seed)
    tensors = dict(g.tensors)
    for first in (1, 5):  # input-to-gate weights (operands 1-4), then recurrent (5-8)
        names = op.inputs[first : first + 4]
        w = np.concatenate([g.t(n).data for n in names])  # [4 * units, depth]
        rows, depth = w.shape
        groups = rng.random((-(-rows // 4), -(-depth // 4))) < keep
        mask = np.repeat(np.repeat(groups, 4, axis=0), 4, axis=1)[:rows, :depth]
        for n, part in zip(names, np.split(w * mask, 4), strict=True):
            tensors[n] = dataclasses.replace(g.t(n), data=part.astype(g.t(n).data.dtype))
    return prepare(dataclasses.replace(g, tensors=tensors), options, path)


@given(lstm_case(), st.sampled_from([0.0, 0.3, 0.6, 1.0]))
@settings(max_examples=examples(20))
def test_lstm_dsp_sparse_bitexact(case, keep):
    """The sparse stream read back is the dense DSP weights; its reference and its host C build equal
    the portable kernel's reference bit for bit, at any density (the variant forced)."""
    model, x = case
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "lstm.tflite"
        path.write_bytes(model)
        portable = _block_pruned(path, keep, 1, CompileOptions())
        dense = forced_variant(_block_pruned(path, keep, 1), LSTM, "dsp")
        sparse = forced_variant(_block_pruned(path, keep, 1), LSTM, "dsp_sparse")
        kd, ks = _lstm_kernel(dense), _lstm_kernel(sparse)
        assert (ks.fn, ks.c_file) == ("en_lstm_s8_dsp_sparse", "lstm_dsp")
        p = ks.params
        unpacked = lstm._unstream_sparse(dict(ks.consts)["weights"], 4 * p["units"], p["xp"], p["up"])
        for a, b in zip(unpacked, lstm._unstream(dict(kd.consts)["weights"], 4 * p["units"], p["xp"], p["up"]),
                        strict=True):  # fmt: skip
            np.testing.assert_array_equal(a, b)
        expected = reference.run_batch(portable.graph, portable.kernels, x)
        ref = reference.run_batch(sparse.graph, sparse.kernels, x)
        np.testing.assert_array_equal(ref, expected, err_msg="sparse DSP reference != portable reference")
        (c_out,) = run_on_host(compile_model(sparse, boards.load("mps2-an386"), Path(d) / "gen"), x).values()
        np.testing.assert_array_equal(c_out, ref, err_msg="host C (sparse DSP) != reference")


def test_sparse_variant_only_where_smaller(tmp_path):
    """--sparse auto takes the sparse stream for weights mostly zero in 4x4 groups, not for dense
    weights; where it does, the stream is smaller than the dense one."""
    path = tmp_path / "lstm.tflite"
    path.write_bytes(lstm_model(np.random.default_rng(3), 1, 4, 8, 16, False, -12, 0.0, 0.05))
    for keep, sparse in ((1.0, False), (0.3, True)):
        p = _block_pruned(path, keep, 5)
        g = p.graph
        (op,) = [op for op in g.ops if op.kind == LSTM]
        assert lstm.sparse_variant(op, g, ("dsp",)) == ("dsp_sparse" if sparse else None), keep
        assert lstm.sparse_variant(op, g, ()) is None
        if sparse:  # (a one-layer model keeps the portable kernel: the variants' scratch would grow its arena)
            info = lstm.sparse_info(_lstm_kernel(forced_variant(p, LSTM, "dsp_sparse")), g)
            assert info["kept"] <= lstm.SPARSE_KEPT_MAX and info["weights_bytes"] < info["dense_weights_bytes"]


@pytest.mark.sim
def test_lstm_dsp_sparse_on_qemu(tmp_path):
    """The sparse kernel cross-compiled == the portable reference on QEMU, in fewer instructions than
    the dense DSP kernel on the same weights (16 units, 70 % of the 4x4 groups zero)."""
    rng = np.random.default_rng(11)
    path = tmp_path / "lstm.tflite"
    path.write_bytes(lstm_model(rng, 1, 8, 8, 16, False, -12, 0.0, 0.05))
    x = rng.integers(-128, 128, (2, 8, 8), dtype=np.int8)
    np.save(tmp_path / "in.npy", x)
    portable = _block_pruned(path, 0.3, 2, CompileOptions())
    expected = reference.run_batch(portable.graph, portable.kernels, x)
    runs = {}
    for v in ("dsp", "dsp_sparse"):
        p = forced_variant(_block_pruned(path, 0.3, 2), LSTM, v)
        runs[v] = run_on_board(p, boards.load("mps2-an386"), tmp_path / "in.npy", tmp_path / v)
        np.testing.assert_array_equal(runs[v].output, expected, err_msg=v)
    assert runs["dsp_sparse"].report["instructions"] < runs["dsp"].report["instructions"]
