"""The ONNX front end on what exporters produce: unbound batch dimensions, old opsets, shape
arithmetic folded at compile time (PyTorch's ``x.view(x.size(0), -1)``, TF's Shape/Slice/Concat),
BatchNormalization folded into the Conv/Gemm before it, and the operators mapped onto TFLite-style
kinds (Sigmoid, Tanh, Split, Slice, Pad, ReduceMean, Div and Pow by constants). Each model is a float
graph written with onnx.helper, quantized to QDQ int8 by onnxruntime's quantize_static; edgeneuro's
host C must equal its numpy reference and agree with onnxruntime within one quantization step per
operator (see tests/test_onnx.py for why one step)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx_models import float_model_io, ort_run_all, quantize

from edgeneuro import boards, reference
from edgeneuro.compiler import compile_model, load
from edgeneuro.errors import ModelError
from edgeneuro.frontends.onnx import prepare_float
from edgeneuro.options import CompileOptions
from edgeneuro.runner import check_inputs, run_on_host

RNG = np.random.default_rng(1)
N = helper.make_node


def W(*shape, s=0.3):  # noqa: N802
    return RNG.normal(size=shape) * s


def I64(*v):  # noqa: N802
    return np.array(v, np.int64)


def view_flatten(src: str, out: str, opset: int = 17) -> list:
    """PyTorch's ``x.view(x.size(0), -1)`` as exported: Shape → Gather → Unsqueeze → Concat → Reshape."""
    unsqueeze = (N("Unsqueeze", [f"{out}_n", "zero_axis"], [f"{out}_n1"]) if opset >= 13
                 else N("Unsqueeze", [f"{out}_n"], [f"{out}_n1"], axes=[0]))  # fmt: skip
    return [
        N("Shape", [src], [f"{out}_shape"]),
        N("Gather", [f"{out}_shape", "zero"], [f"{out}_n"], axis=0),
        unsqueeze,
        N("Concat", [f"{out}_n1", "minus_one"], [f"{out}_target"], axis=0),
        N("Reshape", [src, f"{out}_target"], [out]),
    ]


