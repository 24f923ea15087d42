"""Recurrent models as users write them, and the LSTM kernels they need.

* UNIDIRECTIONAL_SEQUENCE_LSTM in float32 (what the converter emits for a float tf_keras ``LSTM``)
  and in 16x8 (int16 activations, int8 weights; TFLM runs it, TF 2.21's converter refuses to emit
  it, so the models are written with tests/tflite_builder.py): TFLM == numpy reference == host C,
  bit for bit (float32: on the host's C library, whose ``expf`` / ``tanhf`` all three call; on the
  board, newlib's, within a few ulp of 1.0).
* REVERSE_V2 (``LSTM(go_backwards=True)`` and the backward half of ``Bidirectional``).
* tf_keras models converted to full int8 by TensorFlow (``to_int8_tflite``): a GRU classifier with
  ``unroll=True``, ``Bidirectional(LSTM)`` with and without ``return_sequences``, a stacked LSTM, a
  backward LSTM, an ``LSTM`` and a ``SimpleRNN`` with ``unroll=True``; each compiles and runs bit
  for bit with TFLM; so do the float32 forms of the stacked and bidirectional models. A GRU that is
  not unrolled converts to a WHILE loop over a subgraph (float; TF 2.21's int8 converter crashes
  on it): tests/test_control_flow.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import reference_run, tflm_run
from hypothesis import given, settings
from hypothesis import strategies as st
from opcheck import check, check_on_qemu, log_uniform
from tflite_builder import ModelBuilder, options

from edgeneuro import frontends
from edgeneuro.errors import UnsupportedOperator

ACT_TANH = 4  # TFLite's ActivationFunctionType.TANH
T, F = 8, 3  # sequence length and features of the Keras models


def lstm_model(rng, dtype: str, batches: int, steps: int, in_dim: int, units: int, time_major: bool,
               cell_clip: float, cell_power: int = -12) -> bytes:  # fmt: skip
    """One UNIDIRECTIONAL_SEQUENCE_LSTM, float32 or 16x8 (int16 activations with zero point 0,
    int8 per-tensor weights, int64 biases, int16 cell state of scale 2^cell_power)."""
    b = ModelBuilder()
    x_shape = [steps, batches, in_dim] if time_major else [batches, steps, in_dim]
    y_shape = [steps, batches, units] if time_major else [batches, steps, units]
    if dtype == "float32":
        x = b.tensor(x_shape, "float32")
        operands = [x]
        for depth in [in_dim] * 4 + [units] * 4:
            w = rng.normal(size=(units, depth)) * rng.uniform(0.2, 1.5)
            operands.append(b.tensor([units, depth], "float32", data=w))
        operands += [-1, -1, -1]
        operands += [b.tensor([units], "float32", data=rng.normal(size=units)) for _ in range(4)]
        operands += [-1, -1]
        hidden = b.tensor([batches, units], "float32")
        cell = b.tensor([batches, units], "float32")
        y = b.tensor(y_shape, "float32")
    else:
        s_in, s_h = log_uniform(rng, 1e-4, 1e-3), log_uniform(rng, 1 / 40000, 1 / 8000)
        x = b.tensor(x_shape, "int16", scale=s_in, zero_point=0)
        operands, w_scales = [x], []
        for depth in [in_dim] * 4 + [units] * 4:
            s_w = log_uniform(rng, 1e-3, 0.05)
            w_scales.append(s_w)
            operands.append(b.tensor([units, depth], scale=s_w, zero_point=0,
                                     data=rng.integers(-127, 128, (units, depth))))  # fmt: skip
        operands += [-1, -1, -1]
        for gate in range(4):
            operands.append(b.tensor([units], "int64", scale=s_in * w_scales[gate], zero_point=0,
                                     data=rng.integers(-(2**16), 2**16, units)))  # fmt: skip
        operands += [-1, -1]
        hidden = b.tensor([batches, units], "int16", scale=s_h, zero_point=0)
        cell = b.tensor([batches, units], "int16", scale=2.0**cell_power, zero_point=0)
        y = b.tensor(y_shape, "int16", scale=s_h, zero_point=0)
    for t in (hidden, cell):
        b.tensors[t].isVariable = True
    operands += [hidden, cell, -1, -1, -1, -1]
    opts = options("UnidirectionalSequenceLSTMOptions", fusedActivationFunction=ACT_TANH, cellClip=cell_clip,
                   projClip=0.0, timeMajor=time_major)  # fmt: skip
    b.op("UNIDIRECTIONAL_SEQUENCE_LSTM", operands, [y], opts, "UnidirectionalSequenceLSTMOptions")
    return b.build([x], [y])


def _samples(rng, model_shape: list[int], dtype: str, n: int = 2) -> np.ndarray:
    shape = (n, *(model_shape[1:] if model_shape[0] == 1 else model_shape))
    if dtype == "float32":
        return (rng.normal(size=shape) * 2).astype(np.float32)
    return rng.integers(-32768, 32768, shape, dtype=np.int16)


@st.composite
def lstm_case(draw, dtype: str):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    batches, steps, time_major = draw(st.integers(1, 2)), draw(st.integers(1, 8)), draw(st.booleans())
    in_dim, units = draw(st.integers(1, 5)), draw(st.integers(1, 8))
    model = lstm_model(rng, dtype, batches, steps, in_dim, units, time_major,
                       cell_clip=draw(st.sampled_from([0.0, 0.5, 3.0])),
                       cell_power=draw(st.integers(-15, -10)))  # fmt: skip
    shape = [steps, batches, in_dim] if time_major else [batches, steps, in_dim]
    return model, _samples(rng, shape, dtype)


@given(lstm_case("float32"))
@settings(max_examples=10)
def test_lstm_f32_bitexact(case):
    """float32 LSTM, random shapes, layouts and cell clips: TFLM == reference == host C, bit for bit."""
    check(*case)


@given(lstm_case("int16"))
@settings(max_examples=10)
def test_lstm_16x8_bitexact(case):
    """16x8 LSTM (int64 biases, int16 cell state of several scales): TFLM == reference == host C."""
    check(*case)


def test_lstm_16x8_refuses_nonzero_zero_point(tmp_path):
    """16x8 activations are symmetric (TFLite's 16x8 mode): an input zero point is refused."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as S

    from edgeneuro.compiler import load

    m = S.ModelT.InitFromPackedBuf(lstm_model(np.random.default_rng(1), "int16", 1, 3, 2, 3, False, 0.0), 0)
    m.subgraphs[0].tensors[0].quantization.zeroPoint = [5]
    fb = flatbuffers.Builder(0)
    fb.Finish(m.Pack(fb), file_identifier=b"TFL3")
    path = tmp_path / "zp.tflite"
    path.write_bytes(bytes(fb.Output()))
    with pytest.raises(UnsupportedOperator, match="zero point 0"):
        load(path)


# ---- REVERSE_V2 -------------------------------------------------------------------------------


@st.composite
def reverse_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rank = draw(st.integers(1, 5))
    shape = [draw(st.integers(1, 4)) for _ in range(rank)]
    first = draw(st.integers(0, rank - 1))
    last = draw(st.integers(first, rank - 1))
    axes = list(range(first, last + 1))
    axes = [a - rank if draw(st.booleans()) else a for a in axes]  # negative axes count from the end
    dtype = draw(st.sampled_from(["int8", "int16", "float32"]))
    b = ModelBuilder()
    q = {} if dtype == "float32" else {"scale": 0.05, "zero_point": 0 if dtype == "int16" else 3}
    x = b.tensor(shape, dtype, **q)
    ax = b.tensor([len(axes)], "int32", data=np.array(axes))
    y = b.tensor(shape, dtype, **q)
    b.op("REVERSE_V2", [x, ax], [y], version=3 if dtype == "int16" else 2)
    sample = (2, *(shape[1:] if shape[0] == 1 else shape))  # the input without a batch axis of 1
    if dtype == "float32":
        xs = rng.normal(size=sample).astype(np.float32)
    else:
        info = np.iinfo(dtype)
        xs = rng.integers(info.min, info.max + 1, sample, dtype=dtype)
    return b.build([x], [y]), xs


@given(reverse_case())
@settings(max_examples=15)
def test_reverse_v2(case):
    check(*case)


def test_reverse_v2_refuses_non_contiguous_axes(tmp_path):
    b = ModelBuilder()
    x = b.tensor([1, 2, 3, 4], scale=0.1, zero_point=0)
    ax = b.tensor([2], "int32", data=np.array([1, 3]))
    y = b.tensor([1, 2, 3, 4], scale=0.1, zero_point=0)
    b.op("REVERSE_V2", [x, ax], [y], version=2)
    path = tmp_path / "rev.tflite"
    path.write_bytes(b.build([x], [y]))
    from edgeneuro.compiler import load

    with pytest.raises(UnsupportedOperator, match="not contiguous"):
        load(path)


# ---- tf_keras models converted by TensorFlow ----------------------------------------------------


def _keras(layers):
    import tf_keras as keras

    keras.utils.set_random_seed(7)
    m = keras.Sequential([keras.layers.Input((T, F), batch_size=1), *layers])
    m.set_weights([w * 2 for w in m.get_weights()])  # gates that saturate now and then
    return m


def _calibration() -> np.ndarray:
    return (np.random.default_rng(7).normal(size=(16, T, F)) * 1.5).astype(np.float32)


def _op_kinds(path) -> list[str]:
    return [op.kind for op in frontends.load(path).ops]


def _int8(tmp_path_factory, name: str, layers) -> tuple:
    from edgeneuro.compress.quantize import to_int8_tflite

    path = tmp_path_factory.mktemp(name) / f"{name}.tflite"
    path.write_bytes(to_int8_tflite(_keras(layers), _calibration()))
    kinds = _op_kinds(path)
    print(f"{name}: {kinds}")
    return path, kinds


def _int8_samples(seed: int, n: int = 4) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, (n, T, F), dtype=np.int8)


