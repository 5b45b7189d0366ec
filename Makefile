# nightshift - one non-recursive GNU Makefile.
#   make setup        install the Debian packages it needs (.ci/install-deps)
#   make demo         build, start the demo run in the background, open the console
#   make              build build/nightshift
#   make test         build, then unit tests (cmocka), check-layout and end-to-end tests
#   make check-layout HOUSE.md's nevers, each a grep (tests/check-layout.sh)
#   make check-asan   the whole test suite under AddressSanitizer + UBSan
#   make check-tsan   the whole test suite under ThreadSanitizer
#   make bench        scale benchmarks vs a spawn floor, xargs, GNU parallel -> docs/benchmarks.md
#                     (BENCH_QUICK=1: a short smoke run)
#   make screenshots  drive the console in tmux and render screenshots/*.png
#   make analyze      gcc -fanalyzer over every source, then cppcheck (in .ci/run)
#   make valgrind     the CLI paths under valgrind (tests/valgrind-cli.sh)
#   make soak         the crash and pressure tests long: 2000 kills, 20 after: kill rounds, every crash point
#                     at more hits, 10 minutes' work under store pressure (~40 min)
#   make fuzz         libFuzzer (clang) on each tests/fuzz target, FUZZ_SECONDS each
#   make fuzz-replay  the fuzz targets over their seeds and regressions (in make test)
#   make install      PREFIX=/usr/local DESTDIR=  (make uninstall: the same files away)
# V=1 shows full commands.

NS_VERSION := 0.1.0
CC ?= gcc
BUILD ?= build
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man

PKGS := yaml-0.1 sqlite3 ncursesw
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS = $(shell pkg-config --libs $(PKGS))
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wwrite-strings \
        -Wformat=2 -Wvla -Werror
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) -pthread
# The wings' private headers, by name, until each is included only in its wing.
PRIVATE_INC := -Iruntime/supervisor -Iruntime/spec -Iruntime/store
ALL_CPPFLAGS = -Iinclude $(PRIVATE_INC) -D_GNU_SOURCE -DNS_VERSION='"$(NS_VERSION)"' $(PKG_CFLAGS) $(CPPFLAGS)
ALL_LDFLAGS := -pthread $(LDFLAGS) $(EXTRA_CFLAGS)
LIBS = $(PKG_LIBS) -lm

ifeq ($(V),1)
Q :=
quiet = @:
else
Q := @
quiet = @printf '  %-6s %s\n' $(1) $(2);
endif

