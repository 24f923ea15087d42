"""Data-movement operators (SPLIT, SPLIT_V, UNPACK, PACK, GATHER, ...) over randomized shapes, axes
and element types: (a) edgeneuro's numpy reference == TensorFlow Lite Micro's reference kernels,
bit for bit, every output; (b) the generated C, built for the host, == the reference; (c) one
multi-output model as firmware on QEMU == TFLM."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opcheck import check, check_on_qemu, log_uniform, lowering_error, samples
from tflite_builder import ModelBuilder, options

from edgeneuro.compiler import load

pytestmark = pytest.mark.tflm
DTYPES = st.sampled_from(["int8", "int8", "int16", "float32"])


def _shape(draw, rank: int, lo: int = 1, hi: int = 5) -> list[int]:
    return [draw(st.integers(lo, hi)) for _ in range(rank)]


def _quant(rng: np.random.Generator, dtype: str) -> dict:
    """One tensor quantization for every tensor of a copy (float32: none)."""
    if dtype == "float32":
        return {}
    zp = int(rng.integers(-128, 128)) if dtype == "int8" else 0
    return {"scale": log_uniform(rng, 1e-3, 1.0), "zero_point": zp}


def _samples(rng: np.random.Generator, shape: list[int], dtype: str, n: int = 3) -> np.ndarray:
    if dtype == "int8":
        return samples(rng, shape, n)
    sample_shape = shape[1:] if shape[0] == 1 else shape
    if dtype == "int16":
        return rng.integers(-32768, 32768, (n, *sample_shape), dtype=np.int16)
    return rng.normal(size=(n, *sample_shape)).astype(np.float32)


# --- SPLIT, SPLIT_V, UNPACK ----------------------------------------------------------------------


@st.composite
def split_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind, dtype = draw(st.sampled_from(["SPLIT", "SPLIT_V", "UNPACK"])), draw(DTYPES)
    rank = draw(st.integers(2 if kind == "UNPACK" else 1, 4))  # (unpacking a vector gives scalars)
    shape = _shape(draw, rank, 1, 4)
    axis = draw(st.integers(-rank, rank - 1))
    n = draw(st.integers(1, 3))
    q = _quant(rng, dtype)
    b = ModelBuilder()
    if kind == "SPLIT":
        shape[axis] = n * draw(st.integers(1, 3))
    elif kind == "UNPACK":
        shape[axis] = n
    else:
        shape[axis] = draw(st.integers(n, n + 5))
    x = b.tensor(shape, dtype, **q)
    if kind == "SPLIT_V":
        cuts = sorted(draw(st.permutations(range(1, shape[axis])))[: n - 1])
        sizes = np.diff([0, *cuts, shape[axis]]).tolist()
        out_shapes = [[s if i == axis % rank else d for i, d in enumerate(shape)] for s in sizes]
    elif kind == "SPLIT":
        out_shapes = [[d // n if i == axis % rank else d for i, d in enumerate(shape)] for _ in range(n)]
    else:
        out_shapes = [[d for i, d in enumerate(shape) if i != axis % rank] for _ in range(n)]
    ys = [b.tensor(s, dtype, **q) for s in out_shapes]
    if kind == "SPLIT":
        a = b.tensor([], "int32", data=np.array(axis))
        b.op("SPLIT", [a, x], ys, options("SplitOptions", numSplits=n), "SplitOptions")
    elif kind == "SPLIT_V":
        sz = b.tensor([n], "int32", data=np.array([o[axis % rank] for o in out_shapes]))
        a = b.tensor([], "int32", data=np.array(axis))
        b.op("SPLIT_V", [x, sz, a], ys, options("SplitVOptions", numSplits=n), "SplitVOptions")
    else:
        b.op("UNPACK", [x], ys, options("UnpackOptions", num=n, axis=axis), "UnpackOptions")
    return b.build([x], ys), _samples(rng, shape, dtype)


@given(split_case())
@settings(max_examples=20)
def test_split(case):
    check(*case)


# --- PACK ----------------------------------------------------------------------------------------


@st.composite
def pack_case(draw):
    """The input stacked with itself and with constants."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(DTYPES)
    rank = draw(st.integers(1, 4))
    shape = _shape(draw, rank, 1, 4)
    axis = draw(st.integers(-(rank + 1), rank))
    n = draw(st.integers(1, 4))
    q = _quant(rng, dtype)
    b = ModelBuilder()
    x = b.tensor(shape, dtype, **q)
    xs = [x]
    for _ in range(n - 1):
        if draw(st.booleans()):
            xs.append(x)
        else:
            xs.append(b.tensor(shape, dtype, **q, data=_samples(rng, [1, *shape], dtype, 1).reshape(shape)))
    out = list(shape)
    out.insert(axis % (rank + 1), n)
    y = b.tensor(out, dtype, **q)
    b.op("PACK", xs, [y], options("PackOptions", valuesCount=n, axis=axis), "PackOptions")
    return b.build([x], [y]), _samples(rng, shape, dtype)


