# Kurier — build, test and benchmark entry points. `make help` lists them.

GO        ?= go
PREFIX    ?= /usr
DESTDIR   ?=
BIN       := bin
# The binaries built so far; tcpd, imaplogin and authd join as their issues
# land.
PROGS     := imapd
TOOLS     := maildirmake demo-maildir
BENCHTIME ?= 1x

.PHONY: all build test test-deps vet unit fuzz bench run install clean help

all: build

help:
	@echo "make build      build every binary into $(BIN)/"
	@echo "make test       install test dependencies, vet, run every test (what CI runs)"
	@echo "make bench      Go benchmarks of the store (see README)"
	@echo "make fuzz       run each fuzzer for FUZZTIME (default 30s)"
	@echo "make run        make a demo Maildir and talk IMAP to it on this terminal (PREAUTH)"
	@echo "make install    install binaries under DESTDIR/PREFIX"

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ $(addprefix ./,$(PROGS)) $(addprefix ./tools/,$(TOOLS))

# test-deps fetches what the tests need and a fresh Debian machine lacks:
# Debian's own Courier binaries, the oracle of the differential tests.
test-deps:
	bash scripts/install-test-deps.sh

vet:
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

unit:
	$(GO) test -race -count=1 ./...

test: test-deps vet unit

FUZZTIME ?= 30s
fuzz:
	@for spec in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$spec/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "== $$spec $$f"; $(GO) test $$spec -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) || exit 1; \
	  done; \
	done

# bench runs the store's Go benchmarks (each against its floor), then the
# imapd scenarios against Debian's Courier imapd in the same run (about 5
# minutes; BENCHFLAGS=-short skips the 100,000-message cases).
BENCHFLAGS ?=
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./pkg/...
	$(GO) test -run '^$$' -bench . -benchtime 2x -timeout 60m $(BENCHFLAGS) ./tests/bench/

run: build
	bash scripts/demo.sh

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(addprefix $(BIN)/,$(PROGS) $(TOOLS)) $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf $(BIN)
