# Kurier — build, test and benchmark entry points. `make help` lists them.

GO        ?= go
PREFIX    ?= /usr
DESTDIR   ?=
BIN       := bin
PROGS     := imapd imaplogin authd tcpd
TOOLS     := maildirmake demo-maildir authtest userdbpw makeuserdb mkimapdcert
BENCHTIME ?= 1x

.PHONY: all build build-deps test test-deps vet unit fuzz bench bench-full bench-peers run install clean help

all: build

help:
	@echo "make build      build every binary into $(BIN)/"
	@echo "make test       install test dependencies, vet, run every test (what CI runs)"
	@echo "make bench      store benchmarks, imapd against Courier and Dovecot (1k and 10k messages), then tcpd and the login chain against Courier's (~12 min)"
	@echo "make bench-full the same with the 100,000-message corpus and longer network runs"
	@echo "make fuzz       run each fuzzer for FUZZTIME (default 30s)"
	@echo "make run        the whole server on 127.0.0.1:1143 (STARTTLS) and :1993 (IMAPS), account demo/demo"
	@echo "make install    install binaries under DESTDIR/PREFIX"
	@echo "make deb        build the Debian packages into $(DEBDIR)/ (see debian/README.source)"

# build-deps installs the C headers authd's cgo modules need, when missing
# (as root; otherwise it names them).
build-deps:
	@bash scripts/install-build-deps.sh

build: build-deps
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
# harness of tests/bench: Kurier's imapd against Debian's Courier and Dovecot
# (unpacked into ~/.cache/kurier by the fetch scripts, nothing installed) on
# the 1,000- and 10,000-message corpora, writing report.md, report.json and
# ratios.svg into bench-results/<time>/. Then, as root, the network
# benchmarks (TestBenchNetwork): tcpd and the whole login chain against
# Debian's couriertcpd, couriertls, imaplogin and authdaemond, plain and TLS,
# into bench-results/<time>-network/ (about 2 minutes; 5 minutes in
# bench-full). bench-full adds the 100,000-message corpus. BENCHREPS sets
# the repetitions, BENCHONLY a regexp of scenarios.
BENCHFLAGS ?=
BENCHREPS  ?=
BENCHONLY  ?=
BENCH_HARNESS = KURIER_BENCH_OUT=$(CURDIR)/bench-results KURIER_BENCH_REPS=$(BENCHREPS) KURIER_BENCH_ONLY='$(BENCHONLY)' \
	$(GO) test -v -count=1 -run '^TestBench(Network)?$$' -timeout 120m $(BENCHFLAGS) ./tests/bench/
bench-peers:
	bash scripts/fetch-courier.sh >/dev/null
	bash scripts/fetch-dovecot.sh >/dev/null || echo "make: Dovecot unavailable; its columns will say so" >&2
bench: bench-peers
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./pkg/...
	KURIER_BENCH=quick $(BENCH_HARNESS)
bench-full: bench-peers
	KURIER_BENCH=full $(BENCH_HARNESS)

run: build
	bash scripts/demo.sh

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(addprefix $(BIN)/,$(PROGS) $(TOOLS)) $(DESTDIR)$(PREFIX)/bin/

# deb builds kurier-imap and kurier-authd with dpkg-buildpackage in a copy of
# this tree and leaves the .deb files in DEBDIR (debian/README.source).
DEBDIR ?= .cache/deb
.PHONY: deb
deb:
	bash debian/make-deb.sh $(DEBDIR)

clean:
	rm -rf $(BIN)