@given(pack_case())
@settings(max_examples=20)
def test_pack(case):
    check(*case)


# --- GATHER --------------------------------------------------------------------------------------


@st.composite
def gather_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(["int8", "int8", "float32"]))  # TFLM gathers int8 and float32
    rank = draw(st.integers(1, 4))
    shape = _shape(draw, rank, 1, 4)
    axis = draw(st.integers(0, rank - 1))
    batch_dims = draw(st.integers(0, min(axis, 1)))
    idx_shape = shape[:batch_dims] + _shape(draw, draw(st.integers(0, 2)), 1, 3)
    if rank == 1 and not idx_shape:
        idx_shape = [1]  # not a scalar result: tflm_run stacks samples of rank >= 1
    indices = rng.integers(0, shape[axis], idx_shape)
    q = _quant(rng, dtype)
    b = ModelBuilder()
    x = b.tensor(shape, dtype, **q)
    i = b.tensor(idx_shape, "int32", data=indices)
    out = shape[:axis] + idx_shape[batch_dims:] + shape[axis + 1 :]
    y = b.tensor(out, dtype, **q)
    neg = draw(st.booleans())
    opts = options("GatherOptions", axis=axis - rank if neg else axis, batchDims=batch_dims)
    b.op("GATHER", [x, i], [y], opts, "GatherOptions")
    return b.build([x], [y]), _samples(rng, shape, dtype)


@given(gather_case())
@settings(max_examples=20)
def test_gather(case):
    check(*case)


def test_gather_rejects_an_index_out_of_range():
    b = ModelBuilder()
    x = b.tensor([1, 4], scale=0.1, zero_point=0)
    i = b.tensor([2], "int32", data=np.array([1, 4]))
    y = b.tensor([1, 2], scale=0.1, zero_point=0)
    b.op("GATHER", [x, i], [y], options("GatherOptions", axis=1), "GatherOptions")
    model = b.build([x], [y])
    from conftest import tflm_run

    with pytest.raises(RuntimeError):
        tflm_run(model, np.zeros((1, 4), np.int8))
    assert "index 4 outside [0, 4)" in lowering_error(model)


# --- GATHER_ND -----------------------------------------------------------------------------------


@st.composite
def gather_nd_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(["int8", "int8", "float32"]))  # TFLM's types
    rank = draw(st.integers(1, 4))
    shape = _shape(draw, rank, 1, 4)
    nd = draw(st.integers(1, rank))
    lead = _shape(draw, draw(st.integers(0, 2)), 1, 3)
    if not lead and nd == rank:
        lead = [1]  # not a scalar result: tflm_run stacks samples of rank >= 1
    indices = np.stack([rng.integers(0, shape[j], lead) for j in range(nd)], axis=-1)
    q = _quant(rng, dtype)
    b = ModelBuilder()
    x = b.tensor(shape, dtype, **q)
    i = b.tensor([*lead, nd], "int32", data=indices)
    y = b.tensor(lead + shape[nd:], dtype, **q)
    b.op("GATHER_ND", [x, i], [y])
    return b.build([x], [y]), _samples(rng, shape, dtype)


@given(gather_nd_case())
@settings(max_examples=15)
def test_gather_nd(case):
    check(*case)


