# curate: `make pipeline` runs everything on the sample crawl; `make test` runs the test suite.
# Both set up .venv first, so they work on a fresh machine.

PYTHON      ?= python3
VENV        ?= .venv
BIN         := $(VENV)/bin
SHARED      ?= ../shared
SAMPLE_SRC  ?= $(SHARED)/crawl/sample
LISTS_SRC   ?= $(SHARED)/lists
CRAWL       ?= CC-MAIN-2024-22
SEGMENTS    ?= 1
FILES_PER_SEGMENT ?= 1
OUT         ?= out/sample
CONFIG      ?= pipeline/default.yaml
MIX_CONFIG  ?= mixtures/default.yaml
PYTEST_ARGS ?=

.PHONY: help setup sample lists models browser pipeline report test clean submit bench bench-datatrove bench-gopher bench-extraction bench-langid bench-pii bench-large-crawl bench-clean bench-url-filter bench-tokenizer bench-dedup bench-mix bench-scaling bench-classifiers

help:
	@echo "make pipeline   set up, fetch the sample crawl and run the whole pipeline into $(OUT)"
	@echo "make test       set up and run the test suite"
	@echo "make sample     copy the sample crawl from $(SAMPLE_SRC) (or download $(CRAWL) if absent)"
	@echo "make report     print the funnel of $(OUT)"

# The virtual environment is rebuilt whenever pyproject.toml changes.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# The stock pip silently skips lxml_html_clean, and trafilatura then fails on every page.
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/.installed

# Word lists and blocklists used by the filters, copied (never committed) into data/lists.
lists:
	@mkdir -p data/lists
	@if [ -d "$(LISTS_SRC)" ]; then cp -rT "$(LISTS_SRC)" data/lists && chmod -R u+w data/lists && echo "lists copied from $(LISTS_SRC)"; \
	 else echo "warning: $(LISTS_SRC) not found; dirty-word and UT1 category lists unavailable" >&2; fi

sample: setup
	$(BIN)/python -m pipeline.sample --dest data/sample --source "$(SAMPLE_SRC)" \
	  --crawl $(CRAWL) --segments $(SEGMENTS) --files-per-segment $(FILES_PER_SEGMENT)

# Classifier models trained by the project from data it has (data/models, git-ignored).
# The sentinel names the recipe: a checkout trained before the toxicity model existed trains again.
models: setup sample lists
	@if [ -f data/models/.done-2 ]; then echo "models present in data/models"; else \
	  $(BIN)/curate train all --warc 'data/sample/*.warc.gz' \
	    $$( [ -d "$(SHARED)/eval/extraction/scrapinghub" ] && echo --articles $(SHARED)/eval/extraction/scrapinghub ) \
	    $$( [ -f "$(SHARED)/eval/toxicity/davidson-hate-offensive.csv" ] && \
	        echo --toxicity-csv $(SHARED)/eval/toxicity/davidson-hate-offensive.csv ) \
	  && touch data/models/.done-2; fi

pipeline: setup sample lists models
	$(BIN)/curate run --input 'data/sample/*.warc.gz' --output $(OUT) --config $(CONFIG)
	$(BIN)/curate mix $(MIX_CONFIG) --output $(OUT)

JOB            ?= jobs/sample.yaml
SUBMIT_ADDRESS ?=
BASE_DIR       ?=
submit: setup
	$(BIN)/curate submit $(JOB) $(if $(SUBMIT_ADDRESS),--address $(SUBMIT_ADDRESS)) $(if $(BASE_DIR),--base-dir $(BASE_DIR))

# Benchmarks: print tables and write bench/results/ (measured, never asserted in tests).
bench: bench-datatrove bench-gopher bench-extraction bench-langid bench-pii bench-large-crawl bench-clean bench-url-filter bench-tokenizer bench-dedup bench-mix bench-scaling bench-classifiers
bench-tokenizer: setup sample lists
	$(BIN)/python bench/tokenizer_agreement.py data/sample/*.warc.gz | tee bench/results/tokenizer_agreement.md
bench-dedup: setup
	$(BIN)/python bench/dedup_speed.py && $(BIN)/python bench/dedup_accuracy.py && $(BIN)/python bench/dedup_memory.py
bench-datatrove: setup sample lists
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/vs_datatrove.py

bench-gopher: pipeline
	$(BIN)/python bench/gopher_repetition.py
bench-extraction: setup
	$(BIN)/python bench/extraction_quality.py
bench-langid: setup
	$(BIN)/python bench/langid_accuracy.py

# presidio-analyzer is compared, not used: installed without its dependencies (it pins preshed below spaCy's).
bench-pii: setup
	$(BIN)/pip install --quiet --no-deps presidio-analyzer==2.2.366
	$(BIN)/curate run --input '$(SAMPLE_SRC)/*.warc.gz' --output data/bench/pii_docs --config jobs/configs/fast.yaml
	$(BIN)/python bench/pii_eval.py

# Generated crawls of 2k/10k/50k pages (add 200000 with ARGS=--sizes=2000,10000,50000,200000): ~12 min on 2 cores.
bench-large-crawl: setup lists
	$(BIN)/python bench/large_crawl.py $(ARGS)

# The clean phase over a deduplicated run (default: bench-large-crawl's 200k-page output; CLEAN_OUT=... another).
bench-clean: setup models
	$(BIN)/python bench/clean_phase.py $(CLEAN_OUT)

bench-url-filter: setup
	$(BIN)/python bench/url_filter_memory.py | tee bench/results/url_filter_memory.md

bench-mix: setup
	$(BIN)/python bench/mix_bench.py
bench-scaling: setup sample lists
	$(BIN)/python bench/scaling.py
bench-classifiers: setup models
	for b in fasttext transformer topic code_math; do $(BIN)/python bench/classifiers_$$b.py || exit 1; done

report: setup
	$(BIN)/curate report $(OUT)

# Headless Chromium renders the HTML report in the tests (Debian package; skipped if apt is unavailable).
browser:
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "warning: could not install chromium; the browser test will be skipped" >&2; }

test: setup lists browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf out data/sample
