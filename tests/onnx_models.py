"""Small float ONNX models built with onnx.helper, quantized to QDQ int8 by onnxruntime's own
quantize_static, as a PyTorch user's exporter + quantizer would produce them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static


class _Reader(CalibrationDataReader):
    def __init__(self, name: str, data: np.ndarray) -> None:
        self.it = iter([{name: d[None]} for d in data])

    def get_next(self):
        return next(self.it, None)


def float_model(path: Path, nodes, inits: dict[str, np.ndarray], in_shape, out_shape, opset: int = 17) -> Path:
    """A float32 model with input 'x' (batch dimension symbolic 'N') and output 'y'."""
    g = helper.make_graph(
        nodes,
        "edgeneuro_test",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *in_shape[1:]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", *out_shape[1:]])],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in inits.items()],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 9
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return path


def quantize(float_path: Path, out: Path, calibration: np.ndarray, per_channel: bool = True) -> Path:
    quantize_static(str(float_path), str(out), _Reader("x", calibration), quant_format=QuantFormat.QDQ,
                    per_channel=per_channel, activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)  # fmt: skip
    return out


def ort_run(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.concatenate([sess.run(None, {"x": s[None]})[0] for s in x])


def conv_gemm_classifier(rng: np.random.Generator, in_c: int) -> tuple[list, dict[str, np.ndarray]]:
    """A small float classifier's nodes and initializers: 3x3 Conv (8 filters) + Relu, global average
    pool, Flatten, Gemm to 4 outputs; input [1, in_c, 8, 8] named x, output y."""
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("GlobalAveragePool", ["r1"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "w2", "b2"], ["y"], transB=1),
    ]
    inits = {"w1": rng.normal(size=(8, in_c, 3, 3)) * 0.3, "b1": rng.normal(size=8) * 0.1,
             "w2": rng.normal(size=(4, 8)), "b2": np.zeros(4)}  # fmt: skip
    return nodes, inits
