"""RELU, RELU6, LEAKY_RELU, LOGISTIC, TANH and HARD_SWISH as standalone int8 operators, over
randomized shapes, scales (log-uniform), zero points and alphas: (a) edgeneuro's numpy reference ==
TensorFlow Lite Micro's reference kernels, bit for bit; (b) the generated C, built for the host,
== the numpy reference; on QEMU, the firmware == TFLM. The first sample of every case cycles
through the int8 values (all 256 of them when the tensor has 256+ elements, which half the drawn
shapes do); hand-picked extremes feed every value."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import reference_run, tflm_run
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from opcheck import check, check_on_qemu, log_uniform
from tflite_builder import ModelBuilder, options

from edgeneuro.errors import UnsupportedOperator

pytestmark = pytest.mark.tflm
FIXED_OUTPUT = {"LOGISTIC": (1 / 256, -128), "TANH": (1 / 128, 0)}
VERSION = {"RELU": 2, "RELU6": 2, "LEAKY_RELU": 1, "LOGISTIC": 2, "TANH": 2, "HARD_SWISH": 1}  # the converter's, int8


def sweep(rng: np.random.Generator, shape: list[int], n: int = 3) -> np.ndarray:
    """n int8 samples of a model input of ``shape`` (batch axis dropped when it is 1): the first
    cycles through -128..127 from a random start, so a tensor of 256+ elements sees every value;
    the others are uniform random."""
    sample_shape = shape[1:] if shape[0] == 1 else shape
    size = int(np.prod(sample_shape))
    first = ((np.arange(size) + rng.integers(0, 256)) % 256 - 128).astype(np.int8)
    rest = rng.integers(-128, 128, (n - 1, size), dtype=np.int8)
    return np.concatenate([first[None], rest]).reshape(n, *sample_shape)


def single_op(kind, shape, s_in, zp_in, s_out, zp_out, alpha=None) -> bytes:
    b = ModelBuilder()
    x = b.tensor(shape, scale=s_in, zero_point=zp_in)
    y = b.tensor(shape, scale=s_out, zero_point=zp_out)
    if kind == "LEAKY_RELU":
        b.op(kind, [x], [y], options("LeakyReluOptions", alpha=alpha), "LeakyReluOptions", version=VERSION[kind])
    else:
        b.op(kind, [x], [y], version=VERSION[kind])
    return b.build([x], [y])


def all_values(shape=(1, 256)) -> np.ndarray:
    """One sample holding every int8 value once (and a reversed copy)."""
    v = np.arange(-128, 128, dtype=np.int8)
    return np.stack([v, v[::-1]]).reshape(2, *shape[1:])


@st.composite
def shapes(draw) -> list[int]:
    if draw(st.booleans()):  # long enough to sweep all int8 values in one sample
        dims = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2)))] + [draw(st.integers(256, 300))]
    else:
        dims = [draw(st.integers(1, 6)) for _ in range(draw(st.integers(1, 4)))]
    return [1, *dims] if draw(st.booleans()) else dims


def zero_point(rng: np.random.Generator) -> int:
    return int(rng.choice([-128, 127, 0, *rng.integers(-128, 128, 5)]))


@st.composite
def relu_case(draw, kind: str):
    """RELU / RELU6 / LEAKY_RELU: own input and output scales (ratio 1/64..64, sometimes equal)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = draw(shapes())
    s_in, zp_in = log_uniform(rng, 1e-4, 2.0), zero_point(rng)
    if draw(st.integers(0, 3)) == 0:
        s_out, zp_out = s_in, zp_in
    else:
        s_out, zp_out = float(np.float32(s_in * log_uniform(rng, 1 / 64, 64))), zero_point(rng)
    alpha = None
    if kind == "LEAKY_RELU":
        alpha = draw(
            st.one_of(
                st.sampled_from([0.0, 0.1, 0.2, 0.3, 1.0, -1.0, 5.0, -0.75, -0.375, -1.5]),
                st.floats(1e-3, 10).map(lambda a: float(np.float32(a))),
                st.floats(-10, -1e-3).map(lambda a: float(np.float32(a))),
            )
        )
        # TFLM computes `s_in * alpha / s_out` in float32, and the tflite-micro package's build
        # regroups it as `s_in * (alpha / s_out)` (it gives -1.5 where the source order gives
        # -1.5000001): where the two orders differ, the multiplier depends on the compiler's flags,
        # and the chip's TFLM build cannot be asked here. Those cases are left out.
        f_in, f_out, f_alpha = np.float32(s_in), np.float32(s_out), np.float32(alpha)
        assume(f_in * f_alpha / f_out == f_in * (f_alpha / f_out))
    return single_op(kind, shape, s_in, zp_in, s_out, zp_out, alpha), sweep(rng, shape)


