"""The compile options: everything besides the model file that changes what a model compiles to,
as one frozen value built once (from the command line, from a model's meta.json, or from what a
build folder recorded) and read by every command and every pass.

* ``shapes``: dynamic input dimensions bound by name (``--shape NAME=D0xD1x...``, ONNX).
* ``precision`` (``--precision``, ONNX): ``int8`` (the default) reads a QDQ int8 model, ``float``
  computes a float model (no QDQ) with the float32 kernels.
* ``features`` and ``kernels``: the target core's extensions (``dsp``: Armv7E-M SIMD32, ``mve``:
  Helium), from the board, and ``--kernels``: ``auto`` (the default) takes each layer's fastest
  kernel variant those features allow (the pass ``choose-kernel-variants``), ``reference`` the
  portable C kernels, which are the spec. Without features every layer gets its portable kernel,
  which runs on any board.
* ``sparse`` (``--sparse``): ``auto`` (the default) lets a layer whose weights are sparse enough
  take a kernel variant that stores and multiplies only their non-zero blocks (with ``--kernels
  auto``; the op module's ``sparse_variant``), ``off`` keeps every layer dense.
* ``dt``, ``calibration``, ``encode``, ``synapse_kernels``, ``synapse_weights``: a spiking
  network's (``.nir``) ``--dt``, ``--calibrate`` samples, ``--encode`` spec, ``--synapse-kernels``
  and ``--synapse-weights``. With ``encode`` the calibration samples are raw samples, int16
  ``[samples, T, channels]`` as the encoded network takes them (checked by edgeneuro/ops/encode.py
  ``raw_samples``); they set no input scale, only the spike rates that ``--synapse-kernels auto``
  measures. An snn-family model (meta.json beside it with ``pool``) brings its own time step and,
  without ``encode``, the calibration.npy beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeneuro.errors import InputError

KERNELS = ("auto", "reference")  # --kernels
SPARSE = ("auto", "off")  # --sparse
PRECISIONS = ("int8", "float")  # --precision: an ONNX model's QDQ int8, or a float model in float32
FEATURES = ("dsp", "mve")  # what a board's core has beyond the base ISA (edgeneuro/boards.py)
SYNAPSE_KERNELS = ("dense", "event", "auto")
SYNAPSE_WEIGHTS = ("auto", "int8", "int16")
NIR_OPTIONS = ("dt", "calibrate", "encode", "synapse_kernels", "synapse_weights")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def read_calibration(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except Exception as e:
        raise InputError(f"{path}: cannot read the calibration samples ({e})") from e


@dataclass(frozen=True)
class CompileOptions:
    shapes: tuple[tuple[str, tuple[int, ...]], ...] = ()
    features: tuple[str, ...] = ()
    kernels: str = "auto"
    sparse: str = "auto"
    dt: float | None = None
    calibration: np.ndarray | None = field(default=None, compare=False, repr=False)
    encode: str | None = None  # the encoder's spec (edgeneuro/data/encode.py), e.g. "delta:40"
    synapse_kernels: str = "auto"
    synapse_weights: str = "auto"
    precision: str = "int8"

    def __post_init__(self) -> None:
        if self.kernels not in KERNELS:
            raise InputError(f"--kernels {self.kernels!r}: choose one of {', '.join(KERNELS)}")
        if self.precision not in PRECISIONS:
            raise InputError(f"--precision {self.precision!r}: choose one of {', '.join(PRECISIONS)}")
        if self.sparse not in SPARSE:
            raise InputError(f"--sparse {self.sparse!r}: choose one of {', '.join(SPARSE)}")
        unknown = set(self.features) - set(FEATURES)
        if unknown:
            raise InputError(f"unknown core features {sorted(unknown)}; edgeneuro knows {', '.join(FEATURES)}")
        if self.synapse_kernels not in SYNAPSE_KERNELS:
            raise InputError(f"--synapse-kernels {self.synapse_kernels!r}: choose one of {', '.join(SYNAPSE_KERNELS)}")
        if self.synapse_weights not in SYNAPSE_WEIGHTS:
            raise InputError(f"--synapse-weights {self.synapse_weights!r}: choose one of {', '.join(SYNAPSE_WEIGHTS)}")

    @property
    def shape_map(self) -> dict[str, tuple[int, ...]]:
        return dict(self.shapes)

    @property
    def encoder(self):
        """The ``--encode`` encoder (edgeneuro.data.encode.Encoder), or None."""
        if self.encode is None:
            return None
        from edgeneuro.data.encode import parse

        return parse(self.encode)

    def record(self) -> dict[str, Any]:
        """What a build folder records of a spiking network's options (stream.json; the calibration
        samples go beside it as a file)."""
        return {"dt": self.dt, "encode": self.encode, "synapse_kernels": self.synapse_kernels,
                "synapse_weights": self.synapse_weights}  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        c = None if self.calibration is None else np.asarray(self.calibration)
        samples = None if c is None else {"shape": list(c.shape), "dtype": str(c.dtype)}
        return {"shapes": {k: list(v) for k, v in self.shapes}, "features": list(self.features),
                "kernels": self.kernels, "sparse": self.sparse, "precision": self.precision, **self.record(),
                "calibration": samples}  # fmt: skip


def board_features(board) -> tuple[str, ...]:
    """The core features of ``board`` (edgeneuro.boards.Board) the kernels may use."""
    return tuple(f for f in FEATURES if getattr(board, f))


def from_cli(model: Path, built=None, shapes: dict[str, tuple[int, ...]] | None = None, board=None,
             kernels: str | None = None, sparse: str | None = None, precision: str | None = None,
             **given: Any) -> CompileOptions:  # fmt: skip
    """The options of ``model`` from what the command line gave: ``shapes`` and, for a spiking
    network, ``dt``, ``calibrate`` (a path), ``encode`` (a spec), ``synapse_kernels`` and
    ``synapse_weights`` (None where not given). ``built`` (a stream build folder, edgeneuro/stream/
    target.py): the options it was built with (its stream.json), and options given that differ are
    refused. Otherwise an snn-family model (meta.json beside it, with ``pool``) defaults ``dt`` to
    its time step and, without ``encode``, the calibration to the calibration.npy beside it.
    ``board``: the target, whose core features the kernels may use (``kernels``, ``--kernels``;
    ``sparse``, ``--sparse``). ``precision`` (``--precision``): ONNX models only."""
    unknown = set(given) - set(NIR_OPTIONS)
    assert not unknown, unknown
    given = {k: v for k, v in given.items() if v is not None}
    target = {"shapes": tuple(sorted((shapes or {}).items())), "kernels": kernels or "auto",
              "sparse": sparse or "auto", "features": board_features(board) if board is not None else ()}  # fmt: skip
    if precision not in (None, "int8") and Path(model).suffix.lower() != ".onnx":
        raise InputError(f"{model}: --precision {precision} is for ONNX models (.tflite and .nir bring their own)")
    if precision is not None:
        target["precision"] = precision
    if Path(model).suffix.lower() != ".nir":
        if given:
            raise InputError(f"{model}: {', '.join(map(_flag, given))}: options of spiking networks (.nir files)")
        return CompileOptions(**target)
    recorded = built.nir if built is not None else None
    if recorded is not None:
        return _recorded(built, recorded, given, target)
    calibration = read_calibration(Path(given["calibrate"])) if given.get("calibrate") else None
    encode = None
    if given.get("encode"):
        from edgeneuro.data.encode import parse
        from edgeneuro.ops.encode import raw_samples

        encoder = parse(given["encode"])
        encode = encoder.spec()
        if calibration is not None:  # raw samples; the encoder pass checks them against the input too
            calibration = raw_samples(calibration, encoder.channels, given["calibrate"], encoder.scale)
    dt = given.get("dt")
    from edgeneuro.data.meta import META, Meta

    if (Path(model).parent / META).is_file():
        meta = Meta.load(model)
        if meta.pool:  # the snn family: its time step, and the samples it was calibrated on
            dt = meta.dt if dt is None else dt
            cal = Path(model).parent / "calibration.npy"
            # its calibration.npy holds the float features the network takes without --encode, not raw samples
            if not given.get("calibrate") and encode is None and cal.is_file():
                calibration = read_calibration(cal)
    return CompileOptions(**target, dt=dt, calibration=calibration, encode=encode,
                          synapse_kernels=given.get("synapse_kernels") or "auto",
                          synapse_weights=given.get("synapse_weights") or "auto")  # fmt: skip


def _recorded(built, recorded: dict[str, Any], given: dict[str, Any], target: dict[str, Any]) -> CompileOptions:
    cal = built.folder / recorded["calibration"] if recorded.get("calibration") else None
    opts = CompileOptions(**target, dt=recorded["dt"], calibration=np.load(cal) if cal else None,
                          encode=recorded.get("encode"), synapse_kernels=recorded.get("synapse_kernels") or "auto",
                          # folders built before --synapse-weights existed have int8 weights everywhere
                          synapse_weights=recorded.get("synapse_weights") or "int8")  # fmt: skip
    for name, value in given.items():
        if name == "calibrate":
            same = opts.calibration is not None and np.array_equal(read_calibration(Path(value)), opts.calibration)
            had = f"--calibrate samples (kept as {cal.name})" if cal else "no --calibrate samples"
        elif name == "encode":
            from edgeneuro.data.encode import parse

            same = opts.encode is not None and parse(value).spec() == opts.encode
            had = f"--encode {opts.encode}" if opts.encode else "no --encode"
        else:
            same = value == getattr(opts, name)
            had = f"{_flag(name)} {getattr(opts, name)}"
        if not same:
            raise InputError(f"{built.folder} was built with {had} (its stream.json); stream it without "
                             f"{_flag(name)}, or build it again with {_flag(name)} {value}")  # fmt: skip
    return opts
