# outfall - GNU Make build. Binaries land in build/ (BUILD=... to change).
#   make            build outfalld and outfall-sim
#   make check      install missing packages, build with -Werror, run unit
#                   tests (plain, ASan/UBSan, valgrind) and integration tests
#   make demo       end-to-end demo with a local broker, InfluxDB, simulator
#   make bench      print performance figures

CC ?= cc
PKG_CONFIG ?= pkg-config
BUILD ?= build
PREFIX ?= /usr/local
VERSION := 0.1.0

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror
CFLAGS ?= -O2 -g
PKGS := libmodbus libcurl libconfig libcjson libsystemd zlib
PAHO_LIBS ?= -lpaho-mqtt3as
SAN ?=
SAN_ON := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SANFLAGS := $(if $(SAN),$(SAN_ON))

ALL_CFLAGS := -std=c17 -D_GNU_SOURCE -DOUTFALL_VERSION='"$(VERSION)"' $(WARN) $(CFLAGS) \
	$(SANFLAGS) -iquote gateway -iquote drivers $(shell $(PKG_CONFIG) --cflags $(PKGS))
LDLIBS := $(shell $(PKG_CONFIG) --libs $(PKGS)) $(PAHO_LIBS) -lm
ALL_LDFLAGS := $(LDFLAGS) $(SANFLAGS)

CORE_SRCS := $(filter-out gateway/main.c,$(wildcard gateway/*.c)) $(wildcard drivers/*.c)
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/liboutfall.a

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Link seams: a test may wrap system calls, e.g. WRAP_test_queue := write
WRAP_test_outbox_faults := write fdatasync fsync renameat openat ftruncate malloc calloc realloc free
WRAP_test_sink_mqtt := MQTTAsync_sendMessage
wrapflags = $(foreach f,$(WRAP_$(1)),-Wl,--wrap=$(f))

.PHONY: all deps check unit unit-asan unit-valgrind integration demo bench clean install
.DEFAULT_GOAL := all

all: $(BUILD)/outfalld $(BUILD)/outfall-sim

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(CORE_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/outfalld: $(BUILD)/obj/gateway/main.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/outfall-sim: $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/sim/*.c)) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS) -lutil

$(BUILD)/bench: $(BUILD)/obj/tests/bench/bench.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/drain: $(BUILD)/obj/tests/bench/drain.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $(call wrapflags,$*) -o $@ $^ $(LDLIBS) $(shell $(PKG_CONFIG) --libs cmocka)

deps:
	@scripts/deps.sh

unit: $(UNIT_BINS)
	@scripts/run-unit.sh $(UNIT_BINS)

unit-asan:
	$(MAKE) --no-print-directory BUILD=build/asan SAN=1 unit

unit-valgrind: $(UNIT_BINS)
	@VALGRIND=1 scripts/run-unit.sh $(UNIT_BINS)

integration: all
	@tests/integration/run.sh $(BUILD)

check: deps
	$(MAKE) --no-print-directory all unit
	$(MAKE) --no-print-directory unit-asan
	$(MAKE) --no-print-directory unit-valgrind
	$(MAKE) --no-print-directory integration

demo: deps all
	@scripts/demo.sh $(BUILD)

bench: deps all $(BUILD)/bench $(BUILD)/drain
	@scripts/bench.sh $(BUILD)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