ONE = numpy_helper.from_array(np.ones(1, np.float32))
SHAPE_CONSTS = {"zero": np.int64(0), "zero_axis": I64(0), "minus_one": I64(-1)}
CONV = N("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
CONV_W = {"w": W(6, 3, 3, 3), "b": W(6, s=0.1)}

# name: (nodes, initializers, input shape (batch first), {output: shape}, extra op types to quantize,
#        min. fraction equal to onnxruntime, max. steps off it)
CASES = {
    # shape arithmetic folded at compile time
    "view_flatten": ([CONV, *view_flatten("c", "f"), N("Gemm", ["f", "w2", "b2"], ["y"], transB=1)],
                     {**CONV_W, **SHAPE_CONSTS, "w2": W(5, 6 * 36, s=0.1), "b2": W(5, s=0.1)},
                     (1, 3, 6, 6), {"y": ["N", 5]}, (), 0.9, 1),
    # TF-style: Shape → Slice → ReduceProd → Concat, integer Div / Mul, Cast, and a bias made of
    # Range → Cast → Mul → Expand(ConstantOfShape)
    "shape_arithmetic": ([CONV,
                          N("Shape", ["c"], ["s"]),
                          N("Slice", ["s", "two", "four"], ["hw"]),
                          N("ReduceProd", ["hw"], ["area"], keepdims=1),
                          N("Div", ["area", "two"], ["half"]),
                          N("Mul", ["half", "two"], ["whole"]),
                          N("Cast", ["whole"], ["whole64"], to=TensorProto.INT64),
                          N("Slice", ["s", "zero", "two"], ["nc"]),
                          N("Concat", ["nc", "whole64"], ["target"], axis=0),
                          N("Reshape", ["c", "target"], ["r"]),
                          N("Gather", ["s", "one"], ["ch"], axis=0),
                          N("Range", ["zero_s", "ch", "one_s"], ["idx"]),
                          N("Cast", ["idx"], ["idxf"], to=TensorProto.FLOAT),
                          N("Mul", ["idxf", "tenth"], ["ramp"]),
                          N("Reshape", ["ramp", "col"], ["ramp_col"]),
                          N("ConstantOfShape", ["bshape"], ["ones"], value=ONE),
                          N("Expand", ["ramp_col", "bshape"], ["bias"]),
                          N("Mul", ["bias", "ones"], ["bias1"]),
                          N("Add", ["r", "bias1"], ["y"])],
                         {**CONV_W, "two": I64(2), "four": I64(4), "zero": I64(0), "one": I64(1), "zero_s": np.int64(0),
                          "one_s": np.int64(1), "tenth": np.float32([0.1]), "col": I64(6, 1), "bshape": I64(1, 6, 36)},
                         (1, 3, 6, 6), {"y": ["N", 6, 36]}, (), 0.9, 1),
    # BatchNormalization folded into the Conv / Gemm before it (onnxruntime's QDQ form: Conv → Q → DQ → BN)
    "conv_bn_relu": ([N("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3]),
                      N("BatchNormalization", ["c", "g", "be", "m", "v"], ["n"], epsilon=1e-3),
                      N("Relu", ["n"], ["y"])],
                     {"w": W(6, 3, 3, 3), "b": W(6, s=0.1), "g": np.array([1.2, -0.7, 0.5, 2.0, -1.5, 0.9]),
                      "be": W(6, s=0.2), "m": W(6, s=0.2), "v": np.abs(W(6)) + 0.3},
                     (1, 3, 7, 7), {"y": ["N", 6, 5, 5]}, (), 0.75, 2),  # measured 0.79-0.87
    "depthwise_bn": ([N("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=4),
                      N("BatchNormalization", ["c", "g", "be", "m", "v"], ["y"])],
                     {"w": W(4, 1, 3, 3), "b": W(4, s=0.1), "g": np.array([0.8, -1.1, 1.4, 0.6]), "be": W(4, s=0.2),
                      "m": W(4, s=0.2), "v": np.abs(W(4)) + 0.3},
                     (1, 4, 6, 6), {"y": ["N", 4, 6, 6]}, (), 0.7, 2),  # measured 0.79, 1 step
    "gemm_bn": ([N("Gemm", ["x", "w", "b"], ["c"], transB=1),
                 N("BatchNormalization", ["c", "g", "be", "m", "v"], ["y"])],
                {"w": W(8, 12), "b": W(8, s=0.1), "g": W(8) + 1, "be": W(8, s=0.2), "m": W(8, s=0.2),
                 "v": np.abs(W(8)) + 0.3},
                (1, 12), {"y": ["N", 8]}, (), 0.65, 2),  # measured 0.74, 1 step
    # operators onto TFLite-style kinds
    "sigmoid": ([N("Sigmoid", ["x"], ["y"])], {}, (1, 16), {"y": ["N", 16]}, (), 0.6, 1),  # measured 0.72
    "tanh": ([N("Tanh", ["x"], ["y"])], {}, (1, 16), {"y": ["N", 16]}, ("Tanh",), 0.55, 1),  # measured 0.64
    "conv_split": ([CONV, N("Split", ["c", "sizes"], ["y", "z"], axis=1)], {**CONV_W, "sizes": I64(2, 4)},
                   (1, 3, 5, 5), {"y": ["N", 2, 5, 5], "z": ["N", 4, 5, 5]}, (), 0.95, 1),
    "conv_slice": ([CONV, N("Slice", ["c", "st", "en", "ax", "sp"], ["y"])],
                   {**CONV_W, "st": I64(1, 5, -1), "en": I64(5, -(2**62), 0), "ax": I64(1, 2, 3), "sp": I64(2, -2, -1)},
                   (1, 3, 6, 6), {"y": ["N", 2, 3, 5]}, (), 0.95, 1),
    "conv_pad": ([CONV, N("Pad", ["c", "pads", "pv"], ["y"])],
                 {**CONV_W, "pads": I64(0, 0, 1, 2, 0, 0, 2, 0), "pv": np.float32(0)},
                 (1, 3, 5, 5), {"y": ["N", 6, 8, 7]}, (), 0.95, 1),
    "conv_pad_value": ([CONV, N("Pad", ["c", "pads", "pv"], ["y"])],
                       {**CONV_W, "pads": I64(0, 1, 1, 0, 0, 0, 0, 1), "pv": np.float32(0.5)},
                       (1, 3, 4, 4), {"y": ["N", 7, 5, 5]}, (), 0.95, 1),
    "split_equal": ([N("Split", ["x"], ["y", "z", "w"], axis=-1)], {}, (1, 2, 9),
                    {"y": ["N", 2, 3], "z": ["N", 2, 3], "w": ["N", 2, 3]}, (), 0.95, 1),
    "conv_reducemean": ([CONV, N("ReduceMean", ["c"], ["y"], axes=[2, 3], keepdims=0)], CONV_W,
                        (1, 3, 6, 6), {"y": ["N", 6]}, ("ReduceMean",), 0.6, 1),  # measured 0.65-0.73
    "reducemean_channels": ([CONV, N("ReduceMean", ["c"], ["y"], axes=[1], keepdims=1)], CONV_W,
                            (1, 3, 6, 6), {"y": ["N", 1, 6, 6]}, ("ReduceMean",), 0.7, 1),
    "div_const": ([N("Div", ["x", "d"], ["y"])], {"d": np.float32([2.5])}, (1, 16), {"y": ["N", 16]}, ("Div",), 0.9, 1),
    "matmul_activations": ([N("Transpose", ["x"], ["xt"], perm=[0, 2, 1]), N("MatMul", ["x", "xt"], ["y"])], {},
                           (1, 4, 6), {"y": ["N", 4, 4]}, (), 0.9, 1),
    "max_min": ([N("Max", ["x", "lo"], ["a"]), N("Min", ["a", "hi"], ["y"])], {"lo": W(16), "hi": W(16) + 1},
                (1, 16), {"y": ["N", 16]}, ("Max", "Min"), 0.95, 1),  # measured: all equal
    "conv_reducemax": ([CONV, N("ReduceMax", ["c"], ["y"], axes=[2, 3], keepdims=1)], CONV_W,
                       (1, 3, 6, 6), {"y": ["N", 6, 1, 1]}, ("ReduceMax",), 0.95, 2),  # measured 0.99
    # (2 steps: one step of the Conv's output can be two of the maximum's finer scale)
    "conv_reducesum": ([CONV, N("ReduceSum", ["c", "ax"], ["y"], keepdims=0)], {**CONV_W, "ax": I64(1)},
                       (1, 3, 6, 6), {"y": ["N", 6, 6]}, ("ReduceSum",), 0.65, 1),  # measured 0.73
    "neg_abs": ([N("Neg", ["x"], ["n"]), N("Abs", ["n"], ["y"])], {}, (1, 16), {"y": ["N", 16]}, ("Neg", "Abs"),
                0.9, 1),
    "conv_gather": ([CONV, N("Gather", ["c", "gi"], ["y"], axis=1)], {**CONV_W, "gi": I64(4, 0, -1)},
                    (1, 3, 5, 5), {"y": ["N", 3, 5, 5]}, (), 0.95, 1),
    "pow_square": ([N("Pow", ["x", "e"], ["y"])], {"e": np.float32([2.0])}, (1, 16), {"y": ["N", 16]}, ("Pow",),
                   0.9, 1),
}  # fmt: skip


def build(tmp, name, per_channel: bool = True, opset: int = 17):
    nodes, inits, ish, outs, extra, _, _ = CASES[name]
    f = float_model_io(tmp / f"{name}_float.onnx", nodes, inits, {"x": ["N", *ish[1:]]}, outs, opset=opset)
    cal = (RNG.normal(size=(40, *ish[1:])) * 2).astype(np.float32)
    return quantize(f, tmp / f"{name}.onnx", cal, per_channel=per_channel, extra_ops=extra)


def output_steps(model) -> dict[str, float]:
    """The quantization step of each graph output (the scale of the DequantizeLinear producing it)."""
    m = onnx.load(model)
    consts = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    outs = {o.name for o in m.graph.output}
    return {n.output[0]: float(consts[n.input[1]]) for n in m.graph.node
            if n.op_type == "DequantizeLinear" and n.output[0] in outs}  # fmt: skip


def saturated(model, x: np.ndarray) -> np.ndarray:
    """Where onnxruntime's int8 output of the layer before a BatchNormalization hits -128 or 127:
    it quantizes that intermediate (and saturates it beyond the calibrated range), the folded
    layer has no intermediate, so there the two legitimately differ."""
    m = onnx.load(model)
    bn = next(n for n in m.graph.node if n.op_type == "BatchNormalization")
    dq = next(n for n in m.graph.node if n.output[0] == bn.input[0])
    m.graph.output.append(helper.make_tensor_value_info(dq.input[0], TensorProto.INT8, None))
    onnx.save(m, model.with_suffix(".probe.onnx"))
    q = ort_run_all(model.with_suffix(".probe.onnx"), {"x": x})[-1]
    return (q == -128) | (q == 127)


def check_against_onnxruntime(model, x, min_equal: float, max_steps: int, tmp, shapes=(), mask=None):
    """``x``: the samples of input 'x', or a dict of samples by input name."""
    feeds = x if isinstance(x, dict) else {"x": x}
    prepared = load(model, CompileOptions(shapes=shapes))
    c = compile_model(prepared, boards.load("mps2-an386"), tmp / "gen")
    g, kernels = prepared.graph, prepared.kernels
    host = run_on_host(c, check_inputs(feeds, g))
    for i in range(len(next(iter(feeds.values())))):  # host C == the numpy reference
        ref = reference.run(g, kernels, [feeds[n][i : i + 1] for n in g.inputs])
        for name, r in zip(g.outputs, ref, strict=True):
            np.testing.assert_array_equal(host[name][i : i + 1], r.reshape(host[name][i : i + 1].shape))
    ort = ort_run_all(model, feeds)
    steps = output_steps(model)
    for (name, y), want, out in zip(host.items(), ort, (o.name for o in onnx.load(model).graph.output), strict=True):
        assert y.shape == want.shape, (name, y.shape, want.shape)
        off = np.abs(y - want) / steps[out]
        if mask is not None:
            off = off[~mask]
        assert off.max() <= max_steps + 1e-4, f"{out}: {off.max():.2f} steps off onnxruntime"
        assert np.mean(off < 0.5) >= min_equal, f"{out}: only {np.mean(off < 0.5):.3f} equal"
    return prepared


@pytest.mark.parametrize("name", sorted(CASES))
def test_against_onnxruntime(name, tmp_path, capsys):
    model = build(tmp_path, name)
    x = (RNG.normal(size=(8, *CASES[name][2][1:])) * 2).astype(np.float32)  # like the calibration samples
    mask = None
    if "_bn" in name:
        mask = saturated(model, x)
        assert mask.mean() < 0.05  # the comparison covers nearly every value
    prepared = check_against_onnxruntime(model, x, *CASES[name][5:], tmp_path, mask=mask)
    assert "unbound batch dimension of 'x' (N) set to 1" in capsys.readouterr().err
    kinds = {op.kind for op in prepared.graph.ops}
    expect = {"conv_bn_relu": "CONV_2D", "depthwise_bn": "DEPTHWISE_CONV_2D", "gemm_bn": "FULLY_CONNECTED",
              "sigmoid": "LOGISTIC", "tanh": "TANH", "conv_split": "SPLIT_V", "conv_slice": "STRIDED_SLICE",
              "conv_pad": "PAD", "conv_reducemean": "MEAN", "reducemean_channels": "MEAN", "div_const": "MUL",
              "pow_square": "MUL", "matmul_activations": "BATCH_MATMUL", "max_min": "MINIMUM",
              "conv_reducemax": "REDUCE_MAX", "conv_reducesum": "SUM", "neg_abs": "ABS",
              "conv_gather": "GATHER", "conv_pad_value": "PADV2", "split_equal": "SPLIT_V"}  # fmt: skip
    if name in expect:
        assert expect[name] in kinds, kinds
    if "_bn" in name:  # folded: one layer and the layout and quantization moves, nothing else
        assert kinds - {"QUANTIZE", "DEQUANTIZE", "TRANSPOSE"} == {expect[name]}, kinds


def test_tf_style_export(tmp_path, capsys):
    """The shape of a tf2onnx export of a Keras model: NHWC input ('unk__31' batch), Transposes to
    and from NCHW around the Conv, and Keras' Reshape((-1,)) as Shape → Slice → Concat → Cast →
    Reshape. The Transposes cost nothing (the kernels are NHWC already) and the reshape target folds."""
    nodes = [
        N("Transpose", ["x"], ["xt"], perm=[0, 3, 1, 2]),
        N("Conv", ["xt", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        N("Relu", ["c"], ["r"]),
        N("Transpose", ["r"], ["t"], perm=[0, 2, 3, 1]),
        N("Shape", ["t"], ["s"]),
        N("Slice", ["s", "zero", "one"], ["n"]),
        N("Concat", ["n", "minus_one"], ["target32"], axis=0),
        N("Cast", ["target32"], ["target"], to=TensorProto.INT64),
        N("Reshape", ["t", "target"], ["f"]),
        N("MatMul", ["f", "w2"], ["m"]),
        N("Sigmoid", ["m"], ["y"]),
    ]
    inits = {"w": W(4, 3, 3, 3), "b": W(4, s=0.1), "zero": I64(0), "one": I64(1), "minus_one": I64(-1),
             "w2": W(8 * 8 * 4, 5, s=0.1)}  # fmt: skip
    f = float_model_io(tmp_path / "k.onnx", nodes, inits, {"x": ["unk__31", 8, 8, 3]}, {"y": ["unk__31", 5]}, opset=13)
    q = quantize(f, tmp_path / "kq.onnx", (RNG.normal(size=(40, 8, 8, 3))).astype(np.float32))
    x = RNG.normal(size=(8, 8, 8, 3)).astype(np.float32)
    prepared = check_against_onnxruntime(q, x, 0.5, 3, tmp_path)  # one step per operator: Conv, MatMul, Sigmoid
    kinds = [op.kind for op in prepared.graph.ops]
    assert kinds == ["QUANTIZE", "CONV_2D", "RESHAPE", "FULLY_CONNECTED", "LOGISTIC", "QUANTIZE", "DEQUANTIZE"], kinds
    assert "unbound batch dimension of 'x' (unk__31) set to 1" in capsys.readouterr().err


# two inputs 'a' [1, 4, 6] and 'b' (b in [0.5, 2.5], a divisor bounded away from 0): nodes, b's shape,
# output shape, extra op types, min. fraction equal, max. steps
TWO_INPUTS = {
    "div": ([N("Div", ["a", "b"], ["y"])], (1, 4, 6), (1, 4, 6), ("Div",), "DIV", 0.9, 1),
    "max": ([N("Max", ["a", "b"], ["y"])], (1, 4, 6), (1, 4, 6), ("Max",), "MAXIMUM", 0.95, 1),
    "matmul": ([N("MatMul", ["a", "b"], ["y"])], (1, 6, 3), (1, 4, 3), (), "BATCH_MATMUL", 0.9, 1),
}


@pytest.mark.parametrize("name", sorted(TWO_INPUTS))
def test_two_activations(name, tmp_path):
    nodes, bsh, ysh, extra, kind, min_equal, max_steps = TWO_INPUTS[name]
    f = float_model_io(tmp_path / "f.onnx", nodes, {}, {"a": ["N", 4, 6], "b": ["N", *bsh[1:]]}, {"y": ["N", *ysh[1:]]})

    def samples(n):
        return {"a": RNG.normal(size=(n, 4, 6)).astype(np.float32),
                "b": RNG.uniform(0.5, 2.5, size=(n, *bsh[1:])).astype(np.float32)}  # fmt: skip

    q = quantize(f, tmp_path / "q.onnx", samples(40), extra_ops=extra)
    prepared = check_against_onnxruntime(q, samples(8), min_equal, max_steps, tmp_path)
    assert kind in {op.kind for op in prepared.graph.ops}


def test_bn_folding_keeps_the_weights(tmp_path):
    """The folded layer's int8 weights are onnxruntime's, negated where gamma < 0 (the scale takes |s|)."""
    model = build(tmp_path, "conv_bn_relu")
    prepared = load(model, CompileOptions())
    conv = next(op for op in prepared.graph.ops if op.kind == "CONV_2D")
    w = prepared.graph.t(conv.inputs[1])
    m = onnx.load(model)
    wq = next(numpy_helper.to_array(i) for i in m.graph.initializer if i.name == "w_quantized")
    gamma = CASES["conv_bn_relu"][1]["g"]
    np.testing.assert_array_equal(w.data, np.transpose(wq, (0, 2, 3, 1)) * np.sign(gamma)[:, None, None, None])


@pytest.mark.parametrize("name", ["conv_bn_relu", "depthwise_bn", "gemm_bn"])
def test_bn_folded_in_the_float_model(name, tmp_path):
    """prepare_float (for --calibrate) folds the BatchNormalization before quantization: the float
    model computes the same, and its quantization compiles like any Conv / Gemm (one step)."""
    nodes, inits, ish, outs, *_ = CASES[name]
    f = float_model_io(tmp_path / "f.onnx", nodes, inits, {"x": ["N", *ish[1:]]}, outs)
    folded = prepare_float(f, tmp_path / "folded.onnx")
    assert "BatchNormalization" not in {n.op_type for n in onnx.load(folded).graph.node}
    x = (RNG.normal(size=(8, *ish[1:])) * 2).astype(np.float32)
    np.testing.assert_allclose(ort_run_all(folded, {"x": x})[0], ort_run_all(f, {"x": x})[0], rtol=1e-4, atol=1e-4)
    q = quantize(folded, tmp_path / "q.onnx", (RNG.normal(size=(40, *ish[1:])) * 2).astype(np.float32))
    check_against_onnxruntime(q, x, 0.9, 1, tmp_path)


def test_unbound_dimensions(tmp_path, capsys):
    """The batch dimension defaults to 1 (with a note); any other unbound one is an error naming it."""
    nodes = [N("Conv", ["x", "w", "b"], ["y"], kernel_shape=[1, 3])]
    f = float_model_io(tmp_path / "t_float.onnx", nodes, {"w": W(4, 2, 1, 3), "b": W(4, s=0.1)},
                       {"x": ["batch_size", 2, 1, "T"]}, {"y": ["batch_size", 4, 1, "T2"]})  # fmt: skip
    q = quantize(f, tmp_path / "t.onnx", RNG.normal(size=(20, 2, 1, 16)).astype(np.float32))
    with pytest.raises(ModelError) as e:
        load(q, CompileOptions())
    assert "input 'x' has an unbound dimension 3 ('T')" in str(e.value) and "--shape x=1x2x1xT" in str(e.value)
    x = RNG.normal(size=(4, 2, 1, 16)).astype(np.float32)
    capsys.readouterr()
    check_against_onnxruntime(q, x, 0.95, 1, tmp_path, shapes=(("x", (1, 2, 1, 16)),))
    assert "unbound batch" not in capsys.readouterr().err  # bound by --shape: no note


def test_old_opset_is_upgraded(tmp_path, capsys):
    nodes, inits, ish, outs, *_ = CASES["view_flatten"]
    nodes = [CONV, *view_flatten("c", "f", opset=11), nodes[-1]]
    f = float_model_io(tmp_path / "old_float.onnx", nodes, inits, {"x": ["N", *ish[1:]]}, outs, opset=11)
    model = quantize(f, tmp_path / "old.onnx", (RNG.normal(size=(40, *ish[1:])) * 2).astype(np.float32), False)
    assert onnx.load(model).opset_import[0].version == 11
    x = (RNG.normal(size=(6, 3, 6, 6)) * 2).astype(np.float32)
    check_against_onnxruntime(model, x, 0.9, 1, tmp_path)
    assert "opset 11 upgraded to 13 with onnx.version_converter" in capsys.readouterr().err


def edgeneuro(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgeneuro.cli", *args], capture_output=True, text=True)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.strip().splitlines() if not ln.startswith("edgeneuro: note:")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_unconvertible_opset_is_one_line(tmp_path):
    g = helper.make_graph([N("Crop", ["x"], ["y"], border=[1, 1, 1, 1])], "old",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])  # fmt: skip
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 1)])
    m.ir_version = 3
    onnx.save(m, tmp_path / "crop.onnx")
    err = one_line_error(edgeneuro("compile", str(tmp_path / "crop.onnx"), "-o", str(tmp_path / "out")))
    assert str(tmp_path / "crop.onnx") in err and "opset 1 could not be upgraded" in err


@pytest.mark.parametrize(
    "nodes, inits, extra, expect",
    [
        ([N("Celu", ["x"], ["y"])], {}, ("Celu",), "operator #2 Celu is not supported: no ONNX mapping"),
        (
            [
                N("NonZero", ["x"], ["nz"]),
                N("Cast", ["nz"], ["nzf"], to=TensorProto.FLOAT),
                N("ReduceMean", ["nzf"], ["m"], keepdims=0),
                N("Add", ["x", "m"], ["y"]),
            ],
            {},
            (),
            "NonZero is not supported: only on constants (folded at compile time)",
        ),
        (
            [N("Sigmoid", ["x"], ["a"]), N("BatchNormalization", ["a", "g", "be", "m", "v"], ["y"])],
            {"g": W(4) + 1, "be": W(4), "m": W(4), "v": np.abs(W(4)) + 1},
            (),
            "BatchNormalization is not supported: folded only when it directly follows a Conv or Gemm",
        ),
    ],
)
def test_unsupported_is_one_line(nodes, inits, extra, expect, tmp_path):
    f = float_model_io(tmp_path / "u_float.onnx", nodes, inits, {"x": ["N", 4, 4]}, {"y": ["N", 4, 4]})
    q = quantize(f, tmp_path / "u.onnx", RNG.normal(size=(10, 4, 4)).astype(np.float32), extra_ops=extra)
    err = one_line_error(edgeneuro("compile", str(q), "-o", str(tmp_path / "out")))
    assert str(q) in err and expect in err, err