# --- DEPTH_TO_SPACE, SPACE_TO_DEPTH, BATCH_TO_SPACE_ND, SPACE_TO_BATCH_ND ------------------------


@st.composite
def space_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["DEPTH_TO_SPACE", "SPACE_TO_DEPTH", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND"]))
    dtype = draw(st.sampled_from(["int8", "int8", "float32"]))  # TFLM's types
    q = _quant(rng, dtype)
    b = ModelBuilder()
    n, h, w, c = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    if kind in ("DEPTH_TO_SPACE", "SPACE_TO_DEPTH"):
        bs = draw(st.integers(1, 3))
        if kind == "DEPTH_TO_SPACE":
            shape, out = [n, h, w, c * bs * bs], [n, h * bs, w * bs, c]
        else:
            shape, out = [n, h * bs, w * bs, c], [n, h, w, c * bs * bs]
        x = b.tensor(shape, dtype, **q)
        y = b.tensor(out, dtype, **q)
        opts = "DepthToSpaceOptions" if kind == "DEPTH_TO_SPACE" else "SpaceToDepthOptions"
        b.op(kind, [x], [y], options(opts, blockSize=bs), opts)
        return b.build([x], [y]), _samples(rng, shape, dtype), False
    rank = draw(st.integers(3, 4))
    spatial = rank - 2
    block = [draw(st.integers(1, 3)) for _ in range(spatial)]
    if kind == "BATCH_TO_SPACE_ND":
        sizes = [h, w][:spatial]
        tops = [draw(st.integers(0, d * k - 1)) for d, k in zip(sizes, block, strict=True)]
        edges = [[t, draw(st.integers(0, d * k - 1 - t))] for t, d, k in zip(tops, sizes, block, strict=True)]
        shape = [n * int(np.prod(block)), *sizes, c]
        out = [n, *[d * k - e[0] - e[1] for d, k, e in zip(sizes, block, edges, strict=True)], c]
    else:
        edges = [[draw(st.integers(0, 3)), 0] for _ in range(spatial)]
        sizes = [h, w][:spatial]
        for e, d, k in zip(edges, sizes, block, strict=True):
            e[1] = (-(d + e[0])) % k + k * draw(st.integers(0, 1))
        shape = [n, *sizes, c]
        out = [
            n * int(np.prod(block)),
            *[(d + e[0] + e[1]) // k for d, k, e in zip(sizes, block, edges, strict=True)],
            c,
        ]
    x = b.tensor(shape, dtype, **q)
    bt = b.tensor([spatial], "int32", data=np.array(block))
    et = b.tensor([spatial, 2], "int32", data=np.array(edges))
    y = b.tensor(out, dtype, **q)
    b.op(kind, [x, bt, et], [y])
    padded = kind == "SPACE_TO_BATCH_ND" and any(map(any, edges))
    return b.build([x], [y]), _samples(rng, shape, dtype), padded


def check_padded_space_to_batch(model: bytes, x: np.ndarray) -> None:
    """SPACE_TO_BATCH_ND with padding: TFLM pads with a field it never sets (see
    edgeneuro/ops/space.py), so its padded elements are found (TFLM's output for two constant
    inputs agrees only there) and left out; every other element must equal TFLM's, the padding
    must be the zero point, and the host C must equal the reference everywhere."""
    from conftest import host_c_run, reference_run, tflm_run

    marks = np.stack([np.full(x.shape[1:], v, x.dtype) for v in (77, -77)])
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "op.tflite"
        path.write_bytes(model)
        want = tflm_run(model, np.concatenate([marks, x]))
        pad = want[0] == want[1]
        assert pad.any() and not pad.all()
        ref = reference_run(path, x)
        np.testing.assert_array_equal(ref[:, ~pad], want[2:, ~pad], "reference != TFLM outside the padding")
        g = load(path).graph
        out = g.t(g.outputs[0])
        assert (ref[:, pad] == (out.zero_point if out.quant else 0)).all()
        np.testing.assert_array_equal(host_c_run(path, x, Path(d) / "gen"), ref, "host C != reference")


@given(space_case())
@settings(max_examples=20)
def test_space_rearrangements(case):
    model, x, padded = case
    if padded:
        check_padded_space_to_batch(model, x)
    else:
        check(model, x)


# --- MIRROR_PAD ----------------------------------------------------------------------------------


@st.composite
def mirror_pad_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(["int8", "int8", "float32"]))  # TFLM's types
    reflect = draw(st.booleans())
    rank = draw(st.integers(1, 5))
    shape = _shape(draw, rank, 1, 4)
    offset = 1 if reflect else 0
    pads = [[draw(st.integers(0, n - offset)), draw(st.integers(0, n - offset))] for n in shape]
    q = _quant(rng, dtype)
    b = ModelBuilder()
    x = b.tensor(shape, dtype, **q)
    p = b.tensor([rank, 2], draw(st.sampled_from(["int32", "int64"])), data=np.array(pads))
    y = b.tensor([n + sum(pd) for n, pd in zip(shape, pads, strict=True)], dtype, **q)
    b.op("MIRROR_PAD", [x, p], [y], options("MirrorPadOptions", mode=0 if reflect else 1), "MirrorPadOptions")
    return b.build([x], [y]), _samples(rng, shape, dtype)


@given(mirror_pad_case())
@settings(max_examples=20)
def test_mirror_pad(case):
    check(*case)


# --- CAST ----------------------------------------------------------------------------------------


@st.composite
def cast_case(draw):
    """A chain of casts from the model input's type, through int32 and back to an output type."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    types = ["int8", "int16", "int32", "float32"]
    src = draw(st.sampled_from(["int8", "int16", "float32"]))
    chain = [src]
    for _ in range(draw(st.integers(1, 3))):
        chain.append(draw(st.sampled_from([t for t in types if t != chain[-1]])))
    if chain[-1] == "int32":
        chain.append(draw(st.sampled_from(["int8", "int16", "float32"])))
    shape = _shape(draw, draw(st.integers(1, 3)), 1, 5)
    b = ModelBuilder()
    ts = [b.tensor(shape, t) for t in chain]
    for a, c in zip(ts, ts[1:], strict=False):
        b.op("CAST", [a], [c])
    sample_shape = shape[1:] if shape[0] == 1 else shape
    if src == "float32":  # in range of every integer type on the way, fractions and negatives included
        x = rng.uniform(-128, 128, (3, *sample_shape)) * rng.choice([1, 0.01], (3, *sample_shape))
        x = x.astype(np.float32)
    else:
        x = _samples(rng, shape, src)
    return b.build([ts[0]], [ts[-1]]), x


@given(cast_case())
@settings(max_examples=20)
def test_cast(case):
    check(*case)


# --- SHAPE, FILL, ZEROS_LIKE ---------------------------------------------------------------------


@st.composite
def shape_fill_case(draw):
    """SHAPE of an input [2, k] (folded at compile time) picks rows of a constant table (GATHER,
    folded), and a FILL of constants (folded); each is stacked with the input (PACK): the folded
    constants must be TFLM's values. (TFLM cannot run SHAPE -> FILL: its Prepare compares FILL's
    dims with the output shape before SHAPE has run.)"""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(["int8", "float32"]))
    shape = [2, draw(st.integers(1, 4))]
    q = _quant(rng, dtype)
    b = ModelBuilder()
    x = b.tensor(shape, dtype, **q)
    s = b.tensor([2], "int32")
    b.op("SHAPE", [x], [s], options("ShapeOptions", outType=2), "ShapeOptions")  # TensorType INT32 = 2
    table = b.tensor([5, shape[1]], dtype, **q, data=_samples(rng, [5, shape[1]], dtype, 1).reshape(5, -1))
    picked = b.tensor(shape, dtype, **q)
    b.op("GATHER", [table, s], [picked], options("GatherOptions", axis=0), "GatherOptions")
    d = b.tensor([2], "int32", data=np.array(shape))
    v = b.tensor([], dtype, **q, data=_samples(rng, [1, 1], dtype, 1).reshape(()))
    f = b.tensor(shape, dtype, **q)
    b.op("FILL", [d, v], [f])
    y = b.tensor([3, *shape], dtype, **q)
    b.op("PACK", [x, picked, f], [y], options("PackOptions", valuesCount=3, axis=0), "PackOptions")
    return b.build([x], [y]), _samples(rng, shape, dtype)


@given(shape_fill_case())
@settings(max_examples=10)
def test_shape_and_fill_fold(case):
    check(*case)


@st.composite
def fill_runtime_case(draw):
    """FILL with a value the model computes (the input reshaped to a scalar): the C kernel runs."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(["int8", "float32"]))
    out = _shape(draw, draw(st.integers(1, 3)), 1, 4)
    q = _quant(rng, dtype)
    b = ModelBuilder()
    x = b.tensor([1], dtype, **q)
    v = b.tensor([], dtype, **q)
    b.op("RESHAPE", [x], [v], options("ReshapeOptions", newShape=[]), "ReshapeOptions")
    d = b.tensor([len(out)], "int32", data=np.array(out))
    y = b.tensor(out, dtype, **q)
    b.op("FILL", [d, v], [y])
    return b.build([x], [y]), _samples(rng, [1], dtype, 4)


