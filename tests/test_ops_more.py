"""More TFLM builtins as single-operator models over randomized shapes and parameters: the float32
and int16 RELU family, SLICE, CEIL / FLOOR / ROUND / SIN / COS / SQUARE, ELU, FLOOR_DIV / FLOOR_MOD,
ADD_N, BROADCAST_TO, BROADCAST_ARGS (folded), L2_POOL_2D, REDUCE_ALL and DYNAMIC_UPDATE_SLICE.
Each goes through tests/opcheck.py: edgeneuro's numpy reference == TFLM's reference kernels, bit
for bit, and the generated C on the host == the reference. The operators TFLM runs on subgraphs or
resource variables (IF, WHILE, CALL_ONCE, VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE) are refused
with a one-line error that names the operator."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opcheck import check, log_uniform, refused
from tflite_builder import ModelBuilder, options

pytestmark = pytest.mark.tflm
RANGE = {"int8": (-128, 127), "int16": (-32768, 32767), "int32": (-1000, 1000)}


def values(rng: np.random.Generator, dtype: str, shape) -> np.ndarray:
    shape = tuple(shape)
    if dtype == "float32":
        return (rng.normal(size=shape) * 3).astype(np.float32)
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    lo, hi = RANGE[dtype]
    return rng.integers(lo, hi + 1, shape).astype(dtype)


def samples_of(rng: np.random.Generator, dtype: str, shape, n: int = 3) -> np.ndarray:
    sample_shape = list(shape[1:]) if shape and shape[0] == 1 else list(shape)
    return values(rng, dtype, [n, *sample_shape])


def quant(rng: np.random.Generator, dtype: str, lo: float = 1e-3, hi: float = 0.5):
    if dtype not in ("int8", "int16"):
        return None, None
    zp = 0 if dtype == "int16" else int(rng.integers(-128, 128))
    return log_uniform(rng, lo, hi), zp


def shapes(draw, max_rank: int = 4, max_dim: int = 5) -> list[int]:
    return [draw(st.integers(1, max_dim)) for _ in range(draw(st.integers(1, max_rank)))]


# RELU, RELU6, LEAKY_RELU: float32 and int16 ------------------------------------------------------


@st.composite
def relu_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["RELU", "RELU6", "LEAKY_RELU"]))
    dtype = draw(st.sampled_from(["float32", "float32", "int16", "int16", "int8"]))
    shape = shapes(draw)
    qx = quant(rng, dtype, 1e-3, 0.5)
    qy = qx if draw(st.booleans()) or dtype == "float32" else quant(rng, dtype, 1e-3, 0.5)
    b = ModelBuilder()
    x, y = b.tensor(shape, dtype, *qx), b.tensor(shape, dtype, *qy)
    if kind == "LEAKY_RELU":
        alpha = float(np.float32(draw(st.sampled_from([0.2, 0.01, 0.3, -0.5, 1.5]))))
        b.op(kind, [x], [y], options("LeakyReluOptions", alpha=alpha), "LeakyReluOptions",
             version={"int8": 2, "int16": 2}.get(dtype, 1))  # fmt: skip
    else:
        b.op(kind, [x], [y], version={"int8": 2, "int16": 3}.get(dtype, 1))
    xs = samples_of(rng, dtype, shape)
    if dtype == "float32":
        xs = (xs * 2).astype(np.float32)
        if draw(st.booleans()):
            xs.reshape(-1)[rng.integers(0, xs.size, 3)] = rng.choice([0.0, -0.0, 6.0, np.inf, -np.inf], 3)
    return b.build([x], [y]), xs


@given(relu_case())
@settings(max_examples=15)
def test_relu_family(case):
    check(*case)


# SLICE -------------------------------------------------------------------------------------------


@st.composite
def slice_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(["int8", "int16", "int32", "float32", "bool"]))
    shape = shapes(draw, 5)
    begin = [draw(st.integers(0, d - 1)) for d in shape]
    size = [draw(st.sampled_from([-1, draw(st.integers(1, d - b))])) for d, b in zip(shape, begin, strict=True)]
    out = [d - b if s == -1 else s for d, b, s in zip(shape, begin, size, strict=True)]
    index_type = draw(st.sampled_from(["int32", "int64"]))
    q = quant(rng, dtype)
    b = ModelBuilder()
    x = b.tensor(shape, dtype, *q)
    tb = b.tensor([len(shape)], index_type, data=np.array(begin))
    ts = b.tensor([len(shape)], index_type, data=np.array(size))
    y = b.tensor(out, dtype, *q)
    version = {"int8": 2, "int16": 4, "bool": 3}.get(dtype, 1)
    b.op("SLICE", [x, tb, ts], [y], version=max(version, 5 if index_type == "int64" else 1))
    return b.build([x], [y]), samples_of(rng, dtype, shape)


@given(slice_case())
@settings(max_examples=12)
def test_slice(case):
    check(*case)


# CEIL, FLOOR, ROUND, SQUARE (exact), SIN, COS (libm), ELU ---------------------------------------


def unary_model(kind, dtype, shape, qx=(None, None), qy=(None, None), version=1):
    b = ModelBuilder()
    x, y = b.tensor(shape, dtype, *qx), b.tensor(shape, dtype, *qy)
    b.op(kind, [x], [y], version=version)
    return b.build([x], [y])


def float_samples(rng: np.random.Generator, shape, scale: float = 3.0) -> np.ndarray:
    """float32 samples with halves, negative halves, -0.0, infinities and large values mixed in."""
    xs = samples_of(rng, "float32", shape) * np.float32(scale / 3)
    special = [0.5, -0.5, 1.5, 2.5, -2.5, -0.4, -0.0, 0.0, np.inf, -np.inf, 3e9, -8388609.0, 16777215.0]
    flat = xs.reshape(-1)
    flat[rng.integers(0, flat.size, max(1, flat.size // 3))] = rng.choice(special, max(1, flat.size // 3))
    return xs.astype(np.float32)


@st.composite
def unary_exact_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["CEIL", "FLOOR", "ROUND", "SQUARE"]))
    shape = shapes(draw)
    return unary_model(kind, "float32", shape), float_samples(rng, shape)


@given(unary_exact_case())
@settings(max_examples=12)
def test_ceil_floor_round_square(case):
    check(*case)


def ulps(a: np.ndarray, b: np.ndarray) -> int:
    ia, ib = (np.asarray(v, np.float32).view(np.int32).astype(np.int64) for v in (a, b))
    return int(np.abs(ia - ib).max(initial=0))


def check_libm(model: bytes, xs: np.ndarray, tmp_path) -> tuple[int, int]:
    """TFLM, the reference and the host C within one ulp (NaNs in the same places); returns the
    ulps (reference vs TFLM, host C vs TFLM)."""
    from conftest import host_c_run, reference_run, tflm_run

    path = tmp_path / "op.tflite"
    path.write_bytes(model)
    expected = tflm_run(model, xs)
    ref, host = reference_run(path, xs), host_c_run(path, xs, tmp_path / "gen")
    nan = np.isnan(expected)
    assert np.array_equal(nan, np.isnan(ref)) and np.array_equal(nan, np.isnan(host))
    du, dh = ulps(ref[~nan], expected[~nan]), ulps(host[~nan], expected[~nan])
    assert du <= 1 and dh <= 1, (du, dh)
    return du, dh


@pytest.mark.parametrize("kind", ["SIN", "COS", "ELU"])
def test_sin_cos_elu_f32(kind, tmp_path):
    """float32 SIN, COS and ELU call the C library (``sinf``, ``cosf``, ``expm1f``) on both sides;
    the reference is the correctly rounded value. All three agree within one ulp; on glibc the
    host C equals TFLM bit for bit (both call the same ``sinf``)."""
    rng = np.random.default_rng(11)
    xs = (rng.normal(size=(4, 8, 64)) * 10).astype(np.float32)
    xs[0, 0, :6] = [0.0, -0.0, np.inf, -np.inf, 1e30, -1e-30]
    du, dh = check_libm(unary_model(kind, "float32", [1, 8, 64]), xs, tmp_path)
    assert dh == 0  # the same libm on the host


@st.composite
def elu_int8_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = shapes(draw)
    qx, qy = quant(rng, "int8", 1e-3, 0.2), quant(rng, "int8", 1e-3, 0.2)
    return unary_model("ELU", "int8", shape, qx, qy, version=2), samples_of(rng, "int8", shape)


@given(elu_int8_case())
@settings(max_examples=12)
def test_elu_int8(case):
    check(*case)


# FLOOR_DIV, FLOOR_MOD ----------------------------------------------------------------------------


@st.composite
def broadcast_shapes(draw, max_rank: int = 4):
    """Two shapes that broadcast, the first the model input, the second with leading axes dropped
    and 1 on some."""
    rank = draw(st.integers(1, max_rank))
    a = [draw(st.integers(1, 4)) for _ in range(rank)]
    keep = draw(st.integers(0, rank))
    b = [d if draw(st.booleans()) else 1 for d in a[rank - keep :]]
    return a, b


@st.composite
def floor_div_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["FLOOR_DIV", "FLOOR_MOD"]))
    a_shape, b_shape = draw(broadcast_shapes())
    b_data = values(rng, "float32", b_shape)
    if draw(st.booleans()):  # integral values: exact quotients and zero remainders occur
        b_data = np.round(b_data)
    b_data = np.where(b_data == 0, np.float32(2.5), b_data).astype(np.float32)
    b = ModelBuilder()
    x = b.tensor(a_shape, "float32")
    c = b.tensor(b_shape, "float32", data=b_data)
    y = b.tensor(list(np.broadcast_shapes(tuple(a_shape), tuple(b_shape))), "float32")
    b.op(kind, [x, c], [y], version=2)
    xs = samples_of(rng, "float32", a_shape) * np.float32(draw(st.sampled_from([1, 10, 1000])))
    if draw(st.booleans()):
        xs = np.round(xs)
    return b.build([x], [y]), xs.astype(np.float32)


@given(floor_div_case())
@settings(max_examples=15)
def test_floor_div_mod(case):
    check(*case)


# ADD_N -------------------------------------------------------------------------------------------


@st.composite
def add_n_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(["float32", "int8", "int8"]))
    shape = shapes(draw)
    q = quant(rng, dtype, 1e-3, 0.5)
    qy = (float(np.float32(q[0] * log_uniform(rng, 0.5, 4))), int(rng.integers(-128, 128))) if q[0] else q
    b = ModelBuilder()
    x = b.tensor(shape, dtype, *q)
    ins = [x]
    for _ in range(draw(st.integers(1, 3))):  # constants, or the input once more
        ins.append(x if draw(st.integers(0, 3)) == 0 else b.tensor(shape, dtype, *q, data=values(rng, dtype, shape)))
    draw(st.randoms()).shuffle(ins)
    y = b.tensor(shape, dtype, *qy)
    b.op("ADD_N", ins, [y], version=2 if dtype == "int8" else 1)
    xs = samples_of(rng, dtype, shape)
    if dtype == "float32" and draw(st.booleans()):
        xs = np.where(rng.integers(0, 2, xs.shape) == 0, np.float32(-0.0), xs).astype(np.float32)
    return b.build([x], [y]), xs


@given(add_n_case())
@settings(max_examples=15)
def test_add_n(case):
    check(*case)


# BROADCAST_TO, BROADCAST_ARGS --------------------------------------------------------------------


@st.composite
def broadcast_to_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(["int8", "int16", "int32", "float32", "bool"]))
    out = shapes(draw, 5, 4)
    keep = draw(st.integers(1, len(out)))
    in_shape = [d if draw(st.booleans()) else 1 for d in out[len(out) - keep :]]
    index_type = draw(st.sampled_from(["int32", "int64"]))
    q = quant(rng, dtype)
    b = ModelBuilder()
    x = b.tensor(in_shape, dtype, *q)
    y = b.tensor(out, dtype, *q)
    shape = b.tensor([len(out)], index_type, data=np.array(out))
    b.op("BROADCAST_TO", [x, shape], [y], version=2)
    return b.build([x], [y]), samples_of(rng, dtype, in_shape)


@given(broadcast_to_case())
@settings(max_examples=15)
def test_broadcast_to(case):
    check(*case)


@st.composite
def broadcast_args_case(draw):
    """Two shapes that broadcast (the second longer or not) and the index type."""
    out = shapes(draw, 5, 4)
    a = [d if draw(st.booleans()) else 1 for d in out[len(out) - draw(st.integers(1, len(out))) :]]
    b = [d if draw(st.booleans()) else 1 for d in out]
    b = b[len(b) - draw(st.integers(1, len(b))) :]
    if draw(st.booleans()):
        a, b = b, a
    return a, b, draw(st.sampled_from(["int32", "int64"]))


@given(broadcast_args_case())
@settings(max_examples=12)
def test_broadcast_args_folded(case):
    """BROADCAST_ARGS with constant shapes is folded at compile time. TFLM cannot run it feeding
    BROADCAST_TO (its BROADCAST_TO needs a constant shape), so the two are checked apart: TFLM's
    BROADCAST_ARGS output for the first shape as the model input == the folded constant of a model
    where BROADCAST_ARGS feeds BROADCAST_TO; that model's output == numpy's broadcast, on the host C."""
    import tempfile
    from pathlib import Path

    from conftest import host_c_run, reference_run, tflm_run

    from edgeneuro.compiler import load

    a, b_shape, itype = case
    n = max(len(a), len(b_shape))
    want = list(np.broadcast_shapes(tuple(a), tuple(b_shape)))
    m1 = ModelBuilder()
    sa = m1.tensor([len(a)], itype)
    sb = m1.tensor([len(b_shape)], itype, data=np.array(b_shape))
    so = m1.tensor([n], itype)
    m1.op("BROADCAST_ARGS", [sa, sb], [so])
    tflm = tflm_run(m1.build([sa], [so]), np.array([a], dtype=itype))[0]

    m2 = ModelBuilder()
    x = m2.tensor(a, "float32")
    ca = m2.tensor([len(a)], itype, data=np.array(a))
    cb = m2.tensor([len(b_shape)], itype, data=np.array(b_shape))
    shape = m2.tensor([n], itype, name="shape")
    y = m2.tensor(want, "float32")
    m2.op("BROADCAST_ARGS", [ca, cb], [shape])
    m2.op("BROADCAST_TO", [x, shape], [y], version=2)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "op.tflite"
        path.write_bytes(m2.build([x], [y]))
        p = load(path)
        assert [k.op.kind for k in p.kernels] == ["BROADCAST_TO"]
        np.testing.assert_array_equal(p.graph.t("shape").data, tflm)
        xs = np.random.default_rng(0).normal(size=(2, *a)).astype(np.float32)
        expected = np.stack([np.broadcast_to(s, want) for s in xs])
        ref = reference_run(path, xs).reshape(expected.shape)
        np.testing.assert_array_equal(ref, expected)
        np.testing.assert_array_equal(host_c_run(path, xs, Path(d) / "gen").reshape(expected.shape), expected)


# L2_POOL_2D --------------------------------------------------------------------------------------


@st.composite
def l2_pool_case(draw):
    from tflite_builder import pool_options

    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, h, w, c = draw(st.integers(1, 2)), draw(st.integers(1, 7)), draw(st.integers(1, 7)), draw(st.integers(1, 4))
    fh, fw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pad = draw(st.sampled_from(["SAME", "VALID"]))
    if pad == "VALID":
        fh, fw = min(fh, h), min(fw, w)
    oh = -(-h // sh) if pad == "SAME" else (h - fh) // sh + 1
    ow = -(-w // sw) if pad == "SAME" else (w - fw) // sw + 1
    act = draw(st.sampled_from(["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]))
    b = ModelBuilder()
    x, y = b.tensor([n, h, w, c], "float32"), b.tensor([n, oh, ow, c], "float32")
    b.op("L2_POOL_2D", [x], [y], pool_options(pad, fh, fw, sh, sw, act), "Pool2DOptions")
    return b.build([x], [y]), samples_of(rng, "float32", [n, h, w, c])


@given(l2_pool_case())
@settings(max_examples=15)
def test_l2_pool_2d(case):
    check(*case)


# REDUCE_ALL --------------------------------------------------------------------------------------


@st.composite
def reduce_all_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rank = draw(st.integers(1, 5))
    shape = [draw(st.integers(1, 4)) for _ in range(rank)]
    axes = draw(st.lists(st.integers(-rank, rank - 1), min_size=1, max_size=rank))
    resolved = {a % rank for a in axes}
    keep = draw(st.booleans()) or len(resolved) == rank  # (conftest's tflm_run takes no scalar output)
    out_shape = [1 if i in resolved else d for i, d in enumerate(shape)] if keep else \
        [d for i, d in enumerate(shape) if i not in resolved]  # fmt: skip
    b = ModelBuilder()
    x = b.tensor(shape, "bool")
    ax = b.tensor([len(axes)], "int32", data=np.array(axes))
    y = b.tensor(out_shape, "bool")
    b.op("REDUCE_ALL", [x, ax], [y], options("ReducerOptions", keepDims=keep), "ReducerOptions")
    xs = samples_of(rng, "bool", shape)
    xs = xs | (rng.random(xs.shape) < draw(st.sampled_from([0.0, 0.7, 0.95])))  # mostly true: some all-true rows
    return b.build([x], [y]), xs


@given(reduce_all_case())
@settings(max_examples=15)
def test_reduce_all(case):
    check(*case)


# DYNAMIC_UPDATE_SLICE ----------------------------------------------------------------------------


@st.composite
def dynamic_update_slice_case(draw):
    """The operand as the model input (constant start indices, some out of range: clamped), or the
    start indices as the model input (indices known only at run time)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(["int8", "int16", "int32", "float32"]))
    shape = shapes(draw, 5, 4)
    ushape = [draw(st.integers(1, d)) for d in shape]
    index_type = draw(st.sampled_from(["int32", "int64"]))
    q = quant(rng, dtype)
    start = np.array([draw(st.integers(-2, d)) for d in shape])
    b = ModelBuilder()
    y = b.tensor(shape, dtype, *q)
    upd = b.tensor(ushape, dtype, *q, data=values(rng, dtype, ushape))
    if draw(st.booleans()):
        x = b.tensor(shape, dtype, *q)
        s = b.tensor([len(shape)], index_type, data=start)
        b.op("DYNAMIC_UPDATE_SLICE", [x, upd, s], [y])
        return b.build([x], [y]), samples_of(rng, dtype, shape)
    x = b.tensor(shape, dtype, *q, data=values(rng, dtype, shape))
    index_type = "int32"  # (edgeneuro's model inputs are never int64)
    s = b.tensor([len(shape)], index_type)
    b.op("DYNAMIC_UPDATE_SLICE", [x, upd, s], [y])
    starts = np.stack([[rng.integers(-2, d + 1) for d in shape] for _ in range(3)]).astype(index_type)
    return b.build([s], [y]), starts[:, 0] if len(shape) == 1 else starts  # (a [1] input: samples of shape [])


