"""NIR graphs (``.nir``, the Neuromorphic Intermediate Representation, read with the ``nir`` package)
-> a temporal ``ir.Graph`` of fixed-point spiking kernels, and the float simulation that is the
spec of what such a graph computes.

**Nodes.** Input, Output, Affine, Linear, Scale, Conv1d (channels first ``[C, N]``, int / 'same' /
'valid' padding, stride, dilation, groups), Conv2d (``[C, H, W]``, weights ``[C_out, C_in / groups,
kH, kW]``; padding an int, ``(pad_h, pad_w)``, 'same' (stride 1 only, as PyTorch) or 'valid'; stride,
dilation as an int or a pair; groups), SumPool2d and AvgPool2d (``[C, H, W]``; kernel_size, stride,
padding as an int or a pair), Flatten, Threshold, I, IF, LI, LIF, CubaLIF, CubaLI, Delay. Nested graphs
and other nodes stop the compile with an error that names the node ("not supported yet"). Shapes come from
the Input node and the parameters; an Input without a shape is an error. One Input node; one or
more Output nodes.

**Time.** One ``en_model_invoke()`` is one time step of length ``dt`` (``--dt SECONDS``, required).
The edges into a node are summed. Within a step the nodes run in the order of a depth-first walk
from the Input; an edge that closes a cycle (a recurrent edge: its target is an ancestor of its
source on that walk) delivers its source's value of the *previous* step (zero at the first step).
All state (membranes, synaptic currents, recurrent values) starts at zero and
``en_model_reset()`` zeroes it again.

**Discretisation: forward Euler with step dt**, the rule NIR's reference simulations and the
snnTorch / Norse exports assume (snnTorch ``Leaky``: ``tau = dt / (1 - beta)``, ``r = tau / dt``
gives ``v = beta v + I``), applied in this order within a step, ``I`` the node's summed input:

* LIF:  ``v += dt/tau * (v_leak - v + r * I)``; spike ``z = v > v_threshold``; where ``z``,
  ``v = v_reset`` (reset in the same step, to the value, not by subtraction). Output ``z`` (0 / 1).
* IF:   ``v += dt * r * I``; spike and reset as LIF.
* I (integrator): ``v += dt * r * I``; output ``v``. Its int32 membrane (one scale for the layer)
  holds ``2^12`` steps of the largest input of its neuron with the largest ``r``, each step resolved
  to 18 bits, and saturates beyond.
* LI:   ``v += dt/tau * (v_leak - v + r * I)``; output ``v``.
* CubaLIF: the synapse first, ``i += dt/tau_syn * (-i + w_in * I)``, then
  ``v += dt/tau_mem * (v_leak - v + r * i)`` with the *updated* ``i``; spike and reset as LIF.
* CubaLI: the same without spikes; output ``v``.
* Delay: ``y(t) = x(t - delay)``, zero before; each delay must be a whole number of steps
  (edgeneuro/ops/snn_delay.py keeps a ring of past inputs as state). The value is unchanged (same
  type and scale), so a delay rounds nothing.
* Threshold: ``z = I > threshold``. Affine ``W I + b``, Linear ``W I``, Scale ``s * I``, Conv1d and
  Conv2d as PyTorch's (cross-correlation, zero padding; 'same' pads ``dilation * (k - 1) // 2``
  before and the rest after), Flatten as NIR's (row-major, so ``[C, H, W]`` flattens channel by
  channel, row by row).
* SumPool2d: the sum over each ``kH x kW`` window (zero padding; windows start at ``stride * t -
  padding``). AvgPool2d: that sum divided by ``kH * kW``, padding included (PyTorch's
  ``count_include_pad=True``, the only AvgPool2d NIR represents). A window must fit the padded
  input, and the padding is at most half the window (PyTorch's rule).

``dt / tau`` must lie in (0, 1] (forward Euler overshoots beyond); a larger ``dt`` is an error.

``load`` gives the graph with the file's own float numbers, one ``NIR.<node>`` op per node
(``to_ir``; ``net_of`` reads it back). The fixed-point kernels come from the pass
edgeneuro/passes/nir_fixed_point.py, which documents the arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgeneuro.errors import InputError, ModelError
from edgeneuro.ir import Graph, Op, Tensor

SUPPORTED = ("Input", "Output", "Affine", "Linear", "Scale", "Conv1d", "Conv2d", "SumPool2d", "AvgPool2d", "Flatten",
             "Threshold", "I", "IF", "LI", "LIF", "CubaLIF", "CubaLI", "Delay")  # fmt: skip
SPIKING = ("Threshold", "IF", "LIF", "CubaLIF")
SYNAPSES = ("Affine", "Linear", "Conv1d", "Conv2d", "Scale")
WEIGHTED = ("Affine", "Linear", "Conv1d", "Conv2d")
POOLS = ("SumPool2d", "AvgPool2d")
PARAMS = {
    "LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
    "IF": ("r", "v_threshold", "v_reset"),
    "I": ("r",),
    "LI": ("tau", "r", "v_leak"),
    "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
    "CubaLI": ("tau_syn", "tau_mem", "r", "v_leak", "w_in"),
    "Threshold": ("threshold",),
    "Delay": ("delay",),
}


@dataclass
class Node:
    name: str
    kind: str
    params: dict[str, np.ndarray]  # float64; neuron parameters flattened to one value per neuron
    shape: tuple[int, ...]  # output shape (NIR's, without a batch axis)
    inputs: list[tuple[str, bool]] = field(default_factory=list)  # (source, from the previous step)
    in_shape: tuple[int, ...] = ()

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


@dataclass(frozen=True)
class Net:
    """A NIR graph as edgeneuro reads it: nodes in evaluation order, one input, its outputs."""

    source: str
    nodes: tuple[Node, ...]
    input: str
    outputs: tuple[str, ...]

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)


def _err(path, name: str, kind: str, why: str) -> ModelError:
    return ModelError(f"{path}: node '{name}' ({kind}): {why}")


def _array(v) -> np.ndarray:
    return np.asarray(v, dtype=np.float64)


def read(path: str | Path) -> Net:
    """Read and check a NIR file: supported nodes, bound shapes, evaluation order, recurrent edges."""
    import nir

    path = Path(path)
    try:
        g = nir.read(path, type_check=False)
    except Exception as e:
        bad = _unreadable_node(path)
        if bad is not None:  # name the node (e.g. a Conv2d with padding 'reflect', which NIR refuses)
            raise _err(path, *bad, f"the nir package (version {nir.version}) cannot read it: {e}") from e
        raise ModelError(f"{path}: not a NIR graph the nir package (version {nir.version}) can read: {e}") from e
    if not isinstance(g, nir.NIRGraph):
        raise ModelError(f"{path}: holds a single {type(g).__name__} node, not a NIR graph")
    nodes = dict(g.nodes)
    edges = [(str(a), str(b)) for a, b in g.edges]
    for name, node in nodes.items():
        kind = type(node).__name__
        if kind not in SUPPORTED:
            raise _err(path, name, kind, f"not supported yet; edgeneuro imports {', '.join(SUPPORTED)}")
    seen: set[tuple[str, str]] = set()
    for a, b in edges:
        if (a, b) in seen:
            raise ModelError(f"{path}: edge ({a!r}, {b!r}) appears twice")
        seen.add((a, b))
        for end in (a, b):
            if end not in nodes:
                raise ModelError(f"{path}: edge ({a!r}, {b!r}) names no node {end!r}")
        if type(nodes[a]).__name__ == "Output":
            raise _err(path, a, "Output", f"an Output node cannot feed '{b}'")
        if type(nodes[b]).__name__ == "Input":
            raise _err(path, b, "Input", f"an Input node cannot be fed (from '{a}')")
    inputs = [n for n, node in nodes.items() if type(node).__name__ == "Input"]
    outputs = [n for n, node in nodes.items() if type(node).__name__ == "Output"]
    if len(inputs) != 1:
        raise ModelError(f"{path}: {len(inputs)} Input nodes; edgeneuro takes graphs with exactly one")
    if not outputs:
        raise ModelError(f"{path}: no Output node")
    order, delayed = _order(inputs[0], edges)
    for name in nodes:
        if name not in order:
            raise _err(path, name, type(nodes[name]).__name__, f"not reachable from the Input node '{inputs[0]}'")
    into: dict[str, list[tuple[str, bool]]] = {n: [] for n in nodes}
    for a, b in edges:
        into[b].append((a, (a, b) in delayed))
    done: dict[str, Node] = {}
    for name in order:
        done[name] = _node(path, name, nodes[name], into[name], done)
    for node in done.values():  # the recurrent sources' shapes are known only now
        for src, _ in node.inputs:
            if done[src].size != int(np.prod(node.in_shape)):
                raise _err(path, node.name, node.kind, f"takes {int(np.prod(node.in_shape))} values but '{src}' "
                                                       f"gives {done[src].size}")  # fmt: skip
    return Net(source=str(path), nodes=tuple(done[n] for n in order), input=inputs[0], outputs=tuple(outputs))


def _unreadable_node(path: Path) -> tuple[str, str] | None:
    """The first top-level node the nir package cannot build from the file: (name, type)."""
    import h5py
    import nir
    from nir.serialization import hdf2dict

    try:
        with h5py.File(path, "r") as f:
            nodes = hdf2dict(f["node"]).get("nodes", {})
    except Exception:
        return None
    for name, d in nodes.items():
        try:
            nir.dict2NIRNode(dict(d))
        except Exception:
            return str(name), str(d.get("type", "?"))
    return None


def _order(start: str, edges: list[tuple[str, str]]) -> tuple[list[str], set[tuple[str, str]]]:
    """Reverse post-order of a depth-first walk from ``start`` (edges in file order) and the edges
    that close cycles (their target is on the walk's stack)."""
    succ: dict[str, list[str]] = {}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
    post: list[str] = []
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {start: 1}  # 1: on the stack, 2: finished
    stack = [(start, iter(succ.get(start, ())))]
    while stack:
        name, it = stack[-1]
        nxt = next(it, None)
        if nxt is None:
            stack.pop()
            state[name] = 2
            post.append(name)
        elif state.get(nxt) == 1:
            back.add((name, nxt))
        elif nxt not in state:
            state[nxt] = 1
            stack.append((nxt, iter(succ.get(nxt, ()))))
    return post[::-1], back


def _node(path, name: str, node, into: list[tuple[str, bool]], done: dict[str, Node]) -> Node:
    kind = type(node).__name__
    if kind == "Input":
        shape = node.input_type.get("input") if isinstance(node.input_type, dict) else None
        if shape is None or np.asarray(shape).size == 0 or np.any(np.asarray(shape) <= 0):
            raise _err(path, name, kind, f"the input shape is not bound ({shape}); give the Input node a shape")
        shape = tuple(int(d) for d in np.asarray(shape).reshape(-1))
        return Node(name, kind, {}, shape)
    forward = [done[s] for s, d in into if not d]
    if not forward:
        raise _err(path, name, kind, "has no input from an earlier node")
    x = forward[0].shape
    size = int(np.prod(x))
    params: dict[str, np.ndarray] = {}
    if kind == "Output":
        declared = node.output_type.get("output") if isinstance(node.output_type, dict) else None
        if declared is not None and np.asarray(declared).size and int(np.prod(declared)) != size:
            raise _err(path, name, kind, f"declares shape {list(np.asarray(declared))} but receives {list(x)}")
        shape = x
    elif kind in ("Affine", "Linear"):
        w = _array(node.weight)
        if w.ndim != 2:
            raise _err(path, name, kind, f"weights of rank {w.ndim} are not supported yet (2-D only)")
        if w.shape[1] != size:
            raise _err(path, name, kind, f"weights {list(w.shape)} take {w.shape[1]} inputs but receive {list(x)}")
        b = _array(node.bias).reshape(-1) if kind == "Affine" else np.zeros(w.shape[0])
        if b.size != w.shape[0]:
            raise _err(path, name, kind, f"bias of {b.size} for {w.shape[0]} outputs")
        params = {"weight": w, "bias": b}
        shape = (w.shape[0],)
    elif kind == "Scale":
        s = _array(node.scale)
        if s.size not in (1, size):
            raise _err(path, name, kind, f"{s.size} scales for an input of {size}")
        params = {"scale": np.broadcast_to(s.reshape(-1), (size,)).copy()}
        shape = x
    elif kind == "Conv1d":
        params, shape = _conv1d(path, name, node, x)
    elif kind == "Conv2d":
        params, shape = _conv2d(path, name, node, x)
    elif kind in POOLS:
        params, shape = _pool2d(path, name, node, x)
    elif kind == "Flatten":
        from nir.ir.utils import calc_flatten_output

        try:
            shape = tuple(int(d) for d in calc_flatten_output(list(x), int(node.start_dim), int(node.end_dim)))
        except Exception as e:
            raise _err(path, name, kind, f"cannot flatten {list(x)} from {node.start_dim} to {node.end_dim}") from e
        if int(np.prod(shape)) != size:
            raise _err(path, name, kind, f"flattens {list(x)} to {list(shape)}")
    else:  # neurons and Threshold: one value per neuron, scalars broadcast
        for p in PARAMS[kind]:
            v = _array(getattr(node, p)).reshape(-1)
            if v.size not in (1, size):
                raise _err(path, name, kind, f"{p} has {v.size} values for {size} neurons (input {list(x)})")
            params[p] = np.broadcast_to(v, (size,)).copy()
        shape = x
    for p, v in params.items():
        bad = np.flatnonzero(~np.isfinite(np.asarray(v, np.float64)))
        if bad.size:
            raise _err(path, name, kind, f"{p}[{bad[0]}] is {np.asarray(v).reshape(-1)[bad[0]]}: parameters must be "
                                         "finite")  # fmt: skip
    return Node(name, kind, params, tuple(int(d) for d in shape), list(into), tuple(x))


def _conv1d(path, name: str, node, x: tuple[int, ...]) -> tuple[dict[str, np.ndarray], tuple[int, int]]:
    kind = "Conv1d"
    w = _array(node.weight)
    if w.ndim != 3:
        raise _err(path, name, kind, f"weights of rank {w.ndim}, expected [C_out, C_in / groups, K]")
    groups = int(np.asarray(node.groups).reshape(-1)[0])
    stride = int(np.asarray(node.stride).reshape(-1)[0])
    dilation = int(np.asarray(node.dilation).reshape(-1)[0])
    c_out, c_in_g, k = w.shape
    if len(x) != 2 or x[0] != c_in_g * groups or c_out % groups:
        raise _err(path, name, kind, f"input {list(x)} does not fit weights {list(w.shape)} in {groups} groups "
                                     "(the input must be [C_in, N])")  # fmt: skip
    n_in = x[1]
    padding = node.padding
    if isinstance(padding, bytes):
        padding = padding.decode()
    if isinstance(padding, np.ndarray) and padding.dtype.kind in "SUO":
        padding = str(padding.reshape(-1)[0].decode() if isinstance(padding.reshape(-1)[0], bytes) else padding)
    if isinstance(padding, str):
        if padding == "valid":
            pad, n_out = 0, (n_in - dilation * (k - 1) - 1) // stride + 1
        elif padding == "same":
            pad, n_out = dilation * (k - 1) // 2, n_in
            if stride != 1:
                raise _err(path, name, kind, "padding 'same' with a stride other than 1")
        else:
            raise _err(path, name, kind, f"padding {padding!r}")
    else:
        pad = int(np.asarray(padding).reshape(-1)[0])
        n_out = (n_in + 2 * pad - dilation * (k - 1) - 1) // stride + 1
    if n_out <= 0:
        raise _err(path, name, kind, f"an input of length {n_in} leaves no output")
    bias = _array(node.bias).reshape(-1) if node.bias is not None else np.zeros(c_out)
    if bias.size == 1 and c_out > 1:
        bias = np.full(c_out, bias[0])
    params = {"weight": w, "bias": bias, "stride": np.array(stride), "pad": np.array(pad),
              "dilation": np.array(dilation), "groups": np.array(groups)}  # fmt: skip
    return params, (c_out, n_out)


def _text(v):
    """A padding that is a string in the file ('same', 'valid'), as str; anything else unchanged."""
    if isinstance(v, bytes):
        return v.decode(errors="replace")
    if isinstance(v, np.ndarray) and v.dtype.kind in "SUO" and v.size == 1:
        return _text(v.reshape(-1)[0])
    return v


def _pair(path, name: str, kind: str, what: str, value, least: int) -> tuple[int, int]:
    """An int or a (height, width) pair of ints, each at least ``least``."""
    v = np.asarray(value).reshape(-1) if value is not None else np.zeros(0)
    if v.size not in (1, 2) or v.dtype.kind not in "iuf" or np.any(v != np.round(v)):
        shown = v.tolist() if v.size != 1 else v.reshape(-1)[0].item()
        raise _err(path, name, kind, f"{what} {shown}: expected an int or a (height, width) pair of ints")
    h, w = (int(v[0]), int(v[-1]))
    if min(h, w) < least:
        raise _err(path, name, kind, f"{what} ({h}, {w}): each must be at least {least}")
    return h, w


def _spatial(path, name: str, kind: str, x: tuple[int, ...], channels: int | None) -> tuple[int, int, int]:
    """The input [C, H, W] of a 2-D node; ``channels``, when given, what the weights take."""
    if len(x) != 3 or (channels is not None and x[0] != channels):
        want = f"[{channels}, H, W]" if channels is not None else "[C, H, W]"
        raise _err(path, name, kind, f"input {list(x)} does not fit: a {kind} takes {want} (channels first, "
                                     "no batch axis)")  # fmt: skip
    return x[0], x[1], x[2]


def _conv2d(path, name: str, node, x: tuple[int, ...]) -> tuple[dict[str, np.ndarray], tuple[int, int, int]]:
    kind = "Conv2d"
    w = _array(node.weight)
    if w.ndim != 4:
        raise _err(path, name, kind, f"weights of rank {w.ndim}, expected [C_out, C_in / groups, kH, kW]")
    groups = int(np.asarray(node.groups).reshape(-1)[0])
    c_out, c_in_g, kh, kw = w.shape
    if groups < 1 or c_out % groups:
        raise _err(path, name, kind, f"{c_out} output channels do not split into {groups} groups")
    _, h_in, w_in = _spatial(path, name, kind, x, c_in_g * groups)
    declared = getattr(node, "input_shape", None)
    declared = None if declared is None else [int(d) for d in np.asarray(declared).reshape(-1)]
    if declared is not None and declared != [h_in, w_in]:
        raise _err(path, name, kind, f"declares an input of {declared} (H, W) but receives {list(x)}")
    sh, sw = _pair(path, name, kind, "stride", node.stride, 1)
    dh, dw = _pair(path, name, kind, "dilation", node.dilation, 1)
    padding = _text(node.padding)
    if isinstance(padding, str):
        if padding == "valid":
            ph, pw = 0, 0
        elif padding == "same":
            if (sh, sw) != (1, 1):
                raise _err(path, name, kind, f"padding 'same' with stride ({sh}, {sw}): PyTorch and edgeneuro take "
                                             "'same' with stride 1 only; give the padding as numbers")  # fmt: skip
            ph, pw = dh * (kh - 1) // 2, dw * (kw - 1) // 2
        else:
            raise _err(path, name, kind, f"padding mode {padding!r} is not supported; NIR's Conv2d pads with zeros: "
                                         "an int, (pad_h, pad_w), 'same' or 'valid'")  # fmt: skip
    else:
        ph, pw = _pair(path, name, kind, "padding", padding, 0)
    if isinstance(padding, str) and padding == "same":  # the rest of an odd total goes after, as PyTorch
        h_out, w_out = h_in, w_in
    else:
        h_out = (h_in + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        w_out = (w_in + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if h_out <= 0 or w_out <= 0:
        raise _err(path, name, kind, f"the {kh}x{kw} kernel (dilation ({dh}, {dw})) is larger than the input "
                                     f"{list(x)} with padding ({ph}, {pw}): no output")  # fmt: skip
    bias = _array(node.bias).reshape(-1) if node.bias is not None else np.zeros(c_out)
    if bias.size == 1 and c_out > 1:
        bias = np.full(c_out, bias[0])
    if bias.size != c_out:
        raise _err(path, name, kind, f"bias of {bias.size} for {c_out} output channels")
    params = {"weight": w, "bias": bias, "stride": np.array([sh, sw]), "pad": np.array([ph, pw]),
              "dilation": np.array([dh, dw]), "groups": np.array(groups)}  # fmt: skip
    return params, (c_out, h_out, w_out)


def _pool2d(path, name: str, node, x: tuple[int, ...]) -> tuple[dict[str, np.ndarray], tuple[int, int, int]]:
    kind = type(node).__name__
    c, h_in, w_in = _spatial(path, name, kind, x, None)
    kh, kw = _pair(path, name, kind, "kernel_size", node.kernel_size, 1)
    stride = node.stride if node.stride is not None else (kh, kw)  # PyTorch's default: the window
    sh, sw = _pair(path, name, kind, "stride", stride, 1)
    padding = _text(node.padding) if node.padding is not None else 0
    if isinstance(padding, str):
        raise _err(path, name, kind, f"padding {padding!r}: a {kind} pads by numbers (an int or (pad_h, pad_w))")
    ph, pw = _pair(path, name, kind, "padding", padding, 0)
    if ph > kh // 2 or pw > kw // 2:
        raise _err(path, name, kind, f"padding ({ph}, {pw}) is more than half the {kh}x{kw} window (PyTorch refuses "
                                     "it: windows would lie in the padding only)")  # fmt: skip
    if kh > h_in + 2 * ph or kw > w_in + 2 * pw:
        raise _err(path, name, kind, f"the {kh}x{kw} window is larger than the input {list(x)} with padding "
                                     f"({ph}, {pw})")  # fmt: skip
    h_out, w_out = (h_in + 2 * ph - kh) // sh + 1, (w_in + 2 * pw - kw) // sw + 1
    params = {"kernel": np.array([kh, kw]), "stride": np.array([sh, sw]), "pad": np.array([ph, pw])}
    return params, (c, h_out, w_out)


# ---------------------------------------------------------------------------------------------
# The float simulation: the spec of the NIR semantics above.


def _conv1d_float(node: Node, x: np.ndarray) -> np.ndarray:
    p = node.params
    w = p["weight"]
    c_out, c_in_g, k = w.shape
    c_in, n_in = node.in_shape
    groups, stride, dil, pad = (int(p[n]) for n in ("groups", "stride", "dilation", "pad"))
    n_out = node.shape[1]
    xs = x.reshape(c_in, n_in)
    y = np.repeat(p["bias"][:, None], n_out, axis=1).astype(np.float64)
    t = np.arange(n_out)
    c_out_g = c_out // groups
    for j in range(k):
        pos = t * stride + j * dil - pad
        live = (pos >= 0) & (pos < n_in)
        tap = np.where(live[None, :], xs[:, np.clip(pos, 0, n_in - 1)], 0.0)
        for grp in range(groups):
            o, i = slice(grp * c_out_g, (grp + 1) * c_out_g), slice(grp * c_in_g, (grp + 1) * c_in_g)
            y[o] += w[o, :, j] @ tap[i]
    return y.reshape(-1)


def _windows(in_hw, out_hw, k, stride, dil, pad):
    """The taps of a 2-D sliding window: yields ``(i, j, rows, cols, live)``: the input rows and
    columns (clipped into the input) tap (i, j) meets at every output position, and where it lies
    inside the input (zero padding elsewhere)."""
    (h_in, w_in), (h_out, w_out) = in_hw, out_hw
    for i in range(k[0]):
        ry = np.arange(h_out) * stride[0] + i * dil[0] - pad[0]
        for j in range(k[1]):
            rx = np.arange(w_out) * stride[1] + j * dil[1] - pad[1]
            live = ((ry >= 0) & (ry < h_in))[:, None] & ((rx >= 0) & (rx < w_in))[None, :]
            yield i, j, np.clip(ry, 0, h_in - 1), np.clip(rx, 0, w_in - 1), live


def _conv2d_float(node: Node, x: np.ndarray) -> np.ndarray:
    p = node.params
    w = p["weight"]
    c_out, c_in_g, kh, kw = w.shape
    c_in, h_in, w_in = node.in_shape
    groups = int(p["groups"])
    _, h_out, w_out = node.shape
    xs = x.reshape(c_in, h_in, w_in)
    y = np.repeat(p["bias"][:, None], h_out * w_out, axis=1).astype(np.float64)
    c_out_g = c_out // groups
    for i, j, ry, rx, live in _windows((h_in, w_in), (h_out, w_out), (kh, kw), p["stride"], p["dilation"], p["pad"]):
        tap = np.where(live[None], xs[:, ry[:, None], rx[None, :]], 0.0).reshape(c_in, -1)
        for grp in range(groups):
            o, c = slice(grp * c_out_g, (grp + 1) * c_out_g), slice(grp * c_in_g, (grp + 1) * c_in_g)
            y[o] += w[o, :, i, j] @ tap[c]
    return y.reshape(-1)


def _pool2d_float(node: Node, x: np.ndarray) -> np.ndarray:
    p = node.params
    c, h_in, w_in = node.in_shape
    xs = x.reshape(c, h_in, w_in)
    y = np.zeros(node.shape)
    for _, _, ry, rx, live in _windows((h_in, w_in), node.shape[1:], p["kernel"], p["stride"], (1, 1), p["pad"]):
        y += np.where(live[None], xs[:, ry[:, None], rx[None, :]], 0.0)
    if node.kind == "AvgPool2d":
        y /= int(np.prod(p["kernel"]))
    return y.reshape(-1)


def simulate(net: Net, x: np.ndarray, dt: float, peaks: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """Run ``net`` over one sample ``x`` [T, *input shape] in float64 from the zero state. Returns
    each Output's values [T, *shape]. ``peaks``, when given, receives the largest |value| of every
    node's output and of every neuron's membrane (``name:v``) and synaptic current (``name:i``)."""
    x = np.asarray(x, np.float64)
    inp = net.node(net.input)
    if x.ndim != len(inp.shape) + 1 or tuple(x.shape[1:]) != inp.shape:
        raise InputError(f"a sample must be [T, {', '.join(map(str, inp.shape))}], not {list(x.shape)}")
    state: dict[str, np.ndarray] = {}
    prev = {n.name: np.zeros(n.size) for n in net.nodes}
    outs: dict[str, list[np.ndarray]] = {o: [] for o in net.outputs}

    def peak(key: str, v: np.ndarray) -> None:
        if peaks is not None and v.size:
            peaks[key] = max(peaks.get(key, 0.0), float(np.abs(v).max()))

    for t in range(x.shape[0]):
        cur: dict[str, np.ndarray] = {}
        for n in net.nodes:
            if n.kind == "Input":
                y = x[t].reshape(-1)
            else:
                u = sum((prev if d else cur)[s] for s, d in n.inputs)
                y = _step_float(n, u, state, dt, peak)
            cur[n.name] = y
            peak(n.name, y)
        prev = cur
        for o in net.outputs:
            outs[o].append(cur[o].reshape(net.node(o).shape))
    return {o: np.stack(v) if v else np.zeros((0, *net.node(o).shape)) for o, v in outs.items()}


def _step_float(n: Node, u: np.ndarray, state: dict[str, np.ndarray], dt: float, peak) -> np.ndarray:
    p = n.params
    if n.kind in ("Output", "Flatten"):
        return u
    if n.kind in ("Affine", "Linear"):
        return p["weight"] @ u + p["bias"]
    if n.kind == "Scale":
        return p["scale"] * u
    if n.kind == "Delay":  # y(t) = x(t - delay), zero before; delays in whole steps
        past = state.setdefault(n.name, np.zeros((0, n.size)))
        k = np.round(p["delay"] / dt).astype(np.int64)
        past = state[n.name] = np.vstack([past, u.reshape(1, -1)])  # the inputs so far, this step's last
        t = past.shape[0] - 1 - k
        return np.where(t >= 0, past[np.maximum(t, 0), np.arange(n.size)], 0.0)
    if n.kind == "Conv1d":
        return _conv1d_float(n, u)
    if n.kind == "Conv2d":
        return _conv2d_float(n, u)
    if n.kind in POOLS:
        return _pool2d_float(n, u)
    if n.kind == "Threshold":
        return (u > p["threshold"]).astype(np.float64)
    v = state.get(n.name, np.zeros(n.size))
    if n.kind in ("CubaLIF", "CubaLI"):
        i = state.get(n.name + ":i", np.zeros(n.size))
        i = i + dt / p["tau_syn"] * (-i + p["w_in"] * u)
        state[n.name + ":i"] = i
        peak(n.name + ":i", i)
        v = v + dt / p["tau_mem"] * (p["v_leak"] - v + p["r"] * i)
    elif n.kind in ("IF", "I"):
        v = v + dt * p["r"] * u
    else:  # LIF, LI
        v = v + dt / p["tau"] * (p["v_leak"] - v + p["r"] * u)
    peak(n.name + ":v", v)
    if n.kind in ("I", "LI", "CubaLI"):
        state[n.name] = v
        return v
    z = v > p["v_threshold"]
    state[n.name] = np.where(z, p["v_reset"], v)
    return z.astype(np.float64)


# ---------------------------------------------------------------------------------------------
# The IR: one op per node, with the file's own numbers.

OP_PREFIX = "NIR."  # the float ops of this front end: NIR.LIF, NIR.Affine, ... (no kernels: a pass quantizes them)


def to_ir(net: Net) -> Graph:
    """``net`` as a temporal ``ir.Graph``: each node's output a float32 tensor named after the node
    (shape ``[1, *shape]``), each node but the Input an op ``NIR.<kind>`` whose attributes hold its
    float64 parameters, its input shape and which of its edges are recurrent. The sources of
    recurrent edges are the graph's state (read one step late)."""
    tensors = {n.name: Tensor(n.name, (1, *n.shape), "float32") for n in net.nodes}
    ops = tuple(
        Op(
            OP_PREFIX + n.kind,
            tuple(s for s, _ in n.inputs),
            (n.name,),
            {"params": n.params, "delayed": tuple(d for _, d in n.inputs), "in_shape": n.in_shape},
            i,
        )  # fmt: skip
        for i, n in enumerate(net.nodes)
        if n.kind != "Input"
    )
    state = tuple(dict.fromkeys(s for n in net.nodes for s, d in n.inputs if d))
    return Graph(name=Path(net.source).stem, source=net.source, tensors=tensors, ops=ops, inputs=(net.input,),
                 outputs=net.outputs, temporal=True, state=state)  # fmt: skip


def is_float_nir(graph: Graph) -> bool:
    return any(op.kind.startswith(OP_PREFIX) for op in graph.ops)


def net_of(graph: Graph) -> Net:
    """The ``Net`` a graph of ``to_ir`` was made from."""
    (inp,) = graph.inputs
    nodes = [Node(inp, "Input", {}, graph.t(inp).shape[1:])]
    for op in graph.ops:
        assert op.kind.startswith(OP_PREFIX), op.kind
        (out,) = op.outputs
        edges = list(zip(op.inputs, op.attrs["delayed"], strict=True))
        kind, params = op.kind.removeprefix(OP_PREFIX), dict(op.attrs["params"])
        nodes.append(Node(out, kind, params, graph.t(out).shape[1:], edges, tuple(op.attrs["in_shape"])))
    return Net(source=graph.source, nodes=tuple(nodes), input=inp, outputs=graph.outputs)


def load(path: str | Path) -> Graph:
    """Read a NIR file into the IR (``read``, ``to_ir``). A file that breaks the reader in a way no
    check foresaw is refused on one line naming it, never with a traceback."""
    try:
        return to_ir(read(path))
    except ModelError:
        raise
    except Exception as e:
        raise ModelError(f"{path}: cannot read this NIR graph ({type(e).__name__}: {e})") from e
