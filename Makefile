# Set-up and the project's two jobs. `make demo` and `make test` each create the virtual
# environment on a fresh machine first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Installed before the package so that its `torch>=2.4` is already satisfied. Where pip finds
# a local CPU wheel (as on the machine the benchmarks ran on), this is the small CPU build; from
# the public index alone it is the multi-GB CUDA build, also on a CPU-only machine: there, put
# the CPU build into .venv first and run `make TORCH=` (docs/install.md, "From a checkout").
# On a GPU machine use `make TORCH=torch` (the newest CUDA build) or `make TORCH=` to keep
# whatever torch the environment already has.
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.installed-stamp
# sed_eval, the reference the multi-label event metrics are tested against, goes into a folder
# of its own that tests/test_metrics.py puts on sys.path, without its dependencies: those pull
# librosa and audio libraries the metrics never use, and dcase_util installs a top-level
# `tests` package that would shadow ours in site-packages. Its pkg_resources import needs the
# setuptools before 81; six and future are what it imports besides.
SED_EVAL := $(VENV)/sed_eval

.PHONY: demo test lint docs clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	if [ -n "$(TORCH)" ]; then $(BIN)/python -m pip install -q "$(TORCH)"; fi
	$(BIN)/python -m pip install -q -e ".[test,docs]"
	$(BIN)/python -m pip install -q --no-deps --upgrade --target $(SED_EVAL) "sed_eval==0.2.1" \
		"dcase_util==0.2.20" "six>=1.10" "future>=0.16" "setuptools<81"
	rm -rf $(SED_EVAL)/tests
	touch $@

## Run the demo: label real sensor recordings with every labeler (ARGS="--quick" to try).
demo: $(STAMP)
	$(BIN)/python -m sk_seqlabel demo $(ARGS)

# What an AVX2-only CPU (no AVX-512, no AMX, no native bf16) runs, emulated on any x86 CPU:
# oneDNN, MKL and ATen's own kernels each capped before torch is imported.
AVX2_ONLY := ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 ATEN_CPU_CAPABILITY=avx2
# The tests whose code paths depend on the CPU kind: precision, oneDNN LSTMs and convolutions.
CPU_KIND_TESTS := tests/test_labelers.py tests/test_invariance.py tests/modules \
	tests/test_device_policy.py tests/test_long_sequences.py tests/test_streaming.py

.PHONY: test-avx2

## Lint, then the test suite (tests, doctests, README and docs examples, docs build), then the
## CPU-dependent tests again as an AVX2-only CPU runs them.
test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-avx2

test-avx2: $(STAMP)
	$(AVX2_ONLY) $(BIN)/python -m pytest $(PYTEST_ARGS) $(CPU_KIND_TESTS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Build the HTML docs into site/.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) site demo_output