@given(dynamic_update_slice_case())
@settings(max_examples=15)
def test_dynamic_update_slice(case):
    check(*case)


def test_converter_float_activations(tmp_path):
    """A float tf_keras model as the TFLite converter writes it: Conv2DTranspose with a ReLU (the
    converter leaves a separate float RELU after TRANSPOSE_CONV), LeakyReLU, ELU and ReLU(6) layers.
    It compiles; the host C equals TFLM bit for bit (the same C library's ``expm1f`` for ELU), the
    reference (a correctly rounded ``expm1``) within one ulp."""
    import tensorflow as tf
    import tf_keras as keras
    from conftest import host_c_run, reference_run, tflm_run

    from edgeneuro.compiler import load

    keras.utils.set_random_seed(1)
    m = keras.Sequential([
        keras.Input((8, 8, 3)),
        keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu"),
        keras.layers.Conv2D(2, 3, activation=keras.layers.LeakyReLU(0.1)),
        keras.layers.ELU(),
        keras.layers.ReLU(6.0),
    ])  # fmt: skip
    path = tmp_path / "m.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(m).convert())
    kinds = [k.op.kind for k in load(path).kernels]
    assert kinds == ["TRANSPOSE_CONV", "RELU", "CONV_2D", "LEAKY_RELU", "ELU", "RELU6"], kinds
    xs = np.random.default_rng(0).normal(size=(3, 8, 8, 3)).astype(np.float32)
    expected = tflm_run(path, xs)
    np.testing.assert_array_equal(host_c_run(path, xs, tmp_path / "gen").reshape(expected.shape), expected)
    assert ulps(reference_run(path, xs).reshape(expected.shape), expected) <= 1


