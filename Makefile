# Makefile - builds gwlog_exporter, its tools and its tests.
#
#   make            build/gwlog_exporter, build/loggen
#   make run        install missing Debian packages, generate live logs, run
#   make test       install missing Debian packages, unit + integration tests
#   make bench      throughput of --one-shot against wc -l on the same file
#   make clean
#
# Flags passed from outside (CFLAGS, LDFLAGS, CPPFLAGS) are added to ours,
# never replaced by them.  V=1 shows the full compiler command lines.

PKGS      := libmicrohttpd libpcre2-8 hiredis yaml-0.1 zlib
DEB_PKGS  := build-essential pkg-config libmicrohttpd-dev libinotifytools0-dev \
             libpcre2-dev libhiredis-dev check libyaml-dev zlib1g-dev \
             python3 curl prometheus prometheus-alertmanager logrotate
BUILD     := build
VERSION   := 0.1.0
REVISION  := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

OPTIMIZATION ?= -O2
WARNINGS   = -Wall -Wextra -Werror -Wstrict-prototypes -Wwrite-strings \
             -Wno-missing-field-initializers
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -linotifytools -lpthread -lm
REAL_CFLAGS = -std=gnu11 $(OPTIMIZATION) -g $(WARNINGS) $(CPPFLAGS) $(CFLAGS) \
              $(PKG_CFLAGS) -I. -I$(BUILD) -MMD -MP \
              -DGWLOG_VERSION='"$(VERSION)"' -DGWLOG_REVISION='"$(REVISION)"'
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
            $(BUILD)/obj/tools/loggen.d

ifndef V
QUIET_CC = @printf '    %-6s %s\n' CC $@ 1>&2;
QUIET_LD = @printf '    %-6s %s\n' LINK $@ 1>&2;
endif

.PHONY: all run test unit integration tailing rules e2e bench deps clean

all: $(BUILD)/gwlog_exporter $(BUILD)/loggen

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(CC) $(REAL_CFLAGS) -c -o $@ $<

$(BUILD)/libgwlog.a: $(LIB_OBJ)
	@rm -f $@
	$(QUIET_LD)$(AR) rcs $@ $^

$(BUILD)/gwlog_exporter: $(BUILD)/obj/exporter/main.o $(BUILD)/libgwlog.a
	$(QUIET_LD)$(CC) $(REAL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/loggen: $(BUILD)/obj/tools/loggen.o
	$(QUIET_LD)$(CC) $(REAL_LDFLAGS) -o $@ $^ -lm

$(BUILD)/suites.h: $(TEST_SRC)
	@mkdir -p $(BUILD)
	@printf 'SUITE(%s)\n' $(SUITES) > $@.tmp
	@cmp -s $@.tmp $@ 2>/dev/null && rm $@.tmp || mv $@.tmp $@

$(BUILD)/obj/tests/check_main.o: $(BUILD)/suites.h

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
	@$(MAKE) --no-print-directory unit integration tailing rules e2e

unit: $(BUILD)/check_gwlog
	@cd tests && ../$(BUILD)/check_gwlog

integration: all
	@python3 tests/integration.py

tailing: all
	@python3 tests/tailing.py

# promtool check/test rules, amtool check-config and routing (alerts/).
rules:
	@python3 alerts/tests/check_alerts.py

# Two regions, federation, Alertmanager, webhook, dashboards (~70 s).
e2e: all
	@python3 tests/e2e.py

bench: deps
	@$(MAKE) --no-print-directory all
	@tools/bench.sh

clean:
	rm -rf $(BUILD)

-include $(DEP)