@st.composite
def sigmoid_case(draw, kind: str):
    """LOGISTIC / TANH: input scale from 1e-5 (everything near 0) to 5 (mostly saturated)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = draw(shapes())
    s_out, zp_out = FIXED_OUTPUT[kind]
    s_in = log_uniform(rng, 1e-5, 5.0)
    return single_op(kind, shape, s_in, zero_point(rng), s_out, zp_out), sweep(rng, shape)


@st.composite
def hard_swish_case(draw):
    """HARD_SWISH: input scale 1e-4..2; output scale from s_in / 60 (TFLM's limit is ~s_in / 64) to
    1000 * s_in, so both ways of rounding the output shift are reached."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = draw(shapes())
    s_in = log_uniform(rng, 1e-4, 2.0)
    s_out = float(np.float32(s_in * log_uniform(rng, 1 / 60, 1000)))
    return single_op("HARD_SWISH", shape, s_in, zero_point(rng), s_out, zero_point(rng)), sweep(rng, shape)


@given(relu_case("RELU"))
@settings(max_examples=50)
def test_relu(case):
    check(*case)


@given(relu_case("RELU6"))
@settings(max_examples=50)
def test_relu6(case):
    check(*case)


@given(relu_case("LEAKY_RELU"))
@settings(max_examples=60)
def test_leaky_relu(case):
    check(*case)


@given(sigmoid_case("LOGISTIC"))
@settings(max_examples=50)
def test_logistic(case):
    check(*case)


@given(sigmoid_case("TANH"))
@settings(max_examples=50)
def test_tanh(case):
    check(*case)


@given(hard_swish_case())
@settings(max_examples=60)
def test_hard_swish(case):
    check(*case)


EXTREMES = [
    # (kind, s_in, zp_in, s_out, zp_out, alpha)
    ("RELU", 1e-6, 0, 1.0, -128, None),  # everything requantizes to the zero point
    ("RELU", 2.0, 5, 1e-3, -3, None),  # everything saturates
    ("RELU", 0.05, 127, 0.05, 127, None),  # zero point at the top: all outputs clamp to 127
    ("RELU6", 1e-3, -20, 1e-3, -20, None),  # six far above the int8 range
    ("RELU6", 50.0, 3, 50.0, 3, None),  # six == zero point (6 / 50 rounds to 0)
    ("RELU6", 0.1, -3, 0.02, 7, None),  # output quantization differs: TFLM ignores it
    ("LEAKY_RELU", 1e-6, 0, 1.0, 0, 0.2),
    ("LEAKY_RELU", 2.0, -128, 1e-3, 127, -3.0),
    ("LEAKY_RELU", 0.05, 127, 0.05, 0, 0.0),
    ("LEAKY_RELU", 0.05, -128, 0.05, 0, -1e-6),
    # negative alpha whose products land exactly on a rounding half: TFLM requantizes with -alpha
    # and negates (SaturatingRoundingDoublingHighMul is not odd), which these cases tell apart
    ("LEAKY_RELU", 0.1, 0, 0.1, 0, -0.75),
    ("LEAKY_RELU", 0.05, 0, 0.1, 0, -1.5),
    ("LOGISTIC", 1e-7, 5, 1 / 256, -128, None),  # 0.5 everywhere
    ("LOGISTIC", 7.0, 0, 1 / 256, -128, None),  # input radius 1: only x == zp is computed
    ("LOGISTIC", 100.0, -7, 1 / 256, -128, None),  # input radius 0: even x == zp saturates (to -128)
    ("LOGISTIC", 0.0625, -128, 1 / 256, -128, None),
    ("TANH", 1e-7, -5, 1 / 128, 0, None),
    ("TANH", 7.0, 0, 1 / 128, 0, None),
    ("TANH", 100.0, 9, 1 / 128, 0, None),
    ("TANH", 0.0625, 127, 1 / 128, 0, None),
    ("HARD_SWISH", 1e-7, 3, 1e-7, -2, None),  # reluish shift >= 16: gemmlowp's int16 mask wraps
    ("HARD_SWISH", 1e-3, 0, 10.0, 0, None),  # output shift >= 16
    ("HARD_SWISH", 1.5, -128, 0.024, 100, None),  # output multiplier just below 1/2
    ("HARD_SWISH", 20.0, 0, 1.0, -128, None),  # everything saturates
]


@pytest.mark.parametrize("kind, s_in, zp_in, s_out, zp_out, alpha", EXTREMES)
def test_extremes(kind, s_in, zp_in, s_out, zp_out, alpha):
    check(single_op(kind, [1, 256], s_in, zp_in, s_out, zp_out, alpha), all_values())


REFUSED = [
    # what TFLM cannot prepare, or prepares with undefined behaviour: edgeneuro refuses
    ("HARD_SWISH", 1.0, 0, 1e-3, 0, None, True),  # output multiplier above 1/2: TFLM fails to prepare
    ("LOGISTIC", 0.05, 0, 1 / 256, 0, None, True),  # output zero point must be -128: TFLM fails
    ("LOGISTIC", 3e-9, 0, 1 / 256, -128, None, False),  # TFLM shifts by a negative count
    ("TANH", 3e-9, 0, 1 / 128, 0, None, False),
    ("TANH", 0.05, 0, 1 / 256, 0, None, False),  # TFLM ignores the output scale; edgeneuro refuses
    ("RELU", 1.0, 0, 1e-7, 0, None, False),  # x * (1 << shift) overflows int32 in TFLM
]


@pytest.mark.parametrize("kind, s_in, zp_in, s_out, zp_out, alpha, tflm_fails", REFUSED)
def test_refused(kind, s_in, zp_in, s_out, zp_out, alpha, tflm_fails):
    model = single_op(kind, [1, 16], s_in, zp_in, s_out, zp_out, alpha)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "op.tflite"
        path.write_bytes(model)
        with pytest.raises(UnsupportedOperator, match=kind):
            reference_run(path, np.zeros((1, 16), np.int8))
    if tflm_fails:
        with pytest.raises(RuntimeError):
            tflm_run(model, np.zeros((1, 16), np.int8))


CASES = {
    "RELU": relu_case("RELU"),
    "RELU6": relu_case("RELU6"),
    "LEAKY_RELU": relu_case("LEAKY_RELU"),
    "LOGISTIC": sigmoid_case("LOGISTIC"),
    "TANH": sigmoid_case("TANH"),
    "HARD_SWISH": hard_swish_case(),
}


@pytest.mark.sim
@pytest.mark.parametrize("kind", sorted(CASES))
@given(data=st.data())
@settings(max_examples=2)
def test_activations_on_qemu(kind, data):
    """Each operator as firmware on QEMU (cross-compiled, 32-bit Arm) == TFLM, 2 cases each."""
    check_on_qemu(*data.draw(CASES[kind]))