# refusals ----------------------------------------------------------------------------------------


def test_refusals():
    """What TFLM rejects, or edgeneuro does not do, gives an error naming the operator."""
    # int16 RELU with a zero point (TFLM requires 0)
    refused(unary_model("RELU", "int16", [1, 4], (0.1, 3), (0.1, 3), 3), "RELU.*zero points")
    # types TFLM does not have
    refused(unary_model("ELU", "int16", [1, 4], (0.1, 0), (0.1, 0)), "ELU takes float32 or int8")
    refused(unary_model("FLOOR", "int8", [1, 4], (0.1, 0), (0.1, 0)), "FLOOR takes float32")
    refused(unary_model("RELU", "int32", [1, 4]), "RELU takes float32, int8 or int16")
    b = ModelBuilder()
    x, c, y = b.tensor([1, 4], "int32"), b.tensor([1, 4], "int32", data=np.ones(4)), b.tensor([1, 4], "int32")
    b.op("FLOOR_DIV", [x, c], [y])
    refused(b.build([x], [y]), "FLOOR_DIV takes one type of float32")
    # FLOOR_DIV by a constant zero (TFLM fails the inference)
    b = ModelBuilder()
    x, c = b.tensor([1, 4], "float32"), b.tensor([4], "float32", data=np.array([1, 0, 2, 3]))
    y = b.tensor([1, 4], "float32")
    b.op("FLOOR_DIV", [x, c], [y])
    refused(b.build([x], [y]), "holds a zero")
    # ADD_N int8 inputs quantized differently
    b = ModelBuilder()
    x, c = b.tensor([1, 4], "int8", 0.1, 0), b.tensor([1, 4], "int8", 0.2, 0, data=np.ones(4))
    y = b.tensor([1, 4], "int8", 0.2, 0)
    b.op("ADD_N", [x, c], [y], version=2)
    refused(b.build([x], [y]), "quantized differently")
    # SLICE past the end
    b = ModelBuilder()
    x, y = b.tensor([1, 4], "float32"), b.tensor([1, 3], "float32")
    tb, ts = b.tensor([2], "int32", data=np.array([0, 2])), b.tensor([2], "int32", data=np.array([1, 3]))
    b.op("SLICE", [x, tb, ts], [y])
    refused(b.build([x], [y]), "axis 1: begin 2, size 3")
    # L2_POOL_2D int8 (TFLM has float32 only)
    from tflite_builder import pool_options

    b = ModelBuilder()
    x, y = b.tensor([1, 4, 4, 1], "int8", 0.1, 0), b.tensor([1, 2, 2, 1], "int8", 0.1, 0)
    b.op("L2_POOL_2D", [x], [y], pool_options("VALID", 2, 2, 2, 2, "NONE"), "Pool2DOptions")
    refused(b.build([x], [y]), "float32 only")
    # BROADCAST_TO to a shape computed at run time
    b = ModelBuilder()
    x, s = b.tensor([1, 4], "float32", data=np.ones(4)), b.tensor([2], "int32")
    y = b.tensor([3, 4], "float32")
    b.op("BROADCAST_TO", [x, s], [y])
    model = b.build([s], [y])
    refused(model, "computed at run time")


# on the simulated board --------------------------------------------------------------------------

QEMU_CASES = {
    "relu": relu_case(),
    "slice": slice_case(),
    "unary": unary_exact_case(),
    "elu_int8": elu_int8_case(),
    "floor_div": floor_div_case(),
    "add_n": add_n_case(),
    "broadcast_to": broadcast_to_case(),
    "l2_pool": l2_pool_case(),
    "reduce_all": reduce_all_case(),
    "dynamic_update_slice": dynamic_update_slice_case(),
}


@pytest.mark.sim
@pytest.mark.parametrize("family", sorted(QEMU_CASES))
@given(data=st.data())
@settings(max_examples=1)
def test_on_qemu(family, data):
    """Each family as firmware on QEMU (cross-compiled for a Cortex-M4, newlib) == TFLM, one case each."""
    from opcheck import check_on_qemu

    check_on_qemu(*data.draw(QEMU_CASES[family]))
