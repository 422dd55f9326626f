# nslab — Kubernetes-style clusters out of Linux namespaces.
#
#   make            build bin/nslab
#   make asan       build build/asan/nslab with ASan+UBSan
#   make deps       install the Debian packages the build, the tool and the tests need
#   make deps-fuzz  install clang for make fuzz (make fuzz runs it too)
#   make check      unit + integration tests (integration needs root; run inside unshare)
#   make check-asan the same tests against the sanitizer build
#   make check-isolation  make check with the demo lab and a foreign netns up (root); ISOLATION_TESTS= another test command
#   make check-vagrant  the Vagrantfile parses, scripts are LF, it provisions as the README says (no VM)
#   make check-container  build a bookworm image (mmdebstrap, docker import) and run the seed lab and make check in it
#   make fuzz       fuzz the scenario loader, plan reader, DNS queries, CNI results, the API request decoder and the SPDY frame parser (clang libFuzzer), FUZZ_SECONDS=600
#   make bench      benchmarks
#   make install    PREFIX=/usr/local (binary, templates, labs, man page, docs, bash completion)
#   make uninstall  PREFIX=/usr/local

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
DATADIR   ?= $(PREFIX)/share/nslab
MANDIR    ?= $(PREFIX)/share/man
CC        ?= gcc
BUILD     ?= build/release
VERSION   := 0.1.0
SAN       ?=

PKGS      := libnl-3.0 libnl-route-3.0 libmnl jansson nettle sqlite3 libarchive ldns libmicrohttpd gnutls libnftables zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libnftables is loaded when first used (kernel/nftables.c), not linked.
PKG_LIBS   := $(filter-out -lnftables,$(shell pkg-config --libs $(PKGS) 2>/dev/null))
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)

WARN      := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral -Wmissing-prototypes -Wstrict-prototypes
CFLAGS    ?= -O2 -g
ALL_CFLAGS := -std=c17 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Isrc/lib -Isrc -I/usr/include/iniparser $(PKG_CFLAGS) \
              -DNSLAB_VERSION='"$(VERSION)"' -DNSLAB_DATADIR='"$(DATADIR)"' -fno-omit-frame-pointer
