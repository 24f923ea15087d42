"""The mutant generator: mutant ``k`` of seed ``s`` is ``mutant(s, k)``, always the same bytes (a numpy
Generator seeded with ``[s, k]`` picks the format, the seed model, the mutation and its numbers).

TFLite mutants are patched in place: the ``tflite`` package's accessors give each field's byte
position (a table's ``_tab.Pos`` plus the vtable offset of the field's slot, ``_tab.Offset(slot)``;
a vector's elements from ``_tab.Vector(o)``), so a scalar or a vector element is overwritten without
rebuilding the flatbuffer. ONNX mutants edit a copy of the ModelProto; NIR mutants edit a fresh
copy of the seed graph and write it again (or flip and cut the written file)."""

from __future__ import annotations

import inspect
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from . import seeds as seedmod

FORMAT_WEIGHTS = {".tflite": 0.55, ".onnx": 0.3, ".nir": 0.15}


@dataclass(frozen=True)
class Mutant:
    seed: int
    index: int
    fmt: str  # .tflite, .onnx, .nir
    model: str  # the seed model's name
    kind: str  # the mutation
    recipe: str  # what exactly was changed
    data: bytes
    precision: str = "int8"

    @property
    def filename(self) -> str:
        return f"m{self.seed}_{self.index:06d}_{self.model}_{self.kind}{self.fmt}"


class NotApplicable(Exception):
    """This mutation has nothing to change in this seed model; the generator draws another."""


def pick(rng: np.random.Generator, seq):
    if len(seq) == 0:
        raise NotApplicable("nothing to pick from")
    return seq[int(rng.integers(len(seq)))]


def flip_bits(rng: np.random.Generator, buf: bytearray, positions: list[int]) -> str:
    done = []
    for pos in positions:
        bit = int(rng.integers(8))
        buf[pos] ^= 1 << bit
        done.append(f"{pos}.{bit}")
    return "bits flipped at byte.bit " + ", ".join(done)


# -- TFLite: fields located with the tflite package's accessors ------------------------------------

FLAG_FORMATS = {"Int8": "b", "Uint8": "B", "Bool": "B", "Int16": "h", "Uint16": "H", "Int32": "i", "Uint32": "I",
                "Int64": "q", "Uint64": "Q", "Float32": "f", "Float64": "d"}  # fmt: skip


@cache
def accessor(cls: type, method: str) -> tuple[int, str]:
    """The vtable slot of ``cls.method`` and the struct format of its scalar (or vector element),
    read from the generated accessor's source (``self._tab.Offset(6)``, ``Int32Flags``)."""
    src = inspect.getsource(getattr(cls, method))
    slot = int(re.search(r"Offset\((\d+)\)", src).group(1))
    flags = [f for f in re.findall(r"number_types\.(\w+)Flags", src) if f != "UOffsetT"]
    return slot, FLAG_FORMATS.get(flags[0], "I") if flags else "I"


def put(buf: bytearray, pos: int, fmt: str, value: Any) -> None:
    """Writes ``value`` as ``fmt`` at ``pos``; integers wrap to the field's width (-1 in a uint8 is 255)."""
    if fmt in "fd":
        struct.pack_into("<" + fmt, buf, pos, float(value))
        return
    bits = struct.calcsize(fmt) * 8
    struct.pack_into("<" + fmt.upper(), buf, pos, int(value) % (1 << bits))


def field(table: Any, method: str) -> tuple[int, str] | None:
    """Byte position and format of a scalar field, None when the file leaves it at its default."""
    slot, fmt = accessor(type(table), method)
    o = table._tab.Offset(slot)
    return (table._tab.Pos + o, fmt) if o else None


def vector(table: Any, method: str) -> tuple[int, int, str] | None:
    """Start of a vector's elements, its length and the element format (None when absent)."""
    slot, fmt = accessor(type(table), method)
    o = table._tab.Offset(slot)
    return (table._tab.Vector(o), table._tab.VectorLen(o), fmt) if o else None


