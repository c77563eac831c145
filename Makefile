# Set-up and the project's two jobs. `make demo` and `make test` each create the virtual
# environment on a fresh machine first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Installed before the package so that its `torch>=2.1` is already satisfied: on a CPU-only
# machine this is the small CPU build (pip finds it locally here), and pip does not go on to
# download a multi-GB CUDA build. On a GPU machine use `make TORCH=torch` (the newest CUDA
# build) or `make TORCH=` to keep whatever torch the environment already has.
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint docs clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	if [ -n "$(TORCH)" ]; then $(BIN)/python -m pip install -q "$(TORCH)"; fi
	$(BIN)/python -m pip install -q -e ".[test,docs]"
	touch $@

## Run the demo: label real sensor recordings with all three models (ARGS="--quick" to try).
demo: $(STAMP)
	$(BIN)/python -m sk_seqlabel demo $(ARGS)

## Lint, then the test suite (tests, doctests, README and docs examples, docs build).
test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Build the HTML docs into site/.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) site demo_output