@given(fill_runtime_case())
@settings(max_examples=10)
def test_fill_runtime_value(case):
    check(*case)


@st.composite
def zeros_like_case(draw):
    """ZEROS_LIKE of float32 (stacked with the input) or of int32 (between two casts)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = _shape(draw, draw(st.integers(1, 3)), 1, 4)
    b = ModelBuilder()
    if draw(st.booleans()):
        x = b.tensor(shape, "float32")
        z = b.tensor(shape, "float32")
        b.op("ZEROS_LIKE", [x], [z])
        y = b.tensor([*shape, 2], "float32")
        b.op("PACK", [x, z], [y], options("PackOptions", valuesCount=2, axis=-1), "PackOptions")
        return b.build([x], [y]), _samples(rng, shape, "float32")
    x, i, z, y = b.tensor(shape, "int8"), b.tensor(shape, "int32"), b.tensor(shape, "int32"), b.tensor(shape, "int16")
    b.op("CAST", [x], [i])
    b.op("ZEROS_LIKE", [i], [z])
    b.op("CAST", [z], [y])
    return b.build([x], [y]), _samples(rng, shape, "int8")


@given(zeros_like_case())
@settings(max_examples=10)
def test_zeros_like(case):
    check(*case)


# --- GATHER / EMBEDDING_LOOKUP with indices the model computes ----------------------------------


@st.composite
def lookup_case(draw):
    """int8 input -> CAST to int32 -> the indices of a GATHER (axis 0) or EMBEDDING_LOOKUP of a
    constant table (int8, float32, or int8 read as float32): indices read at run time."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["GATHER", "EMBEDDING_LOOKUP"]))
    dtype, out_dtype = draw(st.sampled_from([("int8", "int8"), ("float32", "float32"), ("int8", "float32")]))
    if kind == "GATHER":
        out_dtype = dtype
    rows, n = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    row_shape = _shape(draw, draw(st.integers(1, 2)), 1, 3)
    q = _quant(rng, dtype)
    if out_dtype != dtype:
        q["zero_point"] = 0  # TFLM's hybrid lookup requires it
    b = ModelBuilder()
    x = b.tensor([n], scale=1.0, zero_point=0)
    i = b.tensor([n], "int32")
    b.op("CAST", [x], [i])
    table = b.tensor([rows, *row_shape], dtype, **q, data=_samples(rng, [rows, *row_shape], dtype, 1)[0])
    y = b.tensor([n, *row_shape], out_dtype, **(q if out_dtype == dtype else {}))
    if kind == "GATHER":
        b.op("GATHER", [table, i], [y], options("GatherOptions", axis=0), "GatherOptions")
    else:
        b.op("EMBEDDING_LOOKUP", [i, table], [y])
    return b.build([x], [y]), rng.integers(0, rows, (4, n)).astype(np.int8)


