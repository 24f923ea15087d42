"""The run stage: compile, build, run on the board's simulator (or the host), decode the outputs,
and measure latency and memory."""

from __future__ import annotations

import hashlib
import statistics
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeneuro import build, progress
from edgeneuro.boards import Board
from edgeneuro.compiler import Compiled, Prepared, compile_model
from edgeneuro.errors import InputError
from edgeneuro.files import by_input, load_npz, provenance
from edgeneuro.ir import Graph
from edgeneuro.targets import host, qemu, qemu_plugin, records


@dataclass(frozen=True)
class Result:
    outputs: dict[str, np.ndarray]  # per model output: [N, *output sample_shape]
    report: dict[str, Any]

    @property
    def output(self) -> np.ndarray:
        """The only output of a single-output model."""
        (y,) = self.outputs.values()
        return y


def read_npy(path: Path, graph: Graph) -> np.ndarray:
    """The array of an input .npy for ``graph``'s single input, or a clear error."""
    path = Path(path)
    if len(graph.inputs) != 1:
        names = ", ".join(f"'{n}'" for n in graph.inputs)
        raise InputError(f"{path}: the model has {len(graph.inputs)} inputs ({names}); give them as one .npz "
                         "keyed by input name or index (numpy.savez(path, **{name: array}))")  # fmt: skip
    if not path.is_file():
        raise InputError(f"{path}: no such input file")
    try:
        return np.load(path, allow_pickle=False)
    except Exception as e:
        raise InputError(f"{path}: not a .npy array ({e})") from e


def read_npz(path: Path, graph: Graph) -> dict[str, np.ndarray]:
    """The arrays of an input .npz, one per graph input, keyed by input name or by index ("0",
    "1", ...), returned by input name; a missing or unknown key is a clear error."""
    return by_input(load_npz(path, str(path)), graph.inputs, str(path))


def load_inputs(path: Path, graph: Graph) -> np.ndarray:
    """The samples of IN.npy (a model with one input) or IN.npz (any model: one array per input,
    keyed by input name or index), checked as ``check_inputs`` does."""
    path = Path(path)
    if path.suffix.lower() == ".npz":
        return check_inputs(read_npz(path, graph), graph, path)
    return check_inputs(read_npy(path, graph), graph, path)


def input_records(graph: Graph) -> np.dtype:
    """The dtype of one sample of a model with several inputs: a structured record with one field
    per input, in the graph's order and packed, so a record's bytes are what the harness reads."""
    return np.dtype([(n, np.dtype(graph.t(n).dtype), tuple(graph.t(n).sample_shape)) for n in graph.inputs])


def check_inputs(x: np.ndarray | dict[str, np.ndarray], graph: Graph, path: Path | str = "the inputs") -> np.ndarray:
    """The samples as the harness takes them, or a clear error naming ``path``. One input: an array
    [N, *input shape without its batch axis] ([N, *whole input shape] when that axis is not 1;
    [N, T, ...] for a temporal graph) of the input's dtype. Several inputs: such an array per input
    (a dict by name, or ``input_records`` records), all with the same N, returned as records."""
    if isinstance(x, dict) or x.dtype.names is not None:
        arrays = x if isinstance(x, dict) else {n: x[n] for n in x.dtype.names}
        if set(arrays) != set(graph.inputs):
            raise InputError(f"{path}: arrays for {sorted(arrays)} but the model's inputs are {list(graph.inputs)}")
        checked = {n: _check_input(np.asarray(arrays[n]), graph, n, path) for n in graph.inputs}
        counts = {n: a.shape[: 2 if graph.temporal else 1] for n, a in checked.items()}
        if len(set(counts.values())) > 1:
            raise InputError(f"{path}: the inputs hold different numbers of samples: "
                             f"{', '.join(f'{n!r} {list(c)}' for n, c in counts.items())}")  # fmt: skip
        if len(graph.inputs) == 1:
            return checked[graph.inputs[0]]
        lead = next(iter(counts.values()))
        rec = np.empty(lead, input_records(graph))
        for n, a in checked.items():
            rec[n] = a
        return rec
    if len(graph.inputs) != 1:
        raise InputError(f"{path}: one array for a model with {len(graph.inputs)} inputs; give one per input")
    return _check_input(np.asarray(x), graph, graph.inputs[0], path)


