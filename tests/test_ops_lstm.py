"""UNIDIRECTIONAL_SEQUENCE_LSTM int8 (int16 cell state): edgeneuro's reference == TFLM (reset
before every sample), host C == reference, over randomized shapes, layouts, scales, zero points
and cell clips; a tf_keras LSTM converted by TensorFlow, also on QEMU; the variants TFLM refuses
are refused with the reason."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opcheck import check, check_on_qemu, log_uniform
from tflite_builder import ModelBuilder, options

from edgeneuro import frontends
from edgeneuro.errors import UnsupportedOperator
from edgeneuro.ops import lstm

ROOT = Path(__file__).resolve().parents[1]
ACT_TANH = 4  # TFLite's ActivationFunctionType.TANH


def lstm_model(rng: np.random.Generator, batches: int, steps: int, in_dim: int, units: int, time_major: bool,
               cell_power: int, cell_clip: float, weight_range: float) -> bytes:  # fmt: skip
    s_in, in_zp = log_uniform(rng, 1e-3, 0.1), int(rng.integers(-30, 30))
    s_h, h_zp = log_uniform(rng, 1 / 512, 1 / 64), int(rng.integers(-20, 20))
    b = ModelBuilder()
    x_shape = [steps, batches, in_dim] if time_major else [batches, steps, in_dim]
    x = b.tensor(x_shape, scale=s_in, zero_point=in_zp)
    operands = [x]
    w_scales = []
    for depth in [in_dim] * 4 + [units] * 4:  # input-to-{i, f, c, o}, then recurrent-to-{i, f, c, o}
        s_w = log_uniform(rng, 1e-3, weight_range)
        w_scales.append(s_w)
        operands.append(b.tensor([units, depth], scale=s_w, zero_point=0,
                                 data=rng.integers(-127, 128, (units, depth))))  # fmt: skip
    operands += [-1, -1, -1]  # no peephole
    for gate in range(4):
        scale = s_in * w_scales[gate]
        operands.append(b.tensor([units], "int32", scale=scale, zero_point=0,
                                 data=rng.integers(-(2**13), 2**13, units)))  # fmt: skip
    operands += [-1, -1]  # no projection
    hidden = b.tensor([batches, units], scale=s_h, zero_point=h_zp)
    cell = b.tensor([batches, units], "int16", scale=2.0**cell_power, zero_point=0)
    for t in (hidden, cell):
        b.tensors[t].isVariable = True
    operands += [hidden, cell, -1, -1, -1, -1]  # no layer norm
    y_shape = [steps, batches, units] if time_major else [batches, steps, units]
    y = b.tensor(y_shape, scale=s_h, zero_point=h_zp)
    opts = options("UnidirectionalSequenceLSTMOptions", fusedActivationFunction=ACT_TANH, cellClip=cell_clip,
                   projClip=0.0, timeMajor=time_major)  # fmt: skip
    b.op("UNIDIRECTIONAL_SEQUENCE_LSTM", operands, [y], opts, "UnidirectionalSequenceLSTMOptions")
    return b.build([x], [y])


@st.composite
def lstm_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    batches, steps = draw(st.integers(1, 2)), draw(st.integers(1, 10))
    in_dim, units = draw(st.integers(1, 6)), draw(st.integers(1, 10))
    model = lstm_model(
        rng, batches, steps, in_dim, units,
        time_major=draw(st.booleans()),
        cell_power=draw(st.integers(-15, -9)),
        cell_clip=draw(st.sampled_from([0.0, 0.5, 3.0, 10.0])),
        weight_range=draw(st.sampled_from([0.01, 0.05, 0.2])),
    )  # fmt: skip
    return model, rng.integers(-128, 128, (2, *_sample_shape(model)), dtype=np.int8)


def _sample_shape(model: bytes) -> tuple[int, ...]:
    from tflite_micro.python.tflite_micro import runtime

    shape = tuple(runtime.Interpreter.from_bytes(model).get_input_details(0)["shape"])
    return shape[1:] if shape[0] == 1 else shape


@given(lstm_case())
@settings(max_examples=40)
def test_lstm_bitexact(case):
    check(*case)


def test_sigmoid_table_is_the_same_in_c():
    """The int16 sigmoid table exists twice (numpy spec, C kernel); the two must be one table."""
    src = (ROOT / "firmware" / "kernels" / "lstm.c").read_text()
    body = re.search(r"sigmoid_table\[256\] = \{(.*?)\};", src, re.S).group(1)
    assert [int(v) for v in body.replace(",", " ").split()] == lstm.SIGMOID_TABLE.tolist()


def test_int16_activations_follow_the_functions():
    """Over every int16 input (Q3.12), the table interpolation stays within 1.5 steps of Q0.15
    sigmoid and tanh computed in float, and both are monotonic."""
    x = np.arange(-32768, 32768).astype(np.int16)
    s, t = lstm.sigmoid16(x).astype(np.float64), lstm.tanh16(x).astype(np.float64)
    f = x / 4096.0
    assert np.abs(s - 32768 / (1 + np.exp(-f))).max() <= 1.5
    assert np.abs(t - np.clip(32768 * np.tanh(f), -32768, 32767)).max() <= 1.5
    assert np.all(np.diff(s) >= 0) and np.all(np.diff(t) >= 0)


@pytest.fixture(scope="module")
def keras_lstm(tmp_path_factory):
    """A tf_keras LSTM (returning the whole sequence) converted to int8 by TensorFlow's converter,
    with weights scaled up so that gates saturate and the cell clip acts."""
    import tf_keras as keras

    from edgeneuro.compress.quantize import to_int8_tflite

    keras.utils.set_random_seed(3)
    m = keras.Sequential([keras.layers.Input((24, 3), batch_size=1), keras.layers.LSTM(8, return_sequences=True)])
    m.set_weights([w * 4 for w in m.get_weights()])
    x = np.random.default_rng(3).normal(size=(32, 24, 3)).astype(np.float32) * 2
    path = tmp_path_factory.mktemp("lstm") / "lstm.tflite"
    path.write_bytes(to_int8_tflite(m, x))
    return path


def test_keras_lstm_bitexact(keras_lstm):
    g = frontends.load(keras_lstm)
    (op,) = [op for op in g.ops if op.kind == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
    assert op.attrs["cell_clip"] == 10.0
    x = np.random.default_rng(4).integers(-128, 128, (4, 24, 3), dtype=np.int8)
    check(keras_lstm.read_bytes(), x)


@pytest.mark.sim
def test_keras_lstm_on_qemu(keras_lstm):
    check_on_qemu(keras_lstm.read_bytes(), np.random.default_rng(5).integers(-128, 128, (3, 24, 3), dtype=np.int8))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda ins: ins[:9] + ("peep",) + ins[10:], "peephole"),
        (lambda ins: ins[:16] + ("proj",) + ins[17:], "projection"),
        (lambda ins: ins[:1] + ("",) + ins[2:], "CIFG"),
        (lambda ins: ins[:22] + ("norm",) + ins[23:], "layer normalization"),
    ],
)
def test_lstm_variants_are_refused(keras_lstm, change, message):
    g = frontends.load(keras_lstm)
    (op,) = [op for op in g.ops if op.kind == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
    extra = {n: dataclasses.replace(g.t(op.inputs[1]), name=n) for n in ("peep", "proj", "norm")}
    g = dataclasses.replace(g, tensors={**g.tensors, **extra})
    with pytest.raises(UnsupportedOperator, match=message):
        lstm.lower(dataclasses.replace(op, inputs=change(op.inputs)), g)


def test_lstm_scratch_lives_only_during_its_step(keras_lstm):
    from edgeneuro.compiler import load
    from edgeneuro.plan import scratch_buffer

    p = load(keras_lstm)
    kernels, plan = p.kernels, p.plan
    (step,) = [s for s, k in enumerate(kernels) if k.fn == "en_lstm_s8"]
    (buf,) = [b for b in plan.buffers if scratch_buffer(step) in b.tensors]
    assert buf.nbytes == lstm.scratch_bytes(8) == 88
    assert (buf.first, buf.last) == (step, step)
