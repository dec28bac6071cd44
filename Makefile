# Makefile - builds gwlog_exporter, its tools and its tests.
#
#   make            build/gwlog_exporter, build/loggen, build/gwlog_dimload
#   make run        install missing Debian packages, generate live logs, run
#   make test       install missing Debian packages, unit + integration tests
#   make bench      throughput of --one-shot against wc -l on the same file
#   make asan       ASan + UBSan build in build-asan/, unit + integration tests
#   make valgrind   memcheck on a --one-shot run and a short live run
#   make privilege  run as nobody, no capabilities, W^X; verify the unit
#   make fuzz       libFuzzer targets (clang), FUZZ_SECONDS (60) each
#   make clean
#
# Flags passed from outside (CFLAGS, LDFLAGS, CPPFLAGS) are added to ours,
# never replaced by them.  V=1 shows the full compiler command lines.

PKGS      := libmicrohttpd libpcre2-8 hiredis yaml-0.1 zlib gnutls
DEB_PKGS  := build-essential pkg-config libmicrohttpd-dev libinotifytools0-dev \
             libpcre2-dev libhiredis-dev check libyaml-dev zlib1g-dev \
             libgnutls28-dev libcrypt-dev \
             python3 curl openssl prometheus prometheus-alertmanager logrotate \
             redis-server redis-tools chromium \
             python3-yaml victoria-metrics
BUILD     := build
VERSION   := 0.1.0
REVISION  := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

OPTIMIZATION ?= -O2
WARNINGS   = -Wall -Wextra -Werror -Wstrict-prototypes -Wwrite-strings \
             -Wno-missing-field-initializers
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -linotifytools -lcrypt -lpthread -lm
REAL_CFLAGS = -std=gnu11 $(OPTIMIZATION) -g $(WARNINGS) $(CPPFLAGS) $(CFLAGS) \
              $(PKG_CFLAGS) -I. -I$(BUILD) -MMD -MP \
              -DGWLOG_VERSION='"$(VERSION)"'
REAL_LDFLAGS = $(LDFLAGS)