def _check_input(x: np.ndarray, graph: Graph, name: str, path: Path | str) -> np.ndarray:
    t = graph.t(name)
    want = tuple(t.sample_shape)
    lead, what = (2, "N, T, ") if graph.temporal else (1, "N, ")  # a spiking network: N samples of T steps
    if x.ndim != len(want) + lead or tuple(x.shape[lead:]) != want or (graph.temporal and x.shape[1] == 0):
        raise InputError(
            f"{path}: shape {list(x.shape)} does not match the model input '{t.name}': expected [{what}"
            f"{', '.join(map(str, want))}] (N samples{' of T time steps' if graph.temporal else ''} of shape "
            f"{list(want)})"
        )
    if x.dtype != np.dtype(t.dtype):
        hint = ""
        if t.quant is not None and x.dtype.kind == "f":
            hint = f"; quantize it first: q = round(x / {t.scale:g}) + {t.zero_point}, clipped to {t.dtype}"
        raise InputError(f"{path}: dtype {x.dtype} but the model input '{t.name}' is {t.dtype}{hint}")
    if x.shape[0] == 0:
        raise InputError(f"{path}: holds no samples")
    return np.ascontiguousarray(x)


def parse_feedback(specs: Sequence[str], graph: Graph) -> tuple[tuple[int, int, int], ...]:
    """``--feedback OUT=IN`` (names or indices): recurrent state the application carries between
    calls. Returns (output index, input index, bytes) per pair; the output and the input must hold
    the same bytes with the same meaning (dtype, shape and quantization), since the harness copies
    them (a model whose state output is quantized differently from its state input needs the
    application to requantize, which a byte copy would silently skip)."""
    pairs: list[tuple[int, int, int]] = []
    for spec in specs:
        out, sep, inp = spec.partition("=")
        if not sep or not out or not inp:
            raise InputError(f"--feedback {spec!r}: give OUTPUT=INPUT (names or indices)")
        o = _index(out, graph.outputs, "output", spec)
        i = _index(inp, graph.inputs, "input", spec)
        y, x = graph.t(graph.outputs[o]), graph.t(graph.inputs[i])
        if graph.temporal:
            raise InputError(f"--feedback {spec!r}: {graph.source} keeps its own state between time steps")
        if any(i == j for _, j, _ in pairs):
            raise InputError(f"--feedback {spec!r}: input '{x.name}' is fed back twice")
        if (y.dtype, tuple(y.sample_shape)) != (x.dtype, tuple(x.sample_shape)):
            raise InputError(f"--feedback {spec!r}: output '{y.name}' is {y.dtype} {list(y.sample_shape)} but input "
                             f"'{x.name}' is {x.dtype} {list(x.sample_shape)}")  # fmt: skip
        if (y.quant is None) != (x.quant is None) or (
            y.quant is not None and (y.quant.scale, y.quant.zero_point) != (x.quant.scale, x.quant.zero_point)
        ):
            q = lambda t: "not quantized" if t.quant is None else f"scale {t.scale:g}, zero point {t.zero_point}"  # noqa: E731
            raise InputError(f"--feedback {spec!r}: output '{y.name}' ({q(y)}) and input '{x.name}' ({q(x)}) are "
                             "quantized differently, so copying the bytes would change the values; requantize in "
                             "the application, or give the model the same quantization on both")  # fmt: skip
        pairs.append((o, i, y.nbytes))
    return tuple(pairs)


def _index(key: str, names: tuple[str, ...], role: str, spec: str) -> int:
    if key in names:
        return names.index(key)
    if key.isdigit() and int(key) < len(names):
        return int(key)
    raise InputError(f"--feedback {spec!r}: no model {role} {key!r}; the {role}s are "
                     f"{', '.join(f'{i}: {n!r}' for i, n in enumerate(names))}")  # fmt: skip


def encode_inputs(graph: Graph, x: np.ndarray) -> bytes:
    """input.bin for the harness: the samples back to back; for a temporal graph each sample
    [T, ...] is preceded by T (uint32 LE), and the harness resets the state before it."""
    if not graph.temporal:
        return x.tobytes()
    return b"".join(struct.pack("<I", len(s)) + s.tobytes() for s in x)