@given(lookup_case())
@settings(max_examples=15)
def test_lookup_with_computed_indices(case):
    check(*case)


def test_lookup_out_of_range_at_run_time_gives_zeros():
    """Where TFLM's Invoke fails (an index computed out of range), edgeneuro's reference and C
    write zeros to that row: checked between the two (TFLM gives no output to compare)."""
    from conftest import host_c_run, reference_run

    b = ModelBuilder()
    x = b.tensor([3], scale=1.0, zero_point=0)
    i = b.tensor([3], "int32")
    b.op("CAST", [x], [i])
    table = b.tensor([4, 2], scale=0.5, zero_point=3, data=np.arange(1, 9).reshape(4, 2))
    y = b.tensor([3, 2], scale=0.5, zero_point=3)
    b.op("GATHER", [table, i], [y], options("GatherOptions", axis=0), "GatherOptions")
    xs = np.array([[0, 4, -1], [3, 2, 1]], np.int8)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "op.tflite"
        path.write_bytes(b.build([x], [y]))
        ref = reference_run(path, xs)
        np.testing.assert_array_equal(ref, [[[1, 2], [0, 0], [0, 0]], [[7, 8], [5, 6], [3, 4]]])
        np.testing.assert_array_equal(host_c_run(path, xs, Path(d) / "gen"), ref)