# Every module except the two entry points goes into one static library, so
# the exporter, the unit tests and the tools link the same objects.
LIB_SRC  := $(wildcard parsers/*.c labels/*.c config/*.c exporter/*.c)
LIB_SRC  := $(filter-out exporter/main.c,$(LIB_SRC))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard tests/check_*.c)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)
# tests/check_NAME.c defines NAME_suite(); check_main.c runs every one of
# them through the list generated here, so a new test file needs no edit.
SUITES   := $(filter-out main,$(patsubst tests/check_%.c,%,$(TEST_SRC)))
DEP      := $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BUILD)/obj/exporter/main.d \
            $(BUILD)/obj/tools/loggen.d $(BUILD)/obj/tools/dimload.d

ifndef V
QUIET_CC = @printf '    %-6s %s\n' CC $@ 1>&2;
QUIET_LD = @printf '    %-6s %s\n' LINK $@ 1>&2;
endif

.PHONY: all run test unit integration tailing operability web hostile rules e2e fleet bench deps clean install dist redis \
        asan valgrind privilege fuzz fuzz-build

all: $(BUILD)/gwlog_exporter $(BUILD)/loggen $(BUILD)/gwlog_dimload

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(CC) $(REAL_CFLAGS) -c -o $@ $<

$(BUILD)/libgwlog.a: $(LIB_OBJ)
	@rm -f $@
	$(QUIET_LD)$(AR) rcs $@ $^

$(BUILD)/gwlog_exporter: $(BUILD)/obj/exporter/main.o $(BUILD)/libgwlog.a
	$(QUIET_LD)$(CC) $(REAL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# Loads dimension CSVs into Redis (labels/dims_redis.c has the schema).
$(BUILD)/gwlog_dimload: $(BUILD)/obj/tools/dimload.o $(BUILD)/libgwlog.a
	$(QUIET_LD)$(CC) $(REAL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/loggen: $(BUILD)/obj/tools/loggen.o
	$(QUIET_LD)$(CC) $(REAL_LDFLAGS) -o $@ $^ -lm

$(BUILD)/suites.h: $(TEST_SRC)
	@mkdir -p $(BUILD)
	@printf 'SUITE(%s)\n' $(SUITES) > $@.tmp
	@cmp -s $@.tmp $@ 2>/dev/null && rm $@.tmp || mv $@.tmp $@

$(BUILD)/obj/tests/check_main.o: $(BUILD)/suites.h

# The revision goes into build/revision.h, rewritten only when it changes,
# so that every object including it is rebuilt together (a -D flag would
# leave objects of different commits disagreeing).
$(BUILD)/revision.h: FORCE
	@mkdir -p $(BUILD)
	@echo '#define GWLOG_REVISION "$(REVISION)"' > $@.tmp
	@cmp -s $@.tmp $@ 2>/dev/null && rm $@.tmp || mv $@.tmp $@

FORCE:

$(BUILD)/obj/exporter/main.o $(BUILD)/obj/exporter/selfstats.o \
$(BUILD)/obj/exporter/status.o $(BUILD)/obj/tests/check_selfstats.o: \
    $(BUILD)/revision.h

# The default config is embedded with .incbin, which -MMD cannot see.
$(BUILD)/obj/config/default.o: config/gwlog_exporter.yml

$(BUILD)/check_gwlog: $(TEST_OBJ) $(BUILD)/libgwlog.a
	$(QUIET_LD)$(CC) $(REAL_LDFLAGS) -o $@ $^ $(PKG_LIBS) \
	    $(shell pkg-config --libs check 2>/dev/null)

# Installs the Debian packages that are missing (we run as root on Debian 12).
deps:
	@missing=$$(for p in $(DEB_PKGS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

run: deps
	@$(MAKE) --no-print-directory all
	@tools/run.sh

test: deps
	@$(MAKE) --no-print-directory all $(BUILD)/check_gwlog
	@$(MAKE) --no-print-directory unit integration tailing operability web hostile rules e2e fleet redis \
	    asan privilege

unit: $(BUILD)/check_gwlog
	@cd tests && ../$(BUILD)/check_gwlog

integration: all
	@python3 tests/integration.py

tailing: all
	@python3 tests/tailing.py

# Redis dimension backend against real redis-server processes (~30 s).
redis: all
	@python3 tests/redis.py

# promtool check/test rules, amtool check-config and routing (alerts/).
rules:
	@python3 alerts/tests/check_alerts.py

# Two regions, two global tiers (federation, VictoriaMetrics + vmalert),
# Alertmanager, webhook, dashboards, at production intervals (15 s) with the
# shipped rule files (~6 min).
e2e: all
	@python3 tests/e2e.py

# tools/fleet_model.py against prometheus_tsdb_head_series of a real
# Prometheus scraping 4 exporters (~30 s).
fleet: all
	@python3 tests/fleet.py

bench: deps
	@$(MAKE) --no-print-directory all
	@tools/bench.sh

# Sanitizers: the same sources, tests and integration run built with
# ASan + UBSan into build-asan/ (a second tree, so both builds coexist).
# GCC's -Wformat-truncation and -Wstringop-* see the sanitizers' extra
# code paths and warn where the normal build does not; they stay warnings
# there and errors in the normal build.  Instrumented code runs 2-4x
# slower, hence CK_TIMEOUT_MULTIPLIER for Check's 4 s per-test timeout.
ASAN_BUILD := build-asan
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined
ASAN_ENV   := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
              UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

asan:
	@$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) OPTIMIZATION=-O1 \
	    CFLAGS="$(ASAN_FLAGS) -Wno-error=format-truncation \
	            -Wno-error=stringop-overflow -Wno-error=stringop-truncation \
	            $(CFLAGS)" \
	    LDFLAGS="$(ASAN_FLAGS) $(LDFLAGS)" \
	    $(ASAN_BUILD)/gwlog_exporter $(ASAN_BUILD)/check_gwlog
	@$(MAKE) --no-print-directory $(BUILD)/loggen
	cd tests && $(ASAN_ENV) CK_TIMEOUT_MULTIPLIER=5 ../$(ASAN_BUILD)/check_gwlog
	$(ASAN_ENV) GWLOG_EXPORTER=$(ASAN_BUILD)/gwlog_exporter \
	    python3 tests/integration.py

# valgrind memcheck on the normal build: a --one-shot run over a loggen
# corpus, and a live run that tails, serves two scrapes and stops on
# SIGTERM.  Any error or leak fails (tests/valgrind.sh).
valgrind: all
	@tests/valgrind.sh $(BUILD)

# The exporter without root, capabilities or W^X memory, as
# deploy/gwlog_exporter.service runs it (tests/least_privilege.sh).
privilege: all
	@tests/least_privilege.sh $(BUILD)

# Fuzzing with libFuzzer.  clang builds the library sources themselves
# (not $(BUILD)/libgwlog.a, which gcc builds without instrumentation)
# into build-fuzz/; each target then runs for FUZZ_SECONDS from its seed
# corpus in tests/fuzz/corpus/TARGET (read only; what the fuzzer finds
# goes to build-fuzz/corpus/TARGET).  A crash fails the run and leaves
# build-fuzz/crash-TARGET-*; turn it into a regression test.
FUZZ          := build-fuzz
FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 60
FUZZ_TARGETS  := json kv regex config csv state pipeline
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS    = -std=gnu11 -O1 -g -fno-omit-frame-pointer $(WARNINGS) \
                 $(PKG_CFLAGS) -I. -I$(FUZZ) \
                 -DGWLOG_VERSION='"$(VERSION)"'
FUZZ_LIB_OBJ  := $(LIB_SRC:%.c=$(FUZZ)/obj/%.o)
FUZZ_BINS     := $(FUZZ_TARGETS:%=$(FUZZ)/fuzz_%)

$(FUZZ)/revision.h:
	@mkdir -p $(FUZZ)
	@echo '#define GWLOG_REVISION "fuzz"' > $@

$(FUZZ)/obj/%.o: %.c $(FUZZ)/revision.h
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
	    $(FUZZ_SAN) -MMD -MP -c -o $@ $<

$(FUZZ)/obj/config/default.o: config/gwlog_exporter.yml

# Keep the objects: pattern-rule intermediates would be deleted.
.SECONDARY: $(FUZZ_LIB_OBJ) $(FUZZ_TARGETS:%=$(FUZZ)/obj/tests/fuzz/fuzz_%.o)

$(FUZZ)/fuzz_%: $(FUZZ)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	$(QUIET_LD)$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(PKG_LIBS)

fuzz-build:
	@command -v $(FUZZ_CC) >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends clang >/dev/null; }
	@$(MAKE) --no-print-directory $(FUZZ_BINS)

fuzz: deps fuzz-build
	@tests/fuzz/run.sh $(FUZZ) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Installation: make install [PREFIX=/usr/local] [DESTDIR=...].  The
# configuration goes to SYSCONFDIR (/etc unless PREFIX is elsewhere), the
# systemd unit gets the installed paths.
PREFIX     ?= /usr/local
SYSCONFDIR ?= $(if $(filter /usr /usr/local,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR    ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
BINDIR      = $(PREFIX)/bin
DATADIR     = $(PREFIX)/share/gwlog_exporter
MANDIR      = $(PREFIX)/share/man/man1
DOCDIR      = $(PREFIX)/share/doc/gwlog_exporter

install: all
	install -D -m 0755 $(BUILD)/gwlog_exporter $(DESTDIR)$(BINDIR)/gwlog_exporter
	install -D -m 0755 $(BUILD)/gwlog_dimload $(DESTDIR)$(BINDIR)/gwlog_dimload
	install -D -m 0644 config/gwlog_exporter.yml \
	    $(DESTDIR)$(SYSCONFDIR)/gwlog_exporter/gwlog_exporter.yml
	sed -e 's|/usr/local/bin/|$(BINDIR)/|g' \
	    -e 's|/etc/gwlog_exporter|$(SYSCONFDIR)/gwlog_exporter|g' \
	    -e 's|/usr/share/doc/gwlog_exporter|$(DOCDIR)|g' \
	    deploy/gwlog_exporter.service > $(BUILD)/gwlog_exporter.service
	install -D -m 0644 $(BUILD)/gwlog_exporter.service \
	    $(DESTDIR)$(UNITDIR)/gwlog_exporter.service
	install -D -m 0644 deploy/gwlog_exporter.1 $(DESTDIR)$(MANDIR)/gwlog_exporter.1
	install -D -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -d $(DESTDIR)$(DATADIR)/alerts $(DESTDIR)$(DATADIR)/grafana
	cp -R alerts/*.yml $(DESTDIR)$(DATADIR)/alerts/
	cp -R grafana/dashboards grafana/provisioning $(DESTDIR)$(DATADIR)/grafana/

# A source tarball of the committed tree: build/gwlog_exporter-VERSION.tar.gz.
dist:
	@mkdir -p $(BUILD)
	git archive --format=tar.gz --prefix=gwlog_exporter-$(VERSION)/ \
	    -o $(BUILD)/gwlog_exporter-$(VERSION).tar.gz HEAD
	@echo "$(BUILD)/gwlog_exporter-$(VERSION).tar.gz"

operability: all
	@python3 tests/operability.py

web: all
	@python3 tests/web.py

hostile: all
	@python3 tests/hostile.py

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ)

-include $(DEP) $(wildcard build-fuzz/obj/*/*.d build-fuzz/obj/tests/fuzz/*.d)
