"""ONNX Erf, Gelu (opset 20) and the GELU patterns of PyTorch and TF exports (issue 14 item 3),
lowered to edgeneuro's GELU (edgeneuro/ops/gelu.py): float32 with --precision float against
onnxruntime within a few ulp of the largest output, QDQ int8 (onnxruntime's quantize_static, a
QuantizeLinear → DequantizeLinear pair between every node of the pattern) within one quantization
step; and ConvTranspose with auto_pad, output_shape and groups."""

from __future__ import annotations

import math

import numpy as np
import pytest
from onnx import helper
from onnx_models import float_model_io, ort_run_all, quantize
from test_onnx_frontend import check_against_onnxruntime
from test_onnx_more import FLOAT_ULPS, HOST_ULPS, run_float, ulps_of_max

from edgeneuro import boards, reference
from edgeneuro.compiler import load
from edgeneuro.errors import UnsupportedOperator
from edgeneuro.frontends.onnx import EXTRA_QUANTIZED_OPS
from edgeneuro.options import CompileOptions
from edgeneuro.runner import run_on_board

RNG = np.random.default_rng(20)
N = helper.make_node
SQ2 = np.float32(np.sqrt(2))
C = {"sq2": SQ2, "isq2": np.float32(1 / np.sqrt(2)), "one": np.float32(1), "half": np.float32(0.5),
     "two": np.float32(2), "three": np.float32(3), "k": np.float32(0.044715),
     "c": np.float32(np.sqrt(2 / np.pi))}  # fmt: skip


def tanh_tail(a: str) -> list:
    return [N("Tanh", ["u"], ["th"]), N("Add", ["th", "one"], [a])]


# name: (nodes from x to y, opset, the IR kinds the graph must hold)
PATTERNS = {
    # torch.nn.GELU() as torch.onnx exports it
    "torch": ([N("Div", ["x", "sq2"], ["d"]), N("Erf", ["d"], ["e"]), N("Add", ["e", "one"], ["a"]),
               N("Mul", ["x", "a"], ["m"]), N("Mul", ["m", "half"], ["y"])], 17, {"GELU"}),
    # tf.nn.gelu / Keras (tf2onnx): 0.5 * x first, x * (1 / sqrt(2))
    "tf_half_first": ([N("Mul", ["half", "x"], ["h"]), N("Mul", ["x", "isq2"], ["d"]), N("Erf", ["d"], ["e"]),
                       N("Add", ["one", "e"], ["a"]), N("Mul", ["h", "a"], ["y"])], 17, {"GELU"}),
    "half_then_x": ([N("Div", ["x", "sq2"], ["d"]), N("Erf", ["d"], ["e"]), N("Add", ["e", "one"], ["a"]),
                     N("Mul", ["a", "half"], ["b"]), N("Mul", ["x", "b"], ["y"])], 17, {"GELU"}),
    "div_by_two": ([N("Mul", ["isq2", "x"], ["d"]), N("Erf", ["d"], ["e"]), N("Add", ["e", "one"], ["a"]),
                    N("Mul", ["a", "x"], ["m"]), N("Div", ["m", "two"], ["y"])], 17, {"GELU"}),
    "tanh_pow": ([N("Pow", ["x", "three"], ["p"]), N("Mul", ["p", "k"], ["t"]), N("Add", ["x", "t"], ["s"]),
                  N("Mul", ["s", "c"], ["u"]), *tanh_tail("a"), N("Mul", ["x", "half"], ["h"]),
                  N("Mul", ["h", "a"], ["y"])], 17, {"GELU"}),
    "tanh_muls": ([N("Mul", ["x", "x"], ["sq"]), N("Mul", ["x", "sq"], ["p"]), N("Mul", ["k", "p"], ["t"]),
                   N("Add", ["t", "x"], ["s"]), N("Mul", ["c", "s"], ["u"]), *tanh_tail("a"),
                   N("Mul", ["a", "x"], ["m"]), N("Mul", ["m", "half"], ["y"])], 17, {"GELU"}),
    "gelu_op": ([N("Gelu", ["x"], ["y"])], 20, {"GELU"}),
    "gelu_op_tanh": ([N("Gelu", ["x"], ["y"], approximate="tanh")], 20, {"GELU"}),
    "erf": ([N("Erf", ["x"], ["y"])], 17, {"ERF"}),
}  # fmt: skip
SHAPE = (1, 3, 4, 5)


