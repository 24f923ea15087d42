"""TFLite control flow and resource variables (edgeneuro/passes/subgraphs.py): WHILE loops unrolled,
IF branches inlined, variables as state. Models are converted by TensorFlow in the test; outputs
are compared with the pinned TFLM interpreter (bit for bit), the numpy reference and the host C
build."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import host_c_run, reference_run
from opcheck import check, refused
from tflite_builder import ModelBuilder, options

from edgeneuro import reference
from edgeneuro.compiler import load
from edgeneuro.errors import ModelError, UnsupportedOperator

pytestmark = pytest.mark.tflm
T, F = 6, 3


def _convert(module_or_model, path: Path) -> Path:
    import tensorflow as tf

    if hasattr(module_or_model, "predict"):
        converter = tf.lite.TFLiteConverter.from_keras_model(module_or_model)
    else:
        fn = module_or_model.__call__.get_concrete_function()
        converter = tf.lite.TFLiteConverter.from_concrete_functions([fn], module_or_model)
    path.write_bytes(converter.convert())
    return path


def _keras(layers):
    import tf_keras as keras

    keras.utils.set_random_seed(3)
    return keras.Sequential([keras.layers.Input((T, F), batch_size=1), *layers])


def _kinds(path: Path) -> list[str]:
    from edgeneuro import frontends

    return [op.kind for op in frontends.load(path).ops]


def _x(n: int, shape=(T, F), seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).normal(size=(n, *shape)) * 1.5).astype(np.float32)


def test_keras_gru_while_loop(tmp_path):
    """A Keras GRU that is not unrolled converts to WHILE over a body subgraph; unrolled over its 6
    steps it is TFLM bit for bit, and its weights are stored once, not once per step."""
    import tf_keras as keras

    m = _keras([keras.layers.GRU(5), keras.layers.Dense(2)])
    path = _convert(m, tmp_path / "gru.tflite")
    assert "WHILE" in _kinds(path)
    x = _x(3)
    check(path.read_bytes(), x)
    np.testing.assert_allclose(reference_run(path, x), m.predict(x, verbose=0), atol=1e-5)
    p = load(path)
    assert [r.ran for r in p.passes if r.name == "inline-subgraphs"] == [True]
    params = sum(w.size for w in m.get_weights()) * 4  # float32 bytes of the GRU and the Dense layer
    steps = sum(k.op.kind == "FULLY_CONNECTED" for k in p.kernels)
    assert steps >= T  # one input and one recurrent product per step (the first recurrent one folded)
    assert p.plan.weights_bytes < 1.5 * params, (p.plan.weights_bytes, params)


def test_keras_simple_rnn_sequence_while_loop(tmp_path):
    """SimpleRNN returning its sequence: the body writes step i of a tensor list (SLICE of i rows,
    the new row, SLICE of the rest, CONCATENATION) whose shapes change per step. The pinned TFLM
    does not finish this model (its dynamic tensor list), so it is compared with TensorFlow Lite's
    interpreter within float rounding, and the reference with the host C build bit for bit."""
    import tensorflow as tf
    import tf_keras as keras

    m = _keras([keras.layers.SimpleRNN(4, return_sequences=True)])
    path = _convert(m, tmp_path / "rnn.tflite")
    assert "WHILE" in _kinds(path)
    x = _x(3)
    ref = reference_run(path, x)
    np.testing.assert_array_equal(host_c_run(path, x, tmp_path / "c"), ref)
    interp = tf.lite.Interpreter(model_path=str(path))
    interp.allocate_tensors()
    tfl = []
    for s in x:
        interp.set_tensor(interp.get_input_details()[0]["index"], s[None])
        interp.invoke()
        tfl.append(interp.get_tensor(interp.get_output_details()[0]["index"])[0])
    np.testing.assert_allclose(ref, np.stack(tfl), atol=1e-5)
    np.testing.assert_allclose(ref, m.predict(x, verbose=0), atol=1e-5)


def test_if_on_the_data(tmp_path):
    """tf.cond on the data: both branches are computed and SELECT_V2 chooses, as TFLM's IF returns."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
    def call(x):
        return tf.cond(tf.reduce_sum(x) > 0, lambda: tf.tanh(x * 2.0), lambda: x - 1.0)

    module = tf.Module()
    module.__call__ = call
    path = _convert(module, tmp_path / "if.tflite")
    assert "IF" in _kinds(path)
    x = _x(8, (4,), seed=2)
    assert (x.sum(axis=1) > 0).any() and (x.sum(axis=1) <= 0).any()  # both branches taken
    check(path.read_bytes(), x)
    assert "SELECT_V2" in [k.op.kind for k in load(path).kernels]


