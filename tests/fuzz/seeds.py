"""The seed models the mutants start from: the MLPerf Tiny and seizure TFLite models of
``../shared/models``, small QDQ int8 and float ONNX models written here with ``onnx.helper``, and a
small spiking NIR graph. Everything is built from fixed numbers, so a seed's bytes (and so every
mutant of it) are the same on every run."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "models"
TFLITE_SEEDS = (
    "mlperf_tiny/ad01_int8.tflite",
    "mlperf_tiny/kws_ref_model.tflite",
    "mlperf_tiny/pretrainedResnet_quant.tflite",
    "mlperf_tiny/vww_96_int8.tflite",
    "seizure/seizure_cnn1d.tflite",
    "seizure/seizure_dnn.tflite",
    "seizure/seizure_lstm.tflite",
)
NIR_DT = 1e-3  # --dt of the NIR seed (its taus are 5-40 steps of it)


@dataclass(frozen=True)
class Seed:
    name: str
    suffix: str  # .tflite, .onnx, .nir
    data: bytes
    precision: str = "int8"  # ONNX: "float" compiles the float seed with --precision float
    obj: Any = field(default=None, compare=False, repr=False)  # the ModelProto / NIRGraph the bytes come from


@cache
def tflite_seeds() -> tuple[Seed, ...]:
    return tuple(
        Seed(Path(p).stem, ".tflite", (SHARED / p).read_bytes()) for p in TFLITE_SEEDS if (SHARED / p).exists()
    )


def _q(name: str, x: str, scale: str, zp: str, out: str, axis: int | None = None):
    from onnx import helper

    kw = {} if axis is None else {"axis": axis}
    return helper.make_node(name, [x, scale, zp], [out], **kw)


def onnx_qdq_model(per_channel: bool = True):
    """x [N,1,8,8] float -> Q/DQ -> Conv 3x3 (int8 weights, int32 bias) -> Q/DQ -> MaxPool 2x2
    -> Q/DQ -> Flatten -> Gemm -> Q/DQ -> y [N,4]: onnxruntime's QDQ form, written by hand."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1234)
    cout = 3
    w = rng.integers(-127, 128, (cout, 1, 3, 3)).astype(np.int8)
    w_scale = (rng.uniform(0.005, 0.02, cout) if per_channel else np.array(0.01)).astype(np.float32)
    fc = rng.integers(-127, 128, (4, cout * 3 * 3)).astype(np.int8)
    s_x, s_c, s_p, s_y = np.float32(0.02), np.float32(0.03), np.float32(0.03), np.float32(0.05)
    inits = {
        "s_x": s_x, "zp_x": np.int8(-3), "s_c": s_c, "zp_c": np.int8(-128), "s_p": s_p, "zp_p": np.int8(-128),
        "s_y": s_y, "zp_y": np.int8(5),
        "w_q": w, "w_s": w_scale, "w_zp": np.zeros(cout if per_channel else (), np.int8),
        "b_q": rng.integers(-500, 500, cout).astype(np.int32), "b_s": (s_x * w_scale).astype(np.float32),
        "b_zp": np.zeros(cout if per_channel else (), np.int32),
        "fc_q": fc, "fc_s": np.float32(0.01), "fc_zp": np.int8(0),
        "fb_q": rng.integers(-300, 300, 4).astype(np.int32), "fb_s": np.float32(s_p * 0.01), "fb_zp": np.int32(0),
    }  # fmt: skip
    axis = 0 if per_channel else None
    nodes = [
        _q("QuantizeLinear", "x", "s_x", "zp_x", "xq"),
        _q("DequantizeLinear", "xq", "s_x", "zp_x", "xd"),
        _q("DequantizeLinear", "w_q", "w_s", "w_zp", "w", axis),
        _q("DequantizeLinear", "b_q", "b_s", "b_zp", "b", axis),
        helper.make_node("Conv", ["xd", "w", "b"], ["c"], kernel_shape=[3, 3], strides=[1, 1], pads=[0, 0, 0, 0],
                         dilations=[1, 1], group=1),
        _q("QuantizeLinear", "c", "s_c", "zp_c", "rq"),
        _q("DequantizeLinear", "rq", "s_c", "zp_c", "rd"),
        helper.make_node("MaxPool", ["rd"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        _q("QuantizeLinear", "p", "s_p", "zp_p", "pq"),
        _q("DequantizeLinear", "pq", "s_p", "zp_p", "pd"),
        helper.make_node("Flatten", ["pd"], ["fl"], axis=1),
        _q("QuantizeLinear", "fl", "s_p", "zp_p", "fq"),
        _q("DequantizeLinear", "fq", "s_p", "zp_p", "f"),
        _q("DequantizeLinear", "fc_q", "fc_s", "fc_zp", "fcw"),
        _q("DequantizeLinear", "fb_q", "fb_s", "fb_zp", "fcb"),
        helper.make_node("Gemm", ["f", "fcw", "fcb"], ["g"], transB=1),
        _q("QuantizeLinear", "g", "s_y", "zp_y", "gq"),
        _q("DequantizeLinear", "gq", "s_y", "zp_y", "y"),
    ]  # fmt: skip
    g = helper.make_graph(
        nodes, "fuzz_qdq",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()],
    )  # fmt: skip
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="edgeneuro-fuzz")
    m.ir_version = 9
    onnx.checker.check_model(m)
    return m