def _decode(c: Compiled, raw: bytes, n: int, profile: bool = False, trailer: bool = False, steps: int = 0):
    """The outputs per model output, and the raw records (ticks, layer ticks, stack). A temporal
    graph's ``n`` samples of ``steps`` steps give n * steps records, returned as [n, steps, ...]."""
    ys = [c.graph.t(name) for name in c.graph.outputs]
    if steps:
        arrays, rec = _decode(c, raw, n * steps, profile, trailer)
        return {k: v.reshape(n, steps, *v.shape[1:]) for k, v in arrays.items()}, rec
    rec = records.split(raw, sum(y.nbytes for y in ys), n, len(c.kernels) if profile else 0, trailer)
    arrays: dict[str, np.ndarray] = {}
    start = 0
    for y in ys:
        arrays[y.name] = np.stack(
            [np.frombuffer(o[start : start + y.nbytes], np.dtype(y.dtype)).reshape(y.sample_shape) for o in rec.outputs]
        )
        start += y.nbytes
    return arrays, rec


def run_on_host(c: Compiled, x: np.ndarray, feedback: Sequence[tuple[int, int, int]] = ()) -> dict[str, np.ndarray]:
    """The generated C built for the host, over the samples ``x`` (``feedback``: parse_feedback)."""
    exe = build.build_host(c.out_dir, feedback=feedback)
    res = host.run(exe, encode_inputs(c.graph, x))
    return _decode(c, res.records, len(x), steps=x.shape[1] if c.graph.temporal else 0)[0]


def random_inputs(graph: Graph, n: int, seed: int = 0, steps: int = 3) -> np.ndarray:
    """``n`` samples as ``check_inputs`` returns them (``steps`` time steps each for a temporal
    graph), drawn with ``seed``: integers over the whole range of their type (what a hostile or
    broken sensor may send), floats standard normal, spread over the input's quantized range
    where it has one (a float input quantized by the model's first operator)."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for name in graph.inputs:
        t = graph.t(name)
        shape = (n, *((steps,) if graph.temporal else ()), *t.sample_shape)
        dt = np.dtype(t.dtype)
        if dt.kind == "b":
            arrays[name] = rng.integers(0, 2, shape).astype(dt)
        elif dt.kind in "iu":
            info = np.iinfo(dt)
            arrays[name] = rng.integers(info.min, info.max, shape, dtype=dt, endpoint=True)
        else:
            spread = 128 * float(np.max(t.quant.scale)) if t.quant is not None else 1.0
            arrays[name] = (rng.standard_normal(shape) * spread).astype(dt)
    return check_inputs(arrays, graph, "the random inputs")


@dataclass(frozen=True)
class HostCheck:
    """What ``check_on_host`` found: the generated C built clean and ran clean on ``samples``
    samples in both layouts; ``bit_exact``: its outputs equal the numpy reference's byte for byte
    (``max_abs_diff`` otherwise: float arithmetic may round otherwise in C)."""

    samples: int
    bit_exact: bool
    max_abs_diff: float

    def to_json(self) -> dict[str, Any]:
        return {"samples": self.samples, "bit_exact": self.bit_exact, "max_abs_diff": self.max_abs_diff}


def check_on_host(c: Compiled, x: np.ndarray | None = None, seed: int = 0) -> HostCheck:
    """Build the generated C of ``c`` for this machine with the checks (host.CHECK_FLAGS: warnings
    as errors, ASan, UBSan; the arena layout and the host debug layout, ``build.build_host``), run
    it on two samples of ``x`` (default: ``random_inputs``) and compare with the numpy reference.
    A warning, a sanitizer report, or layouts that disagree raise ToolError; so does an output
    that differs from the reference in a model without float tensors, whose integer arithmetic
    the C must reproduce exactly."""
    import tempfile

    from edgeneuro import reference
    from edgeneuro.errors import ToolError

    g = c.graph
    x = random_inputs(g, 2, seed) if x is None else check_inputs(x, g)[:2]
    key = hashlib.sha256(x.tobytes() + b"".join(p.read_bytes() for p in _c_sources(c.out_dir))).digest()
    if key in _CHECKED:  # the same C on the same inputs (a test compiling one model again)
        return _CHECKED[key]
    with tempfile.TemporaryDirectory(prefix="edgeneuro-check-") as d:
        exe = build.build_host(c.out_dir, Path(d) / "model_host_checked", checks=True)
        res = host.run(exe, encode_inputs(g, x))
    got = _decode(c, res.records, len(x), steps=x.shape[1] if g.temporal else 0)[0]
    if g.temporal:
        per_sample = [reference.run_steps(g, c.kernels, s) for s in x]
        want = {n: np.stack([ys[i] for ys in per_sample]) for i, n in enumerate(g.outputs)}
    else:
        want = reference.run_sequence(g, c.kernels, x)
    exact = all(got[n].tobytes() == np.asarray(want[n], got[n].dtype).tobytes() for n in g.outputs)
    diff = 0.0 if exact else max(float(np.max(np.abs(got[n].astype(np.float64) - want[n]))) for n in g.outputs)
    integer = not any(t.dtype.startswith("float") for t in g.tensors.values())
    if not exact and integer:
        raise ToolError(f"{g.source}: the generated C built for the host differs from the numpy reference (largest "
                        f"difference {diff:g}) on random inputs (seed {seed}); please report it")  # fmt: skip
    _CHECKED[key] = HostCheck(len(x), exact, diff)
    return _CHECKED[key]


_CHECKED: dict[bytes, HostCheck] = {}


def _c_sources(folder: Path) -> list[Path]:
    return sorted(p for p in [*folder.glob("*.[ch]"), *folder.glob("kernels/*.[ch]")] if p.name != "board.h")


@dataclass(frozen=True)
class Firmware:
    """A prepared model rendered and built for a board's simulator (the semihosting harness)."""

    compiled: Compiled
    elf: Path
    sizes: build.Sizes
    profile: bool
    feedback: tuple[tuple[int, int, int], ...] = ()  # (output, input, bytes): see parse_feedback