def test_while_on_the_data_is_refused(tmp_path):
    """A loop whose trip count depends on the input cannot be unrolled: refused, naming WHILE."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
    def call(x):
        return tf.while_loop(lambda v: tf.reduce_sum(tf.abs(v)) < 100.0, lambda v: v * 2.0 + 0.1, [x])[0]

    module = tf.Module()
    module.__call__ = call
    path = _convert(module, tmp_path / "loop.tflite")
    with pytest.raises(UnsupportedOperator, match=r"WHILE is not supported: its condition depends on the data"):
        load(path)


def _tflm_sequence(model: bytes, steps: np.ndarray) -> np.ndarray:
    """TFLM over one sequence: an Invoke per step, the variables carried from one to the next."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model, arena_size=1 << 20)
    outs = []
    for s in steps:
        interp.set_input(s.reshape(interp.get_input_details(0)["shape"]), 0)
        interp.invoke()
        outs.append(interp.get_output(0).copy())
    return np.stack(outs)


def _variable_module(start):
    import tensorflow as tf

    class Accumulate(tf.Module):
        def __init__(self):
            self.v = tf.Variable(start)

        @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
        def __call__(self, x):
            y = self.v * 0.5 + x
            self.v.assign(y)
            return y

    return Accumulate()


def _check_sequence(path: Path, steps: np.ndarray, tmp_path: Path) -> None:
    p = load(path)
    assert p.graph.temporal and p.graph.state
    ref = reference.run_steps(p.graph, list(p.kernels), steps)[0]
    np.testing.assert_array_equal(_tflm_sequence(path.read_bytes(), steps).reshape(ref.shape), ref)
    np.testing.assert_array_equal(host_c_run(path, steps[None], tmp_path / "c")[0], ref)


def test_resource_variable_carried_between_calls(tmp_path):
    """A tf.Variable assigned in the call (CALL_ONCE, VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE):
    a state tensor; over a sequence of calls TFLM == reference == host C."""
    import tensorflow as tf

    path = _convert(_variable_module(tf.zeros([1, 4])), tmp_path / "var.tflite")
    assert {"CALL_ONCE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE"} <= set(_kinds(path))
    steps = _x(5, (4,))
    _check_sequence(path, steps, tmp_path)
    ref = reference.run_steps(load(path).graph, list(load(path).kernels), steps)[0]
    np.testing.assert_allclose(ref[1], 0.5 * steps[0] + steps[1], rtol=1e-6)  # the state is carried


def test_stateful_keras_gru(tmp_path):
    """Keras GRU(stateful=True, unroll=True): its state is a resource variable read and assigned per
    call; a sequence of calls is TFLM bit for bit."""
    import tf_keras as keras

    m = _keras([keras.layers.GRU(5, stateful=True, unroll=True), keras.layers.Dense(2)])
    path = _convert(m, tmp_path / "stateful.tflite")
    assert "ASSIGN_VARIABLE" in _kinds(path)
    _check_sequence(path, _x(4), tmp_path)


def test_stateful_keras_gru_int8(tmp_path):
    """The same stateful GRU converted to full int8: the state variable is int8, TFLM bit for bit."""
    import tf_keras as keras

    from edgeneuro.compress.quantize import to_int8_tflite

    m = _keras([keras.layers.GRU(5, stateful=True, unroll=True), keras.layers.Dense(2)])
    path = tmp_path / "stateful_int8.tflite"
    path.write_bytes(to_int8_tflite(m, _x(16, seed=5)))
    assert "ASSIGN_VARIABLE" in _kinds(path)
    steps = np.random.default_rng(1).integers(-128, 128, (5, T, F), dtype=np.int8)
    _check_sequence(path, steps, tmp_path)


