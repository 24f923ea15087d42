"""TensorFlow Lite Micro + CMSIS-NN measured on QEMU mps2-an386 (shared/baselines, beside the
repository): whole models and per operator. Read here once for the two that need them:
bench/compare_tflm.py, which measures edgeneuro against them, and the report page, which shows
them beside a profiled run of the same model. Where shared/ is not there (an installed wheel),
there are no baselines and the page shows edgeneuro's figures alone."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
BASE = SHARED / "baselines"
BOARD = "mps2-an386"  # the board the baselines were measured on
FILES = (("tflm_cmsis_nn_mps2_an386.json", "mlperf_tiny"), ("tflm_cmsis_nn_mps2_an386_seizure.json", "seizure"))


def baselines() -> dict[str, dict]:
    """Per model key (kws, ad, seizure_lstm, ...): the baseline file's entry (TFLM's counts under
    cmsis_nn, cmsis_nn_int8_only, reference_kernels) and the model's ``path`` under shared/models."""
    models = {}
    for name, folder in FILES:
        if (BASE / name).is_file():
            for key, m in json.loads((BASE / name).read_text())["models"].items():
                models[key] = {**m, "path": SHARED / "models" / folder / m["file"]}
    return models


def per_layer_baseline() -> dict[str, dict[int, dict]]:
    """TFLM + CMSIS-NN per operator, by the operator's index in the model file, from the per-layer
    tables (``*_per_layer.md``)."""
    layers: dict[str, dict[int, dict]] = {}
    for md in sorted(BASE.glob("*_per_layer.md")):
        key = None
        for line in md.read_text().splitlines():
            head = re.match(r"## (\w+) ", line)
            if head:
                key = head.group(1)
                layers.setdefault(key, {})
                continue
            row = re.match(r"\| (\d+) \| (\w+) \| ([\d,]+) \| ([\d,]+) \|", line)
            if key and row:
                layers[key][int(row.group(1))] = {"op": row.group(2), "macs": int(row.group(3).replace(",", "")),
                                                  "instructions": int(row.group(4).replace(",", ""))}  # fmt: skip
    return layers


def cmsis_worst(m: dict) -> int:
    """TFLM + CMSIS-NN's count for a model: the worst over its stored inputs where there are several."""
    cm = m["cmsis_nn"]
    return max(cm.get("instructions_all") or [cm["instructions"]])


@functools.cache
def _by_sha256() -> dict[str, str]:
    return {hashlib.sha256(m["path"].read_bytes()).hexdigest(): key
            for key, m in baselines().items() if m["path"].is_file()}  # fmt: skip


def for_model(sha256: str | None, board: str) -> tuple[str, dict, dict[int, dict]] | None:
    """The baseline of the model whose file has this SHA-256, run on ``board``: (key, whole-model
    entry, per-operator counts), or None. Matched by content, not by name, so a renamed copy of an
    MLPerf model finds its baseline and another model of the same name does not; on any other
    board than the baselines' the counts do not compare, and there is none."""
    key = _by_sha256().get(sha256 or "") if board == BOARD else None
    if key is None:
        return None
    return key, baselines()[key], per_layer_baseline().get(key, {})
