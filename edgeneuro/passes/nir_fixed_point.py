"""NIR fixed point: the float NIR graph of the front end (``NIR.<node>`` ops, edgeneuro/frontends/nir.py)
-> a temporal graph of fixed-point spiking kernels for time step ``dt`` (``--dt``).

**Fixed point** (the op modules edgeneuro/ops/synapse.py and edgeneuro/ops/lif.py are the spec):

* the float32 input is quantized to int8, symmetric, scale ``max|x| / 127`` over the calibration
  samples (``--calibrate X.npy``) or, without them, ``1 / 127`` (inputs in [-1, 1]: spikes are exact);
* spikes are int8 0 / 1; weights int8 with one scale per output channel (``max|w| / 127``), biases
  int32 at ``s_in * s_w``, int32 accumulators. ``--synapse-weights``: ``int8``, ``int16``
  (``max|w| / 32767``), or ``auto`` (the default): int16 on the synapses of a recurrent population
  (``recurrent_synapses``: those whose output enters a node on a cycle), int8 elsewhere. A recurrent
  population amplifies each spike that int8 weight rounding flips (tests/test_nir.py measures the
  agreement with the float simulation each way); int16 costs a byte per weight and no instruction,
  and ``auto`` keeps int8 where the accumulator bound ``128 * sum |w| + |b|`` would not fit int32;
* currents (the outputs of Affine, Linear, Conv1d, Conv2d, Scale and their sums) are int32 with a
  power-of-two scale such that their bound (``sum |w| * max|x| + |b|``, exact for the quantized
  weights) is at most 2^30;
* pools (edgeneuro/ops/snn_pool.py) of int8 values (spikes, the quantized input) are exact: the
  window's integer sum, at the input's scale (SumPool2d) or the input's scale / (kH * kW) (AvgPool2d:
  the division is folded into the scale, so it rounds nowhere); int8 when the sum provably fits
  (``kH * kW * max code <= 127``: spike trains with windows of up to 127), int32 otherwise. Pools of
  int32 currents or membranes sum in int64 and multiply once by ``s_x * f / s_y`` (``f`` 1 or
  ``1 / (kH * kW)``) into an int32 power-of-two scale chosen from the bound (``kH * kW * max|x|`` for
  SumPool2d, ``max|x|`` for AvgPool2d; at most 2^30; never finer than ``f * s_x`` when that is a
  power of two), rounding half up: exact where ``f * s_x / s_y`` is a power of two and the sum
  needs no more headroom;
* membranes and synaptic currents are int32 state with power-of-two scales: the membrane's so that
  ``max(|v_threshold|, |v_reset|, |v_leak|)`` is at most 2^24 (at least 7 bits of headroom) and the
  leaky neuron's bound (``|v_leak| + |r| * max|I|``, which forward Euler with ``dt <= tau`` never
  leaves) is at most 2^30; an IF membrane saturates at int32;
* the decays ``dt / tau`` are Q1.30 multiplies, input multipliers have 31 significant bits, every
  product rounds once, half up (toward +infinity), and stored values saturate at int32.

Compile-time errors name the file and the node: unsupported nodes, unbound shapes, shapes that do
not fit the weights or windows, unsupported padding, ``dt > tau``,
biases that overflow the int32 accumulator, and weights that can drive a membrane so far beyond its
threshold (more than 2^22 times) that int32 state cannot hold both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeneuro.errors import InputError, ModelError
from edgeneuro.frontends.nir import PARAMS, POOLS, SPIKING, WEIGHTED, Net, Node, is_float_nir, net_of
from edgeneuro.ir import Graph, Op, QuantParams, Tensor
from edgeneuro.options import CompileOptions

CURRENT_BITS = 30  # currents and leaky membranes: their bound at most 2^30
ANCHOR_BITS = 24  # the largest of threshold, reset and leak at most 2^24
MIN_THRESHOLD_BITS = 8  # fewer bits for a threshold is an error
INTEGRATOR_STEPS = 2**12  # an I membrane holds this many steps of its largest input before it saturates
WEIGHT_MAX = {"int8": 127, "int16": 32767}
SYNAPSE_WEIGHTS = ("auto", "int8", "int16")  # --synapse-weights
ACC_MAX = 2**31 - 1

# ---------------------------------------------------------------------------------------------
# Quantization into the IR.


@dataclass(frozen=True)
class _Value:
    """How a node's output is held: its type, scale and a bound on its |real value|."""

    dtype: str  # int8 (spikes, quantized input) or int32 (currents, membranes)
    scale: float
    bound: float


