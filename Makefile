# Reform Atlas — two entry points: `make run` (main job + app) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out

.PHONY: run job app test lint bench clean

$(BIN)/reform-atlas: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# an editable install leaves the project uncompiled (and PYTHONDONTWRITEBYTECODE
	# may forbid caching later): compile once, as pip does for regular installs
	$(BIN)/python -m compileall -q geo boundaries inputs analysis report webapp cli
	touch $@

# Build, analyse and report on the embedded default (or $REFORM_ATLAS_DATA_DIR), then open the app.
run: job app

job: $(BIN)/reform-atlas
	$(BIN)/reform-atlas run --out $(OUT)

app: $(BIN)/reform-atlas
	$(BIN)/streamlit run app.py --server.headless true

# The whole test suite; the browser test needs Debian's chromium (installed here when possible).
test: $(BIN)/reform-atlas
	@command -v chromium >/dev/null 2>&1 || bash .ci/install-chromium || echo "chromium not installed: the browser test will be skipped"
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: $(BIN)/reform-atlas
	$(BIN)/python benchmarks/bench_pipeline.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache *.egg-info