def option_fields(table: Any) -> dict[str, tuple[int, str]]:
    """The fields an operator's options table stores: snake_case name -> (byte position, format)."""
    out = {}
    for name in dir(type(table)):
        if not name[:1].isupper() or name == "Init" or name.startswith("GetRootAs") or "Buffer" in name:
            continue
        try:
            slot, fmt = accessor(type(table), name)
        except (AttributeError, TypeError, OSError):
            continue
        o = table._tab.Offset(slot)
        if o and not name.endswith(("Length", "IsNone", "AsNumpy")):
            src = inspect.getsource(getattr(type(table), name))
            if "Vector(" in src or "Indirect(" in src or "String(" in src:
                continue  # vectors, tables and strings: not a scalar to overwrite
            out[re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()] = (table._tab.Pos + o, fmt)
    return out


class TFLite:
    def __init__(self, data: bytes) -> None:
        import tflite

        self.tflite = tflite
        self.data = data
        self.model = tflite.Model.GetRootAs(data, 0)
        self.sg = self.model.Subgraphs(0)
        self.tensors = [self.sg.Tensors(i) for i in range(self.sg.TensorsLength())]
        self.ops = [self.sg.Operators(i) for i in range(self.sg.OperatorsLength())]
        self.buffers = [self.model.Buffers(i) for i in range(self.model.BuffersLength())]

    def weight_ranges(self) -> list[tuple[int, int, int]]:
        """(buffer index, start, length) of every buffer holding data."""
        out = []
        for i, b in enumerate(self.buffers):
            v = vector(b, "Data")
            if v is not None and v[1] > 0:
                out.append((i, v[0], v[1]))
        return out

    def const(self, t: Any) -> bool:
        b = t.Buffer()
        return 0 < b < len(self.buffers) and self.buffers[b].DataLength() > 0


SHAPE_VALUES = (-7, -1, 0, 2**31 - 1, 1 << 20, "+3", "x2", "-1")
SCALE_VALUES = (0.0, float("nan"), float("inf"), float("-inf"), 1e-45, 3e38, -0.5, 1e-38, 1e30)
ZP_VALUES = (2**31 - 1, -(2**31), 128, -129, 300, 2**40, -1000)


def tfl_weight_flip(rng, m: TFLite, buf: bytearray) -> str:
    i, start, n = pick(rng, m.weight_ranges())
    count = int(rng.integers(1, 9))
    return f"buffer {i}: " + flip_bits(rng, buf, [start + int(rng.integers(n)) for _ in range(count)])


def tfl_structure_flip(rng, m: TFLite, buf: bytearray) -> str:
    inside = np.zeros(len(buf), bool)
    for _, start, n in m.weight_ranges():
        inside[start : start + n] = True
    outside = np.flatnonzero(~inside)
    count = int(rng.integers(1, 5))
    return "structure: " + flip_bits(rng, buf, [int(outside[rng.integers(len(outside))]) for _ in range(count)])


def tfl_shape(rng, m: TFLite, buf: bytearray) -> str:
    acts = [i for i, t in enumerate(m.tensors) if t.ShapeLength() and not m.const(t)]
    consts = [i for i, t in enumerate(m.tensors) if t.ShapeLength() and m.const(t)]
    i = pick(rng, acts if rng.random() < 0.7 or not consts else consts)
    start, n, fmt = vector(m.tensors[i], "Shape")
    j = int(rng.integers(n))
    old = struct.unpack_from("<i", buf, start + 4 * j)[0]
    v = pick(rng, SHAPE_VALUES)
    new = {"+3": old + 3, "x2": old * 2, "-1": old - 1}.get(v, v) if isinstance(v, str) else v
    put(buf, start + 4 * j, fmt, new)
    return f"tensor {i} '{m.tensors[i].Name().decode(errors='replace')}': shape[{j}] {old} -> {new}"


def _quant_vector(rng, m: TFLite, method: str):
    cands = []
    for i, t in enumerate(m.tensors):
        q = t.Quantization()
        if q is not None and (v := vector(q, method)) is not None and v[1] > 0:
            cands.append((i, v))
    return pick(rng, cands)


def tfl_scale(rng, m: TFLite, buf: bytearray) -> str:
    i, (start, n, fmt) = _quant_vector(rng, m, "Scale")
    j, v = int(rng.integers(n)), pick(rng, SCALE_VALUES)
    put(buf, start + 4 * j, fmt, v)
    return f"tensor {i} '{m.tensors[i].Name().decode(errors='replace')}': scale[{j}] -> {v}"


