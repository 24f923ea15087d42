"""Spiking neurons imported from NIR (edgeneuro/frontends/nir.py): LIF, IF, LI, CubaLIF, CubaLI and the
integrator I, with int32 state kept between time steps, and the stateless Threshold.

One call is one time step. Each neuron ``i`` reads the summed int32 input current ``u`` (power-of-two
scale ``s_u``) and updates its state (membrane ``v``, scale ``s_v``; for the Cuba kinds also the
synaptic current ``I``, scale ``s_I``; both int32, powers of two chosen by the front end). With
``mul_round(x, m, n) = floor(x * m / 2^n + 1/2)`` in exact int64 (edgeneuro/ir/quant.py), ``sat32``
the saturation to int32 and ``(m, n)`` multipliers of 31 significant bits (``snn_multiplier``):

* decays: ``A = round(dt / tau * 2^30)`` and ``B = round(dt / tau_syn * 2^30)`` (Q1.30, halves away
  from zero; ``dt / tau`` must lie in [0, 1]);
* CubaLIF / CubaLI, synapse first: ``I = sat32(I + mul_round(0 - I, B, 30) + mul_round(u, m_syn,
  n_syn))`` with ``m_syn * 2^-n_syn = dt / tau_syn * w_in * s_u / s_I``; the membrane's input is then
  ``in = mul_round(I, m_vi, n_vi)``, ``m_vi * 2^-n_vi = dt / tau_mem * r * s_I / s_v``;
* LIF / LI: ``in = mul_round(u, m_in, n_in)``, ``m_in * 2^-n_in = dt / tau * r * s_u / s_v``;
  IF and I: the same with ``dt * r * s_u / s_v`` (no leak);
* leaky kinds: ``v = sat32(v + mul_round(v_leak_q - v, A, 30) + in)``; IF and I: ``v = sat32(v + in)``;
* spiking kinds (LIF, IF, CubaLIF): ``z = v > thr_q`` with ``thr_q = floor(v_threshold / s_v)`` (so
  that the comparison is exact for the state's values), then ``v = v_reset_q`` where ``z``; the
  output is ``z`` as int8 0 / 1. LI / CubaLI / I output ``v`` (int32, scale ``s_v``).
* NIR_THRESHOLD: ``z = u > floor(threshold / s_u)`` (int8 0 / 1), no state.

``v_leak_q`` and ``v_reset_q`` are ``v / s_v`` rounded half away from zero. The state (``v`` then
``I``, int32 each) lives outside the arena and starts at zero (``en_model_reset()``).
"""

from __future__ import annotations

import math

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ir.quant import INT32_MAX, INT32_MIN, mul_round, round_half_away, sat32
from edgeneuro.ops.base import Kernel
from edgeneuro.ops.synapse import multipliers, node_unsupported, pow2_exponent

KINDS = ("NIR_LIF", "NIR_IF", "NIR_LI", "NIR_CUBALIF", "NIR_CUBALI", "NIR_I", "NIR_THRESHOLD")
C_FILE = "lif"
Q30 = 1 << 30
SPIKING = ("NIR_LIF", "NIR_IF", "NIR_CUBALIF")
CUBA = ("NIR_CUBALIF", "NIR_CUBALI")
LEAKY = ("NIR_LIF", "NIR_LI", "NIR_CUBALIF", "NIR_CUBALI")
SPIKES = frozenset((*SPIKING, "NIR_THRESHOLD"))  # trait (edgeneuro/ops/__init__.py): int8 output 0 / 1


def _param(op: Op, name: str, size: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(op.attrs[name], np.float64).reshape(-1), (size,)).astype(np.float64)