# --- SELECT_V2 -----------------------------------------------------------------------------------


@st.composite
def select_case(draw):
    """A constant bool condition choosing between the input and a constant (either order), shapes
    broadcast against each other."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(DTYPES)
    rank = draw(st.integers(1, 4))
    full = _shape(draw, rank, 1, 4)

    def part():  # a shape that broadcasts to `full`: trailing dimensions, some set to 1
        r = draw(st.integers(0, rank))
        return [1 if draw(st.booleans()) else d for d in full[rank - r :]]

    cshape, xshape, kshape = part(), full, part()  # the input has the full shape: it is a model input
    q = _quant(rng, dtype)
    b = ModelBuilder()
    c = b.tensor(cshape, "bool", data=rng.random(cshape) < 0.5)
    x = b.tensor(xshape, dtype, **q)
    k = b.tensor(kshape, dtype, **q, data=_samples(rng, [1, *kshape], dtype, 1).reshape(kshape))
    y = b.tensor(full, dtype, **q)
    b.op("SELECT_V2", [c, x, k] if draw(st.booleans()) else [c, k, x], [y])
    return b.build([x], [y]), _samples(rng, xshape, dtype)


@given(select_case())
@settings(max_examples=20)
def test_select_v2(case):
    check(*case)


# --- on the board ---------------------------------------------------------------------------------


def multi_output_model() -> bytes:
    """int8 [1, 4, 6] -> SPLIT (3 outputs) -> one a model output, two stacked (PACK), the input
    mirrored (MIRROR_PAD), and its float32 cast cut by SPLIT_V (one piece unused): four model
    outputs of two types, through the variadic kernels (int8 and float32) on the chip."""
    b = ModelBuilder()
    q = {"scale": 0.05, "zero_point": -3}
    x = b.tensor([1, 4, 6], **q)
    parts = [b.tensor([1, 4, 2], **q) for _ in range(3)]
    b.op("SPLIT", [b.tensor([], "int32", data=np.array(2)), x], parts, options("SplitOptions", numSplits=3),
         "SplitOptions")  # fmt: skip
    stacked = b.tensor([1, 2, 4, 2], **q)
    b.op("PACK", parts[1:], [stacked], options("PackOptions", valuesCount=2, axis=1), "PackOptions")
    mirrored = b.tensor([1, 6, 9], **q)
    pads = b.tensor([3, 2], "int32", data=np.array([[0, 0], [1, 1], [2, 1]]))
    b.op("MIRROR_PAD", [x, pads], [mirrored], options("MirrorPadOptions", mode=0), "MirrorPadOptions")
    f = b.tensor([1, 4, 6], "float32")
    b.op("CAST", [x], [f])
    pieces = [b.tensor([1, 4, 1], "float32"), b.tensor([1, 4, 5], "float32")]
    b.op("SPLIT_V", [f, b.tensor([2], "int32", data=np.array([1, 5])), b.tensor([], "int32", data=np.array(-1))],
         pieces, options("SplitVOptions", numSplits=2), "SplitVOptions")  # fmt: skip
    return b.build([x], [parts[0], stacked, mirrored, pieces[1]])


def test_multi_output_model_on_host():
    check(multi_output_model(), samples(np.random.default_rng(5), [1, 4, 6], 4))


@pytest.mark.sim
def test_multi_output_model_on_qemu():
    check_on_qemu(multi_output_model(), samples(np.random.default_rng(6), [1, 4, 6], 4))


# --- what TFLM rejects or edgeneuro does not do: clear errors ---------------------------------------


def _gather_int16() -> tuple[bytes, bool]:
    b = ModelBuilder()
    x = b.tensor([1, 4], "int16", scale=0.1, zero_point=0)
    y = b.tensor([1, 2], "int16", scale=0.1, zero_point=0)
    b.op("GATHER", [x, b.tensor([2], "int32", data=np.array([0, 3]))], [y], options("GatherOptions", axis=1),
         "GatherOptions")  # fmt: skip
    return b.build([x], [y]), True


def _mirror_pad_too_wide() -> tuple[bytes, bool]:
    b = ModelBuilder()
    x = b.tensor([1, 3], scale=0.1, zero_point=0)
    y = b.tensor([1, 9], scale=0.1, zero_point=0)
    pads = b.tensor([2, 2], "int32", data=np.array([[0, 0], [3, 3]]))
    b.op("MIRROR_PAD", [x, pads], [y], options("MirrorPadOptions", mode=0), "MirrorPadOptions")
    return b.build([x], [y]), False  # TFLM would read outside the input


def _split_uneven() -> tuple[bytes, bool]:
    b = ModelBuilder()
    x = b.tensor([1, 5], scale=0.1, zero_point=0)
    ys = [b.tensor([1, 2], scale=0.1, zero_point=0) for _ in range(2)]
    b.op("SPLIT", [b.tensor([], "int32", data=np.array(1)), x], ys, options("SplitOptions", numSplits=2),
         "SplitOptions")  # fmt: skip
    return b.build([x], ys), False


def _split_v_sizes() -> tuple[bytes, bool]:
    b = ModelBuilder()
    x = b.tensor([1, 5], scale=0.1, zero_point=0)
    ys = [b.tensor([1, 2], scale=0.1, zero_point=0), b.tensor([1, 2], scale=0.1, zero_point=0)]
    b.op("SPLIT_V", [x, b.tensor([2], "int32", data=np.array([2, 2])), b.tensor([], "int32", data=np.array(1))],
         ys, options("SplitVOptions", numSplits=2), "SplitVOptions")  # fmt: skip
    return b.build([x], ys), False


def _gather_nd_out_of_range() -> tuple[bytes, bool]:
    b = ModelBuilder()
    x = b.tensor([2, 3], scale=0.1, zero_point=0)
    y = b.tensor([1], scale=0.1, zero_point=0)
    b.op("GATHER_ND", [x, b.tensor([1, 2], "int32", data=np.array([[1, 3]]))], [y])
    return b.build([x], [y]), False


def _select_quantized_apart() -> tuple[bytes, bool]:
    b = ModelBuilder()
    c = b.tensor([1, 3], "bool", data=np.array([[True, False, True]]))
    x = b.tensor([1, 3], scale=0.1, zero_point=0)
    k = b.tensor([1, 3], scale=0.2, zero_point=0, data=np.array([[1, 2, 3]]))
    y = b.tensor([1, 3], scale=0.1, zero_point=0)
    b.op("SELECT_V2", [c, x, k], [y])
    return b.build([x], [y]), False


@pytest.mark.parametrize(
    "make, why",
    [
        (_gather_int16, "TFLM moves int8, float32 here"),
        (_mirror_pad_too_wide, "each must be 0 to 2"),
        (_split_uneven, "into equal parts"),
        (_split_v_sizes, "do not split"),
        (_gather_nd_out_of_range, "index 3 at [0, 1] is outside dimension 1"),
        (_select_quantized_apart, "quantized differently"),
    ],
)
def test_rejections(make, why):
    model, tflm_rejects = make()
    if tflm_rejects:
        from conftest import tflm_run

        with pytest.raises(RuntimeError):
            tflm_run(model, np.zeros((1, 4), np.int16))
    assert why in lowering_error(model)


def test_plan_gives_each_output_its_own_buffer():
    """The memory plan of the multi-output model: every output of a kernel has a buffer written at
    that kernel's step, and no two buffers alive at the same step share bytes."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.tflite"
        path.write_bytes(multi_output_model())
        p = load(path)
    buffers = {t: b for b in p.plan.buffers for t in b.tensors}
    for step, k in enumerate(p.kernels):
        assert len({buffers[n].offset for n in k.outputs}) == len(k.outputs)
        assert all(buffers[n].first == step for n in k.outputs)
    for a in p.plan.buffers:
        for b in p.plan.buffers:
            if a is not b and not (a.last < b.first or b.last < a.first):
                assert a.offset + a.nbytes <= b.offset or b.offset + b.nbytes <= a.offset
    split = p.plan.layers[0]
    assert split["op"] == "SPLIT" and split["output_shapes"] == [[1, 4, 2]] * 3


