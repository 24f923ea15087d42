# The two commands of the README: `make demo` (set up, then the end-to-end job) and `make test`
# (set up, then lint and the whole test suite). Both install what is missing first.
.PHONY: setup demo test test-fast lint

setup:
	./scripts/setup.sh

demo: setup
	.venv/bin/edgeneuro demo --out out/demo

lint: setup
	.venv/bin/ruff check edgeneuro tests bench
	.venv/bin/ruff format --check edgeneuro tests bench

test: lint
	.venv/bin/pytest -q -n auto

# The quick loop while developing: no QEMU, no TensorFlow training.
test-fast: setup
	.venv/bin/pytest -q -n auto -m "not sim and not slow"
