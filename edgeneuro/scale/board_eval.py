"""`edgeneuro eval --on-board BOARD`: a compiled model scored from what the simulated board
computed, the recordings sharded over workers (edgeneuro.scale.run).

Each worker builds the firmware once per model and board (cached in the worker process, in a
folder of its own under the evaluation's temporary folder, so that workers never share a build
folder and this process removes them all at the end, whether or not the workers live on), runs every window of the
recordings it is given on its own QEMU, and returns the board's predictions with the count of
outputs equal to edgeneuro's reference kernels on the host. This process scores the predictions
in recording order, exactly as `edgeneuro eval` scores the host's, so the result does not depend
on how many workers ran it or in which order they finished: only the ``timing`` entry does."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeneuro import boards, scale
from edgeneuro.data.dataset import Item, discover, windows_of
from edgeneuro.data.meta import Meta
from edgeneuro.errors import InputError, ToolError
from edgeneuro.files import provenance
from edgeneuro.metrics.seizures import evaluate

# the parts of a QEMU run's report that describe the build, the same on every worker
BUILD_FIELDS = ("flash_bytes", "ram_bytes", "text_bytes", "rodata_bytes", "data_bytes", "bss_bytes", "stack_bytes",
                "flash_weights_bytes", "flash_code_bytes", "static_ram_bytes", "stack_reserved_bytes", "arena_bytes",
                "arena_lower_bound_bytes", "weights_bytes", "macs", "state_bytes", "time_steps")  # fmt: skip


@dataclass(frozen=True)
class Shard:
    """One recording of a model's evaluation on a board: what a worker needs to run it."""

    model: str
    sha256: str  # the model file the host read: a worker reading another file refuses it
    board: str
    sparse: str
    item: Item
    timeout: float  # seconds QEMU may take over the recording before the firmware counts as hanging
    workdir: str  # the evaluation's temporary folder (created where missing: another node of a cluster)


_BUILT: dict[tuple[str, str, str, str], tuple[Any, Any]] = {}  # per process: (sha, board, sparse, workdir) -> build


def _build(shard: Shard) -> tuple[Any, Any]:
    """The prepared model and its firmware for the shard's board, built once in this process."""
    from edgeneuro import compiler
    from edgeneuro.options import from_cli
    from edgeneuro.runner import build_for

    key = (shard.sha256, shard.board, shard.sparse, shard.workdir)
    if key not in _BUILT:
        model = Path(shard.model)
        if not model.is_file() or _sha256(model) != shard.sha256:
            raise InputError(f"{model}: not the model file the evaluation started with on this worker; give every "
                             "worker the same file (a shared folder on a cluster)")  # fmt: skip
        board = boards.load(shard.board)
        prepared = compiler.load(model, from_cli(model, board=board, sparse=shard.sparse))
        folder = Path(shard.workdir) / f"worker-{os.getpid()}"
        folder.mkdir(parents=True, exist_ok=True)
        _BUILT[key] = (prepared, build_for(prepared, board, folder / "build"))
    return _BUILT[key]


def run_recording(shard: Shard) -> dict[str, Any]:
    """Every window of one recording on the board (a worker's task): the board's class per window,
    its outputs checked against the reference kernels, and the run's instructions and memory."""
    from edgeneuro import reference
    from edgeneuro.runner import run_firmware

    prepared, firmware = _build(shard)
    meta = Meta.load(Path(shard.model))
    _, x = windows_of(shard.item, meta)
    inputs, decide = _harness(prepared, meta)
    fx = inputs(x)
    res = run_firmware(firmware, fx, timeout=shard.timeout)
    expected = reference.run_batch(prepared.graph, prepared.kernels, fx)
    r = res.report
    per_window = "instructions_per_sample" if "instructions_per_sample" in r else "instructions"
    return {
        "predictions": decide(res.output).astype(int).tolist(),
        "outputs_equal": int(np.sum(res.output == expected)),
        "outputs_compared": int(res.output.size),
        "instructions": r[per_window],
        "instructions_mean": r[f"{per_window}_mean"],
        "stack_used_bytes": r["stack_used_bytes"],
        "build": {k: r[k] for k in BUILD_FIELDS if k in r},
    }