def build_for(
    prepared: Prepared,
    board: Board,
    build_dir: Path,
    profile: bool = False,
    feedback: Sequence[tuple[int, int, int]] = (),
) -> Firmware:
    """Render ``prepared`` for ``board`` into ``build_dir`` and build its firmware (``profile``:
    with a timer read between layers; ``feedback``: outputs carried into inputs, parse_feedback)."""
    board.require_qemu()  # before any work: a board without a QEMU machine cannot run here
    c = compile_model(prepared, board, build_dir)
    elf = build.build_firmware(c.out_dir, board, profile=profile, feedback=feedback)
    return Firmware(c, elf, build.elf_sizes(elf), profile, tuple(feedback))


def run_on_board(
    prepared: Prepared,
    board: Board,
    inputs: Path,
    build_dir: Path,
    profile: bool = False,
    cycles: bool | None = False,
    feedback: Sequence[str] = (),
) -> Result:
    """Compile, build and run a prepared model on ``board``'s simulator over the samples of the
    .npy/.npz ``inputs``; ``profile`` adds each layer's instructions to the report, ``cycles`` the
    estimated cycles (see run_firmware); ``feedback`` ("OUT=IN") runs the samples as one sequence
    with those outputs fed back into those inputs (parse_feedback)."""
    board.require_qemu()
    x = load_inputs(inputs, prepared.graph)
    pairs = parse_feedback(feedback, prepared.graph)
    return run_firmware(build_for(prepared, board, build_dir, profile, pairs), x, cycles=cycles)


