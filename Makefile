# procmon: build, run and test the receiver and its collector.

# A fresh root shell may not have go on PATH; fall back to the usual install.
GO := $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
GOFMT := $(shell $(GO) env GOROOT)/bin/gofmt
# ocb and go test child processes look go up on PATH too.
export PATH := $(dir $(GO)):$(PATH)
# Set to 1 (as .ci/run does) to make privileged tests fail instead of skip.
ifdef PROCMON_REQUIRE_PRIVILEGED
export PROCMON_REQUIRE_PRIVILEGED
endif

OCB_VERSION := v0.165.0
TOOLS_BIN := $(CURDIR)/.tools/bin
OCB := $(TOOLS_BIN)/builder

BUILD_DIR := _build
OTELCOL := $(BUILD_DIR)/otelcol-procmon
# The end-to-end tests, procbench and procstorm are a module of their own.
TEST_MOD := test
BENCH_BIN := $(BUILD_DIR)/procbench
BENCH_JSON := $(BUILD_DIR)/bench.json
STORM_BENCHMARKS := ^(BenchmarkEnrichmentStorm|BenchmarkOverrunStrategy)$$

# Everything that goes into the collector binary; the e2e test is not part of it.
GO_SOURCES := $(shell find . -name '*.go' -not -name '*_test.go' \
	-not -path './$(BUILD_DIR)/*' -not -path './.tools/*' -not -path './$(TEST_MOD)/*')
# Every Go file of ours, for the format check.
GO_FILES := $(shell find . -name '*.go' -not -path './$(BUILD_DIR)/*' -not -path './.tools/*')

.DEFAULT_GOAL := build

.PHONY: build tools otelcol run test unit e2e fuzz bench microbench lint fmt-check vet clean generate podman image

build:
	$(GO) build ./...

tools: $(OCB)

$(OCB):
	GOBIN=$(TOOLS_BIN) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)

otelcol: $(OTELCOL)

# Rebuilt only when the manifest, the module or a non-test Go file changed.
# Without cgo: a static binary, which the image needs (it has no libc).
$(OTELCOL): builder-config.yaml go.mod go.sum $(GO_SOURCES) | $(OCB)
	CGO_ENABLED=0 $(OCB) --config builder-config.yaml
	@touch $@

run: $(OTELCOL)
	./$(OTELCOL) --config config.yaml

# Format and vet, build the collector, run unit and privileged tests, run
# every fuzz target for FUZZTIME (100,000 inputs here) each, then the
# end-to-end test.
test: lint otelcol image unit fuzz e2e
test: FUZZTIME = 100000x

# One package at a time: the privileged tests start process storms that
# would disturb another package's kernel-event tests.
unit:
	$(GO) test -race -count=1 -p 1 ./...
	cd $(TEST_MOD) && $(GO) test -race -count=1 $$($(GO) list ./... | grep -v '/e2e$$')

e2e: $(OTELCOL)
	cd $(TEST_MOD) && $(GO) test -race -count=1 -v ./e2e/

# Every fuzz target of the module, one after another for FUZZTIME each: go
# test fuzzes one target of one package at a time. A failing input is saved
# under the package's testdata/fuzz; the failed targets are listed at the end.
# FUZZTIME counts inputs (Nx) rather than seconds: with a duration, Go 1.26's
# fuzzer can fail a healthy target with "context deadline exceeded" as the
# time runs out (go.dev/issue/75804, fixed in Go 1.27). 300,000 inputs take
# about 10 to 20 s a target here.
FUZZTIME ?= 300000x
fuzz:
	@list="$$($(GO) test -list '^Fuzz' ./...)" || { echo "$$list"; exit 1; }; \
	targets="$$(echo "$$list" | awk '/^Fuzz/ { names = names " " $$1; next } \
		/^ok/ { n = split(names, a, " "); for (i = 1; i <= n; i++) print $$2 ":" a[i]; names = "" }')"; \
	[ -n "$$targets" ] || { echo "no fuzz targets found"; exit 1; }; \
	failed=""; \
	for t in $$targets; do \
		echo "fuzz $${t#*:} in $${t%%:*} for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) "$${t%%:*}" || failed="$$failed $$t"; \
	done; \
	[ -z "$$failed" ] || { echo "fuzz targets failed:$$failed"; exit 1; }