def onnx_float_model():
    """x [N,2,6,6] -> Conv 3x3 group 2 stride 1 pad 1 -> Relu -> AveragePool 2x2 -> Reshape -> Gemm ->
    Softmax -> y [N,3], float32 (compiled with --precision float)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(4321)
    inits = {
        "w": rng.normal(0, 0.3, (4, 1, 3, 3)).astype(np.float32),
        "b": rng.normal(0, 0.1, 4).astype(np.float32),
        "shape": np.array([1, -1], np.int64),
        "fw": rng.normal(0, 0.3, (3, 36)).astype(np.float32),
        "fb": rng.normal(0, 0.1, 3).astype(np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1],
                         dilations=[1, 1], group=2),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("AveragePool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Reshape", ["p", "shape"], ["f"]),
        helper.make_node("Gemm", ["f", "fw", "fb"], ["g"], transB=1),
        helper.make_node("Softmax", ["g"], ["y"], axis=-1),
    ]  # fmt: skip
    g = helper.make_graph(
        nodes, "fuzz_float",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )  # fmt: skip
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="edgeneuro-fuzz")
    m.ir_version = 9
    onnx.checker.check_model(m)
    return m


@cache
def onnx_seeds() -> tuple[Seed, ...]:
    out = []
    for name, m, precision in (("qdq_per_channel", onnx_qdq_model(True), "int8"),
                               ("qdq_per_tensor", onnx_qdq_model(False), "int8"),
                               ("float_cnn", onnx_float_model(), "float")):  # fmt: skip
        out.append(Seed(name, ".onnx", m.SerializeToString(), precision, m))
    return tuple(out)


def nir_graph():
    """in [6] -> Affine -> LIF [8] (recurrent Linear) -> Affine -> CubaLIF [3] -> out; the hidden spikes
    a second output."""
    import nir

    rng = np.random.default_rng(99)
    dt, hidden, outs, feats = NIR_DT, 8, 3, 6
    tau_h, tau_o = rng.uniform(5, 40, hidden) * dt, rng.uniform(5, 40, outs) * dt
    zeros_h, zeros_o = np.zeros(hidden), np.zeros(outs)
    tau_syn = np.maximum(tau_o / 3, dt)
    nodes = {
        "in": nir.Input(np.array([feats])),
        "fc1": nir.Affine(rng.normal(0, 0.6, (hidden, feats)), rng.normal(0, 0.05, hidden)),
        "hidden": nir.LIF(tau=tau_h, r=tau_h / dt, v_leak=zeros_h, v_threshold=np.ones(hidden), v_reset=zeros_h),
        "rec": nir.Linear(rng.normal(0, 0.2, (hidden, hidden))),
        "fc2": nir.Affine(rng.normal(0, 0.4, (outs, hidden)), np.zeros(outs)),
        "readout": nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau_o, r=tau_o / dt, v_leak=zeros_o,
                               v_threshold=np.ones(outs), v_reset=zeros_o, w_in=tau_syn / dt),
        "out": nir.Output(np.array([outs])),
        "spikes": nir.Output(np.array([hidden])),
    }  # fmt: skip
    edges = [("in", "fc1"), ("fc1", "hidden"), ("hidden", "rec"), ("rec", "hidden"), ("hidden", "fc2"),
             ("fc2", "readout"), ("readout", "out"), ("hidden", "spikes")]  # fmt: skip
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def nir_bytes(graph) -> bytes:
    import nir

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "g.nir"
        nir.write(path, graph)
        return path.read_bytes()


@cache
def nir_seeds() -> tuple[Seed, ...]:
    g = nir_graph()
    return (Seed("snn_lif", ".nir", nir_bytes(g), obj=g),)


def all_seeds() -> dict[str, tuple[Seed, ...]]:
    return {".tflite": tflite_seeds(), ".onnx": onnx_seeds(), ".nir": nir_seeds()}