def pattern_model(tmp, name):
    nodes, opset, _ = PATTERNS[name]
    used = {i for n in nodes for i in n.input}
    inits = {k: v for k, v in C.items() if k in used}
    return float_model_io(tmp / f"{name}.onnx", nodes, inits, {"x": ["N", *SHAPE[1:]]}, {"y": ["N", *SHAPE[1:]]},
                          opset=opset)  # fmt: skip


def samples(count: int) -> np.ndarray:
    return (RNG.normal(size=(count, *SHAPE[1:])) * 2).astype(np.float32)


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_gelu_float_against_onnxruntime(name, tmp_path):
    f = pattern_model(tmp_path, name)
    x = samples(4)
    prepared, (y,) = run_float(f, {"x": x}, tmp_path)
    want = ort_run_all(f, {"x": x})[0]
    assert ulps_of_max(y.reshape(want.shape), want) <= FLOAT_ULPS, ulps_of_max(y.reshape(want.shape), want)
    kinds = {op.kind for op in prepared.graph.ops}
    assert kinds == PATTERNS[name][2], kinds


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_gelu_int8_against_onnxruntime(name, tmp_path):
    f = pattern_model(tmp_path, name)
    q = quantize(f, tmp_path / f"{name}_q.onnx", samples(40), extra_ops=EXTRA_QUANTIZED_OPS)
    prepared = check_against_onnxruntime(q, samples(6), 0.99, 1, tmp_path)
    kinds = {op.kind for op in prepared.graph.ops}
    assert kinds == {"QUANTIZE", "DEQUANTIZE", *PATTERNS[name][2]}, kinds


@pytest.mark.parametrize("name", ["torch", "tanh_pow"])
def test_gelu_calibrated_by_edgeneuro(name, tmp_path):
    """A float model quantized by edgeneuro (--calibrate: quantize_onnx, which asks onnxruntime for QDQ
    around Erf, Div, Pow and Tanh too) fuses to one GELU as well."""
    from edgeneuro.compress.quantize import quantize_onnx

    f = pattern_model(tmp_path, name)
    q = tmp_path / f"{name}_cal.onnx"
    quantize_onnx(f, samples(40), q)
    prepared = check_against_onnxruntime(q, samples(6), 0.99, 1, tmp_path)
    assert {op.kind for op in prepared.graph.ops} == {"QUANTIZE", "DEQUANTIZE", "GELU"}


def test_gelu_pattern_read_elsewhere_is_not_fused(tmp_path):
    """An inner value of the pattern that another node reads (here the graph's second output) keeps
    the nodes apart: Erf, Add and the Muls run one by one, and give what onnxruntime gives."""
    nodes = PATTERNS["torch"][0]
    f = float_model_io(tmp_path / "p.onnx", nodes, {k: C[k] for k in ("sq2", "one", "half")},
                       {"x": ["N", *SHAPE[1:]]}, {"y": ["N", *SHAPE[1:]], "e": ["N", *SHAPE[1:]]})  # fmt: skip
    x = samples(3)
    prepared, got = run_float(f, {"x": x}, tmp_path)
    for y, want in zip(got, ort_run_all(f, {"x": x}), strict=True):
        assert ulps_of_max(y.reshape(want.shape), want) <= FLOAT_ULPS
    kinds = {op.kind for op in prepared.graph.ops}
    assert "ERF" in kinds and "GELU" not in kinds, kinds


def test_gelu_tables():
    """The int8 tables of ERF and GELU against the real functions: within half an output step."""
    from edgeneuro.ops import gelu as ops_gelu

    s_in, zp_in, s_out, zp_out = 0.03, 5, 0.02, -40
    q = np.arange(-128, 128)
    v = s_in * (q - zp_in)
    for fn in (math.erf, lambda t: ops_gelu.gelu(t), lambda t: ops_gelu.gelu(t, True)):
        t = ops_gelu.table(fn, s_in, zp_in, s_out, zp_out)[q & 0xFF].astype(np.float64)
        want = np.clip(np.array([fn(a) for a in v]) / s_out + zp_out, -128, 127)
        assert np.abs(t - want).max() <= 0.5 + 1e-6