@pytest.fixture(scope="module")
def gru_unrolled(tmp_path_factory):
    import tf_keras as keras

    layers = [keras.layers.GRU(5, unroll=True), keras.layers.Dense(3, activation="softmax")]  # a classifier
    return _int8(tmp_path_factory, "gru_unroll", layers)


@pytest.fixture(scope="module")
def bilstm(tmp_path_factory):
    import tf_keras as keras

    return _int8(tmp_path_factory, "bilstm", [keras.layers.Bidirectional(keras.layers.LSTM(4)), keras.layers.Dense(3)])


@pytest.fixture(scope="module")
def bilstm_seq(tmp_path_factory):
    import tf_keras as keras

    layers = [keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True)), keras.layers.Flatten(),
              keras.layers.Dense(3)]  # fmt: skip
    return _int8(tmp_path_factory, "bilstm_seq", layers)


@pytest.fixture(scope="module")
def stacked(tmp_path_factory):
    import tf_keras as keras

    layers = [keras.layers.LSTM(6, return_sequences=True), keras.layers.LSTM(4), keras.layers.Dense(3)]
    return _int8(tmp_path_factory, "stacked", layers)


@pytest.fixture(scope="module")
def backward(tmp_path_factory):
    import tf_keras as keras

    return _int8(tmp_path_factory, "backward", [keras.layers.LSTM(4, go_backwards=True), keras.layers.Dense(3)])


