# The Normalization Book · 정규화 교과서
#   make book   create .venv, install everything, build the HTML book into _build/html
#   make test   everything CI checks: normlib tests, book integrity, the strict build, the browser
#               tests, then every notebook with nbval (portable comparison): the Korean edition on
#               the native CPU kernels with one thread, the English one on other kernels, 2 threads
#   make serve  serve _build/html on http://localhost:8000
#   make execute [NB=book/ko/03_batch_norm.ipynb]   re-execute notebooks in place (all by default)
#   make test-lib  only normlib's own tests (no notebooks, no build): quick, while editing normlib
#   make bench  normlib's layers against torch.nn: time and memory, median of 5 fresh processes (a table)
#   make time   time every notebook against the budget (each ≤ 60 s, the book ≤ 10 min)

SHELL   := /bin/bash
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
ASSETS  := node_modules/.installed
NB      ?= $(sort $(wildcard book/ko/*.ipynb book/en/*.ipynb))
JOBS    ?= 2
PORT    ?= 8000
# nbval with the book's portable comparison (tests/nbcheck.py, loaded by book/conftest.py)
NBVAL   := --nbval --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg
# A CPU code path other than the machine's own: torch's and MKL's portable kernels, as on a CPU
# without AVX (the English edition runs with it in make test; the Korean one natively)
OTHER_CPU := ATEN_CPU_CAPABILITY=default MKL_ENABLE_INSTRUCTIONS=SSE4_2

.PHONY: book html test test-lib serve execute bench time clean

LIB_TESTS := tests/test_functional.py tests/test_layers.py tests/test_batchnorm.py \
             tests/test_factory.py tests/test_bad_inputs.py tests/test_properties.py \
             tests/test_family_properties.py tests/test_training.py tests/test_core.py \
             tests/test_bench.py tests/test_syncbn.py tests/test_unet3d.py tests/test_volumes.py \
             tests/test_cube.py tests/test_segmenter.py tests/test_bench_ch10.py \
             tests/test_bench_ch5.py

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(ASSETS): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

html: $(STAMP) $(ASSETS)
	rm -rf _build/html _build/.doctrees
	$(BIN)/jupyter-book build . --builder html --warningiserror --nitpick --keep-going

book: html
	@echo
	@echo "The book is built. Open $(CURDIR)/_build/html/index.html"
	@echo "or run 'make serve' and visit http://localhost:$(PORT)/"

test: $(STAMP) $(ASSETS)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile --durations=10 tests
	@echo "Korean edition: this machine's native CPU kernels, one thread per notebook, $(JOBS) at a time"
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile -p no:cacheprovider $(NBVAL) book/ko
	@echo "English edition: other CPU kernels ($(OTHER_CPU)) and two threads, one notebook at a time"
	$(OTHER_CPU) NORMLIB_THREADS=2 $(BIN)/python -m pytest -p no:cacheprovider $(NBVAL) book/en

test-lib: $(STAMP)
	$(BIN)/python -m pytest -q -n $(JOBS) --dist loadfile $(LIB_TESTS)

serve:
	@test -f _build/html/index.html || { echo "No built book yet: run 'make book' first."; exit 1; }
	$(PYTHON) -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

execute: $(STAMP)
	@for nb in $(NB); do \
	  echo "executing $$nb"; \
	  $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	      --ExecutePreprocessor.timeout=600 --ExecutePreprocessor.record_timing=False \
	      --ExecutePreprocessor.kernel_name=python3 "$$nb" || exit 1; \
	done

bench: $(STAMP)
	$(BIN)/python benchmarks/layers.py

time: $(STAMP)
	$(BIN)/python benchmarks/time_notebooks.py --jobs $(JOBS)

clean:
	rm -rf _build .pytest_cache
