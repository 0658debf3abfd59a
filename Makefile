# Tidewatch build entry points. `make demo` runs the system, `make test` runs
# every test; both work on a fresh Debian machine with Go and Node.js.
# (demo and test are listed in the README; keep their names.)

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
BIN     := bin
CMDS    := tidewatch-master tidewatch-appliance tidewatch tidewatch-fakedouyin tidewatch-demo

.PHONY: all build demo test lint bench clean $(CMDS)

all: build

build: $(CMDS)

$(CMDS):
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/$@ ./cmd/$@

demo: build
	bash scripts/ensure-chromium.sh
	$(BIN)/tidewatch-demo --bin $(BIN)

test:
	bash scripts/test.sh

lint:
	gofmt -l .
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@latest ./...

bench:
	go test -run '^$$' -bench . -benchtime 2s ./protocol ./master/store ./master/hub ./appliance/outbox ./sysinfo

clean:
	rm -rf $(BIN) dist
include release.mk
