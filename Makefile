# Sage developer targets. `make test` is the test command (see README.md).
#
#   make compose-test     the compose stack for real on a private Docker engine (root)
#   make build            the three binaries into ./bin (version from git)
#   make install          build, then run the installer (bridge beside it)
#   make up / down / logs docker compose (daemon + PostgreSQL)
#   make bench            the benchmark programs
#   make bench-recall     recall on the dev set and the injection gate on the labelled set
#   make release-check    validate goreleaser.yaml
#   make snapshot         goreleaser snapshot build of every archive into ./dist

SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN := bin
GOBIN_CACHE := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/sage/bin
# goreleaser is pinned (newer versions need a newer Go) and lives in the cache.
GORELEASER_VERSION := v2.15.1
GORELEASER ?= $(GOBIN_CACHE)/goreleaser
COMPOSE ?= docker compose

# The one version variable of the three binaries, set by -X (shared/version;
# keep in sync with goreleaser.yaml and the Dockerfile).
VERSION_VAR := github.com/sage-mcp/sage/shared/version.Version

# The same flags as the Dockerfile and goreleaser.yaml: static, reproducible.
# (CGO_ENABLED=0 only for these builds: `make test` needs cgo for -race.)
BUILD_FLAGS := -trimpath
GOBUILD := CGO_ENABLED=0 $(GO) build $(BUILD_FLAGS)

.PHONY: test compose-test build install up down logs bench bench-recall release-check snapshot goreleaser clean

test:
	scripts/test.sh

# docker-compose.yml and the Dockerfile run for real: see scripts/compose-test.sh.
compose-test:
	scripts/compose-test.sh

build:
	@mkdir -p $(BIN)
	$(GOBUILD) -ldflags "-s -w -X $(VERSION_VAR)=$(VERSION)" -o $(BIN)/ ./daemon/cmd/sage-daemon
	$(GOBUILD) -ldflags "-s -w -X $(VERSION_VAR)=$(VERSION)" -o $(BIN)/ ./bridge/cmd/sage-bridge
	$(GOBUILD) -ldflags "-s -w -X $(VERSION_VAR)=$(VERSION)" -o $(BIN)/ ./installer/cmd/sage-installer

# The installer finds sage-bridge beside itself in ./bin.
#   make install INSTALL_ARGS="--env-file .env"
install: build
	$(BIN)/sage-installer install $(INSTALL_ARGS)

up:
	@test -f .env || { echo "no .env: cp .env.example .env and set POSTGRES_PASSWORD" >&2; exit 1; }
	$(COMPOSE) up -d --build

down:
	$(COMPOSE) down

logs:
	$(COMPOSE) logs -f

# The benchmark programs, built into ./bin beside the binaries they measure
# and run one after the other; each takes its own flags:
#   make bench DAEMON_BENCH_ARGS=... BRIDGE_BENCH_ARGS=... HOOK_BENCH_ARGS="-url ... -token ..."
# (sage-bench needs a PostgreSQL server: SAGE_BENCH_DATABASE_URL; "-h" on
# each program lists its flags; docs/BENCHMARKS.md records the results.)
# A program that does not exist (yet) is skipped with a note.
DAEMON_BENCH_ARGS ?=
BRIDGE_BENCH_ARGS ?=
HOOK_BENCH_ARGS ?=
bench: build
	@status=0; \
	for spec in "bench/cmd/sage-bench|$(DAEMON_BENCH_ARGS)" \
	            "bench/cmd/sage-bridge-bench|$(BRIDGE_BENCH_ARGS)" \
	            "bench/cmd/sage-hook-bench|$(HOOK_BENCH_ARGS)"; do \
	  pkg=$${spec%%|*}; args=$${spec#*|}; name=$${pkg##*/}; \
	  if [ ! -d "$$pkg" ]; then echo "bench: $$pkg does not exist, skipped" >&2; continue; fi; \
	  $(GOBUILD) -o $(BIN)/ ./$$pkg || { status=1; continue; }; \
	  echo "==> $(BIN)/$$name $$args" >&2; \
	  $(BIN)/$$name $$args || status=1; \
	done; exit $$status

# Recall quality: sage-recall-bench (recall@5/@10 per question type on the
# conversational dev set, against plain BM25) and sage-gate-bench (the
# injection gate on the labelled set), each on a throwaway database of the
# PostgreSQL server (with pgvector) that SAGE_BENCH_DATABASE_URL names.
bench-recall:
	@test -n "$$SAGE_BENCH_DATABASE_URL" || { echo "bench-recall: set SAGE_BENCH_DATABASE_URL to a PostgreSQL server with pgvector (the role needs CREATE DATABASE)" >&2; exit 2; }
	$(GO) run ./bench/cmd/sage-recall-bench
	$(GO) run ./bench/cmd/sage-gate-bench

# goreleaser, installed from the Go module proxy into the cache when missing
# or of another version (the first install compiles for several minutes).
goreleaser:
	@if ! $(GO) version -m "$(GORELEASER)" 2>/dev/null | grep -Eq 'mod[[:space:]]+github.com/goreleaser/goreleaser/v2[[:space:]]+$(GORELEASER_VERSION)[[:space:]]'; then \
	  mkdir -p "$(GOBIN_CACHE)" && \
	  echo "installing goreleaser $(GORELEASER_VERSION) into $(GOBIN_CACHE)" >&2 && \
	  GOBIN="$(GOBIN_CACHE)" $(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION); \
	fi

release-check: goreleaser
	$(GORELEASER) check

# Every archive for every platform into ./dist; the image is not built.
snapshot: goreleaser
	$(GORELEASER) release --snapshot --clean --skip=docker,publish

clean:
	rm -rf $(BIN) dist