def test_split_of_a_constant_is_folded():
    """SPLIT of a constant (both outputs folded at compile time) stacked with the input."""
    rng = np.random.default_rng(3)
    b = ModelBuilder()
    q = {"scale": 0.1, "zero_point": 4}
    x = b.tensor([1, 2], **q)
    c = b.tensor([1, 4], **q, data=rng.integers(-128, 128, (1, 4)))
    parts = [b.tensor([1, 2], **q) for _ in range(2)]
    b.op("SPLIT", [b.tensor([], "int32", data=np.array(1)), c], parts, options("SplitOptions", numSplits=2),
         "SplitOptions")  # fmt: skip
    y = b.tensor([3, 1, 2], **q)
    b.op("PACK", [x, *parts], [y], options("PackOptions", valuesCount=3, axis=0), "PackOptions")
    model = b.build([x], [y])
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.tflite"
        path.write_bytes(model)
        assert [k.op.kind for k in load(path).kernels] == ["PACK"]
    check(model, samples(rng, [1, 2], 3))


def test_select_v2_on_a_computed_condition():
    """The condition computed by the model (GREATER, a bool tensor in the arena), broadcast."""
    rng = np.random.default_rng(1)
    b = ModelBuilder()
    q = {"scale": 0.1, "zero_point": 2}
    x = b.tensor([1, 3, 4], **q)
    c = b.tensor([1, 3, 4], "bool")
    b.op("GREATER", [x, b.tensor([], **q, data=np.array(5))], [c])
    y = b.tensor([1, 3, 4], **q)
    b.op("SELECT_V2", [c, x, b.tensor([4], **q, data=np.array([1, -2, 3, -4]))], [y])
    check(b.build([x], [y]), samples(rng, [1, 3, 4], 4))