def _decay(g: Graph, op: Op, dt: float, tau: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """dt / tau and its Q1.30 value; tau must be positive and dt at most tau."""
    if np.any(tau <= 0):
        raise node_unsupported(g, op, f"{name} must be positive (smallest {tau.min():g})")
    ratio = dt / tau
    if np.any(ratio > 1.0):
        raise node_unsupported(g, op, f"--dt {dt:g} s is longer than {name} = {tau.min():g} s: the forward-Euler "
                                      "update would overshoot; use a smaller --dt")  # fmt: skip
    return ratio, np.array([round_half_away(r * Q30) for r in ratio], np.int32)


def _state_value(g: Graph, op: Op, values: np.ndarray, scale: float, what: str, floor: bool = False) -> np.ndarray:
    q = values / scale
    q = np.floor(q) if floor else np.array([round_half_away(v) for v in q], np.float64)
    if np.any(q > INT32_MAX) or np.any(q < INT32_MIN):
        raise node_unsupported(g, op, f"{what} {values[np.argmax(np.abs(q))]:g} overflows the int32 state "
                                      f"(scale {scale:g})")  # fmt: skip
    return q.astype(np.int32)


def lower(op: Op, g: Graph) -> Kernel:
    u, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    size = u.size
    if u.dtype != "int32" or u.quant is None or y.size != size:
        raise node_unsupported(g, op, f"expects an int32 input current of the output's size ({u.dtype})")
    e_u = pow2_exponent(u)
    if op.kind == "NIR_THRESHOLD":
        thr = np.floor(_param(op, "threshold", size) / u.scale)
        thr = np.clip(thr, INT32_MIN, INT32_MAX).astype(np.int32)
        return Kernel(
            op=op,
            fn="en_snn_threshold_s32",
            params=dict(size=size),
            inputs=(u.name,),
            consts=(("threshold", thr),),
            outputs=(y.name,),
            summary=f"{size} int32 2^{e_u} -> spikes",
        )
    dt = float(op.attrs["dt"])
    s_v = float(op.attrs["v_scale"])
    r = _param(op, "r", size)
    consts: list[tuple[str, np.ndarray]] = []
    if op.kind in CUBA:
        s_i = float(op.attrs["i_scale"])
        b, b_q = _decay(g, op, dt, _param(op, "tau_syn", size), "tau_syn")
        a, a_q = _decay(g, op, dt, _param(op, "tau_mem", size), "tau_mem")
        m_syn, n_syn = multipliers(g, op, b * _param(op, "w_in", size) * u.scale / s_i, "synaptic input")
        m_vi, n_vi = multipliers(g, op, a * r * s_i / s_v, "membrane input")
        consts += [("m_syn", m_syn), ("n_syn", n_syn), ("decay_syn", b_q), ("m_in", m_vi), ("n_in", n_vi)]
        summary = f"tau_syn {_param(op, 'tau_syn', size).min():g}.. tau_mem {_param(op, 'tau_mem', size).min():g}.. s"
    elif op.kind in ("NIR_IF", "NIR_I"):
        m_in, n_in = multipliers(g, op, dt * r * u.scale / s_v, "membrane input")
        consts += [("m_in", m_in), ("n_in", n_in)]
        summary = "no leak"
    else:
        a, a_q = _decay(g, op, dt, _param(op, "tau", size), "tau")
        m_in, n_in = multipliers(g, op, a * r * u.scale / s_v, "membrane input")
        consts += [("m_in", m_in), ("n_in", n_in)]
        summary = f"tau {_param(op, 'tau', size).min():g}.. s"
    if op.kind in LEAKY:
        consts += [("decay", a_q), ("v_leak", _state_value(g, op, _param(op, "v_leak", size), s_v, "v_leak"))]
    if op.kind in SPIKING:
        thr = _state_value(g, op, _param(op, "v_threshold", size), s_v, "v_threshold", floor=True)
        consts += [("threshold", thr), ("v_reset", _state_value(g, op, _param(op, "v_reset", size), s_v, "v_reset"))]
        if y.dtype != "int8":
            raise node_unsupported(g, op, "spiking neurons output int8 spikes")
    elif y.dtype != "int32" or y.quant is None or y.scale != s_v:
        raise node_unsupported(g, op, "a leaky integrator outputs its int32 membrane at the state's scale")
    words = 2 if op.kind in CUBA else 1
    e_v = round(math.log2(s_v))
    return Kernel(
        op=op,
        fn=f"en_snn_{op.kind[4:].lower()}_s32",
        params=dict(size=size),
        inputs=(u.name,),
        consts=tuple(consts),
        outputs=(y.name,),
        summary=f"{size} neurons, dt {dt:g} s, {summary}, state int32 v 2^{e_v}"
        + (f" I 2^{round(math.log2(float(op.attrs['i_scale'])))}" if op.kind in CUBA else ""),
        inplace=(0,) if y.dtype == "int32" else (),
        state=4 * words * size,
    )


def reference(k: Kernel, u: np.ndarray, *rest) -> np.ndarray:
    """One time step; the state (the last argument, uint8 bytes) is updated in place."""
    kind = k.op.kind
    u = u.reshape(-1).astype(np.int64)
    if kind == "NIR_THRESHOLD":
        (thr,) = rest
        return (u > thr).astype(np.int8)
    *consts, state = rest
    c = dict(zip((name for name, _ in k.consts), consts, strict=True))
    size = k.params["size"]
    words = state.view(np.int32)
    v = words[:size].astype(np.int64)
    if kind in CUBA:
        i = words[size : 2 * size].astype(np.int64)
        i = sat32(i + mul_round(0 - i, c["decay_syn"], 30) + mul_round(u, c["m_syn"], c["n_syn"]))
        words[size : 2 * size] = i
        inp = mul_round(i, c["m_in"], c["n_in"])
    else:
        inp = mul_round(u, c["m_in"], c["n_in"])
    if kind in LEAKY:
        v = sat32(v + mul_round(c["v_leak"].astype(np.int64) - v, c["decay"], 30) + inp)
    else:
        v = sat32(v + inp)
    if kind in SPIKING:
        z = v > c["threshold"]
        v = np.where(z, c["v_reset"], v)
        words[:size] = v
        return z.astype(np.int8)
    words[:size] = v
    return v.astype(np.int32)
