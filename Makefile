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
E2E_PKG := ./test/e2e/

# Everything that goes into the collector binary; the e2e test is not part of it.
GO_SOURCES := $(shell find . -name '*.go' -not -name '*_test.go' \
	-not -path './$(BUILD_DIR)/*' -not -path './.tools/*' -not -path './test/*')
# Every Go file of ours, for the format check.
GO_FILES := $(shell find . -name '*.go' -not -path './$(BUILD_DIR)/*' -not -path './.tools/*')

.DEFAULT_GOAL := build

.PHONY: build tools otelcol run test unit e2e bench lint fmt-check vet clean

build:
	$(GO) build ./...

tools: $(OCB)

$(OCB):
	GOBIN=$(TOOLS_BIN) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)

otelcol: $(OTELCOL)

# Rebuilt only when the manifest, the module or a non-test Go file changed.
$(OTELCOL): builder-config.yaml go.mod go.sum $(GO_SOURCES) | $(OCB)
	$(OCB) --config builder-config.yaml
	@touch $@

run: $(OTELCOL)
	./$(OTELCOL) --config config.yaml

# Format and vet, build the collector, run unit and privileged tests, then the end-to-end test.
test: lint otelcol unit e2e

unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v '/test/e2e$$')

e2e: $(OTELCOL)
	$(GO) test -race -count=1 -v $(E2E_PKG)

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

lint: fmt-check vet

fmt-check:
	@unformatted="$$($(GOFMT) -l $(GO_FILES))"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt needed on:"; echo "$$unformatted"; exit 1; \
	fi

vet:
	$(GO) vet ./...

clean:
	rm -rf $(BUILD_DIR) coverage.out coverage.html *.coverprofile bench.txt