# The end-to-end benchmark (test/cmd/procbench): the collector against exec and
# fork storms, a steady rate and idle, and forkstat on the same storm. Needs
# root; BENCH_FLAGS=-quick runs it ten times smaller.
bench: otelcol
	@command -v forkstat >/dev/null || (apt-get update && apt-get install -y forkstat)
	cd $(TEST_MOD) && $(GO) build -o ../$(BENCH_BIN) ./cmd/procbench
	./$(BENCH_BIN) -otelcol $(OTELCOL) -json $(BENCH_JSON) $(BENCH_FLAGS)

# The container image (Containerfile), built with podman from files staged
# under _build/image: no registry or network needed. deploy/podman's
# containers.conf makes podman work on hosts without CAP_SYS_RESOURCE or with
# hybrid cgroups, and leaves the host's own configuration alone.
IMAGE := localhost/otelcol-procmon:latest
export CONTAINERS_CONF := $(CURDIR)/deploy/podman/containers.conf
# busybox-static is the container tests' workload: a static busybox in a
# container made from a directory.
podman:
	@command -v podman >/dev/null && command -v runc >/dev/null && test -f /etc/ssl/certs/ca-certificates.crt && \
		command -v busybox >/dev/null || \
		(apt-get update && apt-get install -y podman runc ca-certificates busybox-static)

image: $(OTELCOL) podman
	mkdir -p $(BUILD_DIR)/image
	cp $(OTELCOL) /etc/ssl/certs/ca-certificates.crt $(BUILD_DIR)/image/
	podman build --pull=never --network=none -t $(IMAGE) -f Containerfile .

# Go micro-benchmarks. The storm benchmarks need root and -benchtime 1x, so
# they are skipped here: run them by name with -benchtime 1x.
microbench:
	$(GO) test -run='^$$' -bench=. -skip='$(STORM_BENCHMARKS)' -benchmem ./...

# Regenerate what is generated and committed, and the hashes of what it was
# generated from, which tests compare: the eBPF objects (bpf2go, with
# Debian's clang and libbpf headers), and the receiver's metadata package
# and documentation.md (mdatagen, from metadata.yaml). Both generators are
# pinned in internal/tools, a module of its own.
EBPF_DIR := internal/ebpfsource
RECEIVER_DIR := receiver/procmonreceiver
generate:
	@command -v clang >/dev/null && test -f /usr/include/bpf/bpf_helpers.h || \
		(apt-get update && apt-get install -y clang llvm libbpf-dev)
	cd $(EBPF_DIR) && $(GO) generate .
	cd $(EBPF_DIR)/bpf && sha256sum *.c *.h > sources.sha256
	cd $(RECEIVER_DIR) && $(GO) tool -modfile=../../internal/tools/go.mod mdatagen metadata.yaml
	cd $(RECEIVER_DIR) && sha256sum metadata.yaml documentation.md generated_component_test.go \
		generated_package_test.go $$(find internal/metadata -maxdepth 1 -type f | sort) > metadata.sha256

lint: fmt-check vet

fmt-check:
	@unformatted="$$($(GOFMT) -l $(GO_FILES))"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt needed on:"; echo "$$unformatted"; exit 1; \
	fi

# The receiver is written for Linux but builds everywhere (creating it fails
# elsewhere, see docs/limits.md): vet checks the module for other systems too.
vet:
	$(GO) vet ./...
	GOOS=darwin $(GO) vet ./...
	GOOS=windows $(GO) vet ./...
	cd $(TEST_MOD) && $(GO) vet ./...

clean:
	rm -rf $(BUILD_DIR) coverage.out coverage.html *.coverprofile bench.txt