# runtime/ in wings (docs/architecture.md): cli supervisor store exec spec render base.
LIB_SRCS := $(filter-out runtime/main.c,$(wildcard runtime/*.c runtime/*/*.c tui/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/runtime/main.o
BIN := $(BUILD)/nightshift
UNIT_SRCS := $(wildcard tests/unit/test-*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TEST_HELPER_SRCS := $(wildcard tests/helpers/*.c)
TEST_HELPER_BINS := $(TEST_HELPER_SRCS:tests/helpers/%.c=$(BUILD)/tests/helpers/%)
# Fuzz targets: tests/fuzz/fuzz-NAME.c over one pure parser each. Seeds come
# from the tree (specs in configs/ and tests/), regressions/NAME/ keeps every
# crasher found; both are replayed by make test (fuzz-replay).
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz-%.c,%,$(wildcard tests/fuzz/fuzz-*.c))
FUZZ_SEEDS_spec := configs tests/e2e/specs tests/fuzz/seeds/spec
FUZZ_SEEDS_report := tests/fuzz/seeds/report
FUZZ_SEEDS_values := tests/fuzz/seeds/values
FUZZ_SEEDS_escape := tests/fuzz/seeds/escape
FUZZ_SECONDS ?= 60

BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/tests/bench/%)

.PHONY: all setup demo test unit e2e check-layout check-asan check-tsan bench screenshots install uninstall \
	clean format fuzz fuzz-bins fuzz-replay soak analyze analyze-objs valgrind
all: $(BIN) $(TEST_HELPER_BINS) $(BENCH_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call quiet,CC,$<)
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BIN): $(MAIN_OBJ) $(LIB_OBJS)
	$(call quiet,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/test-%: tests/unit/test-%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(call quiet,TEST,$@)
	$(Q)$(CC) $(ALL_CPPFLAGS) -DNS_CHECKED $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< $(LIB_OBJS) \
		$(ALL_LDFLAGS) $(LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/helpers/%: tests/helpers/%.c
	@mkdir -p $(dir $@)
	$(call quiet,CC,$@)
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS)

$(BUILD)/fuzz/replay-%: tests/fuzz/fuzz-%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(call quiet,FUZZ,$@)
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -o $@ $< tests/fuzz/replay.c $(LIB_OBJS) \
		$(ALL_LDFLAGS) $(LIBS)

$(BUILD)/fuzz/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/fuzz.h $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(call quiet,FUZZ,$@)
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB_OBJS) \
		$(ALL_LDFLAGS) $(LIBS)

fuzz-replay: $(FUZZ_TARGETS:%=fuzz-replay-%)

fuzz-replay-%: $(BUILD)/fuzz/replay-%
	@$< $(FUZZ_SEEDS_$*) tests/fuzz/regressions/$*

fuzz-bins: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz-%)

# Every object is built by clang with coverage for libFuzzer, ASan and UBSan;
# each target runs FUZZ_SECONDS over a working corpus seeded from the tree.
# A crash leaves build-fuzz/fuzz/crash-NAME-*: copy it to
# tests/fuzz/regressions/NAME/ with the fix.
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang CFLAGS='-O1 -g' \
		EXTRA_CFLAGS='-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer' fuzz-bins
	$(MAKE) -k BUILD=build-fuzz $(FUZZ_TARGETS:%=fuzz-run-%)

fuzz-run-%:
	@mkdir -p $(BUILD)/corpus/$*
	@echo "fuzz: $* for $(FUZZ_SECONDS) s (log: $(BUILD)/fuzz-$*.log)"
	@$(BUILD)/fuzz/fuzz-$* -max_total_time=$(FUZZ_SECONDS) -timeout=10 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/crash-$*- \
		$(BUILD)/corpus/$* $(FUZZ_SEEDS_$*) 2>$(BUILD)/fuzz-$*.log || \
		{ tail -40 $(BUILD)/fuzz-$*.log; exit 1; }
	@grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+ *DONE' \
		$(BUILD)/fuzz-$*.log
# Benchmark programs (the spawn floor, a fast worker): no nightshift objects.
$(BUILD)/tests/bench/%: tests/bench/%.c
	@mkdir -p $(dir $@)
	$(call quiet,CC,$@)
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS)

# Static analysis: every object compiled again with gcc's -fanalyzer (its
# findings are errors, as all warnings are), then cppcheck. A finding is
# fixed, or suppressed inline with the reason beside it.
CPPCHECK_FLAGS := -q --std=c11 -D_GNU_SOURCE -Iinclude $(PRIVATE_INC) --enable=warning,portability,performance \
	--inline-suppr --error-exitcode=1
analyze:
	$(MAKE) BUILD=build-analyze EXTRA_CFLAGS=-fanalyzer analyze-objs
	cppcheck $(CPPCHECK_FLAGS) -j2 runtime tui tests/fuzz tests/helpers

analyze-objs: $(MAIN_OBJ) $(LIB_OBJS)

valgrind: all
	tests/valgrind-cli.sh $(BIN)

# Each script runs alone here (its own temporary HOME and database), so the
# knobs reach it; make test runs the same scripts short.
soak: all
	KILL9_KILLS=2000 NIGHTSHIFT_BUILD=$(BUILD) tests/e2e/t-harden-kill9.sh
	CRASHPOINT_HITS="1 2 3 7" NIGHTSHIFT_BUILD=$(BUILD) tests/e2e/t-harden-crashpoints.sh
	PRESSURE_SECONDS=600 NIGHTSHIFT_BUILD=$(BUILD) tests/console/t-pressure.sh
	AFTER_KILL9_ROUNDS=20 NIGHTSHIFT_BUILD=$(BUILD) tests/e2e/t-after-kill9.sh

setup:
	.ci/install-deps

# The demo run goes to the default database; the console opens on it. Quit
# the console with Q: the run goes on in the background (nightshift status).
demo: all
	$(BIN) run --rerun --detach configs/demo.yaml
	$(BIN) console demo

unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do $$t || fail=1; done; exit $$fail

e2e: all
	@NIGHTSHIFT_BUILD=$(BUILD) tests/run-e2e.sh

# The known violations it allows are tests/layout-exceptions.txt: a list
# that only shrinks (a listed one that is fixed must leave it).
check-layout:
	@tests/check-layout.sh

test: all unit fuzz-replay check-layout e2e

# NS_CHECKED: ALWAYS()/NEVER() (check.h) abort on a broken invariant in
# the sanitizer runs and the unit tests; elsewhere they cost nothing.
check-asan:
	$(MAKE) BUILD=build-asan CFLAGS='-O1 -g' CPPFLAGS=-DNS_CHECKED \
		EXTRA_CFLAGS='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all' test

check-tsan:
	$(MAKE) BUILD=build-tsan CFLAGS='-O1 -g' CPPFLAGS=-DNS_CHECKED EXTRA_CFLAGS='-fsanitize=thread' test

bench: all
	tests/bench/run.sh $(BIN)

screenshots: all
	tests/screenshots/make-screenshots.sh $(BIN)

# nightshift-spec(5) is written by the binary from the spec's key table.
SPEC_MAN := $(BUILD)/nightshift-spec.5
$(SPEC_MAN): $(BIN)
	$(call quiet,GEN,$@)
	$(Q)$(BIN) _spec-man >$@.tmp && mv $@.tmp $@

# What `make install` puts under $(DESTDIR)$(PREFIX), and so exactly what
# `make uninstall` takes away: the stripped binary, the manual pages, the
# bash completion, the worker helpers (emit.h, nightshift_emit.py) and the
# example configs.
EXAMPLES := $(filter-out configs/README.md,$(shell find configs -type f | sort)) configs/README.md
EXAMPLE_DIRS := $(sort $(patsubst %/,%,$(dir $(EXAMPLES))))
SHAREDIR := $(PREFIX)/share/nightshift
COMPDIR ?= $(PREFIX)/share/bash-completion/completions
INCDIR := $(PREFIX)/include/nightshift
STRIP ?= strip

install: $(BIN) $(SPEC_MAN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(COMPDIR) $(DESTDIR)$(INCDIR) \
		$(patsubst configs%,$(DESTDIR)$(SHAREDIR)/examples%,$(EXAMPLE_DIRS))
	install -m 755 -s --strip-program=$(STRIP) $(BIN) $(DESTDIR)$(BINDIR)/nightshift
	install -m 644 docs/nightshift.1 $(DESTDIR)$(MANDIR)/man1/nightshift.1
	install -m 644 $(SPEC_MAN) $(DESTDIR)$(MANDIR)/man5/nightshift-spec.5
	install -m 644 docs/nightshift-protocol.7 $(DESTDIR)$(MANDIR)/man7/nightshift-protocol.7
	install -m 644 completion/nightshift.bash $(DESTDIR)$(COMPDIR)/nightshift
	install -m 644 include/nightshift/emit.h $(DESTDIR)$(INCDIR)/emit.h
	install -m 644 include/nightshift/nightshift_emit.py $(DESTDIR)$(INCDIR)/nightshift_emit.py
	for f in $(EXAMPLES); do \
		mode=644; [ -x "$$f" ] && mode=755; \
		install -m $$mode "$$f" "$(DESTDIR)$(SHAREDIR)/examples$${f#configs}" || exit 1; \
	done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/nightshift $(DESTDIR)$(MANDIR)/man1/nightshift.1 \
		$(DESTDIR)$(MANDIR)/man5/nightshift-spec.5 $(DESTDIR)$(COMPDIR)/nightshift \
		$(DESTDIR)$(MANDIR)/man7/nightshift-protocol.7 \
		$(DESTDIR)$(INCDIR)/emit.h $(DESTDIR)$(INCDIR)/nightshift_emit.py \
		$(patsubst configs%,$(DESTDIR)$(SHAREDIR)/examples%,$(EXAMPLES))
	@# Our own directories, deepest first (and only if empty: nothing else's).
	-rmdir $(patsubst configs%,$(DESTDIR)$(SHAREDIR)/examples%,$(filter-out configs,$(EXAMPLE_DIRS))) \
		$(DESTDIR)$(SHAREDIR)/examples $(DESTDIR)$(SHAREDIR) $(DESTDIR)$(INCDIR) 2>/dev/null || true

format:
	clang-format -i $(wildcard include/nightshift/*.h runtime/*.c runtime/*/*.c runtime/*/*.h tui/*.c tui/*.h tests/unit/*.c)

clean:
	rm -rf build build-asan build-tsan build-fuzz build-analyze build-soak

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
