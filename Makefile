# llvscan: `make demo` and `make test` are the two commands a new machine needs (see README).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.llvscan-installed
SAMPLE := sample_data/collection/collection.csv
VALIDATOR := tools/node_modules/.installed
DEMO_OUT ?= demo_out

.PHONY: demo test bench bench-baseline lint sample clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency list changes; the package itself is editable. Installing also
# compiles llvscan's numba kernels into the cache, on all cores (`llvscan warm`), so the first run does not
# wait for them; a part that fails to warm only means the run compiles it.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,dev]'
	$(VENV)/bin/llvscan warm || echo "llvscan warm: not every kernel was compiled ahead; runs compile the rest"
	touch $@

$(SAMPLE): sample_data/make_sample_data.py llvscan/sample.py $(STAMP)
	$(PY) sample_data/make_sample_data.py --out sample_data/collection

sample: $(SAMPLE)

# The sample collection holds three deliberately broken files, so the run exits 1 by design;
# anything above 1 (usage error, crash) still fails the demo.
demo: $(STAMP) $(SAMPLE)
	@$(VENV)/bin/llvscan run sample_data/collection --out $(DEMO_OUT); rc=$$?; \
	if [ $$rc -gt 1 ]; then exit $$rc; fi; \
	echo "demo: the report at $(DEMO_OUT)/report/index.html, catalog at $(DEMO_OUT)/catalog.sqlite, IIIF tiles under $(DEMO_OUT)/iiif/, reports and LODs under $(DEMO_OUT)/assets/, the capture session's grade in llvscan catalog show $(DEMO_OUT) (exit $$rc: the sample's broken files are reported on purpose)"

# The Khronos glTF-Validator (npm) checks every GLB in the tests; without Node they are skipped, loudly.
$(VALIDATOR): tools/package.json
	@if command -v npm >/dev/null; then \
		npm install --prefix tools --no-package-lock --no-audit --no-fund --silent && touch $@; \
	else echo "npm not found: the glTF-Validator tests will be skipped"; fi

test: $(STAMP) $(VALIDATOR)
	$(PY) -m pytest

bench: $(STAMP) $(SAMPLE)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(PY) benchmarks/bench_run.py --quick --out benchmarks/results
	$(PY) benchmarks/bench_validate.py --quick --out benchmarks/results
	$(PY) benchmarks/bench_decimate.py --quick --out benchmarks/results
	$(PY) benchmarks/bench_lods.py --quick --out benchmarks/results
	$(PY) benchmarks/bench_web.py --quick --out benchmarks/results
	$(PY) benchmarks/bench_report.py --quick --out benchmarks/results
	$(PY) benchmarks/bench_tile.py --quick --out benchmarks/results
	$(PY) benchmarks/bench_cluster.py --quick --out benchmarks/results
	$(PY) benchmarks/bench_gate.py --trials 3 --out benchmarks/results

# The baseline `.ci/run` judges `llvscan bench` against: refresh it (and commit it) when a change is meant to
# move a figure; the commit then shows the figures that moved.
bench-baseline: $(STAMP) $(VALIDATOR)
	$(VENV)/bin/llvscan bench --gltf-validator tools/gltf-validate.mjs \
		--save benchmarks/baseline/sample.json --markdown benchmarks/baseline/sample.md

# ruff on everything; mypy type-checks the library (its settings are in pyproject.toml)
lint: $(STAMP)
	$(VENV)/bin/ruff check llvscan tests benchmarks sample_data
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) $(DEMO_OUT) sample_data/collection benchmarks/results tools/node_modules
