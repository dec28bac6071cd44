# Makefile - builds gwlog_exporter, its tools and its tests.
#
#   make            build/gwlog_exporter, build/loggen, build/gwlog_dimload
#   make run        install what running needs, generate live logs, run
#   make test       install the test tools too, unit + integration tests
#   make layers     who may include whom (ARCHITECTURE.md, tools/layers.py)
#   make docs       README's config reference and the man page's OPTIONS
#                   equal what the exporter prints from its tables
#   make docs-update  rewrite them from build/gwlog_exporter
#   make deb        build/deb/gwlog-exporter_VERSION_ARCH.deb (debhelper, lintian)
#   make package    make deb, then install, run and purge it (tests/package.py)
#   make check-dashboards  grafana/dashboards against Grafana's schema (tsc)
#   make bench      throughput against wc -l and the peers (mtail, python)
#   make asan       ASan + UBSan build in build-asan/, unit + integration tests
#   make valgrind   memcheck on a --one-shot run and a short live run
#   make privilege  run as nobody, no capabilities, W^X; verify the unit
#   make fuzz       libFuzzer targets (clang), FUZZ_SECONDS (60) each
#   make clean
#
# Flags passed from outside (CFLAGS, LDFLAGS, CPPFLAGS) are added to ours,
# never replaced by them.  V=1 shows the full compiler command lines.

PKGS      := libmicrohttpd libpcre2-8 hiredis yaml-0.1 zlib gnutls
# Debian packages: RUN_PKGS build and run the exporter (make run),
# TEST_PKGS are the servers and tools the tests add (make test).
RUN_PKGS  := build-essential pkg-config libmicrohttpd-dev libinotifytools0-dev \
             libpcre2-dev libhiredis-dev libyaml-dev zlib1g-dev \
             libgnutls28-dev libcrypt-dev logrotate curl
TEST_PKGS := check python3 openssl prometheus prometheus-alertmanager mtail \
             redis-server redis-tools chromium debhelper lintian \
             python3-yaml victoria-metrics
