"""ADD / SUB / MUL's DSP kernel (firmware/kernels/binary_dsp.c, chosen with the core feature ``dsp``
for int8 layers whose inputs both have the output's size) computes the portable kernel's bits.

Over randomized scales, zero points (the extremes -128 and 127 among them) and fused activations,
with both inputs in the arena (a model with two inputs) or one a constant: TFLM == the portable
kernel's numpy reference == the variant's numpy reference (from its own parameters) == its C built
for the host (the plain-C twins of en_simd.h), the output written over an input. Where the short
requantization is not exact for every pair of int8 inputs (input scales far apart, a MUL whose
multiplier is 1/2 or more) or the inputs broadcast, the variant is not chosen and the portable
kernel gives the same bits. On the host the C kernel also runs all 65,536 pairs of inputs for each
form of its parameters; on QEMU (the SIMD instructions themselves) a few single-layer models and
ResNet-8 (three residual ADDs) equal TFLM."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import MLPERF, examples, tflm_run
from hypothesis import given, settings
from hypothesis import strategies as st
from opcheck import check_on_qemu, log_uniform, samples
from tflite_builder import ACT, ModelBuilder, options

from edgeneuro import boards, compiler, reference
from edgeneuro.ir.quant import INT32_MIN
from edgeneuro.ops import binary
from edgeneuro.options import CompileOptions
from edgeneuro.runner import run_on_board, run_on_host

DSP = CompileOptions(features=("dsp",))
FN = "en_binary_s8_dsp"
OPTIONS = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions"}


def binary_model(
    rng: np.random.Generator,
    kind: str,
    shape: list[int],
    act: str = "NONE",
    const_b: bool = False,
    ratio: float | None = None,
    out_ratio: float | None = None,
    zps: tuple[int, int, int] | None = None,
    n: int = 3,
    scales: tuple[float, float, float] | None = None,
) -> tuple[bytes, np.ndarray, np.ndarray | None]:
    """One ADD / SUB / MUL whose inputs both have ``shape``: b a constant (const_b) or a second
    model input. Returns the model, n samples of a and (two inputs) of b. ratio: s_b / s_a (None:
    log-uniform in [1/8, 8], where the fast path is exact for most zero points); out_ratio: s_out
    over max(s_a, s_b) (ADD, SUB) or 128 * s_a * s_b (MUL), uniform in [0.5, 3] by default; scales:
    (s_a, s_b, s_out) instead."""
    s_a = log_uniform(rng, 1e-3, 0.5)
    s_b = float(np.float32(s_a * (log_uniform(rng, 1 / 8, 8) if ratio is None else ratio)))
    base = 128 * s_a * s_b if kind == "MUL" else max(s_a, s_b)
    s_out = float(np.float32(base * (rng.uniform(0.5, 3) if out_ratio is None else out_ratio)))
    if scales is not None:
        s_a, s_b, s_out = scales
    draw_zp = lambda: int(rng.choice([-128, 127, int(rng.integers(-128, 128))]))  # noqa: E731
    za, zb, zo = zps if zps is not None else (draw_zp(), draw_zp(), draw_zp())
    b = ModelBuilder()
    xa = b.tensor(shape, scale=s_a, zero_point=za)
    xb = b.tensor(shape, scale=s_b, zero_point=zb, data=rng.integers(-128, 128, shape) if const_b else None)
    y = b.tensor(shape, scale=s_out, zero_point=zo)
    b.op(kind, [xa, xb], [y], options(OPTIONS[kind], fusedActivationFunction=ACT[act]), OPTIONS[kind])
    model = b.build([xa] if const_b else [xa, xb], [y])
    return model, samples(rng, shape, n), None if const_b else samples(rng, shape, n)


def tflm_run2(model: bytes, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """TFLM's reference kernels on a model with two inputs, one inference per pair of samples."""
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model, arena_size=1 << 20)
    outs = []
    for sa, sb in zip(a, b, strict=True):
        interp.reset()
        interp.set_input(sa.reshape(interp.get_input_details(0)["shape"]), 0)
        interp.set_input(sb.reshape(interp.get_input_details(1)["shape"]), 1)
        interp.invoke()
        y = interp.get_output(0)
        outs.append((y[0] if y.shape[0] == 1 else y).copy())
    return np.stack(outs)


