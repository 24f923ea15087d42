"""The command-line options of a spiking network (a .nir file): ``--dt``, ``--calibrate``,
``--encode``, ``--synapse-kernels`` and ``--synapse-weights``, as ``compile``, ``run``, ``inspect`` and ``stream`` take
them. A model of the snn family (meta.json with ``pool`` and calibration.npy beside it) brings its
own time step and calibration samples. With ``--encode``, ``--calibrate`` takes raw int16 samples
(as the encoded network's ``--input``), run through the encoder to measure spike rates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgeneuro.errors import InputError


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _read_calibration(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except Exception as e:
        raise InputError(f"{path}: cannot read the calibration samples ({e})") from e


def nir_options(model: Path, built=None, **given: Any) -> dict[str, Any] | None:
    """The front-end options of a spiking network (``model`` a .nir file), as ``edgeneuro run``
    takes them: ``dt``, ``calibration`` (the samples), ``encode`` (the spec), ``synapse_kernels``,
    ``synapse_weights``. ``given`` holds what the command line gave (``dt``, ``calibrate`` a path,
    ``encode``, ``synapse_kernels``, ``synapse_weights``; None where not given). With ``encode``
    the calibration samples are raw samples, int16 ``[samples, T, channels]`` as the encoded
    network takes them (checked by edgeneuro/ops/encode.py ``raw_samples``); they set no input
    scale, only the spike rates that ``--synapse-kernels auto`` measures. A build folder's are
    those it was built with (stream.json), and options given that differ are refused; otherwise an
    snn-family model (meta.json beside it, with ``pool``) defaults ``dt`` to its time step and,
    without ``encode``, the calibration to the calibration.npy beside it. None for other models,
    which take none of these options."""
    given = {k: v for k, v in given.items() if v is not None}
    if Path(model).suffix.lower() != ".nir":
        if given:
            raise InputError(f"{model}: {', '.join(map(_flag, given))}: options of spiking networks (.nir files)")
        return None
    recorded = built.nir if built is not None else None
    if recorded is not None:
        cal = built.folder / recorded["calibration"] if recorded.get("calibration") else None
        opts = {"dt": recorded["dt"], "calibration": np.load(cal) if cal else None, "encode": recorded.get("encode"),
                "synapse_kernels": recorded.get("synapse_kernels") or "auto",
                # folders built before --synapse-weights existed have int8 weights everywhere
                "synapse_weights": recorded.get("synapse_weights") or "int8"}  # fmt: skip
        for name, value in given.items():
            if name == "calibrate":
                same = opts["calibration"] is not None and np.array_equal(_read_calibration(Path(value)),
                                                                          opts["calibration"])  # fmt: skip
                had = f"--calibrate samples (kept as {cal.name})" if cal else "no --calibrate samples"
            elif name == "encode":
                from edgeneuro.data.encode import parse

                same = opts["encode"] is not None and parse(value).spec() == opts["encode"]
                had = f"--encode {opts['encode']}" if opts["encode"] else "no --encode"
            else:
                same = value == opts[name]
                had = f"{_flag(name)} {opts[name]}"
            if not same:
                raise InputError(f"{built.folder} was built with {had} (its stream.json); stream it without "
                                 f"{_flag(name)}, or build it again with {_flag(name)} {value}")  # fmt: skip
        return opts
    opts = {"dt": given.get("dt"), "calibration": None, "encode": None,
            "synapse_kernels": given.get("synapse_kernels") or "auto",
            "synapse_weights": given.get("synapse_weights") or "auto"}  # fmt: skip
    if given.get("calibrate"):
        opts["calibration"] = _read_calibration(Path(given["calibrate"]))
    if given.get("encode"):
        from edgeneuro.data.encode import parse
        from edgeneuro.ops.encode import raw_samples

        encoder = parse(given["encode"])
        opts["encode"] = encoder.spec()
        if opts["calibration"] is not None:  # raw samples; ops/encode.py's insert checks them against the input too
            opts["calibration"] = raw_samples(opts["calibration"], encoder.channels, given["calibrate"], encoder.scale)
    from edgeneuro.data.meta import META, Meta

    if (Path(model).parent / META).is_file():
        meta = Meta.load(model)
        if meta.pool:  # the snn family: its time step, and the samples it was calibrated on
            if opts["dt"] is None:
                opts["dt"] = meta.dt
            cal = Path(model).parent / "calibration.npy"
            # its calibration.npy holds the float features the network takes without --encode, not raw samples
            if not given.get("calibrate") and not opts["encode"] and cal.is_file():
                opts["calibration"] = _read_calibration(cal)
    return opts


def load_options(opts: dict[str, Any] | None) -> dict[str, Any]:
    """``nir_options`` as ``frontends.load``'s keywords."""
    if opts is None:
        return {}
    from edgeneuro.data.encode import parse

    return {"dt": opts["dt"], "calibration": opts["calibration"],
            "encoder": parse(opts["encode"]) if opts["encode"] else None,
            "synapse_kernels": opts["synapse_kernels"], "synapse_weights": opts["synapse_weights"]}  # fmt: skip