DEB_PKGS  := $(RUN_PKGS) $(TEST_PKGS)
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
LIB_SRC  := $(wildcard lib/*.c parsers/*.c labels/*.c config/*.c exporter/*.c)
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

.PHONY: all run test layers docs docs-update unit integration tailing sequences operability conventions web formats exemplars flood hostile hostile-state fleet \
        rules e2e bench deps clean install dist redis deb package deps-run check-dashboards \
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
$(BUILD)/obj/exporter/flags.o \
$(BUILD)/obj/exporter/status.o $(BUILD)/obj/tests/check_selfstats.o: \
    $(BUILD)/revision.h

# The default config is embedded with .incbin, which -MMD cannot see.
$(BUILD)/obj/config/default.o: config/gwlog_exporter.yml

$(BUILD)/check_gwlog: $(TEST_OBJ) $(BUILD)/libgwlog.a
	$(QUIET_LD)$(CC) $(REAL_LDFLAGS) -o $@ $^ $(PKG_LIBS) \
	    $(shell pkg-config --libs check 2>/dev/null)

# Installs the Debian packages that are missing (we run as root on Debian
# 12), with apt's own progress: a fresh machine downloads for minutes.
# deps-run: what make run needs; deps: everything make test needs.
define install_missing
	@missing=$$(for p in $(1); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y --no-install-recommends $$missing; \
	fi
endef

deps-run:
	$(call install_missing,$(RUN_PKGS))

deps:
	$(call install_missing,$(DEB_PKGS))

run: deps-run
	@$(MAKE) --no-print-directory all
	@tools/run.sh

# Each suite runs in its own make, timed: "suite unit: 41 s" as it ends,
# the total at the end, so that a suite growing slower is seen.  The first
# failing suite stops the run, as before.
TEST_SUITES := layers docs unit integration tailing sequences operability conventions web formats exemplars flood hostile hostile-state \
               rules check-dashboards e2e fleet redis package asan privilege

test: deps
	@$(MAKE) --no-print-directory all $(BUILD)/check_gwlog
	@t0=$$(date +%s); rc=0; \
	for s in $(TEST_SUITES); do \
	  s0=$$(date +%s); \
	  $(MAKE) --no-print-directory $$s || rc=$$?; \
	  echo "suite $$s: $$(( $$(date +%s) - s0 )) s$$([ $$rc = 0 ] || echo ', FAILED')"; \
	  [ $$rc = 0 ] || break; \
	done; \
	echo "make test: $$(( $$(date +%s) - t0 )) s in all$$([ $$rc = 0 ] || echo ', FAILED')"; \
	exit $$rc

# Includes point down the layers lib/ < parsers/ < config/ < labels/ <
# exporter/ and never into another folder's private header; the checker
# first proves on a fixture that it finds what it must.
layers:
	@python3 tools/layers.py --self-test

# The generated parts of README.md and deploy/gwlog_exporter.1 against
# --help-config and --help-man (tools/docs.py).
docs: all
	@python3 tools/docs.py

docs-update: all
	@python3 tools/docs.py --write

unit: $(BUILD)/check_gwlog
	@python3 tests/native_keys.py --check
	@cd tests && ../$(BUILD)/check_gwlog

integration: all
	@python3 tests/integration.py

tailing: all
	@python3 tests/tailing.py

# Rotation sequences, crashes and downtime against the real logrotate and
# SIGKILL (~4 min); `python3 tests/sequences.py NAME...` runs a few.
sequences: all
	@python3 tests/sequences.py

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

# The unit tests' exhaustive cases (tagged "exhaustive", left out of
# make unit: see tests/check_main.c) run first.
fuzz: deps fuzz-build $(BUILD)/check_gwlog
	cd tests && CK_INCLUDE_TAGS=exhaustive ../$(BUILD)/check_gwlog
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
	@# An existing (perhaps edited) configuration is kept; the new one
	@# goes beside it as .dist.
	@for f in config/gwlog_exporter.yml:gwlog_exporter/gwlog_exporter.yml \
	         deploy/gwlog_exporter.default:default/gwlog_exporter; do \
	  src=$${f%%:*}; dst=$(DESTDIR)$(SYSCONFDIR)/$${f#*:}; \
	  if [ -e $$dst ] && ! cmp -s $$src $$dst; then \
	    echo "keeping $$dst; new version in $$dst.dist"; dst=$$dst.dist; fi; \
	  install -D -m 0644 $$src $$dst; \
	done
	sed -e 's|/usr/bin/gwlog_exporter|$(BINDIR)/gwlog_exporter|g' \
	    -e 's|/etc/gwlog_exporter|$(SYSCONFDIR)/gwlog_exporter|g' \
	    -e 's|/etc/default/gwlog_exporter|$(SYSCONFDIR)/default/gwlog_exporter|g' \
	    deploy/gwlog_exporter.service > $(BUILD)/gwlog_exporter.service
	install -D -m 0644 $(BUILD)/gwlog_exporter.service \
	    $(DESTDIR)$(UNITDIR)/gwlog_exporter.service
	install -D -m 0644 deploy/gwlog_exporter.1 $(DESTDIR)$(MANDIR)/gwlog_exporter.1
	install -D -m 0644 deploy/gwlog_dimload.1 $(DESTDIR)$(MANDIR)/gwlog_dimload.1
	install -D -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -d $(DESTDIR)$(DATADIR)/alerts $(DESTDIR)$(DATADIR)/grafana
	cp -R alerts/*.yml $(DESTDIR)$(DATADIR)/alerts/
	cp -R grafana/dashboards grafana/provisioning $(DESTDIR)$(DATADIR)/grafana/

# The Debian package: debian/ built with dpkg-buildpackage and debhelper
# in a copy of the tree under build/deb/ (dpkg-buildpackage writes the
# .deb next to the tree it builds), then checked with lintian, which must
# report no error.  `make package` also installs it, runs it as its user
# and purges it (tests/package.py).
DEB_DIR  := $(BUILD)/deb
DEB_FILE := $(DEB_DIR)/gwlog-exporter_$(VERSION)_$(shell dpkg --print-architecture 2>/dev/null).deb

deb:
	@for p in debhelper lintian; do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; apt-get update && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y --no-install-recommends $$missing; \
	fi
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	git ls-files -z --cached --others --exclude-standard | \
	    xargs -0 tar -cf - --ignore-failed-read | tar -xf - -C $(DEB_DIR)/src
	cd $(DEB_DIR)/src && DEB_BUILD_OPTIONS="nocheck parallel=2" \
	    dpkg-buildpackage -b -us -uc
	lintian --fail-on error --info $(DEB_DIR)/*.changes
	@echo "$(DEB_FILE)"

package: deb all
	@python3 tests/package.py $(DEB_FILE)

# A source tarball of the committed tree: build/gwlog_exporter-VERSION.tar.gz.
dist:
	@mkdir -p $(BUILD)
	git archive --format=tar.gz --prefix=gwlog_exporter-$(VERSION)/ \
	    -o $(BUILD)/gwlog_exporter-$(VERSION).tar.gz HEAD
	@echo "$(BUILD)/gwlog_exporter-$(VERSION).tar.gz"

# Every dashboard against Grafana's own schema: @grafana/schema and
# typescript, pinned in grafana/schema-check/package-lock.json, installed
# into grafana/schema-check/node_modules (npm ci) when missing; the
# dashboards are regenerated first and must equal the committed JSON.
check-dashboards:
	@command -v npm >/dev/null || { apt-get update && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm; }
	@cd grafana/schema-check && { [ -x node_modules/.bin/tsc ] || \
	    npm ci --no-audit --no-fund; }
	@rm -rf grafana/schema-check/build/dashboards
	@mkdir -p grafana/schema-check/build/dashboards
	@python3 grafana/gen_dashboards.py grafana/schema-check/build/dashboards
	@diff -r grafana/schema-check/build/dashboards grafana/dashboards >/dev/null || { \
	  echo "FAIL  grafana/dashboards differ from gen_dashboards.py's output"; exit 1; }
	@python3 grafana/schema-check/gen_check.py
	@cd grafana/schema-check && node_modules/.bin/tsc -p tsconfig.json && \
	  echo "ok    every dashboard type-checks against @grafana/schema $$(node -p 'require("@grafana/schema/package.json").version')"

operability: all
	@python3 tests/operability.py

# Repeatable --web.listen-address, --web.systemd-socket, --log.format=json,
# signals by name, /-/ready and gwlog_input_files on a misconfigured
# exporter (~10 s).
conventions: all
	@python3 tests/conventions.py

web: all
	@python3 tests/web.py

# 1,000 idle, 200 slowloris and 200 wrong-password connections at once
# against one exporter: valid scrapes within 1 s, RSS bounded (~35 s).
flood: all
	@python3 tests/flood.py

# Exposition formats and their negotiation, promtool, Prometheus scraping
# OpenMetrics and protobuf (~15 s).
formats: all
	@python3 tests/formats.py

# Exemplars on buckets and counters against an independent computation,
# in OpenMetrics and protobuf, none in 0.0.4; a real Prometheus with
# --enable-feature=exemplar-storage (~15 s).
exemplars: all
	@python3 tests/exemplars.py

hostile: all
	@python3 tests/hostile.py

# Checkpoints with a right CRC and hostile content; a state dir removed
# while running (~30 s).
hostile-state: all
	@python3 tests/hostile_state.py

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ)

-include $(DEP) $(wildcard build-fuzz/obj/*/*.d build-fuzz/obj/tests/fuzz/*.d)