def tfl_zero_point(rng, m: TFLite, buf: bytearray) -> str:
    i, (start, n, fmt) = _quant_vector(rng, m, "ZeroPoint")
    j, v = int(rng.integers(n)), pick(rng, ZP_VALUES)
    put(buf, start + 8 * j, fmt, v)
    return f"tensor {i} '{m.tensors[i].Name().decode(errors='replace')}': zero_point[{j}] -> {v}"


def tfl_quant_axis(rng, m: TFLite, buf: bytearray) -> str:
    cands = [(i, f) for i, t in enumerate(m.tensors) if t.Quantization() is not None
             and (f := field(t.Quantization(), "QuantizedDimension")) is not None]  # fmt: skip
    i, (pos, fmt) = pick(rng, cands)
    v = pick(rng, (7, -1, 1, 2, 99))
    put(buf, pos, fmt, v)
    return f"tensor {i}: quantized_dimension -> {v}"


def tfl_tensor_type(rng, m: TFLite, buf: bytearray) -> str:
    cands = [(i, f) for i, t in enumerate(m.tensors) if (f := field(t, "Type")) is not None]
    i, (pos, fmt) = pick(rng, cands)
    v = pick(rng, (0, 2, 3, 7, 9, 17, 99))
    put(buf, pos, fmt, v)
    return f"tensor {i}: type -> {v}"


def tfl_tensor_buffer(rng, m: TFLite, buf: bytearray) -> str:
    cands = [(i, f) for i, t in enumerate(m.tensors) if (f := field(t, "Buffer")) is not None]
    i, (pos, fmt) = pick(rng, cands)
    full = [b for b, _, _ in m.weight_ranges()]
    v = pick(rng, (10**6, -3, 0, *(full[int(rng.integers(len(full)))] for _ in range(2 if full else 0))))
    put(buf, pos, fmt, v)
    return f"tensor {i}: buffer -> {v}"


def tfl_op_io(rng, m: TFLite, buf: bytearray) -> str:
    k = int(rng.integers(len(m.ops)))
    which = pick(rng, ("Inputs", "Outputs"))
    v = vector(m.ops[k], which)
    if v is None or v[1] == 0:
        raise NotApplicable(which)
    start, n, fmt = v
    j = int(rng.integers(n))
    nt = len(m.tensors)
    new = pick(rng, (-5, -1, nt + 10, 2**31 - 1, int(rng.integers(nt)), int(rng.integers(nt))))
    put(buf, start + 4 * j, fmt, new)
    return f"operator {k}: {which.lower()}[{j}] -> tensor {new}"


def tfl_opcode(rng, m: TFLite, buf: bytearray) -> str:
    k = int(rng.integers(len(m.ops)))
    f = field(m.ops[k], "OpcodeIndex")
    if f is None:
        raise NotApplicable("opcode index 0")
    v = pick(rng, (m.model.OperatorCodesLength(), 10**5, -1, int(rng.integers(m.model.OperatorCodesLength()))))
    put(buf, f[0], f[1], v)
    return f"operator {k}: opcode_index -> {v}"


def _ops_vector(m: TFLite) -> tuple[int, int, list[int]]:
    start, n, _ = vector(m.sg, "Operators")
    targets = [start + 4 * i + struct.unpack_from("<I", m.data, start + 4 * i)[0] for i in range(n)]
    return start, n, targets


def _write_ops(buf: bytearray, start: int, targets: list[int]) -> None:
    for i, t in enumerate(targets):
        put(buf, start + 4 * i, "I", t - (start + 4 * i))


def tfl_ops_swap(rng, m: TFLite, buf: bytearray) -> str:
    start, n, targets = _ops_vector(m)
    if n < 2:
        raise NotApplicable("one operator")
    a, b = (int(x) for x in rng.choice(n, 2, replace=False))
    targets[a], targets[b] = targets[b], targets[a]
    _write_ops(buf, start, targets)
    return f"operators {a} and {b} swapped"


def tfl_op_delete(rng, m: TFLite, buf: bytearray) -> str:
    start, n, targets = _ops_vector(m)
    k = int(rng.integers(n))
    del targets[k]
    _write_ops(buf, start, targets)
    put(buf, start - 4, "I", n - 1)
    return f"operator {k} deleted (its outputs produced by nobody)"


