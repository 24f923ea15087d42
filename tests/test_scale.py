"""Past one process (edgeneuro/scale/): `eval --on-board` sharded over workers gives the same report
as one process, and `sweep` runs its trials on a local Ray (2 CPUs) or the process pool, stores
each finished trial once, resumes without redoing them, and records the trials that fail (raise,
time out, hang on QEMU, lose their worker process) without stopping."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from edgeneuro import scale
from edgeneuro.errors import InputError

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from edgeneuro.data.synthetic import write_dataset

    out = tmp_path_factory.mktemp("eeg")
    write_dataset(out, subjects=2, recordings=2, seconds=120, seed=3)  # chb02 (2 x 59 windows) is the test subject
    return out


@pytest.fixture(scope="module")
def model(data, tmp_path_factory):
    """A DNN trained for one epoch, pruned in the sparse kernel's 4x4 blocks and quantized to int8."""
    from edgeneuro.compress.compress import compress
    from edgeneuro.train import train

    out = tmp_path_factory.mktemp("dnn")
    train(data, "dnn", out, epochs=1, verbose=0)
    compress(out / "model.keras", out / "int8" / "model.tflite", prune_to=0.8, pattern="block:4x4", epochs=1)
    return out / "int8" / "model.tflite"


def _config(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _lines(out: Path) -> list[str]:
    return (out / "trials.jsonl").read_text().splitlines()


def test_backend_choice_without_ray(monkeypatch):
    monkeypatch.setattr(scale, "have_ray", lambda: False)
    assert scale.choose(None) == "inline" and scale.choose(2) == "process"
    with pytest.raises(InputError, match="needs Ray"):
        scale.choose(2, "auto")
    monkeypatch.setattr(scale, "have_ray", lambda: True)
    assert scale.choose(2) == "ray" and scale.choose(2, backend="process") == "process"


@pytest.mark.sim
@pytest.mark.slow
def test_eval_on_board_same_for_any_worker_count(local_ray, data, model):
    from edgeneuro.evaluate import evaluate_model
    from edgeneuro.scale.board_eval import evaluate_on_board

    runs = {w: evaluate_on_board(model, data, "mps2-an386", workers=w) for w in (None, 1, 2)}
    assert runs[None]["timing"]["backend"] == "inline" and runs[2]["timing"]["backend"] == "ray"
    assert runs[2]["timing"]["workers"] == 2
    same = {w: json.dumps({k: v for k, v in r.items() if k != "timing"}, indent=2) for w, r in runs.items()}
    assert same[1] == same[None] and same[2] == same[None]
    board = runs[2]["on_board"]
    assert board["windows"] == 118 and board["outputs_compared"] == 2 * 118
    assert board["outputs_equal_reference"] == board["outputs_compared"]
    assert board["instructions"] > 0 and board["flash_bytes"] > board["weights_bytes"] > 0
    host = evaluate_model(model, data)  # edgeneuro's reference kernels on the host, windows as today
    assert (runs[2]["event"], runs[2]["window"]) == (host["event"], host["window"])
    assert [r["predictions"] for r in runs[2]["recordings"]] == [r["predictions"] for r in host["recordings"]]


@pytest.mark.sim
@pytest.mark.slow
def test_sweep_on_ray_resumes_without_redoing_trials(local_ray, data, tmp_path):
    from edgeneuro.report import write_html
    from edgeneuro.scale.sweep import sweep, table

    grid = "grid:\n  family: dnn\n  epochs: [1, 2]\n  prune: [0.0, 0.8]\n  pattern: block:4x4\n"
    config = _config(tmp_path / "sweep.yaml", f"data: {data}\ntimeout: 600\n{grid}")
    out = tmp_path / "out"
    first = sweep(config, out, workers=2, max_trials=2)  # stopped after two trials
    assert first["counts"] == {"config": 4, "ran": 2, "ok": 2, "failed": 0, "not_run": 2}
    before = _lines(out)
    assert len(before) == 2
    r = sweep(config, out, workers=2)
    after = _lines(out)
    assert r["counts"] == {"config": 4, "ran": 2, "ok": 4, "failed": 0, "not_run": 0}
    assert after[:2] == before and len(after) == 4  # the first two trials' records, untouched: not run again
    assert len({json.loads(line)["key"] for line in after}) == 4
    assert sweep(config, out, workers=2)["counts"]["ran"] == 0 and _lines(out) == after
    for t in r["trials"]:
        assert t["outputs_equal_reference"] == t["outputs_compared"] > 0, t["key"]
        assert (out / "trials" / t["key"] / "eval.json").is_file()
    pruned = [t for t in r["trials"] if t["params"]["prune"] == 0.8]
    dense = [t for t in r["trials"] if t["params"]["prune"] == 0.0]
    assert all(p["flash_bytes"] < d["flash_bytes"] for p in pruned for d in dense)  # the sparse kernels' bytes
    assert r["pareto"] and set(r["pareto"]) <= {t["key"] for t in r["trials"]}
    assert set(r["pareto"]) & {t["key"] for t in pruned}  # fewer instructions, flash: a pruned trial is on the front
    text = table(r)
    assert text.count("\n*") + text.startswith("*") == len(r["pareto"])
    page = write_html(json.loads(json.dumps(r)), tmp_path / "sweep.html").read_text()
    assert "a design sweep" in page and "Pareto front" in page


@pytest.mark.sim
def test_sweep_records_failed_trials_and_goes_on(local_ray, data, model, tmp_path):
    from edgeneuro.scale.sweep import sweep

    grid = "grid:\n  sparse: [auto, off]\n  board: [mps2-an386, nrf52840-dk]\n"
    r = sweep(_config(tmp_path / "a.yaml", f"data: {data}\nmodel: {model}\n{grid}"), tmp_path / "a", workers=2)
    status = {(t["params"]["board"], t["params"]["sparse"]): t for t in r["trials"]}
    assert r["counts"]["ok"] == 2 and r["counts"]["failed"] == 2
    for sparse in ("auto", "off"):
        assert status["mps2-an386", sparse]["status"] == "ok"
        assert status["nrf52840-dk", sparse]["reason"].startswith("BoardError: board nrf52840-dk has no QEMU")
    # QEMU stopped by its time limit (the path of a firmware that hangs), and a trial past its own time
    hang = sweep(_config(tmp_path / "b.yaml", f"data: {data}\nmodel: {model}\nboard_timeout: 0.001\n"),
                 tmp_path / "b", workers=2)  # fmt: skip
    (t,) = hang["trials"]
    assert t["status"] == "failed" and "the firmware hangs" in t["reason"]
    config = f"data: {data}\nmodel: {model}\ntimeout: 0.2\ngrid:\n  sparse: [auto, off]\n"
    slow = sweep(_config(tmp_path / "c.yaml", config), tmp_path / "c", workers=2)
    assert [t["reason"] for t in slow["trials"]] == ["timed out after 0.2 s"] * 2
    assert len(_lines(tmp_path / "c")) == 2


@pytest.mark.sim
@pytest.mark.slow
def test_process_pool_loses_only_the_killed_workers_trials(data, tmp_path):
    """Without Ray: the standard library's pool. A worker process killed mid-trial breaks the pool;
    the trials in flight are recorded failed, the others run on a new pool, and --retry-failed
    runs just the failed ones again."""
    import psutil

    from edgeneuro.scale.sweep import sweep

    config = _config(tmp_path / "sweep.yaml", f"data: {data}\ngrid:\n  family: dnn\n  epochs: [1, 2]\n"
                     "  prune: [0.0, 0.5]\n")  # fmt: skip
    out = tmp_path / "out"
    killed = []

    def kill_one_worker() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            started = list((out / "trials").glob("*/float")) if (out / "trials").is_dir() else []
            workers = [p for p in psutil.Process().children(recursive=True)
                       if "spawn_main" in " ".join(p.cmdline())]  # fmt: skip
            if started and workers:
                workers[0].kill()
                killed.append(workers[0].pid)
            time.sleep(0.2)

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    r = sweep(config, out, workers=2, backend="process")
    killer.join()
    assert killed and r["timing"]["backend"] == "process"
    failed = [t for t in r["trials"] if t["status"] == "failed"]
    assert 1 <= len(failed) <= 2 and r["counts"]["ok"] == 4 - len(failed)
    assert all(t["reason"].startswith(scale.DIED) for t in failed)
    ok_lines = [line for line in _lines(out) if json.loads(line)["status"] == "ok"]
    again = sweep(config, out, workers=2, backend="process", retry_failed=True)
    assert again["counts"] == {"config": 4, "ran": len(failed), "ok": 4, "failed": 0, "not_run": 0}
    assert [line for line in _lines(out) if line in ok_lines] == ok_lines and len(_lines(out)) == 4 + len(failed)
    assert os.path.isfile(out / "trials.jsonl")
