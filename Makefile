# ecohub: everything a fresh machine needs is installed from here.
#   make          venv in .venv/ from the pinned requirements.txt, plus the project (editable)
#   make demo     the main job end to end: local Kafka + Techport simulator, sync, load, summary
#   make test     lint, type-check and every test, starting (and stopping) the services it needs
#   make up/down  the local stack (Kafka KRaft, PostgreSQL, S3 endpoint, H.OIP push receiver); idempotent, by pid
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: all venv jars up down status lint test test-unit demo acceptance bench bench-deps clean

all: venv

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

jars: venv
	$(PY) -m infra.stack install

up: venv
	$(PY) -m infra.stack up

down:
	@if [ -x $(PY) ]; then $(PY) -m infra.stack down; fi

status: venv
	$(PY) -m infra.stack status

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Services are started, the whole suite runs, and the services are stopped whatever happened.
test: venv
	@set -o pipefail; status=0; \
	$(MAKE) --no-print-directory lint || status=$$?; \
	if [ $$status -eq 0 ]; then bash infra/chromium.sh || status=$$?; fi; \
	if [ $$status -eq 0 ]; then $(PY) -m infra.stack up || status=$$?; fi; \
	if [ $$status -eq 0 ]; then $(VENV)/bin/pytest -p no:cacheprovider --ignore=tests/acceptance tests || status=$$?; fi; \
	$(PY) -m infra.stack down || true; \
	exit $$status

test-unit: venv
	$(VENV)/bin/pytest -m "not integration" --ignore=tests/acceptance tests

demo: venv
	@status=0; kafka_was_up=0; \
	$(PY) -m infra.stack status --only kafka >/dev/null 2>&1 && kafka_was_up=1; \
	$(PY) -m infra.stack up --only kafka || status=$$?; \
	if [ $$status -eq 0 ]; then $(VENV)/bin/ecohub demo || status=$$?; fi; \
	if [ $$kafka_was_up -eq 0 ]; then $(PY) -m infra.stack down --only kafka || true; fi; \
	exit $$status

acceptance: venv bench-deps
	@status=0; $(PY) -m infra.stack up || status=$$?; \
	if [ $$status -eq 0 ]; then ECOHUB_ACCEPTANCE=1 $(VENV)/bin/pytest tests/acceptance tests/faults || status=$$?; fi; \
	$(PY) -m infra.stack down || true; exit $$status

# The throughput peers (dlt, confluent-kafka; bench/requirements-peers.txt) go into their own
# venv layered over .venv (a .pth adds .venv's site-packages after its own), so they never
# enter the runtime environment. Kafka's ProducerPerformance jars come from
# infra/kafka-tools/pom.xml, fetched by the bench. BENCH_ARGS="--scale small" for a quick run.
BENCH_VENV := .venv-bench
bench: venv bench-deps
	test -x $(BENCH_VENV)/bin/python || $(PY) -m venv $(BENCH_VENV)
	echo "import site; site.addsitedir('$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')')" \
	  > "$$($(BENCH_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/ecohub-runtime.pth"
	$(BENCH_VENV)/bin/python -m pip install -q -r bench/requirements-peers.txt
	$(BENCH_VENV)/bin/python -m bench $(BENCH_ARGS)
	$(PY) -m bench.resolution
	$(PY) -m bench.push

# Bench-only peers (Splink...), never runtime dependencies.
bench-deps: venv
	$(PY) -m pip install -q -r bench/requirements.txt

clean: down
	rm -rf var $(BENCH_VENV) .pytest_cache .mypy_cache .ruff_cache
