# digitlab: two commands on a fresh machine —  `make demo` (set up + train the default model + open the lab at http://localhost:8000/)
# and `make test` (set up + run the whole test suite). Both create .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint docs bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# CPU build of PyTorch pinned here (the package only asks for torch>=2.4; a bare `torch` pulls the CUDA build)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/digitlab train --config default
	$(BIN)/digitlab serve  # the lab in a browser at http://localhost:8000/ (Ctrl-C stops)

test: lint
	@command -v node >/dev/null 2>&1 || { echo 'make test: Node.js 20 or later is needed for the web app tests (node --test tests/js/); install it (e.g. apt install nodejs) and run make test again.' >&2; exit 1; }
	node --test tests/js/
	$(BIN)/python -m pytest -q

# Static checks, each clean: lint and format (ruff), types (mypy on src/), the layer contract (import-linter).
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

docs: $(STAMP)
	$(BIN)/digitlab params --markdown > docs/params.md
	$(BIN)/digitlab params --markdown --lang zh > docs/params.zh.md

bench: $(STAMP)
	$(BIN)/python benchmarks/train_speed.py

clean:
	rm -rf $(VENV) build src/*.egg-info