def W(*shape, s=0.3):  # noqa: N802
    return RNG.normal(size=shape) * s


def ct(**attrs):
    return N("ConvTranspose", ["x", "w", "b"], ["y"], **attrs)


# name: (ConvTranspose attributes, weights shape [C_in, C_out / group, k...], input shape, output shape)
CONV_T = {
    "same_upper": (dict(strides=[2, 2], auto_pad="SAME_UPPER"), (3, 4, 3, 3), (1, 3, 4, 5), (1, 4, 8, 10)),
    "same_lower": (dict(strides=[2, 2], auto_pad="SAME_LOWER"), (3, 4, 3, 3), (1, 3, 4, 5), (1, 4, 8, 10)),
    "same_upper_k4": (dict(strides=[3, 2], auto_pad="SAME_UPPER"), (3, 2, 4, 4), (1, 3, 3, 4), (1, 2, 9, 8)),
    "valid_output_padding": (dict(strides=[2, 3], auto_pad="VALID", output_padding=[1, 2]), (3, 4, 3, 3),
                             (1, 3, 4, 5), (1, 4, 10, 17)),
    "output_shape": (dict(strides=[2, 2], output_shape=[8, 9]), (3, 4, 3, 3), (1, 3, 4, 5), (1, 4, 8, 9)),
    "output_shape_same_upper": (dict(strides=[2, 2], output_shape=[8, 9], auto_pad="SAME_UPPER"), (3, 4, 3, 3),
                                (1, 3, 4, 5), (1, 4, 8, 9)),
    "group_2": (dict(strides=[2, 2], pads=[1, 1, 0, 0], group=2), (4, 3, 3, 3), (1, 4, 4, 5), (1, 6, 8, 10)),
    "depthwise": (dict(strides=[2, 2], auto_pad="SAME_UPPER", group=3), (3, 1, 3, 3), (1, 3, 4, 5), (1, 3, 8, 10)),
    "depthwise_x2": (dict(strides=[2, 1], pads=[1, 1, 1, 1], group=3), (3, 2, 3, 3), (1, 3, 4, 5), (1, 6, 7, 5)),
    "1d_same_lower_group": (dict(strides=[3], auto_pad="SAME_LOWER", group=2), (4, 2, 4), (1, 4, 6), (1, 4, 18)),
}  # fmt: skip


def conv_t_model(tmp, name, bias=True):
    attrs, wshape, ish, osh = CONV_T[name]
    oc = wshape[1] * attrs.get("group", 1)
    node = ct(**attrs) if bias else N("ConvTranspose", ["x", "w"], ["y"], **attrs)
    inits = {"w": W(*wshape), "b": W(oc, s=0.1)} if bias else {"w": W(*wshape)}
    return float_model_io(tmp / f"{name}.onnx", [node], inits,
                          {"x": ["N", *ish[1:]]}, {"y": ["N", *osh[1:]]})  # fmt: skip


@pytest.mark.parametrize("name", sorted(CONV_T))
def test_conv_transpose_float_against_onnxruntime(name, tmp_path):
    f = conv_t_model(tmp_path, name)
    x = (RNG.normal(size=(3, *CONV_T[name][2][1:])) * 1.5).astype(np.float32)
    prepared, (y,) = run_float(f, {"x": x}, tmp_path)
    want = ort_run_all(f, {"x": x})[0]
    assert y.shape == want.shape == (3, *CONV_T[name][3][1:]), (y.shape, want.shape)
    assert ulps_of_max(y, want) <= FLOAT_ULPS, ulps_of_max(y, want)
    assert "TRANSPOSE_CONV" in {op.kind for op in prepared.graph.ops}


def grouped(name: str) -> bool:
    return CONV_T[name][0].get("group", 1) > 1


