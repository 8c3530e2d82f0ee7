# Fission Mall — the two commands: `make run` and `make test`.
SWIFT ?= swift
BIN := .build/debug/fission
HOST ?= 127.0.0.1
PORT ?= 8080
# Tests run at most this many at once: with every suite at once on two cores, requests and
# SQLite writers waited out their own timeouts.
TEST_WIDTH ?= 6

.PHONY: run build test test-swift test-browser test-api bench clean

## Build, migrate, seed demo data on first start and serve on http://127.0.0.1:8080 (SQLite in var/).
run: build
	$(BIN) migrate --yes
	$(BIN) seed --demo
	$(BIN) serve --hostname $(HOST) --port $(PORT)

build:
	@bash scripts/install-deps.sh run
	$(SWIFT) build --product fission

## Every test: Swift tests (MallCore and App on SQLite, or PostgreSQL when DATABASE_URL is set), then pages in Chromium.
test: test-swift test-browser

test-swift:
	@bash scripts/install-deps.sh run
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --experimental-maximum-parallelization-width $(TEST_WIDTH)

test-browser:
	@bash scripts/install-deps.sh test
	$(SWIFT) build --product fission
	bash scripts/browser-test.sh

## Schemathesis against /openapi.json of a freshly seeded server (fails on any 5xx or schema violation).
test-api:
	$(SWIFT) build --product fission
	bash scripts/api-fuzz.sh

## Release build, then money-core and HTTP benchmarks with same-run baselines.
bench:
	@bash scripts/install-deps.sh bench
	bash scripts/bench.sh

clean:
	rm -rf .build artifacts
