"""Which builtin operators the pinned TensorFlow Lite Micro can run, found by asking it: a
one-operator model per builtin code goes to its interpreter, and only an operator it has no kernel
for fails with "Didn't find op for builtin opcode" (any other failure is its Prepare refusing our
dummy operands, so it has the operator). Some Prepare functions crash on such operands, so the
probe runs in a child process that resumes after the operator it died on.

    .venv/bin/python tests/tflm_ops.py     # prints the list
"""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path

NOT_OPERATORS = {"CUSTOM", "DELEGATE", "PLACEHOLDER_FOR_GREATER_OP_CODES"}

_CHILD = """
import sys
sys.path.insert(0, {tests!r})
from tflite_builder import ModelBuilder
from tflite_micro.python.tflite_micro import runtime
for name in sys.argv[1:]:
    print("@@", name, file=sys.stderr, flush=True)  # TFLM logs to stderr, after this line
    b = ModelBuilder()
    x, y = b.tensor([1, 4], "float32"), b.tensor([1, 4], "float32")
    b.op(name, [x], [y])
    try:
        runtime.Interpreter.from_bytes(b.build([x], [y]), arena_size=1 << 16)
    except Exception:
        pass
"""


@cache
def tflm_builtin_ops() -> frozenset[str]:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as S

    names = sorted(k for k, v in vars(S.BuiltinOperator).items() if not k.startswith("_") and k not in NOT_OPERATORS)
    child = _CHILD.format(tests=str(Path(__file__).parent))
    found: set[str] = set()
    todo = names
    while todo:
        proc = subprocess.run([sys.executable, "-c", child, *todo], capture_output=True, text=True)
        log = proc.stderr.split("@@ ")[1:]  # one section per operator tried: its name, then TFLM's log
        found.update(sec.split()[0] for sec in log if "Didn't find op for builtin opcode" not in sec)
        if proc.returncode == 0:
            break
        todo = todo[len(log) :]  # the last one tried took the process down in its Prepare: it has a kernel
    return frozenset(found)


if __name__ == "__main__":
    print("\n".join(sorted(tflm_builtin_ops())))
