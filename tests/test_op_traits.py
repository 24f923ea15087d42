"""Op traits (edgeneuro/ops/__init__.py ``trait`` / ``kinds_with``): the categories of operator kinds
the passes use are attributes of the op modules, and they are consistent with what the modules do."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import nir
import numpy as np

from edgeneuro import ops
from edgeneuro.compiler import load
from edgeneuro.ir import Graph, Op, Tensor
from edgeneuro.options import CompileOptions

DT = 1e-3


def test_trait_lookup_forms(monkeypatch):
    """One value for the whole module, a dict by kind, a set of kinds; ``default`` otherwise."""
    fake = SimpleNamespace(KINDS=("A", "B"), WHOLE=True, BY_KIND={"A": 0.5}, SOME=frozenset({"B"}))
    monkeypatch.setattr(ops, "MODULES", {"A": fake, "B": fake})
    monkeypatch.setattr(ops, "SUPPORTED", ("A", "B"))
    assert ops.trait("A", "WHOLE") is True and ops.trait("B", "WHOLE") is True
    assert ops.trait("A", "BY_KIND") == 0.5 and ops.trait("B", "BY_KIND", "none") == "none"
    assert ops.trait("A", "SOME") is None and ops.trait("A", "SOME", False) is False and ops.trait("B", "SOME")
    assert ops.trait("A", "MISSING", 7) == 7 and ops.trait("NOT_A_KIND", "WHOLE") is None
    assert ops.kinds_with("WHOLE") == ("A", "B") and ops.kinds_with("BY_KIND") == ("A",)
    assert ops.kinds_with("SOME") == ("B",) and ops.kinds_with("MISSING") == ()


def test_known_traits():
    assert set(ops.kinds_with("SPIKES")) == {"NIR_LIF", "NIR_IF", "NIR_CUBALIF", "NIR_THRESHOLD", "ENCODE"}
    assert set(ops.kinds_with("COUNTS")) == {"NIR_SUMPOOL2D", "NIR_AVGPOOL2D"}
    assert "RESHAPE" in ops.kinds_with("VIEW")
    assert {k: ops.trait(k, "EVENT_VARIANT") for k in ops.kinds_with("EVENT_VARIANT")} == {
        "NIR_AFFINE": "NIR_AFFINE_EVENT",
        "NIR_CONV1D": "NIR_CONV1D_EVENT",
        "NIR_CONV2D": "NIR_CONV2D_EVENT",
    }
    assert {k: ops.trait(k, "BREAK_EVEN") for k in ops.kinds_with("BREAK_EVEN")} == {
        "NIR_AFFINE": 0.82,
        "NIR_CONV1D": 0.72,
        "NIR_CONV2D": 0.58,
    }


def test_traits_are_consistent():
    for kind in ops.kinds_with("EVENT_VARIANT"):
        event = ops.trait(kind, "EVENT_VARIANT")
        module = ops.MODULES[event]  # the variant is a kind of its own, with a module that lowers it
        assert callable(module.lower) and callable(module.reference) and module.C_FILE
        assert not ops.trait(event, "EVENT_VARIANT")
    for kind in ops.kinds_with("BREAK_EVEN"):
        assert ops.trait(kind, "EVENT_VARIANT") and 0 < ops.trait(kind, "BREAK_EVEN") <= 1
    for name in ops.TRAITS:
        assert ops.kinds_with(name), f"no kind has the trait {name}"
        assert set(ops.kinds_with(name)) <= set(ops.SUPPORTED)
    assert not set(ops.kinds_with("VIEW")) & set(ops.kinds_with("SPIKES"))


def test_views_lower_to_no_code():
    for kind in ops.kinds_with("VIEW"):
        assert ops.MODULES[kind].C_FILE is None
        x, y = Tensor("x", (1, 6), "int8"), Tensor("y", (1, 2, 3), "int8")
        g = Graph("g", "test", {"x": x, "y": y}, (Op(kind, ("x",), ("y",), {}, 0),), ("x",), ("y",))
        assert ops.lower(g.ops[0], g).fn is None


def lif(n: int, thr: float = 1.0) -> nir.LIF:
    tau = np.full(n, 10 * DT)
    return nir.LIF(tau=tau, r=tau / DT, v_leak=np.zeros(n), v_threshold=np.full(n, thr), v_reset=np.zeros(n))


def test_every_event_variant_lowers(tmp_path: Path):
    """Spiking nets with every synapse on spikes (Conv2d on the binary input, Affine on a SumPool2d
    of spikes through Flatten, Conv1d): with --synapse-kernels event all take their event variant,
    and each lowers to an event kernel."""
    rng = np.random.default_rng(0)
    cnn = nir.NIRGraph(
        nodes={
            "in": nir.Input(np.array([2, 6, 6])),
            "conv": nir.Conv2d((6, 6), rng.normal(0, 0.5, (2, 2, 3, 3)), 1, 1, 1, 1, np.zeros(2)),
            "lif": lif(72),
            "pool": nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])),
            "flat": nir.Flatten(start_dim=0, input_type=np.array([2, 3, 3])),
            "fc": nir.Affine(rng.normal(0, 0.5, (3, 18)), np.zeros(3)),
            "readout": lif(3, 0.5),
            "out": nir.Output(np.array([3])),
        },
        edges=[
            ("in", "conv"),
            ("conv", "lif"),
            ("lif", "pool"),
            ("pool", "flat"),
            ("flat", "fc"),
            ("fc", "readout"),
            ("readout", "out"),
        ],  # fmt: skip
        type_check=False,
    )
    conv1d = nir.NIRGraph(
        nodes={
            "in": nir.Input(np.array([2, 8])),
            "conv": nir.Conv1d(8, rng.normal(0, 0.5, (3, 2, 3)), 1, 1, 1, 1, np.zeros(3)),
            "lif": lif(24),
            "out": nir.Output(np.array([3, 8])),
        },
        edges=[("in", "conv"), ("conv", "lif"), ("lif", "out")],
        type_check=False,
    )
    lowered = set()
    for name, net, shape in (("cnn", cnn, (2, 6, 6)), ("conv1d", conv1d, (2, 8))):
        path = tmp_path / f"{name}.nir"
        nir.write(path, net)
        x = (rng.random((2, 5, *shape)) < 0.2).astype(np.float32)
        kernels = load(path, CompileOptions(dt=DT, calibration=x, synapse_kernels="event")).kernels
        assert not [k.op.kind for k in kernels if ops.trait(k.op.kind, "EVENT_VARIANT")]
        lowered |= {k.op.kind for k in kernels if "_event_" in (k.fn or "")}
    assert lowered == {ops.trait(k, "EVENT_VARIANT") for k in ops.kinds_with("EVENT_VARIANT")}