def _harness(prepared: Any, meta: Meta):
    """(float windows -> the firmware's inputs, board outputs -> class per window) of a model:
    int8 quantization and argmax for a .tflite, spike features over time steps for a spiking .nir."""
    from edgeneuro.ir.quant import quantize_input

    if meta.family == "snn":
        from edgeneuro.models import snn

        return (lambda x: snn.features(x, meta.pool)), snn.decide
    t = prepared.graph.t(prepared.graph.inputs[0])

    def inputs(x: np.ndarray) -> np.ndarray:
        return quantize_input(x, t.scale, t.zero_point) if t.dtype == "int8" else x.astype(np.float32)

    return inputs, (lambda y: y.reshape(len(y), -1).argmax(1))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def evaluate_on_board(
    model: Path,
    data: Path,
    board_name: str,
    subjects: tuple[str, ...] = (),
    *,
    workers: int | None = None,
    address: str | None = None,
    backend: str = "auto",
    sparse: str = "auto",
    timeout: float = 600.0,
) -> dict[str, Any]:
    """Scores of ``model`` (a .tflite or snn-family .nir with meta.json beside it) computed on
    ``board_name``'s simulator over the recordings of ``subjects`` (default: the model's test
    subjects), one recording per work item; ``workers``/``address``/``backend`` as scale.run."""
    model = Path(model)
    if model.suffix.lower() not in (".tflite", ".nir"):
        raise InputError(f"{model}: the board runs compiled models; give the .tflite from `edgeneuro compress` "
                         "(or an snn model.nir)")  # fmt: skip
    if not model.is_file():
        raise InputError(f"{model}: no such model")
    meta = Meta.load(model)
    board = boards.load(board_name)
    board.require_qemu()
    how = scale.choose(workers, address, backend)
    chosen = set(subjects or meta.test_subjects)
    picked = [i for i in discover(data) if i.subject in chosen]
    if not picked:
        raise InputError(f"{data}: no recordings of subject(s) {', '.join(sorted(chosen))}")
    prov = provenance(model)
    created = prov.pop("created")
    workdir = tempfile.mkdtemp(prefix="edgeneuro-eval-")
    shards = [Shard(str(model.resolve()), prov["model_sha256"], board.name, sparse, item, timeout, workdir)
              for item in picked]  # fmt: skip
    start = time.monotonic()
    results: list[dict[str, Any] | None] = [None] * len(shards)
    from edgeneuro import progress

    try:
        with progress.bar(f"recordings on {board.name}", len(shards), "recordings") as bar:
            for o in scale.run(run_recording, shards, workers=workers, address=address, backend=backend):
                if o.error is not None:
                    raise ToolError(f"{picked[o.index].edf}: on {board.name}: {o.error}")
                results[o.index] = o.value
                bar.update(1)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        for key in [k for k in _BUILT if k[3] == workdir]:
            del _BUILT[key]
    seconds = time.monotonic() - start
    done: list[dict[str, Any]] = [r for r in results if r is not None]
    merged = iter(done)

    def on_the_board(x: np.ndarray) -> np.ndarray:  # the recordings come back in the order evaluate asks
        pred = np.asarray(next(merged)["predictions"])
        assert len(pred) == len(x), (len(pred), len(x))
        return pred

    scores = evaluate(on_the_board, picked, meta, eeg=True)
    windows = scores["window"]["windows"]
    equal, compared = sum(r["outputs_equal"] for r in done), sum(r["outputs_compared"] for r in done)
    return {
        "model": str(model),
        **prov,
        "runtime": f"{board.name} ({board.core}, QEMU)",
        "subjects": sorted(chosen),
        "on_board": {
            "board": board.name,
            "simulator": "qemu",
            "sparse": sparse,
            "windows": windows,
            "outputs_equal_reference": equal,
            "outputs_compared": compared,
            "reference": "edgeneuro reference kernels" + (" (fixed point)" if meta.family == "snn" else ""),
            "instructions": max(r["instructions"] for r in done),
            "instructions_mean": sum(r["instructions_mean"] * len(r["predictions"]) for r in done) / windows,
            "stack_used_bytes": max(r["stack_used_bytes"] for r in done),
            **done[0]["build"],
        },
        **scores,
        "timing": {
            "created": created,
            "seconds": round(seconds, 3),
            "windows_per_second": round(windows / seconds, 2) if seconds else None,
            "workers": workers or 1,
            "backend": how,
        },  # fmt: skip
    }