def test_gru_unrolled_int8(gru_unrolled):
    """GRU(unroll=True): per step FULLY_CONNECTED, SPLIT / SPLIT_V, LOGISTIC, TANH, MUL, ADD, SUB."""
    path, kinds = gru_unrolled
    assert {"UNPACK", "SPLIT", "SPLIT_V", "LOGISTIC", "TANH", "MUL", "SUB", "SOFTMAX"} <= set(kinds)
    assert "WHILE" not in kinds
    check(path.read_bytes(), _int8_samples(1))


def test_bidirectional_lstm_int8(bilstm):
    """Bidirectional(LSTM): REVERSE_V2, two UNIDIRECTIONAL_SEQUENCE_LSTMs, STRIDED_SLICE, CONCATENATION."""
    path, kinds = bilstm
    assert kinds.count("UNIDIRECTIONAL_SEQUENCE_LSTM") == 2 and "REVERSE_V2" in kinds
    check(path.read_bytes(), _int8_samples(2))


def test_bidirectional_lstm_sequences_int8(bilstm_seq):
    """Bidirectional(LSTM(return_sequences=True)): the backward output is reversed back by a
    REVERSE_V2 whose input and output quantizations differ; TFLM copies the bytes, as edgeneuro."""
    path, kinds = bilstm_seq
    assert kinds.count("REVERSE_V2") == 2
    g = frontends.load(path)
    rev = [op for op in g.ops if op.kind == "REVERSE_V2"][1]
    x, y = g.t(rev.inputs[0]), g.t(rev.outputs[0])
    assert (x.scale, x.zero_point) != (y.scale, y.zero_point)  # the case this test is about
    check(path.read_bytes(), _int8_samples(3))


def test_stacked_lstm_int8(stacked):
    path, kinds = stacked
    assert kinds.count("UNIDIRECTIONAL_SEQUENCE_LSTM") == 2
    check(path.read_bytes(), _int8_samples(4))


def test_backward_lstm_int8(backward):
    path, kinds = backward
    assert kinds[0] == "REVERSE_V2" and "UNIDIRECTIONAL_SEQUENCE_LSTM" in kinds
    check(path.read_bytes(), _int8_samples(5))