def run_firmware(fw: Firmware, x: np.ndarray, cycles: bool | None = False, timeout: float = 600.0) -> Result:
    """Run built firmware over the samples ``x`` (as ``load_inputs`` gives them) on its board's
    simulator: the outputs, and the report of what the chip did (instructions, memory). ``cycles``
    (True: required; None: whenever the QEMU plugin can be built, as `edgeneuro run` does; False)
    adds the estimated cycles of each inference, and est_latency_ms then comes from them.
    ``timeout``: seconds before QEMU is stopped and the firmware reported as hanging."""
    c, elf, sizes, profile = fw.compiled, fw.elf, fw.sizes, fw.profile
    board, prepared = c.board, c.prepared
    x = check_inputs(x, c.graph)
    with_cycles, no_cycles_why = qemu_plugin.wanted(cycles)
    steps = x.shape[1] if c.graph.temporal else 0
    # output.bin holds one record per inference (a spiking network: per time step), see records.py
    layers = len(c.kernels) if profile else 0
    record = sum(c.graph.t(n).nbytes for n in c.graph.outputs) + records.TICKS.size * (1 + layers)
    per_sample = record * max(1, steps)
    with progress.bar(f"{board.name} (QEMU)", len(x), "samples" if steps else "windows") as bar:
        watch = (lambda size: bar.update(completed=min(len(x), size // per_sample))) if bar.shown else None
        res = qemu.run(board, elf, encode_inputs(c.graph, x), timeout=timeout, cycles=with_cycles, watch=watch)
        bar.update(completed=len(x))
    y, rec = _decode(c, res.records, len(x), profile=profile, trailer=True, steps=steps)
    ticks = rec.ticks
    per_tick = board.instructions_per_tick
    instr = [round(t * per_tick) for t in ticks]
    worst = max(instr)
    macs = c.plan.total_macs
    report: dict[str, Any] = {
        "board": board.name,
        "model": str(prepared.model or prepared.graph.source),
        **provenance(prepared.model),
        "simulator": "qemu",
        "inferences": len(x),
        "inputs": list(c.graph.inputs),
        "outputs": list(c.graph.outputs),
        "instructions": worst,
        "instructions_min": min(instr),
        "instructions_mean": statistics.fmean(instr),
        "instructions_resolution": per_tick,
        "instructions_per_mac": round(worst / macs, 3) if macs else None,
        "est_latency_ms": round(worst / board.clock_hz * 1e3, 4),
        "est_latency_note": f"instructions / {board.clock_hz / 1e6:g} MHz, assuming one instruction per cycle",
        "macs": macs,
        **sizes.to_json(),
        "flash_weights_bytes": c.plan.weights_bytes,
        "flash_code_bytes": sizes.flash - c.plan.weights_bytes,
        "static_ram_bytes": sizes.data + sizes.bss,
        "stack_used_bytes": rec.stack_used,
        "stack_reserved_bytes": rec.stack_size,
        "arena_bytes": c.plan.arena_bytes,
        "arena_lower_bound_bytes": c.plan.lower_bound_bytes,
        "weights_bytes": c.plan.weights_bytes,
        # the plan.json of the build: each buffer's offset and lifetime (the report page's arena map)
        "plan": c.plan.to_json(),
        "elf": str(elf),
    }
    if fw.feedback:
        report["feedback"] = [f"{c.graph.outputs[o]}={c.graph.inputs[i]}" for o, i, _ in fw.feedback]
    if steps:  # a spiking network: one inference is one time step
        per_sample = [sum(instr[i * steps : (i + 1) * steps]) for i in range(len(x))]
        report.update(
            inferences=len(x) * steps,
            samples=len(x),
            time_steps=steps,
            instructions_per_step=worst,
            instructions_per_step_mean=statistics.fmean(instr),
            instructions_per_sample=max(per_sample),
            instructions_per_sample_mean=statistics.fmean(per_sample),
            state_bytes=c.plan.state_bytes,
        )
        report["static_ram_note"] = "the arena and the persistent state are both in .bss"
    if res.calls is not None:  # estimated cycles: est_latency_ms and its note come from them
        report.update(qemu_plugin.report_fields(board.core, board.clock_hz, res.calls, len(instr), steps))
    elif no_cycles_why:
        report["cycle_model"] = {"unavailable": no_cycles_why}
    if profile:
        report["profile"] = _profile(c, rec.layer_ticks[instr.index(worst)], per_tick)
    return Result(outputs=y, report=report)


def _profile(c: Compiled, layer_ticks: list[int], per_tick: float) -> list[dict[str, Any]]:
    """Each layer's instructions in the worst inference (timer reads between layers; a view takes
    none), with the plan's MACs and weights."""
    total = sum(layer_ticks) or 1
    return [
        {
            "step": layer["step"],
            "op": layer["op"],
            "source_index": layer["source_index"],  # the operator's index in the model file
            "kernel": layer["kernel"],
            "instructions": round(t * per_tick),
            "share": round(t / total, 4),
            "macs": layer["macs"],
            "weights_bytes": layer["weights_bytes"],
        }
        for layer, t in zip(c.plan.layers, layer_ticks, strict=True)
    ]
