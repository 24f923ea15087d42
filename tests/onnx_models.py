"""Small float ONNX models built with onnx.helper, quantized to QDQ int8 by onnxruntime's own
quantize_static, as a PyTorch user's exporter + quantizer would produce them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static


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


def quantize(float_path: Path, out: Path, calibration, per_channel: bool = True, extra_ops=()) -> Path:
    """QDQ int8 by quantize_static. ``calibration``: samples of input 'x', or a dict of samples by input
    name; ``extra_ops``: operator types to quantize beyond onnxruntime's defaults (e.g. Tanh)."""
    from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

    ops = sorted({*QLinearOpsRegistry, *QDQRegistry, *extra_ops}) if extra_ops else None
    data = calibration if isinstance(calibration, dict) else {"x": calibration}
    quantize_static(str(float_path), str(out), _MultiReader(data), quant_format=QuantFormat.QDQ,
                    per_channel=per_channel, activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                    op_types_to_quantize=ops)  # fmt: skip
    return out


class _MultiReader(CalibrationDataReader):
    def __init__(self, data: dict[str, np.ndarray]) -> None:
        count = len(next(iter(data.values())))
        self.it = iter([{k: v[i][None] for k, v in data.items()} for i in range(count)])

    def get_next(self):
        return next(self.it, None)


def float_model_io(path: Path, nodes, inits: dict[str, np.ndarray], inputs: dict, outputs: dict,
                   opset: int = 17) -> Path:  # fmt: skip
    """A float32 model with several inputs and outputs, ``{name: dims}`` where a dim may be a string
    (unbound, e.g. 'N') or None (unknown rank for outputs: pass None instead of the dims).
    Integer initializers stay int64 (shape arithmetic)."""

    def init(k, v):
        v = np.asarray(v)
        return numpy_helper.from_array(v.astype(np.int64) if v.dtype.kind in "iu" else v.astype(np.float32), k)

    g = helper.make_graph(
        nodes,
        "edgeneuro_test",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, d) for n, d in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, d) for n, d in outputs.items()],
        [init(k, v) for k, v in inits.items()],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 9 if opset > 11 else 6
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return path


def ort_run_all(path: Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Every output of the model, one sample at a time (feeds: arrays by input name, batch first)."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    count = len(next(iter(feeds.values())))
    runs = [sess.run(None, {k: v[i][None] for k, v in feeds.items()}) for i in range(count)]
    return [np.concatenate([r[j] for r in runs]) for j in range(len(runs[0]))]


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
