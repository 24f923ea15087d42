"""Event-driven synapses of a spiking network: NIR Affine / Linear, Conv1d and Conv2d whose input is
a spike train, computed by visiting only the inputs that are not zero. The compiler picks them instead of
the dense NIR_AFFINE / NIR_CONV1D kernels (edgeneuro/passes/synapse_kernels.py decides which).

Spec: **the dense reference** (edgeneuro/ops/synapse.py, ``en_snn_affine_s8``, ``en_snn_conv1d_s8``
and ``en_snn_conv2d_s8``). An event-driven kernel sums the same int32 terms ``w * x`` (the terms of the
zero inputs are zero) in another order: integer addition is associative, and no partial sum can
leave int32 because the bound synapse.py checks (``128 * sum |w| + |bias|`` per output) holds for
every subset of the terms. Like the dense kernels, each exists for int8 weights and, with the suffix
``_w16``, for int16 weights. So its output equals the dense kernel's bit for bit, for any int8 input.

* NIR_AFFINE_EVENT: a scan writes the indices of the non-zero inputs into an index list (uint16,
  in ``Kernel.scratch``: 2 bytes per input, in the arena only while the layer runs); the
  accumulators start at the bias; each listed input ``k`` adds its weight column times its value
  (1 for a spike). The weights are stored transposed, ``[depth, units]``, so that the column is
  contiguous.
* NIR_CONV1D_EVENT: the same scan over the input ``[C_in, N]``; each listed (channel ``c``,
  position ``p``) scatters its taps: tap ``j`` reaches output ``t = (p + pad - j * dilation) /
  stride`` when that is a whole number in ``[0, N_out)``, and adds ``w[o, c, j] * x`` to every
  output channel ``o`` of ``c``'s group. Weights stored ``[C_in, K, C_out / groups]``.
* NIR_CONV2D_EVENT: the same over two axes: each listed (channel ``c``, row ``y``, column ``x``)
  scatters tap ``(i, j)`` to output ``((y + pad_h - i * dil_h) / stride_h, (x + pad_w - j * dil_w)
  / stride_w)`` when both are whole numbers inside the output. Weights stored ``[C_in, kH, kW,
  C_out / groups]``.

Why an index list and not a bitmap: the list costs 2 B per input of arena for the layer's
duration, but the accumulate loop then walks the active inputs directly; a bitmap (1/16 of the
memory) needs a find-first-set and a clear per active input on top of the same scan. The scan
reads four inputs per 32-bit load and skips silent words in five instructions.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops import synapse
from edgeneuro.ops.base import Kernel

KINDS = ("NIR_AFFINE_EVENT", "NIR_CONV1D_EVENT", "NIR_CONV2D_EVENT")
C_FILE = "synapse_event"
DENSE_KIND = {event: dense for dense, event in synapse.EVENT_VARIANT.items()}  # the inverse of the trait
MAX_INPUTS = 1 << 16  # the index list holds uint16 indices


def dense_fn(fn: str) -> str:
    """The dense kernel of an event-driven one (``en_snn_affine_event_s8_w16`` -> ``en_snn_affine_s8_w16``)."""
    return fn.replace("_event_", "_")


def _base(fn: str) -> str:
    """The kernel's name without the event and weight-width parts (``en_snn_affine_s8``)."""
    return dense_fn(fn).removesuffix(synapse.WEIGHT_TYPES["int16"])


def to_event_layout(dense: Kernel, w: np.ndarray) -> np.ndarray:
    """The dense kernel's weights in the event kernel's order."""
    if _base(dense.fn) == "en_snn_affine_s8":
        return np.ascontiguousarray(w.T)  # [depth, units]
    p = dense.params
    groups, c_out_g = p["groups"], p["c_out"] // p["groups"]
    if _base(dense.fn) == "en_snn_conv2d_s8":
        # [C_out, C_in/g, kH, kW] -> [g, C_out/g, C_in/g, kH, kW] -> [g, C_in/g, kH, kW, C_out/g]
        kh, kw = p["k_h"], p["k_w"]
        w5 = w.reshape(groups, c_out_g, p["c_in"] // groups, kh, kw).transpose(0, 2, 3, 4, 1)
        return np.ascontiguousarray(w5.reshape(-1, kh, kw, c_out_g))
    c_in_g, k = p["c_in"] // groups, p["kernel"]
    # [C_out, C_in/g, K] -> [g, C_out/g, C_in/g, K] -> [g, C_in/g, K, C_out/g] -> [C_in, K, C_out/g]
    return np.ascontiguousarray(w.reshape(groups, c_out_g, c_in_g, k).transpose(0, 2, 3, 1).reshape(-1, k, c_out_g))


def from_event_layout(k: Kernel, wt: np.ndarray) -> np.ndarray:
    """The event kernel's weights back in the dense kernel's order (the inverse of ``to_event_layout``)."""
    if _base(k.fn) == "en_snn_affine_s8":
        return np.ascontiguousarray(wt.reshape(k.params["depth"], k.params["units"]).T)
    p = k.params
    groups, c_out_g = p["groups"], p["c_out"] // p["groups"]
    if _base(k.fn) == "en_snn_conv2d_s8":
        kh, kw, c_in_g = p["k_h"], p["k_w"], p["c_in"] // groups
        w5 = wt.reshape(groups, c_in_g, kh, kw, c_out_g).transpose(0, 4, 1, 2, 3)
        return np.ascontiguousarray(w5.reshape(p["c_out"], c_in_g, kh, kw))
    c_in_g, kk = p["c_in"] // groups, p["kernel"]
    return np.ascontiguousarray(
        wt.reshape(groups, c_in_g, kk, c_out_g).transpose(0, 3, 1, 2).reshape(p["c_out"], c_in_g, kk)
    )


def lower(op: Op, g: Graph) -> Kernel:
    dense = synapse.lower(dataclasses.replace(op, kind=DENSE_KIND[op.kind]), g)
    x = g.t(op.inputs[0])
    if x.size > MAX_INPUTS:
        raise synapse.node_unsupported(g, op, f"an event-driven synapse takes at most {MAX_INPUTS:,} inputs "
                                              f"(uint16 indices), not {x.size:,}; use the dense kernel")  # fmt: skip
    (name, w), *rest = dense.consts
    assert name == "weights"
    rate = op.attrs.get("kernel_choice", {}).get("input_spike_rate")
    note = f", input spikes {100 * rate:.1f} % on calibration" if rate is not None else ""
    return dataclasses.replace(
        dense,
        op=op,
        fn=dense.fn.replace("_s8", "_event_s8"),
        consts=(("weights", to_event_layout(dense, w)), *rest),
        summary=f"{dense.summary}, event-driven{note}",
        scratch=2 * x.size,
    )


def reference(k: Kernel, x: np.ndarray, wt: np.ndarray, *rest) -> np.ndarray:
    """The dense reference, on the weights in the dense order."""
    dense = dataclasses.replace(k, fn=dense_fn(k.fn), scratch=0)
    return synapse.reference(dense, x, from_event_layout(k, wt), *rest)