def test_int32_split_unpack_pack():
    """int32 tensors inside the model (CAST from the int8 input): UNPACK and SPLIT them, PACK the
    pieces in another order, CAST to int16 for the model output."""
    rng = np.random.default_rng(2)
    b = ModelBuilder()
    x = b.tensor([2, 3, 4], scale=1.0, zero_point=0)
    i = b.tensor([2, 3, 4], "int32")
    b.op("CAST", [x], [i])
    rows = [b.tensor([3, 4], "int32") for _ in range(2)]
    b.op("UNPACK", [i], rows, options("UnpackOptions", num=2, axis=0), "UnpackOptions")
    halves = [b.tensor([3, 2], "int32") for _ in range(2)]
    b.op("SPLIT", [b.tensor([], "int32", data=np.array(1)), rows[1]], halves, options("SplitOptions", numSplits=2),
         "SplitOptions")  # fmt: skip
    stacked = b.tensor([3, 3, 2], "int32")
    b.op("PACK", [halves[1], halves[0], halves[1]], [stacked], options("PackOptions", valuesCount=3, axis=1),
         "PackOptions")  # fmt: skip
    y = b.tensor([3, 3, 2], "int16")
    b.op("CAST", [stacked], [y])
    check(b.build([x], [y]), samples(rng, [2, 3, 4], 3))