def _pow2(bound: float, bits: int) -> int:
    """The exponent e of the smallest power-of-two scale 2^e with bound / 2^e <= 2^bits."""
    return math.ceil(math.log2(bound)) - bits if bound > 0 else -bits


def _quantize_weights(w: np.ndarray, dtype: str = "int8") -> tuple[np.ndarray, np.ndarray]:
    """int8 or int16 weights, symmetric, one scale per output channel (axis 0): max|w| / 127 or
    max|w| / 32767."""
    top = WEIGHT_MAX[dtype]
    flat = w.reshape(w.shape[0], -1)
    scales = np.abs(flat).max(axis=1) / top
    scales = np.where(scales > 0, scales, 1.0)
    q = np.clip(np.floor(np.abs(flat) / scales[:, None] + 0.5) * np.sign(flat), -top, top)
    return q.reshape(w.shape).astype(dtype), scales


def recurrent_synapses(net: Net) -> set[str]:
    """The weighted nodes (Affine, Linear, Conv1d, Conv2d) whose output enters a node on a cycle,
    directly or through Flatten: the synapses of a recurrent population, its recurrent ones and
    those that feed it."""
    succ: dict[str, list[str]] = {}
    for n in net.nodes:
        for s, _ in n.inputs:
            succ.setdefault(s, []).append(n.name)

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), list(succ.get(start, ()))
        while todo:
            name = todo.pop()
            if name == goal:
                return True
            if name not in seen:
                seen.add(name)
                todo += succ.get(name, ())
        return False

    cyclic = {n.name for n in net.nodes if reaches(n.name, n.name)}

    def enters_cycle(name: str) -> bool:
        return any(c in cyclic or (net.node(c).kind == "Flatten" and enters_cycle(c)) for c in succ.get(name, ()))

    return {n.name for n in net.nodes if n.kind in WEIGHTED and (n.name in cyclic or enters_cycle(n.name))}


@dataclass(frozen=True)
class _NeuronScales:
    e_v: int  # membrane scale 2^e_v
    e_i: int | None  # synaptic current scale (Cuba kinds)
    reach: float  # bound on |v| (leaky kinds) or on one step past the threshold (IF)
    anchor: float  # max(|v_threshold|, |v_reset|, |v_leak|)