def tfl_op_dup_output(rng, m: TFLite, buf: bytearray) -> str:
    if len(m.ops) < 2:
        raise NotApplicable("one operator")
    a, b = (int(x) for x in rng.choice(len(m.ops), 2, replace=False))
    va, vb = vector(m.ops[a], "Outputs"), vector(m.ops[b], "Outputs")
    if not va or not vb or not va[1] or not vb[1]:
        raise NotApplicable("no outputs")
    other = struct.unpack_from("<i", m.data, vb[0])[0]
    put(buf, va[0], "i", other)
    return f"operator {a} writes operator {b}'s output tensor {other} too"


def option_value(rng, name: str, fmt: str):
    if "stride" in name or "dilation" in name:
        return pick(rng, (0, -1, -3, 1 << 30))
    if name == "padding":
        return 7
    if name == "fused_activation_function":
        return pick(rng, (42, 7, 255))
    if "axis" in name or name in ("dim", "begin_mask", "end_mask", "batch_dims"):
        return pick(rng, (99, -99, 7))
    if fmt in "fd":
        return pick(rng, (float("nan"), float("inf"), 0.0, -1.0, 1e38))
    if fmt in "bB":
        return pick(rng, (2, 7, 42, 255))
    return pick(rng, (0, -1, 99, 2**31 - 1, -(2**31)))


def _options(m: TFLite, k: int):
    op = m.ops[k]
    kind = {v: n for n, v in vars(m.tflite.BuiltinOptions).items() if isinstance(v, int)}.get(op.BuiltinOptionsType())
    table = op.BuiltinOptions()
    if not kind or table is None or not hasattr(m.tflite, kind):
        return None
    opts = getattr(m.tflite, kind)()
    opts.Init(table.Bytes, table.Pos)
    return kind, opts


def tfl_option(rng, m: TFLite, buf: bytearray) -> str:
    cands = []
    for k in range(len(m.ops)):
        o = _options(m, k)
        if o is not None:
            for name, pos_fmt in option_fields(o[1]).items():
                cands.append((k, o[0], name, pos_fmt))
    k, kind, name, (pos, fmt) = pick(rng, cands)
    v = option_value(rng, name, fmt)
    put(buf, pos, fmt, v)
    return f"operator {k} {kind}.{name} -> {v}"


def tfl_options_removed(rng, m: TFLite, buf: bytearray) -> str:
    cands = [(k, f) for k in range(len(m.ops)) if (f := field(m.ops[k], "BuiltinOptionsType")) is not None]
    k, (pos, fmt) = pick(rng, cands)
    v = pick(rng, (0, 0, 1, 9, 17, 42, 200))
    put(buf, pos, fmt, v)
    return f"operator {k}: builtin_options_type -> {v}" + (" (options removed)" if v == 0 else "")


def tfl_graph_io(rng, m: TFLite, buf: bytearray) -> str:
    which = pick(rng, ("Inputs", "Outputs"))
    v = vector(m.sg, which)
    if v is None:
        raise NotApplicable(which)
    start, n, fmt = v
    how = pick(rng, ("empty", "const", "index"))
    if how == "empty" or n == 0:
        put(buf, start - 4, "I", 0)
        return f"subgraph {which.lower()}: emptied"
    j = int(rng.integers(n))
    if how == "const":
        consts = [i for i, t in enumerate(m.tensors) if m.const(t)]
        new = pick(rng, consts)
    else:
        new = pick(rng, (-5, len(m.tensors) + 3, int(rng.integers(len(m.tensors)))))
    put(buf, start + 4 * j, fmt, new)
    return f"subgraph {which.lower()}[{j}] -> tensor {new}" + (" (a constant)" if how == "const" else "")


def tfl_buffer_bounds(rng, m: TFLite, buf: bytearray) -> str:
    i, start, n = pick(rng, m.weight_ranges())
    v = pick(rng, (n + 1, n * 2, len(buf), 2**31 - 1, 0))
    put(buf, start - 4, "I", v)
    return f"buffer {i}: data length {n} -> {v}"


def tfl_truncate(rng, m: TFLite, buf: bytearray) -> str:
    cut = int(rng.integers(len(buf)))
    del buf[cut:]
    return f"truncated to {cut} bytes"