def _reference(p: compiler.Prepared, a: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    if b is None:
        return reference.run_batch(p.graph, p.kernels, a)
    g = p.graph
    (ta, tb), y = (g.t(n) for n in g.inputs), g.t(g.outputs[0])
    pairs = zip(a, b, strict=True)
    outs = [reference.run(g, p.kernels, [sa.reshape(ta.shape), sb.reshape(tb.shape)])[0] for sa, sb in pairs]
    return np.stack([o.reshape(y.sample_shape) for o in outs])


def _host(p: compiler.Prepared, a: np.ndarray, b: np.ndarray | None, out: Path) -> np.ndarray:
    """The generated C on the host; two inputs go in as each sample's a bytes, then its b bytes."""
    c = compiler.compile_model(p, boards.load("mps2-an386"), out)
    x = a if b is None else np.concatenate([a.reshape(len(a), -1), b.reshape(len(b), -1)], axis=1)
    (y,) = run_on_host(c, x).values()
    return y


def check_dsp(model: bytes, a: np.ndarray, b: np.ndarray | None) -> compiler.Prepared:
    """The variant is chosen exactly where ``binary.variant`` says so (then it writes its output over
    an input); TFLM == the portable reference == the chosen kernel's reference == its host C."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "op.tflite"
        path.write_bytes(model)
        portable, auto = compiler.load(path), compiler.load(path, DSP)
        (kp,), (k,) = portable.kernels, auto.kernels
        assert kp.fn == "en_binary_s8"
        chosen = binary.variant(auto.graph.ops[0], auto.graph, ("dsp",)) == "dsp"
        assert k.fn == (FN if chosen else "en_binary_s8")
        assert k.c_file == ("binary_dsp" if chosen else None)
        if chosen:
            assert k.entry == f"{FN}_{binary.dsp_form(k.params)}" and k.inplace == (0, 1)
            offsets = auto.plan.offsets
            assert offsets[k.outputs[0]] in [offsets[n] for n in k.inputs if n in offsets]
        expected = tflm_run2(model, a, b) if b is not None else tflm_run(model, a)
        for what, p in (("portable", portable), ("chosen", auto)):
            ref = _reference(p, a, b)
            mismatch = np.argwhere(ref.reshape(expected.shape) != expected)
            assert mismatch.size == 0, f"{what} reference != TFLM at {mismatch[:5].tolist()} of {expected.size}"
        y = _host(auto, a, b, Path(d) / "gen")
        np.testing.assert_array_equal(y.reshape(expected.shape), expected, err_msg=f"host C ({k.fn}) != TFLM")
        return auto


@st.composite
def dsp_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["ADD", "SUB", "MUL"]))
    shape = [1] + [draw(st.integers(1, 6)) for _ in range(draw(st.integers(1, 3)))]
    scales = draw(st.sampled_from(["near", "near", "near", "equal", "apart"]))
    ratio = {"near": None, "equal": 1.0, "apart": log_uniform(rng, 1 / 64, 64)}[scales]
    out_ratio = rng.uniform(1 / 512, 1 / 64) if kind == "MUL" and draw(st.integers(0, 5)) == 0 else None
    return binary_model(
        rng, kind, shape, act=draw(st.sampled_from(["NONE", "RELU", "RELU6"])), const_b=draw(st.booleans()),
        ratio=ratio, out_ratio=out_ratio,
    )  # fmt: skip


@given(dsp_case())
@settings(max_examples=examples(50))
def test_dsp_kernel_is_bit_exact(case):
    check_dsp(*case)


# (kind, s_b / s_a, zero points a, b, out, activation) -> the variant's form: which input is rounded
# (swap: b), the sign of 2 * raw (dbl), and the multiplier of the rounded input (INT32_MIN: both
# scales equal, the rounded input linear too).
PATHS = [
    (("ADD", 0.3, (5, -7, 3), "NONE"), dict(op=0, swap=1, dbl=2)),  # b rounded
    (("ADD", 3.0, (-128, 127, -128), "RELU"), dict(op=0, swap=0, dbl=2)),  # a rounded; RELU at -128: no clamp
    (("SUB", 3.0, (127, -128, 0), "NONE"), dict(op=0, swap=0, dbl=2)),  # a - b, a rounded: lin < 0
    (("SUB", 0.3, (-20, 40, -1), "NONE"), dict(op=0, swap=1, dbl=-2)),  # a - b, b rounded: r = -2u
    (("ADD", 1.0, (9, -9, 0), "NONE"), dict(op=0, swap=0, dbl=-2, mult=INT32_MIN)),  # equal scales
    (("SUB", 1.0, (-128, 127, 10), "RELU"), dict(op=0, swap=0, dbl=-2, mult=INT32_MIN)),  # equal, clamped
    (("ADD", 0.6, (3, 2, 17), "RELU"), dict(op=0, swap=1, dbl=2)),  # clamped below
    (("ADD", 2.0, (0, -4, -30), "RELU6"), dict(op=0, swap=0, dbl=2)),  # clamped both ways
    (("MUL", 0.7, (-128, 127, 127), "NONE"), dict(op=1)),
    (("MUL", 2.5, (12, -3, -60), "RELU6"), dict(op=1)),
]


@pytest.mark.parametrize("case, form", PATHS, ids=[f"{c[0]}-{i}" for i, (c, _) in enumerate(PATHS)])
def test_dsp_paths(case, form):
    kind, ratio, zps, act = case
    model, a, b = binary_model(np.random.default_rng(3), kind, [1, 5, 7, 3], act, ratio=ratio, zps=zps)
    p = check_dsp(model, a, b).kernels[0]
    assert p.fn == FN
    assert {f: p.params[f] for f in form} == form
    assert p.entry == FN + ("_mul" if kind == "MUL" else "_addsub_neg" if form["dbl"] < 0 else "_addsub")
    clamped = p.params["act_min"] > -128 or p.params["act_max"] < 127
    assert clamped == (act == "RELU6" or (act == "RELU" and zps[2] > -128))


# A layer where the rounded input's sign correction decides outputs (5 of the 65,536 pairs): in most
# layers an ADD's raw sum is rounded by 2^17 or so at the output, so a last-bit difference in it
# rarely shows.
SIGN_MATTERS = (("SUB", (0.01318906620144844, 0.00791343953460455, 0.01614500768482685), (52, 47, 69), "NONE"),
                dict(op=0, swap=1, dbl=-2))  # fmt: skip


@pytest.mark.parametrize(
    "case, form", [*PATHS, SIGN_MATTERS], ids=[f"{c[0]}-{i}" for i, (c, _) in enumerate([*PATHS, SIGN_MATTERS])]
)
def test_every_input_pair_in_c(case, form):
    """The C kernel on the host over all 65,536 pairs of int8 inputs (a 256 x 256 layer) == TFLM."""
    kind, ratio, zps, act = case
    scales = ratio if isinstance(ratio, tuple) else None
    model, _, _ = binary_model(np.random.default_rng(5), kind, [1, 256, 256], act, ratio=None if scales else ratio,
                               zps=zps, scales=scales)  # fmt: skip
    grid = np.arange(-128, 128, dtype=np.int8)
    a, b = np.repeat(grid, 256).reshape(1, 256, 256), np.tile(grid, 256).reshape(1, 256, 256)
    p = check_dsp(model, a, b).kernels[0]
    assert p.fn == FN and {f: p.params[f] for f in form} == form


@pytest.mark.parametrize(
    "kind, ratio, out_ratio",
    [
        ("ADD", 1 / 40, None),  # scales 40x apart: the linear input times 2^7 would leave int32
        ("SUB", 50.0, None),
        ("MUL", 0.5, 1 / 100),  # s_a s_b / s_out = 0.78: shift 0, no rounding shift to fold into
    ],
)
def test_inexact_layers_keep_the_portable_kernel(kind, ratio, out_ratio):
    model, a, b = binary_model(np.random.default_rng(1), kind, [1, 4, 6], ratio=ratio, out_ratio=out_ratio,
                               zps=(-128, 127, 5))  # fmt: skip
    assert check_dsp(model, a, b).kernels[0].fn == "en_binary_s8"


def test_variant_only_without_broadcasting():
    """b of shape [C] broadcast over [1, H, W, C], and a core without DSP: the portable kernel."""
    rng = np.random.default_rng(2)
    mb = ModelBuilder()
    xa = mb.tensor([1, 3, 3, 4], scale=0.05, zero_point=-3)
    xb = mb.tensor([4], scale=0.02, zero_point=1, data=rng.integers(-128, 128, 4))
    y = mb.tensor([1, 3, 3, 4], scale=0.06, zero_point=2)
    mb.op("ADD", [xa, xb], [y], options("AddOptions", fusedActivationFunction=0), "AddOptions")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "add.tflite"
        path.write_bytes(mb.build([xa], [y]))
        assert [k.fn for k in compiler.load(path, DSP).kernels] == ["en_binary_s8"]
        model, _, _ = binary_model(rng, "ADD", [1, 3, 4], ratio=0.5)
        path.write_bytes(model)
        assert [k.fn for k in compiler.load(path, DSP).kernels] == [FN]
        assert [k.fn for k in compiler.load(path).kernels] == ["en_binary_s8"]
        assert [k.fn for k in compiler.load(path, CompileOptions(features=("dsp",), kernels="reference")).kernels] == [
            "en_binary_s8"
        ]


def test_reference_reads_the_variants_parameters():
    """The variant's reference computes from its own parameters: a constant one zero-point step
    off (or a multiplier off) shows."""
    model, a, b = binary_model(np.random.default_rng(4), "ADD", [1, 6, 5], ratio=0.4, zps=(3, -9, 0))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "op.tflite"
        path.write_bytes(model)
        p = compiler.load(path, DSP)
        (k,) = p.kernels
        assert k.fn == FN
        good = _reference(p, a, b)
        q = k.params
        for field, delta in (("round", q["lin"]), ("k", 1 << 21), ("mult", 1 << 26), ("out_offset", 1 << 17)):
            bad = dataclasses.replace(k, params={**q, field: q[field] + delta})
            wrong = _reference(dataclasses.replace(p, kernels=(bad,)), a, b)
            assert not np.array_equal(wrong, good), field


def _two_arena_inputs(rng: np.random.Generator, kind: str, act: str) -> tuple[bytes, np.ndarray]:
    """x, then QUANTIZE(x) to another scale and zero point, then kind(x, that) (one model input:
    the board's harness takes one; both operands in the arena)."""
    mb = ModelBuilder()
    x = mb.tensor([1, 9, 7], scale=0.04, zero_point=-5)
    q = mb.tensor([1, 9, 7], scale=0.11, zero_point=20)
    y = mb.tensor([1, 9, 7], scale=0.09 if kind != "MUL" else 0.3, zero_point=-2)
    mb.op("QUANTIZE", [x], [q])
    mb.op(kind, [q, x], [y], options(OPTIONS[kind], fusedActivationFunction=ACT[act]), OPTIONS[kind])
    return mb.build([x], [y]), samples(rng, [1, 9, 7])


@pytest.mark.sim
@pytest.mark.parametrize(
    "case",
    [
        ("ADD", 0.3, "NONE"),
        ("SUB", 0.3, "RELU"),  # r = -2u, clamped
        ("SUB", 1.0, "NONE"),  # equal scales
        ("MUL", 1.7, "RELU6"),
    ],
)
def test_dsp_paths_on_qemu(case):
    """Single layers (b a constant) on the Cortex-M4 with its DSP kernels == TFLM."""
    kind, ratio, act = case
    model, a, _ = binary_model(np.random.default_rng(8), kind, [1, 11, 3], act, const_b=True, ratio=ratio,
                               zps=(-7, 30, 4))  # fmt: skip
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "op.tflite"
        path.write_bytes(model)
        assert compiler.load(path, DSP).kernels[0].fn == FN
    check_on_qemu(model, a)


@pytest.mark.sim
@pytest.mark.parametrize("kind, act", [("ADD", "RELU6"), ("SUB", "NONE"), ("MUL", "RELU")])
def test_two_arena_inputs_on_qemu(kind, act):
    model, x = _two_arena_inputs(np.random.default_rng(9), kind, act)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "op.tflite"
        path.write_bytes(model)
        assert compiler.load(path, DSP).kernels[1].fn == FN
    check_on_qemu(model, x)


@pytest.mark.sim
def test_resnet_on_qemu_with_dsp_kernels(tmp_path: Path):
    """ResNet-8 (three residual ADDs, 28,672 elements) with the DSP kernels on mps2-an386 == TFLM's
    stored output."""
    model = MLPERF / "pretrainedResnet_quant.tflite"
    p = compiler.load(model, DSP)
    assert sum(k.fn == FN for k in p.kernels) == 3
    res = run_on_board(p, boards.load("mps2-an386"), MLPERF / "pretrainedResnet_quant_input.npy", tmp_path / "build")
    expected = np.load(MLPERF / "pretrainedResnet_quant_expected_output.npy")
    np.testing.assert_array_equal(res.output.reshape(expected.shape), expected)
