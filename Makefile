# cartlift: `make run` serves the demo shop, `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
HOST ?= 127.0.0.1
PORT ?= 8000
export UV_LINK_MODE ?= copy

.PHONY: help install install-spark run demo rebuild serve test lint typecheck unit openapi \
	openapi-check readme evaluate-public fuzz soak bench bench-mining bench-import \
	bench-rebuild bench-rebuild-spark bench-engines bench-api bench-events bench-experiment \
	bench-campaigns bench-cli bench-store-memory bench-api-workers \
	report-screenshot clean

help:
	@echo "make run     install, seed the demo shop, build rules, serve on $(HOST):$(PORT)"
	@echo "make test    ruff, mypy --strict and the whole pytest suite"
	@echo "make bench   the load and speed benchmarks in loadtests/"
	@echo "make fuzz    schemathesis against a real server (>= 10,000 requests)"
	@echo "make soak    10 minutes of mixed traffic at half of saturation"

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv

install: $(UV)
	$(UV) sync --frozen

# The Spark engine's optional extra (pyspark, pyarrow); it needs Java 17 and, to read Postgres,
# Debian's libpostgresql-jdbc-java (.ci/run installs both). `make install` leaves it out.
install-spark: $(UV)
	$(UV) sync --frozen --extra spark

run: install
	$(UV) run cartlift migrate
	$(UV) run cartlift demo
	$(UV) run cartlift rebuild
	@echo
	@echo "cartlift is starting on http://$(HOST):$(PORT) - try:"
	@echo "  curl -s -X POST http://$(HOST):$(PORT)/recommend -H 'content-type: application/json' \\"
	@echo "       -d '{\"cart\": [{\"sku\": \"roses-red-12\"}], \"limit\": 3}'"
	@echo
	$(UV) run cartlift serve --host $(HOST) --port $(PORT)

lint: install
	$(UV) run ruff check .
	$(UV) run ruff format --check .

typecheck: install-spark
	$(UV) run mypy

openapi: install
	$(UV) run python -m app.openapi > openapi.yaml.tmp && mv openapi.yaml.tmp openapi.yaml || { rm -f openapi.yaml.tmp; exit 1; }

openapi-check: install
	$(UV) run python -m app.openapi --check openapi.yaml

readme: install
	$(UV) run python -m app.readme --write README.md

test: lint typecheck
	$(UV) run pytest -q

# Outside `make test`: docs/reliability.md records what these measured.
FUZZ_EXAMPLES ?= 1200
fuzz: install
	CARTLIFT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(UV) run pytest -q -s -p no:cacheprovider \
		tests/e2e/test_schemathesis.py

# 10 minutes of mixed traffic at half of saturation; needs wrk, Postgres and Redis.
soak: install
	$(UV) run python loadtests/soak.py

# The relevance table of docs/relevance.md: minutes, mostly EASE's inverses on retail.
evaluate-public: install
	$(UV) run cartlift evaluate --dataset groceries
	$(UV) run cartlift evaluate --dataset retail

bench: bench-mining bench-rebuild bench-api bench-cli

bench-mining: install
	$(UV) run python loadtests/bench_mining.py

bench-import: install
	$(UV) run python loadtests/bench_import.py

bench-rebuild: install
	$(UV) run python loadtests/bench_rebuild.py

bench-rebuild-spark: install-spark
	$(UV) run python loadtests/bench_rebuild.py --engine spark

# Both engines on FIMI retail at the default thresholds: rules exports identical byte for byte.
bench-engines: install-spark
	$(UV) run python loadtests/compare_engines.py

bench-api: install
	$(UV) run python loadtests/bench_api.py

bench-cli: install
	$(UV) run python loadtests/bench_cli.py

# Redis memory per million rules and per entry kind, on one Redis and a 3-master cluster.
bench-store-memory: install
	$(UV) run python loadtests/bench_store_memory.py

# /recommend on serve --workers 1 and --workers 2 in one run: rps and CPU per request.
bench-api-workers: install
	$(UV) run python loadtests/bench_api_workers.py

bench-events: install
	$(UV) run python loadtests/bench_events.py

# The planted uplift inside the 95 % interval in >= 93 of 100 seeded repetitions.
bench-experiment: install
	$(UV) run python loadtests/bench_experiment.py

bench-campaigns: install
	$(UV) run python loadtests/bench_campaigns.py

report-screenshot: install
	$(UV) run cartlift demo
	$(UV) run cartlift report --output var/report.html
	@command -v chromium >/dev/null || { \
		echo "installing Debian's chromium package"; \
		$$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
		$$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq chromium; }
	$(UV) run python -m app.report.screenshot var/report.html var/report.png

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