TFLITE_MUTATIONS: dict[str, Callable] = {
    "weight_flip": tfl_weight_flip, "structure_flip": tfl_structure_flip, "truncate": tfl_truncate,
    "shape": tfl_shape, "scale": tfl_scale, "zero_point": tfl_zero_point, "quant_axis": tfl_quant_axis,
    "tensor_type": tfl_tensor_type, "tensor_buffer": tfl_tensor_buffer, "op_io": tfl_op_io,
    "opcode": tfl_opcode, "ops_swap": tfl_ops_swap, "op_delete": tfl_op_delete,
    "dup_output": tfl_op_dup_output, "option": tfl_option, "options_removed": tfl_options_removed,
    "graph_io": tfl_graph_io, "buffer_bounds": tfl_buffer_bounds,
}  # fmt: skip


def mutate_tflite(rng, seed: seedmod.Seed, kind: str) -> tuple[str, bytes]:
    m = TFLite(seed.data)
    buf = bytearray(seed.data)
    recipe = TFLITE_MUTATIONS[kind](rng, m, buf)
    return recipe, bytes(buf)


# -- ONNX: edits of the ModelProto --------------------------------------------------------------


def _onnx_copy(seed: seedmod.Seed):
    import onnx

    m = onnx.ModelProto()
    m.CopyFrom(seed.obj)
    return m


def _set_init(init, arr: np.ndarray) -> None:
    from onnx import numpy_helper

    init.CopyFrom(numpy_helper.from_array(arr, init.name))


def onnx_weight_flip(rng, m) -> str:
    inits = [i for i in m.graph.initializer if len(i.raw_data) > 4]
    init = pick(rng, inits)
    raw = bytearray(init.raw_data)
    recipe = flip_bits(rng, raw, [int(rng.integers(len(raw))) for _ in range(int(rng.integers(1, 9)))])
    init.raw_data = bytes(raw)
    return f"initializer '{init.name}': {recipe}"


def onnx_dims(rng, m) -> str:
    if rng.random() < 0.5:
        inp = pick(rng, list(m.graph.input))
        dims = inp.type.tensor_type.shape.dim
        j = int(rng.integers(len(dims)))
        v = pick(rng, (-7, 0, 2**31 - 1, 1 << 20, 3))
        dims[j].Clear()
        dims[j].dim_value = v
        return f"input '{inp.name}': dim {j} -> {v}"
    init = pick(rng, [i for i in m.graph.initializer if len(i.dims)])
    j = int(rng.integers(len(init.dims)))
    v = pick(rng, (-7, 0, 2**31 - 1, init.dims[j] + 1))
    init.dims[j] = v
    return f"initializer '{init.name}': dim {j} -> {v}"


