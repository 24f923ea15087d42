"""The package's layering: the compiler side imports neither TensorFlow nor training, compression or
the model zoo; data and metrics import neither training nor the compiler. Each import runs in a fresh
interpreter, since this test process may already have TensorFlow loaded."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _imported(imports: str, watched: tuple[str, ...]) -> list[str]:
    """Which of ``watched`` are in ``sys.modules`` after ``import <imports>`` in a fresh interpreter."""
    code = f"import sys, {imports}; print(' '.join(m for m in {watched!r} if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


@pytest.mark.parametrize(
    "imports, forbidden",
    [
        (
            "edgeneuro.frontends, edgeneuro.compiler, edgeneuro.passes, edgeneuro.ops, edgeneuro.codegen",
            ("tensorflow", "tf_keras", "edgeneuro.train", "edgeneuro.compress", "edgeneuro.models"),
        ),
        ("edgeneuro.data, edgeneuro.metrics", ("edgeneuro.train", "edgeneuro.compiler", "edgeneuro.frontends")),
        (  # running and streaming need neither training nor compression
            "edgeneuro.runner, edgeneuro.inspect, edgeneuro.stream.command, edgeneuro.options, edgeneuro.cli",
            ("tensorflow", "edgeneuro.train", "edgeneuro.compress", "edgeneuro.models"),
        ),
    ],
)
def test_imports_stay_in_their_layer(imports, forbidden):
    assert _imported(imports, forbidden) == []


def test_data_and_metrics_modules_stay_in_their_layer():
    """Every module of data and metrics, not only the packages' __init__."""
    imports = ("edgeneuro.data.dataset, edgeneuro.data.meta, edgeneuro.metrics.seizures, edgeneuro.metrics.events, "
               "edgeneuro.evaluate")  # fmt: skip
    forbidden = ("tensorflow", "tf_keras", "edgeneuro.train", "edgeneuro.compiler", "edgeneuro.frontends",
                 "edgeneuro.compress", "edgeneuro.models")  # fmt: skip
    assert _imported(imports, forbidden) == []
