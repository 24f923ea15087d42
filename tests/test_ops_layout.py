"""Layout and conversion operators (CONCATENATION, PAD, PADV2, TRANSPOSE, STRIDED_SLICE, QUANTIZE,
DEQUANTIZE) over randomized shapes, axes, paddings, permutations, slices and quantization:
(a) edgeneuro's numpy reference == TensorFlow Lite Micro's reference kernels, bit for bit;
(b) the generated C, built for the host, == the numpy reference, bit for bit;
(c) a sample of the same cases as firmware on QEMU == TFLM."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import host_c_run, reference_run, tflm_run
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from opcheck import check, check_on_qemu, log_uniform, lowering_error, samples
from tflite_builder import ModelBuilder, options
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as S

pytestmark = pytest.mark.tflm


def _int16(b: ModelBuilder, index: int) -> int:
    """tflite_builder writes int8/int32/float32 tensors; retype an activation tensor to int16."""
    b.tensors[index].type = S.TensorType.INT16
    return index


def _shape(draw, rank: int, lo: int = 1, hi: int = 5) -> list[int]:
    return [draw(st.integers(lo, hi)) for _ in range(rank)]


def _int_samples(rng: np.random.Generator, shape: list[int], dtype: str, n: int = 3) -> np.ndarray:
    if dtype == "int8":
        return samples(rng, shape, n)
    sample_shape = shape[1:] if shape[0] == 1 else shape
    return rng.integers(-32768, 32768, (n, *sample_shape), dtype=np.int16)


def check_bytes(model: bytes, x: np.ndarray) -> None:
    """opcheck.check, comparing the outputs' bytes (float32 outputs: -0.0 != 0.0, NaN == NaN)."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "op.tflite"
        path.write_bytes(model)
        expected = tflm_run(model, x)
        ref = reference_run(path, x)
        assert ref.shape == expected.shape and ref.dtype == expected.dtype
        mismatch = np.argwhere(ref.view(np.uint8) != expected.view(np.uint8))
        assert mismatch.size == 0, f"reference != TFLM at bytes {mismatch[:5].tolist()}"
        c_out = host_c_run(path, x, Path(d) / "gen")
        np.testing.assert_array_equal(c_out.view(np.uint8), ref.view(np.uint8), err_msg="host C != reference")


# --- CONCATENATION ------------------------------------------------------------------------------


@st.composite
def concat_case(draw):
    """Inputs are the graph input x, PADs of x along the axis (other ops in the model) and
    constants, in random order; all share the output's quantization as TFLM requires."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rank = draw(st.integers(1, 5))
    shape = _shape(draw, rank, 1, 4)
    axis = draw(st.integers(-rank, rank - 1))
    ax = axis % rank
    dtype = draw(st.sampled_from(["int8", "int8", "int8", "int16", "int32", "float32"]))  # a copy: any element type
    parts = ["x", "pad", "const"] if dtype == "int8" else ["x", "const"]
    kinds = draw(st.lists(st.sampled_from(parts), min_size=1, max_size=draw(st.sampled_from([4, 10]))))
    assume("x" in kinds or "pad" in kinds)
    scale, zp = log_uniform(rng, 1e-3, 1.0), int(rng.integers(-128, 128))
    q = {"scale": scale, "zero_point": zp} if dtype == "int8" else {}
    b = ModelBuilder()
    x = b.tensor(shape, dtype, **q)
    inputs = []
    for kind in kinds:
        if kind == "x":
            inputs.append(x)
        elif kind == "pad":
            before, after = int(rng.integers(0, 3)), int(rng.integers(0, 3))
            pads = np.zeros((rank, 2), np.int32)
            pads[ax] = before, after
            padded = list(shape)
            padded[ax] += before + after
            p = b.tensor([rank, 2], "int32", data=pads)
            t = b.tensor(padded, scale=scale, zero_point=zp)
            b.op("PAD", [x, p], [t])
            inputs.append(t)
        else:
            cshape = list(shape)
            cshape[ax] = int(rng.integers(1, 4))
            inputs.append(b.tensor(cshape, dtype, **q, data=rng.integers(-128, 128, cshape) * (1 if q else 1000)))
    out_shape = list(shape)
    out_shape[ax] = sum(b.tensors[i].shape[ax] for i in inputs)
    y = b.tensor(out_shape, dtype, **q)
    b.op("CONCATENATION", inputs, [y], options("ConcatenationOptions", axis=axis), "ConcatenationOptions")
    if dtype == "int8":
        return b.build([x], [y]), samples(rng, shape)
    xs = rng.normal(size=(3, *shape[1:]) if shape[0] == 1 else (3, *shape)) * 1000  # as opcheck.samples lays them out
    return b.build([x], [y]), xs.astype(dtype)


@given(concat_case())
@settings(max_examples=50)
def test_concatenation(case):
    check(*case)


def test_concatenation_rejects_what_tflm_rejects():
    """TFLM's Prepare fails on differing quantization and on a fused activation; so does lowering."""
    for fields, why in (({"axis": 1}, "quantized differently"), ({"axis": 1, "fusedActivationFunction": 1}, "RELU")):
        b = ModelBuilder()
        x = b.tensor([1, 3], scale=0.1, zero_point=2)
        c = b.tensor([1, 2], scale=0.1 if "fusedActivationFunction" in fields else 0.2, zero_point=2, data=[[1, 2]])
        y = b.tensor([1, 5], scale=0.1, zero_point=2)
        b.op("CONCATENATION", [x, c], [y], options("ConcatenationOptions", **fields), "ConcatenationOptions")
        model = b.build([x], [y])
        with pytest.raises(RuntimeError):
            tflm_run(model, np.zeros((1, 3), np.int8))
        assert why in lowering_error(model)