@pytest.mark.parametrize("layer", ["LSTM", "SimpleRNN"])
def test_unrolled_rnn_int8(layer, tmp_path_factory):
    """LSTM(unroll=True) is not fused into UNIDIRECTIONAL_SEQUENCE_LSTM: like SimpleRNN(unroll=True)
    it converts to per-step FULLY_CONNECTED, ADD, LOGISTIC / TANH (and MUL, SPLIT for the LSTM)."""
    import tf_keras as keras

    path, kinds = _int8(tmp_path_factory, f"{layer}_unroll", [getattr(keras.layers, layer)(4, unroll=True),
                                                                keras.layers.Dense(3)])  # fmt: skip
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" not in kinds and "WHILE" not in kinds and "TANH" in kinds
    check(path.read_bytes(), _int8_samples(9))


@pytest.fixture(scope="module")
def keras_lstm_f32(tmp_path_factory):
    """A float tf_keras LSTM returning its sequence, converted without quantization."""
    import tensorflow as tf
    import tf_keras as keras

    m = _keras([keras.layers.LSTM(6, return_sequences=True)])
    path = tmp_path_factory.mktemp("lstm_f32") / "lstm_f32.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(m).convert())
    return path, m


def test_keras_lstm_f32_bitexact(keras_lstm_f32):
    path, m = keras_lstm_f32
    assert _op_kinds(path) == ["UNIDIRECTIONAL_SEQUENCE_LSTM"]
    x = _calibration()[:4]
    check(path.read_bytes(), x)
    # and TFLM's float LSTM is the Keras layer's function, to float precision
    np.testing.assert_allclose(tflm_run(path.read_bytes(), x), m.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize("name", ["stacked", "bidirectional"])
def test_float_recurrent_models(name, tmp_path):
    """The float32 forms of a stacked and a bidirectional LSTM model (sequences returned): TFLM ==
    reference == host C, bit for bit (float32 STRIDED_SLICE, CONCATENATION and REVERSE_V2 around
    the LSTMs)."""
    import tensorflow as tf
    import tf_keras as keras

    if name == "stacked":
        layers = [keras.layers.LSTM(6, return_sequences=True), keras.layers.LSTM(4), keras.layers.Dense(3)]
    else:
        layers = [keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True)), keras.layers.Flatten(),
                  keras.layers.Dense(3)]  # fmt: skip
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(_keras(layers)).convert())
    check(path.read_bytes(), _calibration()[:3])


# The LSTM's outputs lie in (-1, 1); a last-bit difference of expf or tanhf (about 1 in 10 of glibc's
# tanhf results is not the correctly rounded one) carried through the recurrence moves an output by a
# few ulp of 1.0, many more ulp of a small output. The tolerance where the C libraries differ:
ULP_OF_ONE = 2.0**-23


def _within_ulps_of_one(got: np.ndarray, want: np.ndarray, n: int = 4) -> float:
    assert got.shape == want.shape and got.dtype == want.dtype == np.float32
    worst = float(np.abs(got.astype(np.float64) - want.astype(np.float64)).max())
    assert worst <= n * ULP_OF_ONE, f"{worst / ULP_OF_ONE:.1f} ulp of 1.0"
    return worst


def test_lstm_f32_reference_without_libm_is_within_ulp(keras_lstm_f32, tmp_path, monkeypatch):
    """Without a loadable C math library the reference rounds double-precision exp and tanh: within
    a few ulp of 1.0 of TFLM (measured: 1)."""
    from edgeneuro.ops import base

    path, _ = keras_lstm_f32
    x = _calibration()[:4]
    monkeypatch.setattr(base, "_LIBM", {"expf": None, "tanhf": None})
    _within_ulps_of_one(reference_run(path, x), tflm_run(path.read_bytes(), x))


@pytest.mark.sim
def test_recurrent_models_on_qemu(bilstm_seq, keras_lstm_f32, tmp_path):
    """On mps2-an386 (Cortex-M4F, DSP kernels where they apply): the int8 bidirectional model and a
    16x8 LSTM bit for bit with TFLM; the float LSTM within a few ulp of 1.0 (newlib's expf / tanhf)."""
    from edgeneuro import boards
    from edgeneuro.compiler import load
    from edgeneuro.options import CompileOptions, board_features
    from edgeneuro.runner import run_on_board

    check_on_qemu(bilstm_seq[0].read_bytes(), _int8_samples(6, 3))
    rng = np.random.default_rng(8)
    model16 = lstm_model(rng, "int16", 1, 6, 3, 5, False, 3.0)
    check_on_qemu(model16, _samples(rng, [1, 6, 3], "int16", 3))

    path, _ = keras_lstm_f32
    x = _calibration()[:3]
    np.save(tmp_path / "in.npy", x)
    board = boards.load("mps2-an386")
    res = run_on_board(load(path, CompileOptions(features=board_features(board))), board, tmp_path / "in.npy",
                       tmp_path / "build")  # fmt: skip
    _within_ulps_of_one(res.output, tflm_run(path.read_bytes(), x))