class _Builder:
    def __init__(self, net: Net, dt: float, in_scale: float, synapse_weights: str = "auto") -> None:
        self.net, self.dt, self.in_scale = net, dt, in_scale
        self.synapse_weights = synapse_weights
        self.recurrent = recurrent_synapses(net)
        self.tensors: dict[str, Tensor] = {}
        self.ops: list[Op] = []
        self.held: dict[str, str] = {}  # node -> the IR tensor holding its output
        self.delayed = {s for n in net.nodes for s, d in n.inputs if d}
        self.state: list[str] = []
        self._info: dict[str, _Value] = {}
        self._visiting: set[str] = set()
        self._weights: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def err(self, n: Node, why: str) -> ModelError:
        return ModelError(f"{self.net.source}: node '{n.name}' ({n.kind}): {why}")

    # -- what each node's output is (computed on demand: a recurrent edge needs it early) --------

    def info(self, name: str) -> _Value:
        if name in self._info:
            return self._info[name]
        n = self.net.node(name)
        if name in self._visiting:
            raise self.err(n, "a recurrent loop through non-spiking nodes only (LI, CubaLI, synapses) is not "
                              "supported yet: its range depends on itself; close the loop through a spiking "
                              "neuron")  # fmt: skip
        self._visiting.add(name)
        if n.kind == "Input":
            v = _Value("int8", self.in_scale, 128 * self.in_scale)
        elif n.kind in SPIKING:
            v = _Value("int8", 1.0, 1.0)
        elif n.kind in ("Flatten", "Output", "Delay"):  # the value itself
            v = self.info(n.inputs[0][0])
        elif n.kind in WEIGHTED:
            x = self.info(n.inputs[0][0])
            wq, sw, bq = self.weights(n, x)
            flat = np.abs(wq.reshape(wq.shape[0], -1)).astype(np.float64)
            bound = float((flat.sum(axis=1) * sw * x.bound + np.abs(bq) * x.scale * sw).max(initial=0.0))
            v = _Value("int32", 2.0 ** _pow2(bound, CURRENT_BITS), bound)
        elif n.kind == "Scale":
            bound = float(np.abs(n.params["scale"]).max(initial=0.0) * self.info(n.inputs[0][0]).bound)
            v = _Value("int32", 2.0 ** _pow2(bound, CURRENT_BITS), bound)
        elif n.kind in POOLS:
            v = self.pool_value(n, self.info(n.inputs[0][0]))
        else:  # LI, CubaLI: the membrane
            sc = self.neuron_scales(n)
            v = _Value("int32", 2.0**sc.e_v, max(sc.reach, sc.anchor))
        self._visiting.discard(name)
        self._info[name] = v
        return v

    def pool_value(self, n: Node, x: _Value) -> _Value:
        """A pool's output: the exact window sum of int8 codes (int8 where it fits) at the input's
        scale (SumPool2d) or the input's / window (AvgPool2d); of int32 values, an int32 power-of-
        two scale from the bound, no finer than the result's own when that is a power of two."""
        window = int(np.prod(n.params["kernel"]))
        f = 1.0 if n.kind == "SumPool2d" else 1.0 / window
        bound = window * x.bound * f
        if x.dtype == "int8":
            codes = window * min(128, round(x.bound / x.scale))
            return _Value("int8" if codes <= 127 else "int32", x.scale * f, bound)
        e, exact = _pow2(bound, CURRENT_BITS), math.log2(x.scale * f)
        if exact == round(exact):  # the sums are whole multiples of 2^exact: no finer scale helps
            e = max(e, round(exact))
        return _Value("int32", 2.0**e, bound)

    def in_bound(self, n: Node) -> float:
        """A bound on the summed input of ``n``."""
        return sum(self.info(s).bound for s, _ in n.inputs)

    def weights(self, n: Node, x: _Value) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The weights (int8, or int16 by ``--synapse-weights``), their per-channel scales and the
        int32 bias (scale s_x * s_w). ``auto`` gives the synapses of recurrent populations int16
        weights when their accumulator bound allows it, and the others int8."""
        if n.name not in self._weights:
            mode = self.synapse_weights
            wide = mode == "int16" or (mode == "auto" and n.name in self.recurrent)
            got = self._quantized(n, x, "int16") if wide else None
            if isinstance(got, str) and mode == "int16":
                raise self.err(n, f"{got}; --synapse-weights auto or int8 keeps int8 weights here")
            if not isinstance(got, tuple):  # int8: asked for, or int16 does not fit this layer (auto)
                got = self._quantized(n, x, "int8")
                if isinstance(got, str):
                    raise self.err(n, got)
            self._weights[n.name] = got
        return self._weights[n.name]

    def _quantized(self, n: Node, x: _Value, dtype: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | str:
        """The weights at ``dtype``, or why the int32 bias or accumulator cannot hold them."""
        w, b = n.params["weight"], n.params["bias"]
        wq, sw = _quantize_weights(w, dtype)
        bq = np.floor(np.abs(b) / (x.scale * sw) + 0.5) * np.sign(b)
        if np.any(np.abs(bq) > ACC_MAX):
            c = int(np.argmax(np.abs(bq)))
            return (f"bias {b[c]:g} of output {c} overflows the int32 accumulator ({dtype} weight scale {sw[c]:g}, "
                    f"input scale {x.scale:g})")  # fmt: skip
        if dtype != "int8":  # int8 weights: synapse.py checks the same bound when it lowers the op
            worst = 128 * np.abs(wq.reshape(wq.shape[0], -1)).astype(np.int64).sum(axis=1) + np.abs(bq)
            if np.any(worst > ACC_MAX):
                return f"{dtype} weights could overflow the int32 accumulator ({wq[0].size} inputs per output)"
        return wq, sw, bq

    def neuron_scales(self, n: Node) -> _NeuronScales:
        p = n.params
        for tau in ("tau", "tau_mem", "tau_syn"):
            if tau in p and np.any(p[tau] <= 0):
                raise self.err(n, f"{tau} must be positive (smallest {p[tau].min():g} s)")
            if tau in p and np.any(self.dt > p[tau]):
                raise self.err(n, f"--dt {self.dt:g} s is longer than {tau} = {p[tau].min():g} s: the forward-Euler "
                                  "update would overshoot; use a smaller --dt")  # fmt: skip
        b_u = self.in_bound(n)
        anchor = max((float(np.abs(p[k]).max()) for k in ("v_threshold", "v_reset", "v_leak") if k in p), default=0.0)
        e_i = None
        if n.kind in ("CubaLIF", "CubaLI"):
            b_i = float((np.abs(p["w_in"]) * b_u).max())
            e_i = _pow2(b_i, CURRENT_BITS)
            reach = float((np.abs(p["v_leak"]) + np.abs(p["r"]) * b_i).max())
        elif n.kind == "IF":
            reach = anchor + float((self.dt * np.abs(p["r"]) * b_u).max())  # one step past the threshold
        elif n.kind == "I":  # unbounded: room for INTEGRATOR_STEPS steps of the largest input
            reach = INTEGRATOR_STEPS * float((self.dt * np.abs(p["r"]) * b_u).max())
        else:
            reach = float((np.abs(p["v_leak"]) + np.abs(p["r"]) * b_u).max())
        e_v = _pow2(max(reach, anchor), CURRENT_BITS)
        if anchor > 0:
            e_v = max(e_v, _pow2(anchor, ANCHOR_BITS))
        return _NeuronScales(e_v, e_i, reach, anchor)

    # -- the IR ---------------------------------------------------------------------------------

    def tensor(self, name: str, shape, dtype: str, scale: float | None = None, data=None, per_channel=None) -> str:
        assert name not in self.tensors, name
        quant = None
        if per_channel is not None:
            quant = QuantParams(tuple(float(s) for s in per_channel), (0,) * len(per_channel), 0)
        elif scale is not None:
            quant = QuantParams((float(scale),), (0,))
        self.tensors[name] = Tensor(name, tuple(int(d) for d in shape), dtype, quant, data)
        return name

    def op(self, kind: str, inputs, outputs, node: Node, **attrs) -> None:
        self.ops.append(Op(kind, tuple(inputs), tuple(outputs), {"node": node.name, **attrs}, len(self.ops)))

    def held_by(self, name: str) -> str:
        """The tensor that holds a node's output; for a recurrent source not built yet, reserved now
        (persistent: it keeps the previous step's value until the node writes it later in the step)."""
        if name not in self.held:
            n = self.net.node(name)
            if n.kind == "Flatten" and name in self.delayed:
                raise self.err(n, "a recurrent edge from a Flatten node is not supported yet")
            v = self.info(name)
            self.held[name] = self.tensor(name, (1, *n.shape), v.dtype, v.scale)
            if name in self.delayed:
                self.state.append(name)
        return self.held[name]

    def current(self, n: Node) -> tuple[str, int]:
        """The sum of the edges into ``n`` as one int32 current (tensor, scale exponent): int8
        values are converted (a Scale by 1), then the edges are added in order."""
        parts: list[tuple[str, int, float]] = []
        for k, (src, _) in enumerate(n.inputs):
            v, t = self.info(src), self.held_by(src)
            if v.dtype == "int8" or math.log2(v.scale) != round(math.log2(v.scale)):  # to a power-of-two scale
                e = _pow2(v.bound, CURRENT_BITS)
                t32 = self.tensor(f"{n.name}:in{k}", (1, n.size), "int32", 2.0**e)
                self.op("NIR_SCALE", (t,), (t32,), n, scale=[1.0] * n.size)
                parts.append((t32, e, v.bound))
            else:
                parts.append((t, round(math.log2(v.scale)), v.bound))
        t, e, b = parts[0]
        for k, (t2, e2, b2) in enumerate(parts[1:], 1):
            e_sum = max(_pow2(b + b2, CURRENT_BITS), e, e2)
            out = self.tensor(f"{n.name}:sum{k}", (1, n.size), "int32", 2.0**e_sum)
            self.op("NIR_ADD", (t, t2), (out,), n)
            t, e, b = out, e_sum, b + b2
        return t, e

    def single_source(self, n: Node) -> tuple[_Value, str]:
        if len(n.inputs) != 1:
            raise self.err(n, f"{len(n.inputs)} incoming edges; a {n.kind} node with several is not supported yet")
        src = n.inputs[0][0]
        return self.info(src), self.held_by(src)

    def build(self) -> tuple[str, list[str]]:
        graph_in = ""
        outputs: list[str] = []
        for n in self.net.nodes:
            if n.kind == "Input":
                graph_in = self.tensor(f"{n.name}:float", (1, *n.shape), "float32")
                self.op("QUANTIZE", (graph_in,), (self.held_by(n.name),), n)
            elif n.kind == "Output":
                _, t = self.single_source(n)
                outputs.append(self.tensor(n.name, (1, *n.shape), "float32"))
                self.op("DEQUANTIZE", (t,), (outputs[-1],), n)
            elif n.kind == "Flatten":
                _, t = self.single_source(n)
                self.op("RESHAPE", (t,), (self.held_by(n.name),), n)
            elif n.kind in WEIGHTED:
                self.weighted(n)
            elif n.kind in POOLS:
                _, t = self.single_source(n)
                p = n.params
                self.op(f"NIR_{n.kind.upper()}", (t,), (self.held_by(n.name),), n, kernel=p["kernel"].tolist(),
                        stride=p["stride"].tolist(), pad=p["pad"].tolist())  # fmt: skip
            elif n.kind == "Scale":
                _, t = self.single_source(n)
                self.op("NIR_SCALE", (t,), (self.held_by(n.name),), n, scale=n.params["scale"].tolist())
            elif n.kind == "Delay":
                _, t = self.single_source(n)
                self.op("NIR_DELAY", (t,), (self.held_by(n.name),), n, steps=self.delay_steps(n).tolist())
            else:
                self.neuron(n)
        return graph_in, outputs

    def delay_steps(self, n: Node) -> np.ndarray:
        """A Delay's delays in whole time steps; a delay that is not a whole number of steps is an error."""
        d = n.params["delay"]
        k = np.round(d / self.dt)
        off = np.abs(d / self.dt - k)
        if np.any(d < 0) or np.any(off > 1e-6 * np.maximum(k, 1.0)) or np.any(k > 2**20):
            i = int(np.argmax(np.where(d < 0, np.inf, off)))
            raise self.err(n, f"delay {d[i]:g} s is not a whole number of --dt {self.dt:g} s steps between 0 and "
                              f"2^20; choose a --dt that divides every delay")  # fmt: skip
        return k.astype(np.int64)

    def weighted(self, n: Node) -> None:
        x, t = self.single_source(n)
        if x.dtype != "int8":
            raise self.err(n, "a synapse fed by a non-spiking value (the output of LI, CubaLI, a synapse, or a pool "
                              "whose sum does not fit int8) is not supported yet; edgeneuro's synapses take spikes, "
                              "pooled spikes or the network's input")  # fmt: skip
        wq, sw, bq = self.weights(n, x)
        wt = self.tensor(f"{n.name}:weight", wq.shape, str(wq.dtype), data=wq, per_channel=sw)
        bt = self.tensor(f"{n.name}:bias", (wq.shape[0],), "int32", data=bq.astype(np.int32))
        y = self.held_by(n.name)
        if n.kind == "Conv1d":
            p = n.params
            self.op("NIR_CONV1D", (t, wt, bt), (y,), n, stride=int(p["stride"]), pad=int(p["pad"]),
                    dilation=int(p["dilation"]), groups=int(p["groups"]))  # fmt: skip
        elif n.kind == "Conv2d":
            p = n.params
            self.op("NIR_CONV2D", (t, wt, bt), (y,), n, stride=p["stride"].tolist(), pad=p["pad"].tolist(),
                    dilation=p["dilation"].tolist(), groups=int(p["groups"]))  # fmt: skip
        else:
            self.op("NIR_AFFINE", (t, wt, bt), (y,), n)

    def neuron(self, n: Node) -> None:
        u, _ = self.current(n)
        p = n.params
        attrs = {k: p[k].tolist() for k in PARAMS[n.kind]}
        if n.kind == "Threshold":
            self.op("NIR_THRESHOLD", (u,), (self.held_by(n.name),), n, **attrs)
            return
        sc = self.neuron_scales(n)
        s_v = 2.0**sc.e_v
        if sc.e_i is not None:
            attrs["i_scale"] = 2.0**sc.e_i
        if n.kind in SPIKING:
            thr = float(np.abs(p["v_threshold"]).max())
            if thr > 0 and thr / s_v < 2**MIN_THRESHOLD_BITS:
                raise self.err(n, f"the input can drive the membrane to {sc.reach:.3g}, {sc.reach / thr:.3g} times "
                                  f"the threshold {thr:g}: int32 state cannot hold both (the threshold would be "
                                  f"{thr / s_v:.3g} steps of the state); scale the weights or r down, or the "
                                  "threshold up")  # fmt: skip
        self.op("NIR_" + n.kind.upper(), (u,), (self.held_by(n.name),), n, dt=self.dt, v_scale=s_v, **attrs)


def input_scale(net: Net, calibration: np.ndarray | None) -> float:
    """The int8 input scale: max|x| / 127 over the calibration samples, or 1 / 127."""
    if calibration is None:
        return 1.0 / 127.0
    shape = net.node(net.input).shape
    c = np.asarray(calibration)
    if c.ndim < len(shape) or tuple(c.shape[c.ndim - len(shape) :]) != shape or c.dtype.kind not in "fiub":
        raise InputError(f"calibration samples {list(c.shape)} ({c.dtype}) do not end with the input shape "
                         f"{list(shape)}: give [samples, T, {', '.join(map(str, shape))}]")  # fmt: skip
    top = float(np.abs(c.astype(np.float64)).max(initial=0.0))
    return top / 127.0 if top > 0 else 1.0 / 127.0


def to_graph(net: Net, dt: float, calibration: np.ndarray | None = None, synapse_weights: str = "auto") -> Graph:
    """The fixed-point temporal graph of ``net`` for time step ``dt`` (seconds); ``synapse_weights``
    (``--synapse-weights``): auto, int8 or int16."""
    if synapse_weights not in SYNAPSE_WEIGHTS:
        raise InputError(f"--synapse-weights {synapse_weights!r}: choose one of {', '.join(SYNAPSE_WEIGHTS)}")
    b = _Builder(net, float(dt), input_scale(net, calibration), synapse_weights)
    graph_in, outputs = b.build()
    assert sorted(outputs) == sorted(net.outputs)
    outputs = list(net.outputs)  # the Output nodes in the file's order (their tensors bear their names)
    return Graph(
        name=Path(net.source).stem,
        source=net.source,
        tensors=b.tensors,
        ops=tuple(b.ops),
        inputs=(graph_in,),
        outputs=tuple(outputs),
        temporal=True,
        state=tuple(b.state),
    )


def applies(graph: Graph, options: CompileOptions) -> bool:
    return is_float_nir(graph)


def run(graph: Graph, options: CompileOptions) -> Graph:
    """NIR's float nodes to fixed-point spiking kernels for --dt. The weights' width follows
    ``--synapse-weights``; the input scale comes from the ``--calibrate`` samples, unless ``--encode``
    makes them raw samples."""
    dt = options.dt
    if dt is None:
        raise ModelError(f"{graph.source}: a NIR graph runs in time steps: give the step with --dt SECONDS "
                         "(e.g. --dt 1e-3)")  # fmt: skip
    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise ModelError(f"{graph.source}: --dt must be a positive number of seconds, not {dt!r}")
    calibration = None if options.encode else options.calibration
    return to_graph(net_of(graph), float(dt), calibration, options.synapse_weights)