# --- PAD, PADV2 ---------------------------------------------------------------------------------


@st.composite
def pad_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["PAD", "PADV2"]))
    rank = draw(st.integers(1, 5))
    shape = _shape(draw, rank, 1, 4)
    pads = np.array([[draw(st.integers(0, 3)), draw(st.integers(0, 3))] for _ in range(rank)], np.int32)
    scale, zp = log_uniform(rng, 1e-3, 1.0), int(rng.integers(-128, 128))
    b = ModelBuilder()
    x = b.tensor(shape, scale=scale, zero_point=zp)
    inputs = [x, b.tensor([rank, 2], "int32", data=pads)]
    if kind == "PADV2":
        inputs.append(b.tensor([], scale=scale, zero_point=zp, data=np.array(int(rng.integers(-128, 128)))))
    y = b.tensor([d + p[0] + p[1] for d, p in zip(shape, pads, strict=True)], scale=scale, zero_point=zp)
    b.op(kind, inputs, [y])
    return b.build([x], [y]), samples(rng, shape)


@given(pad_case())
@settings(max_examples=50)
def test_pad(case):
    check(*case)


def test_padv2_rejects_what_tflm_rejects():
    """TFLM's Prepare fails when the pad value is quantized differently from the output."""
    b = ModelBuilder()
    x = b.tensor([1, 3], scale=0.1, zero_point=2)
    p = b.tensor([2, 2], "int32", data=np.array([[0, 0], [1, 1]]))
    v = b.tensor([], scale=0.1, zero_point=5, data=np.array(7))
    y = b.tensor([1, 5], scale=0.1, zero_point=2)
    b.op("PADV2", [x, p, v], [y])
    model = b.build([x], [y])
    with pytest.raises(RuntimeError):
        tflm_run(model, np.zeros((1, 3), np.int8))
    assert "pad value is quantized differently" in lowering_error(model)


# --- TRANSPOSE ----------------------------------------------------------------------------------


@st.composite
def transpose_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rank = draw(st.integers(1, 5))
    shape = _shape(draw, rank, 1, 5)
    perm = draw(st.permutations(range(rank)))
    scale, zp = log_uniform(rng, 1e-3, 1.0), int(rng.integers(-128, 128))
    b = ModelBuilder()
    x = b.tensor(shape, scale=scale, zero_point=zp)
    p = b.tensor([rank], "int32", data=np.array(perm))
    y = b.tensor([shape[i] for i in perm], scale=scale, zero_point=zp)
    b.op("TRANSPOSE", [x, p], [y])
    return b.build([x], [y]), samples(rng, shape)


@given(transpose_case())
@settings(max_examples=50)
def test_transpose(case):
    check(*case)


# --- STRIDED_SLICE ------------------------------------------------------------------------------