ifeq ($(SAN),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDSAN      := -fsanitize=address,undefined
endif
LDLIBS    := $(PKG_LIBS) -liniparser -lwslay -lpthread

# src/: the CLI (main, cli, one cmd_<verb>.c per subcommand); src/lib/: the
# library, one folder per layer (see docs/architecture.md); src/apps/: the
# programs nslab runs inside pods (re-executed as nslab-<app>).
# The commands of programs of their own (below) are not the CLI's.
HELPER_CMD_SRC := src/cmd_apiserver.c src/cmd_kube_proxy.c src/cmd_coredns.c src/cmd_export_archive.c
CLI_SRC   := $(filter-out $(HELPER_CMD_SRC),$(wildcard src/*.c))
LIB_SRC   := $(wildcard src/lib/*/*.c) $(wildcard src/apps/*.c)
LIB_OBJ   := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
CLI_OBJ   := $(CLI_SRC:src/%.c=$(BUILD)/obj/%.o)
HEADERS   := $(wildcard src/*.h src/lib/*/*.h src/apps/*.h)
LIB       := $(BUILD)/libnslab.a
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# Only the release build writes bin/nslab; any other BUILD dir (asan, a
# private one) keeps its binary inside.
ifeq ($(BUILD),build/release)
NSLAB_BIN ?= bin/nslab
else
NSLAB_BIN ?= $(BUILD)/nslab
endif

.PHONY: check-container check-layers check-vagrant golden all asan deps deps-fuzz check check-unit check-isolation check-asan fuzz bench install uninstall clean demo
.DELETE_ON_ERROR:

# nslab-pause: the pause process and its built-in app as a small static
# program beside nslab (pause.c finds it there or in $(LIBEXECDIR); without
# it nslab re-executes itself). Not for sanitizer builds (no static ASan).
ifeq ($(SAN),)
PAUSE_BIN ?= $(dir $(NSLAB_BIN))nslab-pause
PAUSE_OBJ := $(BUILD)/obj/apps/pause/main.o $(addprefix $(BUILD)/obj/,apps/pause_main.o apps/echo.o \
             lib/runtime/sandbox.o lib/runtime/status.o lib/kernel/caps.o lib/runtime/appsock.o lib/base/util.o lib/base/error.o \
             lib/runtime/spawner.o lib/kernel/proc.o)
endif
LIBEXECDIR ?= $(PREFIX)/lib/nslab

# nslab-coredns: the cluster DNS server the coredns pods run, linked with
# only ldns, SQLite, jansson (and nettle and iniparser, through the snapshot
# reader) so that its private memory stays small (apply.c finds it beside
# nslab or in $(LIBEXECDIR); without it nslab re-executes itself).
# ldns and the OpenSSL it needs are linked in statically, into a position-
# dependent program: no other process of a lab maps them, so as shared
# libraries their symbol tables read at load and their relocated data were
# all the pod's private memory (3.1 MiB after a dnsperf run, against issue
# 10's 2 MiB); linked in, only the objects the server uses are there, with
# nothing to relocate (1.7 MiB). SQLite, jansson and the C library stay
# shared with the lab's other processes.
COREDNS_BIN ?= $(dir $(NSLAB_BIN))nslab-coredns
COREDNS_LIBS := -no-pie -Wl,-Bstatic -lldns -lssl -lcrypto -Wl,-Bdynamic -ldl -lpthread \
                $(shell pkg-config --libs sqlite3 jansson nettle 2>/dev/null) -liniparser

# Every command pays for the shared libraries nslab is linked with at its
# start (~19 ms for all 39 of them): what only one kind of process needs is
# a program of its own beside nslab (found there or in $(LIBEXECDIR), as
# nslab-pause and nslab-coredns are): nslab-apiserver (libmicrohttpd,
# GnuTLS, wslay, zlib; it also makes the lab's PKI), nslab-kube-proxy
# (libmicrohttpd) and nslab-export (libarchive). --as-needed keeps each
# program to the libraries its objects use.
HELPERS      := nslab-apiserver nslab-kube-proxy nslab-export
HELPER_BINS  := $(addprefix $(dir $(NSLAB_BIN)),$(HELPERS))
HELPER_LINK  := -Wl,--as-needed
helper_objs   = $(BUILD)/obj/apps/$(1)/main.o $(BUILD)/obj/$(2).o $(BUILD)/obj/cli_daemon.o
# The two that serve HTTP (nslab-apiserver, nslab-kube-proxy) have
# libmicrohttpd, GnuTLS and the rest of their libraries linked in: their
# start was mostly the dynamic loader's (mapping, relocating and looking
# up symbols in 17-19 shared libraries: the API server took 12 ms of CPU
# to start and exit, 5 ms linked so; a kube-proxy 8.7 and 5.8 ms), and
# every lab starts four of them. Still position-independent (unlike
# nslab-coredns), so that a server that parses what the network sends it
# keeps its code at a random address: it costs nothing measurable here.
# Shared still: the C library, p11-kit and wslay (Debian has no .a of them).
HTTPD_LIBS := -Wl,-Bstatic -lmicrohttpd -lgnutls -lhogweed -lnettle -ltasn1 -lidn2 -lunistring -lgmp \
              -lsqlite3 -ljansson -liniparser -lz -Wl,-Bdynamic -lwslay -lp11-kit -lpthread -lm -ldl

# nslab itself, for the same reason: a lab's up, down, control loop and
# agent are each an nslab start, and mapping and relocating its 13 shared
# libraries took 1.3-1.7 ms of each; with libnftables loaded only when
# used (kernel/nftables.c) `nslab ls` went from 6-7 ms to about 4. Shared
# still: the C library and libmnl (no .a in Debian).
CLI_LIBS := -Wl,-Bstatic -lnl-route-3 -lnl-3 -ljansson -lnettle -lsqlite3 -liniparser \
            -Wl,-Bdynamic -lmnl -lpthread -lm

all: $(NSLAB_BIN)

$(BUILD)/obj/%.o: src/%.c $(HEADERS) Makefile
	@mkdir -p $(@D)
	@echo "  CC $<"; $(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(NSLAB_BIN): $(CLI_OBJ) $(LIB) | $(PAUSE_BIN) $(COREDNS_BIN) $(HELPER_BINS)
	@mkdir -p $(@D)
	$(CC) $(LDSAN) $(HELPER_LINK) -o $@ $(CLI_OBJ) $(LIB) $(CLI_LIBS)

$(dir $(NSLAB_BIN))nslab-apiserver: $(call helper_objs,apiserver,cmd_apiserver) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDSAN) $(HELPER_LINK) -o $@ $(call helper_objs,apiserver,cmd_apiserver) $(LIB) $(HTTPD_LIBS)

$(dir $(NSLAB_BIN))nslab-kube-proxy: $(call helper_objs,kube-proxy,cmd_kube_proxy) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDSAN) $(HELPER_LINK) -o $@ $(call helper_objs,kube-proxy,cmd_kube_proxy) $(LIB) $(HTTPD_LIBS)

$(dir $(NSLAB_BIN))nslab-export: $(call helper_objs,export,cmd_export_archive) $(BUILD)/obj/target.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDSAN) $(HELPER_LINK) -o $@ $(call helper_objs,export,cmd_export_archive) $(BUILD)/obj/target.o $(LIB) $(LDLIBS)

$(COREDNS_BIN): $(BUILD)/obj/apps/coredns/main.o $(BUILD)/obj/cmd_coredns.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDSAN) -o $@ $(BUILD)/obj/apps/coredns/main.o $(BUILD)/obj/cmd_coredns.o $(LIB) $(COREDNS_LIBS)

ifneq ($(PAUSE_BIN),)
$(PAUSE_BIN): $(PAUSE_OBJ)
	@mkdir -p $(@D)
	$(CC) -static -o $@ $(PAUSE_OBJ)
endif

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(LIB) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -Itests/unit -DNSLAB_SRCDIR='"$(CURDIR)"' -o $@ $< $(LIB) $(LDSAN) $(LDLIBS) $(CHECK_LIBS)

# Every #include respects the layering of docs/architecture.md.
check-layers:
	./bin/check-layers

asan:
	$(MAKE) SAN=1 BUILD=build/asan all

deps:
	./bin/install-deps build run test

deps-fuzz:
	./bin/install-deps fuzz

# What a macOS or Windows user's VM relies on, checked without a VM.
check-vagrant:
	./tests/check-vagrant

unit-tests: $(UNIT_BIN)

# The README's test command: like demo, it installs what is missing first,
# so either may be the first command typed on a fresh Debian 12.
check:
	./bin/install-deps build run test
	$(MAKE) $(NSLAB_BIN) unit-tests
	NSLAB=$(CURDIR)/$(NSLAB_BIN) UNIT_DIR=$(BUILD)/tests ./tests/run

check-unit: $(NSLAB_BIN) $(UNIT_BIN)
	NSLAB=$(CURDIR)/$(NSLAB_BIN) UNIT_DIR=$(BUILD)/tests ./tests/run --unit-only

# make check (or ISOLATION_TESTS) with the demo lab and a foreign netns on the machine (root).
check-isolation: $(NSLAB_BIN) $(UNIT_BIN)
	NSLAB=$(CURDIR)/$(NSLAB_BIN) UNIT_DIR=$(BUILD)/tests ./tests/check-isolation $(ISOLATION_TESTS)

check-asan:
	$(MAKE) SAN=1 BUILD=build/asan check

# Every parser of outside input: the scenario loader (FUZZ_SECONDS each), the
# reader of a lab's plan.json snapshot, seeded with the shipped labs' plans,
# and the cluster DNS server's query parser (tests/fuzz/corpus-dns).
FUZZ_SECONDS ?= 600
FUZZ_CC := clang -std=c17 -D_GNU_SOURCE -O1 -g -fsanitize=fuzzer,address,undefined -Isrc/lib -Isrc -I/usr/include/iniparser $(PKG_CFLAGS)
fuzz: deps-fuzz
	$(MAKE) all
	$(MAKE) CC=clang SAN= BUILD=build/fuzz CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" build/fuzz/libnslab.a
	$(FUZZ_CC) -o build/fuzz/fuzz_scenario tests/fuzz/fuzz_scenario.c build/fuzz/libnslab.a $(LDLIBS)
	$(FUZZ_CC) -o build/fuzz/fuzz_plan_json tests/fuzz/fuzz_plan_json.c build/fuzz/libnslab.a $(LDLIBS)
	$(FUZZ_CC) -o build/fuzz/fuzz_nft_sync tests/fuzz/fuzz_nft_sync.c build/fuzz/libnslab.a $(LDLIBS)
	$(FUZZ_CC) -o build/fuzz/fuzz_dns tests/fuzz/fuzz_dns.c build/fuzz/libnslab.a $(LDLIBS)
	$(FUZZ_CC) -o build/fuzz/fuzz_cni_result tests/fuzz/fuzz_cni_result.c build/fuzz/libnslab.a $(LDLIBS)
	$(FUZZ_CC) -o build/fuzz/fuzz_request tests/fuzz/fuzz_request.c build/fuzz/libnslab.a $(LDLIBS)
	$(FUZZ_CC) -o build/fuzz/fuzz_spdy tests/fuzz/fuzz_spdy.c build/fuzz/libnslab.a $(LDLIBS)
	@mkdir -p build/fuzz/corpus build/fuzz/corpus-json
	cp labs/*.ini templates/*.ini tests/fuzz/corpus/* build/fuzz/corpus/ 2>/dev/null || true
	for f in labs/*.ini; do bin/nslab plan -o json "$$f" > build/fuzz/corpus-json/$$(basename "$$f" .ini).json; done
	NSLAB_TEMPLATE_DIR=$(CURDIR)/templates ./build/fuzz/fuzz_scenario -max_total_time=$(FUZZ_SECONDS) \
	  -dict=tests/fuzz/scenario.dict build/fuzz/corpus
	./build/fuzz/fuzz_plan_json -max_total_time=$(FUZZ_SECONDS) -max_len=200000 build/fuzz/corpus-json
	@mkdir -p build/fuzz/corpus-nft
	bin/nslab plan -o json tests/fuzz/corpus/nftables.ini | jq -j '[.ops[] | select(.op == "nftables") | .payload] | .[0] + "\u0000" + .[1]' \
	  > build/fuzz/corpus-nft/k3s-nftables
	./build/fuzz/fuzz_nft_sync -max_total_time=$(FUZZ_SECONDS) -max_len=100000 build/fuzz/corpus-nft
	@mkdir -p build/fuzz/corpus-dns
	cp tests/fuzz/corpus-dns/* build/fuzz/corpus-dns/
	./build/fuzz/fuzz_dns -max_total_time=$(FUZZ_SECONDS) -max_len=4096 build/fuzz/corpus-dns
	@mkdir -p build/fuzz/corpus-cni && cp tests/fuzz/corpus-cni/* build/fuzz/corpus-cni/
	./build/fuzz/fuzz_cni_result -max_total_time=$(FUZZ_SECONDS) build/fuzz/corpus-cni
	@mkdir -p build/fuzz/corpus-request
	cp tests/fuzz/corpus-request/* build/fuzz/corpus-request/
	./build/fuzz/fuzz_request -max_total_time=$(FUZZ_SECONDS) build/fuzz/corpus-request
	@mkdir -p build/fuzz/corpus-spdy && cp tests/fuzz/corpus-spdy/* build/fuzz/corpus-spdy/
	./build/fuzz/fuzz_spdy -max_total_time=$(FUZZ_SECONDS) -max_len=200000 build/fuzz/corpus-spdy

# Regenerate the golden plans (one per labs/*.ini) after a deliberate change,
# and show the whole diff to review before committing it.
golden: $(BUILD)/tests/test_model
	@mkdir -p tests/unit/golden
	NSLAB_GOLDEN_UPDATE=1 CK_RUN_CASE=core CK_FORK=no $(BUILD)/tests/test_model > /dev/null
	git --no-pager diff tests/unit/golden || true
	git status --short tests/unit/golden

# tests/bench/proxysync.c (kube-proxy's resync) and svcpayload.c (every
# Service kind's payload, generated and applied), linked against the library.
$(BUILD)/bench/proxysync $(BUILD)/bench/svcpayload: $(BUILD)/bench/%: tests/bench/%.c $(LIB) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDSAN) $(LDLIBS)

# tests/bench/kpgen.c: kube-proxy's payload generation and apply, both modes.
$(BUILD)/bench/kpgen: tests/bench/kpgen.c $(LIB) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDSAN) $(LDLIBS)

bench: $(NSLAB_BIN) $(BUILD)/bench/proxysync $(BUILD)/bench/svcpayload $(BUILD)/bench/kpgen
	PROXYSYNC=$(CURDIR)/$(BUILD)/bench/proxysync SVCPAYLOAD=$(CURDIR)/$(BUILD)/bench/svcpayload KPGEN=$(CURDIR)/$(BUILD)/bench/kpgen ./tests/bench/run

# The README's run command: deps, build, and the headline experiment.
demo:
	./bin/install-deps build run test
	$(MAKE) all
	./bin/demo

# The installed binary finds its templates relative to itself
# ($(BINDIR)/../share/nslab/templates), so `make && make install PREFIX=X`
# works without rebuilding for X; NSLAB_DATADIR is only a last resort.
DOCDIR    ?= $(PREFIX)/share/doc/nslab
COMPDIR   ?= $(PREFIX)/share/bash-completion/completions

install: $(NSLAB_BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/templates $(DESTDIR)$(DATADIR)/labs $(DESTDIR)$(MANDIR)/man1 \
	  $(DESTDIR)$(DOCDIR)/walkthroughs $(DESTDIR)$(COMPDIR)
	install -m 0755 $(NSLAB_BIN) $(DESTDIR)$(BINDIR)/nslab
	for h in nslab-pause nslab-coredns $(HELPERS); do if [ -x "$(dir $(NSLAB_BIN))$$h" ]; then \
	  install -d $(DESTDIR)$(LIBEXECDIR) && install -m 0755 "$(dir $(NSLAB_BIN))$$h" $(DESTDIR)$(LIBEXECDIR)/; fi; done
	install -m 0644 templates/*.ini $(DESTDIR)$(DATADIR)/templates/
	install -m 0644 labs/*.ini $(DESTDIR)$(DATADIR)/labs/
	install -m 0644 docs/nslab.1 $(DESTDIR)$(MANDIR)/man1/nslab.1
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 docs/walkthroughs/*.md $(DESTDIR)$(DOCDIR)/walkthroughs/
	install -m 0644 completion/nslab.bash $(DESTDIR)$(COMPDIR)/nslab

# docs/containers.md: the image, the flags, the seed lab and make check in a container.
check-container:
	bin/check-container

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/nslab $(DESTDIR)$(MANDIR)/man1/nslab.1 $(DESTDIR)$(COMPDIR)/nslab
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(LIBEXECDIR)

clean:
	rm -rf build bin/nslab bin/nslab-pause bin/nslab-coredns $(addprefix bin/,$(HELPERS))