@pytest.mark.parametrize(
    ("name", "bias"),
    [*((n, True) for n in sorted(CONV_T)), *((n, False) for n in sorted(CONV_T) if grouped(n) or n == "same_upper")],
)
def test_conv_transpose_int8_against_onnxruntime(name, bias, tmp_path):
    """Weights per output channel; grouped with a bias per tensor (onnxruntime's quantize_static fails on
    grouped per-channel weights with a bias: it makes C_out / group weight scales for C_out biases)."""
    f = conv_t_model(tmp_path, name, bias)
    ish = CONV_T[name][2]
    cal = (RNG.normal(size=(40, *ish[1:])) * 1.5).astype(np.float32)
    q = quantize(f, tmp_path / f"{name}_q.onnx", cal, per_channel=not (grouped(name) and bias))
    x = (RNG.normal(size=(4, *ish[1:])) * 1.5).astype(np.float32)
    prepared = check_against_onnxruntime(q, x, 0.95, 1, tmp_path)
    assert "TRANSPOSE_CONV" in {op.kind for op in prepared.graph.ops}


def test_conv_transpose_forms_it_cannot_compute_are_refused(tmp_path):
    """An output_shape beyond the full output, and a group that does not divide the input channels,
    are refused naming the node."""
    for attrs, wshape, out, expect in (
        (dict(strides=[2, 2], output_shape=[11, 12]), (3, 4, 3, 3), [4, 11, 12], "only smaller ones"),
        (dict(strides=[2, 2], group=2), (3, 2, 3, 3), [4, 9, 11], "does not divide"),
    ):
        f = float_model_io(tmp_path / "t.onnx", [N("ConvTranspose", ["x", "w"], ["y"], **attrs)], {"w": W(*wshape)},
                           {"x": ["N", 3, 4, 5]}, {"y": ["N", *out]})  # fmt: skip
        with pytest.raises(UnsupportedOperator) as e:
            load(f, CompileOptions(precision="float"))
        assert "operator #0 ConvTranspose is not supported" in str(e.value) and expect in str(e.value), str(e.value)


@pytest.mark.sim
def test_gelu_and_erf_on_qemu(tmp_path):
    """float32 GELU (erff), the tanh GELU (tanhf) and ERF as firmware on mps2-an386's FPU, with newlib's
    erff / tanhf: within a few ulp of the host C and of onnxruntime; the int8 GELU table too, bit for bit."""
    nodes = [*PATTERNS["torch"][0][:-1], N("Mul", ["m", "half"], ["g"]), N("Gelu", ["g"], ["t"], approximate="tanh"),
             N("Erf", ["t"], ["y"])]  # fmt: skip
    f = float_model_io(tmp_path / "f.onnx", nodes, {k: C[k] for k in ("sq2", "one", "half")},
                       {"x": ["N", *SHAPE[1:]]}, {"y": ["N", *SHAPE[1:]]}, opset=20)  # fmt: skip
    x = samples(3)
    np.save(tmp_path / "in.npy", x)
    prepared = load(f, CompileOptions(precision="float"))
    assert [op.kind for op in prepared.graph.ops].count("GELU") == 2
    board = run_on_board(prepared, boards.load("mps2-an386"), tmp_path / "in.npy", tmp_path / "b")
    _, (host,) = run_float(f, {"x": x}, tmp_path)
    (got,) = board.outputs.values()
    want = ort_run_all(f, {"x": x})[0]
    assert ulps_of_max(got, host) <= HOST_ULPS, ulps_of_max(got, host)
    assert ulps_of_max(got.reshape(want.shape), want) <= FLOAT_ULPS

    q = quantize(pattern_model(tmp_path, "tanh_pow"), tmp_path / "q.onnx", samples(40), extra_ops=EXTRA_QUANTIZED_OPS)
    prepared = load(q, CompileOptions())
    board = run_on_board(prepared, boards.load("mps2-an386"), tmp_path / "in.npy", tmp_path / "bq")
    for i in range(len(x)):
        (ref,) = reference.run(prepared.graph, prepared.kernels, [x[i : i + 1]])
        (got,) = board.outputs.values()
        np.testing.assert_array_equal(got[i : i + 1].reshape(ref.shape), ref)