@st.composite
def strided_slice_case(draw):
    """Random begin/end (out of range and negative included), strides of both signs and masks. The
    output shape is numpy's basic slicing of the same indices (TFLite follows numpy here), and TFLM
    checks it in Prepare. Empty slices (rejected) are turned around by flipping the stride."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rank = draw(st.integers(1, 4))
    shape = _shape(draw, rank, 1, 7)
    shrink_last = draw(st.integers(0, 4)) == 0
    begin, end, strides, index = [], [], [], []
    begin_mask = end_mask = shrink_mask = 0
    for i, n in enumerate(shape):
        # Shrink this axis (a valid index, positive stride), keeping at least one axis in the output.
        if draw(st.integers(0, 4)) == 0 and (i < rank - 1 or (shrink_last and shrink_mask != (1 << i) - 1)):
            b_i = draw(st.integers(-n, n - 1))
            begin.append(b_i)
            end.append(draw(st.integers(-n - 2, n + 2)))  # ignored by TFLite
            strides.append(draw(st.integers(1, 3)))
            shrink_mask |= 1 << i
            index.append(b_i)
            continue
        b_i, e_i = draw(st.integers(-n - 2, n + 2)), draw(st.integers(-n - 2, n + 2))
        s_i = draw(st.sampled_from([1, 1, 2, 3, -1, -2, -3]))
        bm, em = draw(st.booleans()) and draw(st.booleans()), draw(st.booleans()) and draw(st.booleans())
        sl = slice(None if bm else b_i, None if em else e_i, s_i)
        if not len(range(n)[sl]):
            s_i = -s_i
            sl = slice(sl.start, sl.stop, s_i)
        begin.append(b_i)
        end.append(e_i)
        strides.append(s_i)
        begin_mask |= bm << i
        end_mask |= em << i
        index.append(sl)
    out_shape = list(np.empty(shape)[tuple(index)].shape)
    assume(0 not in out_shape and out_shape)  # empty slices are rejected; tflm_run needs a non-scalar output
    scale, zp = log_uniform(rng, 1e-3, 1.0), int(rng.integers(-128, 128))
    dtype = draw(st.sampled_from(["int8", "int8", "int16", "int32", "float32"]))  # a copy: any element type
    q = {"scale": scale, "zero_point": zp} if dtype == "int8" else {}
    b = ModelBuilder()
    x = b.tensor(shape, dtype, **q)
    vecs = [b.tensor([rank], "int32", data=np.array(v)) for v in (begin, end, strides)]
    y = b.tensor(out_shape, dtype, **q)
    opts = options("StridedSliceOptions", beginMask=begin_mask, endMask=end_mask, shrinkAxisMask=shrink_mask)
    b.op("STRIDED_SLICE", [x, *vecs], [y], opts, "StridedSliceOptions")
    if dtype == "int8":
        return b.build([x], [y]), samples(rng, shape)
    xs = rng.normal(size=(3, *shape[1:]) if shape[0] == 1 else (3, *shape)) * 1000  # as opcheck.samples lays them out
    return b.build([x], [y]), xs.astype(dtype)


@given(strided_slice_case())
@settings(max_examples=60)
def test_strided_slice(case):
    check(*case)


@pytest.mark.parametrize(
    "fields, why",
    [({"ellipsisMask": 1}, "ellipsis_mask"), ({"newAxisMask": 2}, "new_axis_mask"), ({"offset": True}, "offset")],
)
def test_strided_slice_rejects_what_tflm_ignores(fields, why):
    """TFLM zeroes ellipsis_mask / new_axis_mask and never reads offset: edgeneuro rejects them."""
    b = ModelBuilder()
    x = b.tensor([1, 6], scale=0.1, zero_point=0)
    vecs = [b.tensor([2], "int32", data=np.array(v)) for v in ([0, 1], [1, 3], [1, 1])]
    y = b.tensor([1, 2], scale=0.1, zero_point=0)
    b.op("STRIDED_SLICE", [x, *vecs], [y], options("StridedSliceOptions", **fields), "StridedSliceOptions")
    assert why in lowering_error(b.build([x], [y]))


# --- QUANTIZE, DEQUANTIZE -----------------------------------------------------------------------


def _float_samples(rng: np.random.Generator, shape: list[int], scale: float, zp: int, n: int = 3) -> np.ndarray:
    """Floats around and beyond the quantized range, with exact .5 ties when the scale is a power of 2."""
    sample_shape = shape[1:] if shape[0] == 1 else shape
    size = n * int(np.prod(sample_shape, dtype=np.int64))
    q = rng.integers(-40000, 40000, size) if rng.random() < 0.3 else rng.integers(-140, 140, size) - zp
    frac = rng.choice([0.0, 0.5, -0.5, 0.25, 0.4999, 0.5001], size) if rng.random() < 0.5 else rng.random(size) - 0.5
    return ((q + frac) * scale).astype(np.float32).reshape(n, *sample_shape)


def _scale(rng: np.random.Generator) -> float:
    return float(2.0 ** rng.integers(-10, 2)) if rng.random() < 0.4 else log_uniform(rng, 1e-3, 1.0)


def _zp(rng: np.random.Generator, dtype: str) -> int:
    return int(rng.integers(-128, 128)) if dtype == "int8" else int(rng.choice([0, 0, int(rng.integers(-300, 300))]))


@st.composite
def quantize_case(draw):
    """float32 -> int8/int16 and int8/int16 -> int8/int16."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    src = draw(st.sampled_from(["float32", "int8", "int16"]))
    dst = draw(st.sampled_from(["int8", "int16"]))
    shape = _shape(draw, draw(st.integers(1, 4)), 1, 6)
    s_out, zp_out = _scale(rng), _zp(rng, dst)
    b = ModelBuilder()
    if src == "float32":
        x = b.tensor(shape, "float32")
        xs = _float_samples(rng, shape, s_out, zp_out)
    else:
        s_in = float(np.float32(s_out * np.exp(rng.uniform(np.log(1e-3), np.log(300.0)))))
        x = b.tensor(shape, scale=s_in, zero_point=_zp(rng, src))
        if src == "int16":
            _int16(b, x)
        xs = _int_samples(rng, shape, src)
    y = b.tensor(shape, scale=s_out, zero_point=zp_out)
    if dst == "int16":
        _int16(b, y)
    b.op("QUANTIZE", [x], [y])
    return b.build([x], [y]), xs


