# fieldsync — `make run` serves the embedded default, `make test` installs
# and starts what the tests need (MinIO; MariaDB if it is down) and runs
# every test against them.

SHELL     := bash
GO        ?= go
GOFLAGS   ?= -tags=nodynamic
# The race detector instruments our code and the libraries whose
# concurrency it relies on, not the pure-computation engines listed in
# .ci/norace (SQLite's engine, the image, EXIF and compression codecs):
# NORACE turns them into -gcflags, passed through GOFLAGS so that the
# binaries the tests build get them too.
NORACE    := $(shell awk '/^[a-z]/ { printf "-gcflags=%s=-race=false ", $$1 }' .ci/norace)
RACE      ?= -race
# Three test binaries at a time on two cores: much of the suite waits
# (servers restarting in the fault suite, the browser, write timeouts),
# and a third package fills the cores meanwhile (5 min 6 s against
# 5 min 56 s with go test's default of one per core).
TESTFLAGS ?= $(RACE) -p 3 -count=1 -timeout 30m

export FIELDSYNC_TEST_MYSQL_DSN ?= root@tcp(127.0.0.1:3306)/test?parseTime=true&charset=utf8mb4&loc=UTC
export FIELDSYNC_TEST_S3_ENDPOINT ?= 127.0.0.1:9000
export FIELDSYNC_TEST_S3_ACCESS_KEY ?= minioadmin
export FIELDSYNC_TEST_S3_SECRET_KEY ?= minioadmin

.PHONY: run demo test soak services stop-services vet fmt build bench bench-pocketbase contract

run:
	$(GO) run ./cmd/fieldsyncd

demo:
	$(GO) run ./cmd/fieldsyncd --demo

build:
	CGO_ENABLED=0 $(GO) build -tags nodynamic -trimpath -o bin/ ./cmd/...

services:
	bash .ci/services.sh

stop-services:
	bash .ci/services.sh stop

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)
	$(GO) vet ./...

# -v so that the suites say which backends they ran on; the per-test
# RUN/PASS noise is filtered out, failures, skips and logs are kept.
test: services vet
	set -o pipefail; GOFLAGS='$(strip $(NORACE))' \
	  $(GO) test $(GOFLAGS) $(TESTFLAGS) -v ./... 2>&1 \
	  | grep -avE '^[[:space:]]*(=== (RUN|PAUSE|CONT|NAME)|--- PASS)'

# The contract alone (also part of test): redocly and spectral on
# openapi.yaml, and the TypeScript SDK's unit and end-to-end tests against
# the fieldsyncd binary on SQLite and on MariaDB + MinIO. Needs Node 20 and
# npm; the packages come from mobile-contract/ts/package-lock.json.
contract: services
	$(GO) test $(GOFLAGS) -count=1 -timeout 30m -v -run '^(TestSpecLint|TestTypeScriptSDK)$$' ./cmd/fieldsyncd

# The sustained load with faults (cmd/fieldsyncd TestFaultLoad) long and
# wide: phones cycling push(10) + pull against the real server while
# MariaDB, MinIO and the server itself are crashed and restarted in turn,
# each on private instances (the shared services are never touched).
# SOAK_DEVICES, SOAK_DURATION and SOAK_FAULT_EVERY override the defaults.
SOAK_DEVICES     ?= 200
SOAK_DURATION    ?= 10m
SOAK_FAULT_EVERY ?= 1m

soak: services
	FIELDSYNC_SOAK_DEVICES=$(SOAK_DEVICES) FIELDSYNC_SOAK_DURATION=$(SOAK_DURATION) FIELDSYNC_SOAK_FAULT_EVERY=$(SOAK_FAULT_EVERY) \
	  $(GO) test $(GOFLAGS) -count=1 -timeout 60m -v -run '^TestFaultLoad$$' ./cmd/fieldsyncd/
# The figures of BENCHMARKS.md: Go benchmarks, then fieldsim against a real
# server on SQLite + local disk and on MariaDB + MinIO (cmd/fieldsim/bench.sh;
# BENCH_BACKENDS, BENCH_SCENARIOS, BENCH_REPS narrow it; capacity,
# scaleout, growth and pocketbase, run by name, build their own data
# sets). Not part of make test.
bench: services
	bash cmd/fieldsim/bench.sh

# fieldsync's record writes beside PocketBase's (built from the module
# proxy outside this module), same SQLite, writers and batch sizes; the
# same as BENCH_BACKENDS=sqlite BENCH_SCENARIOS=pocketbase make bench.
bench-pocketbase:
	bash cmd/fieldsim/pocketbase.sh