def onnx_scale(rng, m) -> str:
    from onnx import numpy_helper

    scales = {n.input[1] for n in m.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")}
    init = pick(rng, [i for i in m.graph.initializer if i.name in scales])
    arr = numpy_helper.to_array(init).copy()
    flat = arr.reshape(-1)
    j, v = int(rng.integers(flat.size)), pick(rng, SCALE_VALUES)
    flat[j] = v
    _set_init(init, arr)
    return f"scale '{init.name}'[{j}] -> {v}"


def onnx_zero_point(rng, m) -> str:
    from onnx import numpy_helper

    zps = {n.input[2] for n in m.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear") and len(n.input) > 2}
    init = pick(rng, [i for i in m.graph.initializer if i.name in zps])
    arr = numpy_helper.to_array(init)
    v = pick(rng, ZP_VALUES[:2] + (300, -1000))
    dtype = pick(rng, (np.int32, np.int16, np.uint8, np.int64))
    new = np.full(arr.shape, np.array(v).astype(dtype) if np.dtype(dtype).kind != "u" else 200, dtype)
    _set_init(init, new)
    return f"zero point '{init.name}' -> {new.reshape(-1)[:1].tolist()} as {np.dtype(dtype).name}"


def _set_attr(node, name: str, value) -> None:
    from onnx import helper

    for a in list(node.attribute):
        if a.name == name:
            node.attribute.remove(a)
    if value is not None:
        node.attribute.append(helper.make_attribute(name, value))


ONNX_ATTRS = {
    "strides": ([0, 0], [-1, 1], [1 << 30, 1], [1]), "dilations": ([0, 0], [-2, 1], [1, 1, 1]),
    "pads": ([-1, -1, -1, -1], [0, 0, 5, 5], [-3, 0, 0, 0], [1, 1]), "group": (0, 3, -1, 1 << 20),
    "kernel_shape": ([0, 0], [9, 9], [-1, 3], [3]), "axis": (7, -9, 3), "transB": (2, -1, 0), "transA": (1, 5),
    "auto_pad": (b"BOGUS", b"SAME_UPPER", b"VALID"), "ceil_mode": (1, 7), "storage_order": (1,),
}  # fmt: skip


def onnx_attr(rng, m) -> str:
    node = pick(rng, [n for n in m.graph.node if n.op_type not in ("QuantizeLinear",)])
    names = sorted({a.name for a in node.attribute} | ({"group", "dilations", "pads", "auto_pad"}
                   if node.op_type == "Conv" else set()))  # fmt: skip
    name = pick(rng, names)
    if rng.random() < 0.2:
        _set_attr(node, name, None)
        return f"node '{node.name or node.op_type}' ({node.op_type}): attribute {name} removed"
    v = pick(rng, ONNX_ATTRS.get(name, (0, -1, 99)))
    _set_attr(node, name, v)
    return f"node {list(m.graph.node).index(node)} ({node.op_type}): {name} -> {v}"


def onnx_init_removed(rng, m) -> str:
    init = pick(rng, list(m.graph.initializer))
    m.graph.initializer.remove(init)
    return f"initializer '{init.name}' removed"


def onnx_node_swap(rng, m) -> str:
    n = len(m.graph.node)
    a, b = sorted(int(x) for x in rng.choice(n, 2, replace=False))
    na, nb = type(m.graph.node[0])(), type(m.graph.node[0])()
    na.CopyFrom(m.graph.node[a])
    nb.CopyFrom(m.graph.node[b])
    m.graph.node[a].CopyFrom(nb)
    m.graph.node[b].CopyFrom(na)
    return f"nodes {a} ({na.op_type}) and {b} ({nb.op_type}) swapped"


def onnx_node_delete(rng, m) -> str:
    k = int(rng.integers(len(m.graph.node)))
    node = m.graph.node[k]
    del m.graph.node[k]
    return f"node {k} ({node.op_type}) deleted (its outputs produced by nobody)"


def onnx_graph_io(rng, m) -> str:
    how = pick(rng, ("no inputs", "no outputs", "output is an initializer", "output renamed", "input renamed"))
    g = m.graph
    if how == "no inputs":
        del g.input[:]
    elif how == "no outputs":
        del g.output[:]
    elif how == "output is an initializer":
        g.output[0].name = pick(rng, [i.name for i in g.initializer])
    elif how == "output renamed":
        g.output[0].name = "nowhere"
    else:
        g.input[0].name = "elsewhere"
    return f"graph: {how}"


def onnx_node_input(rng, m) -> str:
    node = pick(rng, list(m.graph.node))
    j = int(rng.integers(len(node.input)))
    names = [i.name for i in m.graph.initializer] + [o for n in m.graph.node for o in n.output] + ["missing", ""]
    new = pick(rng, names)
    old = node.input[j]
    node.input[j] = new
    return f"node {node.op_type} input {j} '{old}' -> '{new}'"


def onnx_op_type(rng, m) -> str:
    node = pick(rng, list(m.graph.node))
    new = pick(rng, [t for t in ("Add", "Conv", "Gemm", "MaxPool", "Softmax", "Relu", "Reshape", "Concat", "NoSuchOp",
                     "QuantizeLinear", "DequantizeLinear", "Transpose", "Identity") if t != node.op_type])  # fmt: skip
    old, node.op_type = node.op_type, new
    return f"node op_type {old} -> {new}"


def onnx_opset(rng, m) -> str:
    v = pick(rng, (0, 1, 7, 10, 99))
    m.opset_import[0].version = v
    return f"opset -> {v}"


def onnx_data_type(rng, m) -> str:
    init = pick(rng, list(m.graph.initializer))
    v = pick(rng, (1, 2, 3, 6, 7, 9, 10, 16, 99))
    init.data_type = v
    return f"initializer '{init.name}': data_type -> {v}"


def onnx_quant_axis(rng, m) -> str:
    node = pick(rng, [n for n in m.graph.node if n.op_type == "DequantizeLinear" and n.input[0].endswith("_q")])
    v = pick(rng, (7, -9, 1, 3, -1))
    _set_attr(node, "axis", v)
    return f"DequantizeLinear of '{node.input[0]}': axis -> {v}"


ONNX_MUTATIONS: dict[str, Callable] = {
    "weight_flip": onnx_weight_flip, "structure_flip": None, "truncate": None, "dims": onnx_dims,
    "scale": onnx_scale, "zero_point": onnx_zero_point, "attr": onnx_attr, "init_removed": onnx_init_removed,
    "node_swap": onnx_node_swap, "node_delete": onnx_node_delete, "graph_io": onnx_graph_io,
    "node_input": onnx_node_input, "op_type": onnx_op_type, "opset": onnx_opset, "data_type": onnx_data_type,
    "quant_axis": onnx_quant_axis,
}  # fmt: skip


def mutate_bytes(rng, data: bytes, kind: str) -> tuple[str, bytes]:
    buf = bytearray(data)
    if kind == "truncate":
        cut = int(rng.integers(len(buf)))
        return f"truncated to {cut} bytes", bytes(buf[:cut])
    recipe = flip_bits(rng, buf, [int(rng.integers(len(buf))) for _ in range(int(rng.integers(1, 5)))])
    return recipe, bytes(buf)


def mutate_onnx(rng, seed: seedmod.Seed, kind: str) -> tuple[str, bytes]:
    if ONNX_MUTATIONS[kind] is None:
        return mutate_bytes(rng, seed.data, kind)
    m = _onnx_copy(seed)
    recipe = ONNX_MUTATIONS[kind](rng, m)
    return recipe, m.SerializeToString()


# -- NIR: edits of the graph, written again ------------------------------------------------------

NIR_VALUES = (float("nan"), float("inf"), float("-inf"), 0.0, -1.0, 1e30, 1e-45, -1e30)


def _arrays(node) -> list[str]:
    return [k for k, v in vars(node).items() if isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.size]


def nir_value(rng, g) -> str:
    name = pick(rng, [n for n, node in g.nodes.items() if _arrays(node)])
    node = g.nodes[name]
    attr = pick(rng, _arrays(node))
    arr = np.array(getattr(node, attr), np.float64)
    v = pick(rng, NIR_VALUES)
    if rng.random() < 0.3:
        arr[...] = v
        where = "all"
    else:
        j = int(rng.integers(arr.size))
        arr.reshape(-1)[j] = v
        where = str(j)
    setattr(node, attr, arr)
    return f"node '{name}' ({type(node).__name__}).{attr}[{where}] -> {v}"


def nir_param_shape(rng, g) -> str:
    name = pick(rng, [n for n, node in g.nodes.items() if _arrays(node)])
    node = g.nodes[name]
    attr = pick(rng, _arrays(node))
    arr = np.asarray(getattr(node, attr))
    how = pick(rng, ("drop", "add", "2d", "scalar", "empty"))
    new = {"drop": arr.reshape(-1)[:-1], "add": np.concatenate([arr.reshape(-1), [1.0]]),
           "2d": arr.reshape(1, -1), "scalar": np.array(arr.reshape(-1)[0]), "empty": np.zeros(0)}[how]  # fmt: skip
    setattr(node, attr, new)
    return f"node '{name}' ({type(node).__name__}).{attr}: shape {arr.shape} -> {new.shape}"


def nir_io_shape(rng, g) -> str:
    name = pick(rng, [n for n, node in g.nodes.items() if type(node).__name__ in ("Input", "Output")])
    node = g.nodes[name]
    v = np.array(pick(rng, ([-1], [0], [2**31 - 1], [6, 6], [], [7], [1 << 20])), np.int64)
    key = "input_type" if type(node).__name__ == "Input" else "output_type"
    getattr(node, key)["input" if key == "input_type" else "output"] = v
    if type(node).__name__ == "Input":
        node.output_type["output"] = v
    else:
        node.input_type["input"] = v
    return f"node '{name}' shape -> {v.tolist()}"


def nir_edge_removed(rng, g) -> str:
    k = int(rng.integers(len(g.edges)))
    e = g.edges.pop(k)
    return f"edge {e} removed"


def nir_edge_added(rng, g) -> str:
    names = sorted(g.nodes)
    e = (pick(rng, names), pick(rng, names))
    g.edges.append(e)
    return f"edge {e} added"


def nir_node_removed(rng, g) -> str:
    name = pick(rng, sorted(g.nodes))
    del g.nodes[name]
    if rng.random() < 0.5:
        g.edges[:] = [e for e in g.edges if name not in e]
        return f"node '{name}' and its edges removed"
    return f"node '{name}' removed (its edges left dangling)"


def nir_node_replaced(rng, g) -> str:
    import nir

    name = pick(rng, [n for n, node in g.nodes.items() if type(node).__name__ not in ("Input", "Output")])
    w1 = np.full((4, 1, 3), 0.5)
    new = pick(rng, (
        lambda: nir.Conv1d(None, w1, stride=0, padding=0, dilation=1, groups=1, bias=np.zeros(4)),
        lambda: nir.Conv1d(None, w1, stride=1, padding=-2, dilation=0, groups=0, bias=np.zeros(4)),
        lambda: nir.Conv2d(None, np.full((2, 1, 3, 3), 0.5), stride=(0, 1), padding=(1, 1), dilation=(1, 1),
                           groups=3, bias=np.zeros(2)),
        lambda: nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([0, 0]), padding=np.array([0, 0])),
        lambda: nir.IF(r=np.ones(3), v_threshold=np.ones(3), v_reset=np.zeros(3)),
        lambda: nir.Scale(np.full(5, 2.0)),
        lambda: nir.Flatten(input_type={"input": np.array([8])}, start_dim=4, end_dim=-9),
    ))  # fmt: skip
    try:
        new = new()
    except Exception as e:  # the nir package refuses to build it: not a file anybody could hand us
        raise NotApplicable(f"nir: {e}") from e
    g.nodes[name] = new
    shown = ("stride", "padding", "dilation", "groups", "start_dim")
    return (
        f"node '{name}' replaced by a {type(new).__name__} {dict((k, v) for k, v in vars(new).items() if k in shown)}"
    )


NIR_MUTATIONS: dict[str, Callable] = {
    "file_flip": None, "truncate": None, "value": nir_value, "param_shape": nir_param_shape,
    "io_shape": nir_io_shape, "edge_removed": nir_edge_removed, "edge_added": nir_edge_added,
    "node_removed": nir_node_removed, "node_replaced": nir_node_replaced,
}  # fmt: skip


def mutate_nir(rng, seed: seedmod.Seed, kind: str) -> tuple[str, bytes]:
    if NIR_MUTATIONS[kind] is None:
        return mutate_bytes(rng, seed.data, "truncate" if kind == "truncate" else "flip")
    g = seedmod.nir_graph()  # a fresh copy of the seed graph
    recipe = NIR_MUTATIONS[kind](rng, g)
    try:
        data = seedmod.nir_bytes(g)
    except Exception as e:  # nir.write refused the edit: not a file anybody could hand us
        raise NotApplicable(f"nir.write: {e}") from e
    return recipe, data


MUTATIONS = {".tflite": TFLITE_MUTATIONS, ".onnx": ONNX_MUTATIONS, ".nir": NIR_MUTATIONS}
MUTATE = {".tflite": mutate_tflite, ".onnx": mutate_onnx, ".nir": mutate_nir}


def mutant(seed: int, k: int, formats: tuple[str, ...] = tuple(FORMAT_WEIGHTS)) -> Mutant:
    """Mutant ``k`` of ``seed``: always the same bytes for the same pair (and seed models)."""
    rng = np.random.default_rng([seed, k])
    all_seeds = seedmod.all_seeds()
    fmts = [f for f in formats if all_seeds[f]]
    p = np.array([FORMAT_WEIGHTS[f] for f in fmts])
    fmt = fmts[int(rng.choice(len(fmts), p=p / p.sum()))]
    for _ in range(50):
        s = pick(rng, all_seeds[fmt])
        kind = pick(rng, sorted(MUTATIONS[fmt]))
        try:
            recipe, data = MUTATE[fmt](rng, s, kind)
        except NotApplicable:
            continue
        return Mutant(seed, k, fmt, s.name, kind, recipe, data, s.precision)
    raise RuntimeError(f"no mutation applies (seed {seed}, mutant {k})")