def test_variable_starting_at_non_zero_values_is_refused(tmp_path):
    import tensorflow as tf

    path = _convert(_variable_module(tf.ones([1, 4])), tmp_path / "ones.tflite")
    with pytest.raises(UnsupportedOperator, match="starts at non-zero values"):
        load(path)


def test_assign_add_then_read(tmp_path):
    """What the converter writes for ``v.assign_add(x); return v.read_value() * 2``: the read after
    the assignment sees the new value, as in TFLM."""
    import tensorflow as tf

    class Accumulate(tf.Module):
        def __init__(self):
            self.v = tf.Variable(tf.zeros([1, 4]))

        @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
        def __call__(self, x):
            self.v.assign_add(x)
            return self.v.read_value() * 2.0

    m = Accumulate()
    conv = tf.lite.TFLiteConverter.from_concrete_functions([m.__call__.get_concrete_function()], m)
    conv.experimental_enable_resource_variables = True
    path = tmp_path / "accumulate.tflite"
    path.write_bytes(conv.convert())
    steps = _x(4, (4,))
    _check_sequence(path, steps, tmp_path)
    ref = reference.run_steps(load(path).graph, list(load(path).kernels), steps)[0]
    np.testing.assert_allclose(ref.reshape(4, 4), 2 * np.cumsum(steps, axis=0), rtol=1e-5)


def _variable_ops(call_once: bool) -> bytes:
    """VAR_HANDLE, ASSIGN_VARIABLE(x), READ_VARIABLE -> y, written by hand (CALL_ONCE naming a
    subgraph the model does not have, when asked)."""
    from tflite_builder import S

    b = ModelBuilder()
    x, y = b.tensor([1, 4], "float32"), b.tensor([1, 4], "float32")
    h = b.tensor([], "int32")
    b.tensors[h].type = S.TensorType.RESOURCE
    if call_once:
        b.op("CALL_ONCE", [], [], options("CallOnceOptions", initSubgraphIndex=1), "CallOnceOptions")
    b.op("VAR_HANDLE", [], [h], options("VarHandleOptions", sharedName="state"), "VarHandleOptions")
    b.op("ASSIGN_VARIABLE", [h, x], [])
    b.op("READ_VARIABLE", [h], [y])
    return b.build([x], [y])


def test_hand_written_variable_model(tmp_path):
    """A variable assigned, then read, with no CALL_ONCE: y is x, call after call, as in TFLM."""
    path = tmp_path / "assign_read.tflite"
    path.write_bytes(_variable_ops(call_once=False))
    _check_sequence(path, _x(3, (4,)), tmp_path)


def test_broken_subgraph_references_are_refused(tmp_path):
    """Operators naming subgraphs or variables the model does not have: one line naming them."""
    refused(_variable_ops(call_once=True), r"#0 CALL_ONCE .*init_subgraph_index 1 names no subgraph")
    for kind, opts in (("WHILE", options("WhileOptions", condSubgraphIndex=1, bodySubgraphIndex=2)),
                       ("IF", options("IfOptions", thenSubgraphIndex=1, elseSubgraphIndex=2))):  # fmt: skip
        b = ModelBuilder()
        c, x, y = b.tensor([], "bool"), b.tensor([1, 4], "float32"), b.tensor([1, 4], "float32")
        b.op(kind, [c, x] if kind == "IF" else [x], [y], opts, kind.capitalize() + "Options")
        refused(b.build([c, x] if kind == "IF" else [x], [y]), rf"#0 {kind} .*subgraph_index 1 names no subgraph")
    from tflite_builder import S

    b = ModelBuilder()  # READ_VARIABLE of a handle that no VAR_HANDLE made
    h, x, y = b.tensor([], "int32"), b.tensor([1, 4], "float32"), b.tensor([1, 4], "float32")
    b.tensors[h].type = S.TensorType.RESOURCE
    b.op("READ_VARIABLE", [h], [y])
    path = tmp_path / "read.tflite"
    path.write_bytes(b.build([x], [y]))
    with pytest.raises(ModelError, match=r"READ_VARIABLE #0 reads 't0' before any operator writes it"):
        load(path)