@given(quantize_case())
@settings(max_examples=60)
def test_quantize(case):
    check(*case)


def test_quantize_saturates_where_tflm_is_undefined():
    """Quotients beyond int32 (TFLM's cast is undefined behaviour there) and NaN: edgeneuro defines
    them as saturation and the zero point; the host C agrees with the reference. No TFLM here."""
    b = ModelBuilder()
    x = b.tensor([1, 6], "float32")
    y = b.tensor([1, 6], scale=0.5, zero_point=3)
    b.op("QUANTIZE", [x], [y])
    xs = np.array([[np.inf, -np.inf, np.nan, 1e30, -1e30, 1e5]], np.float32)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "op.tflite"
        path.write_bytes(b.build([x], [y]))
        ref = reference_run(path, xs)
        np.testing.assert_array_equal(ref, [[127, -128, 3, 127, -128, 127]])
        np.testing.assert_array_equal(host_c_run(path, xs, Path(d) / "gen"), ref)


@st.composite
def dequantize_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    src = draw(st.sampled_from(["int8", "int16"]))
    shape = _shape(draw, draw(st.integers(1, 4)), 1, 6)
    b = ModelBuilder()
    x = b.tensor(shape, scale=_scale(rng), zero_point=_zp(rng, src))
    if src == "int16":
        _int16(b, x)
    y = b.tensor(shape, "float32")
    b.op("DEQUANTIZE", [x], [y])
    return b.build([x], [y]), _int_samples(rng, shape, src)


@given(dequantize_case())
@settings(max_examples=40)
def test_dequantize(case):
    check_bytes(*case)


@st.composite
def float_chain_case(draw):
    """float32 in -> QUANTIZE -> TRANSPOSE -> STRIDED_SLICE -> QUANTIZE (requantize) -> DEQUANTIZE -> float32 out."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    h, w, c = draw(st.integers(2, 6)), draw(st.integers(2, 6)), draw(st.integers(1, 4))
    s1, z1, s2, z2 = _scale(rng), _zp(rng, "int8"), _scale(rng), _zp(rng, "int8")
    b = ModelBuilder()
    x = b.tensor([1, h, w, c], "float32")
    q = b.tensor([1, h, w, c], scale=s1, zero_point=z1)
    b.op("QUANTIZE", [x], [q])
    t = b.tensor([1, c, h, w], scale=s1, zero_point=z1)
    b.op("TRANSPOSE", [q, b.tensor([4], "int32", data=np.array([0, 3, 1, 2]))], [t])
    vecs = [b.tensor([4], "int32", data=np.array(v)) for v in ([0, 0, 1, -1], [1, c, h, 0], [1, 1, 1, -2])]
    sliced = [1, c, h - 1, len(range(w)[-1:0:-2])]
    s = b.tensor(sliced, scale=s1, zero_point=z1)
    b.op("STRIDED_SLICE", [t, *vecs], [s], options("StridedSliceOptions"), "StridedSliceOptions")
    r = b.tensor(sliced, scale=s2, zero_point=z2)
    b.op("QUANTIZE", [s], [r])
    y = b.tensor(sliced, "float32")
    b.op("DEQUANTIZE", [r], [y])
    return b.build([x], [y]), _float_samples(rng, [1, h, w, c], s1, z1)


@given(float_chain_case())
@settings(max_examples=15)
def test_float_io_chain(case):
    check_bytes(*case)


@pytest.mark.sim
@given(
    st.one_of(
        concat_case(),
        pad_case(),
        transpose_case(),
        strided_slice_case(),
        quantize_case(),
        dequantize_case(),
        float_chain_case(),
    )
)
@settings(max_examples=10)
def test_layout_ops_on_qemu(case):
    check_on_qemu(*case)
