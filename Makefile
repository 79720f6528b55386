# hipsense: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STUBS := .mpy-stubs
STAMP := $(VENV)/.installed

.PHONY: install test check lint typecheck demo bench heldout bench-heldout hardware clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -rf $(STAMP) $(STUBS)
	$(BIN)/python -m pip install --quiet --no-deps --target $(STUBS) micropython-esp32-stubs micropython-stdlib-stubs
	cp stubs/bluetooth.pyi $(STUBS)/bluetooth.pyi
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check host firmware tests benchmarks

typecheck: $(STAMP)
	$(BIN)/pyright
	$(BIN)/pyright -p firmware

check: lint typecheck

# pytest on two workers, one test file per worker at a time (--dist loadfile: a file's tests
# run in order in one process, its module fixtures built once), the longest files first
# (tests/conftest.py LONGEST_FILES); `pytest` alone runs serially.
test: check
	$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder

# The main job: a simulated walk with a right-side Trendelenburg pattern on the virtual board,
# streamed live through the BLE path; ends with the summary and the report's path.
demo: $(STAMP)
	$(BIN)/hipsense walk --virtual --scenario walk-right-trendelenburg --seconds 30 \
		--out recordings/demo.parquet --overwrite

hardware:
	$(PYTHON) hardware/enclosure/render.py --out hardware/stl

# Speed, memory and accuracy figures (docs/benchmarks.md); needs ../shared/benchmarks for some.
bench: $(STAMP)
	for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# Held-out real walking: mobgap's lab participant MS_001 (first held out; the settings chosen
# since are chosen on it too, and gait_lopo.py gives its figures with the grid-chosen settings
# chosen without it; docs/validation.md), converted by mobgap's own loader into HELDOUT, and mobgap's algorithms scored
# like ours. mobgap lives in
# its own venv (about 800 MB with numba and scikit-learn), so this is not part of `make test`;
# tests/test_gait_real.py uses the data when it is there (docs/validation.md).
MOBGAP_VENV := .venv-mobgap
HELDOUT ?= $(HOME)/.cache/hipsense/gait-heldout

$(MOBGAP_VENV)/.installed:
	test -x $(MOBGAP_VENV)/bin/python || $(PYTHON) -m venv $(MOBGAP_VENV)
	$(MOBGAP_VENV)/bin/python -m pip install --quiet mobgap==1.2.0
	touch $@

heldout: $(MOBGAP_VENV)/.installed
	$(MOBGAP_VENV)/bin/python benchmarks/reference/fetch_mobgap_lab.py --out $(HELDOUT)

bench-heldout: heldout $(STAMP)
	$(BIN)/python benchmarks/gait_accuracy.py $(HELDOUT)
	nice $(BIN)/python benchmarks/gait_lopo.py $(HELDOUT)
	$(MOBGAP_VENV)/bin/python benchmarks/reference/mobgap_baseline.py $(HELDOUT)

clean:
	rm -rf $(VENV) $(MOBGAP_VENV) $(STUBS) .pytest_cache .ruff_cache .hypothesis
