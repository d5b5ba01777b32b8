# outfall - GNU Make build. Binaries land in build/ (BUILD=... to change).
#   make            build outfalld and outfall-sim
#   make check      install missing packages, build with -Werror, run unit
#                   tests (plain, ASan/UBSan, valgrind), the fuzzers' smoke
#                   run and integration tests
#   make demo       end-to-end demo with a local broker, InfluxDB, simulator
#   make bench      print performance figures

CC ?= cc
PKG_CONFIG ?= pkg-config
BUILD ?= build
PREFIX ?= /usr/local
VERSION := 0.1.0

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror
CFLAGS ?= -O2 -g
PKGS := libmodbus libcurl libconfig libcjson libsystemd zlib sqlite3 libcrypto
PAHO_LIBS ?= -lpaho-mqtt3as
SAN ?=
SAN_ON := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SANFLAGS := $(if $(SAN),$(SAN_ON))

# pkg-config runs when a compile first needs it, once, never while this file
# is read: `make check` and `make demo` install the packages before that.
lazy = $(eval $(1) := $$(shell $(2)))$(if $(filter-out 0,$(.SHELLSTATUS)),$(error \
	`$(2)` failed: a package is missing; run scripts/deps.sh as root))$($(1))
PKG_CFLAGS = $(call lazy,PKG_CFLAGS,$(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS = $(call lazy,PKG_LIBS,$(PKG_CONFIG) --libs $(PKGS))
CMOCKA_LIBS = $(call lazy,CMOCKA_LIBS,$(PKG_CONFIG) --libs cmocka)
# -ffile-prefix-map: debug info, sanitizer and fuzzer reports name sources
# relative to the tree (./gateway/outbox/codec.c), not where it was built
ALL_CFLAGS = -std=c17 -D_GNU_SOURCE -DOUTFALL_VERSION='"$(VERSION)"' $(WARN) $(CFLAGS) \
	$(SANFLAGS) -pthread -ffile-prefix-map=$(CURDIR)=. -iquote gateway -iquote . $(PKG_CFLAGS)
LDLIBS = $(PKG_LIBS) $(PAHO_LIBS) -lm
# the bus threads (gateway/daemon/acquire.c)
ALL_LDFLAGS := $(LDFLAGS) $(SANFLAGS) -pthread

# Every subsystem folder under gateway/ (gateway/README.md is the map) goes
# into one library; the two programs' mains and outfallctl stay out of it.
GATEWAY_SRCS := $(wildcard gateway/*/*.c gateway/*/*/*.c)
CORE_SRCS := $(filter-out gateway/daemon/main.c gateway/ctl/%,$(GATEWAY_SRCS)) $(wildcard drivers/*.c)
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/obj/%.o)
# ar keeps members by file name only: two sources with one name would
# silently replace each other in the library.
CORE_DUPS := $(shell printf '%s\n' $(notdir $(CORE_SRCS)) | sort | uniq -d)
$(if $(CORE_DUPS),$(error two library sources share a file name: $(CORE_DUPS)))
LIB := $(BUILD)/liboutfall.a

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Link seams: a test may wrap system calls, e.g. WRAP_test_queue := write
WRAP_test_outbox_faults := write fdatasync fsync renameat openat ftruncate malloc calloc realloc free
WRAP_test_sink_mqtt := MQTTAsync_sendMessage
WRAP_test_acquire := driver_for
wrapflags = $(foreach f,$(WRAP_$(1)),-Wl,--wrap=$(f))

.PHONY: all deps check unit unit-asan unit-valgrind integration demo bench clean install include-graph
.DEFAULT_GOAL := all

all: $(BUILD)/outfalld $(BUILD)/outfallctl $(BUILD)/outfall-sim

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(CORE_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/outfalld: $(BUILD)/obj/gateway/daemon/main.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/outfallctl: $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard gateway/ctl/*.c)) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/outfall-sim: $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/sim/*.c)) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS) -lutil

$(BUILD)/bench: $(BUILD)/obj/tests/bench/bench.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/drain: $(BUILD)/obj/tests/bench/drain.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/history_bench: $(BUILD)/obj/tests/bench/history_bench.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/hj212_bench: $(BUILD)/obj/tests/bench/hj212_bench.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/serial_floor: $(BUILD)/obj/tests/bench/serial_floor.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $(call wrapflags,$*) -o $@ $^ $(LDLIBS) $(CMOCKA_LIBS)

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

# check, demo and bench install what is missing first, then run a new make
# that reads the packages' flags only once they are there.
check: deps
	$(MAKE) --no-print-directory include-graph
	$(MAKE) --no-print-directory all unit
	$(MAKE) --no-print-directory unit-asan
	$(MAKE) --no-print-directory unit-valgrind
	$(MAKE) --no-print-directory packaging-check
	$(MAKE) --no-print-directory fuzz-smoke
	$(MAKE) --no-print-directory integration

demo: deps
	$(MAKE) --no-print-directory all
	@scripts/demo.sh $(BUILD)

bench: deps
	$(MAKE) --no-print-directory all $(BUILD)/bench $(BUILD)/drain $(BUILD)/history_bench \
		$(BUILD)/hj212_bench $(BUILD)/serial_floor
	@scripts/bench.sh $(BUILD)

# The folder graph of gateway/ and drivers/: no cycle, doors only.
include-graph:
	@python3 scripts/include-graph.py

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- install, Debian package, arm64 cross-build -------------------------
#   make install [PREFIX=/usr/local] [DESTDIR=]  binaries, the systemd unit,
#                     sysusers.d and tmpfiles.d files, man pages, examples
#   make deb [DEB_ARCH=arm64]  build/deb/outfall_<version>_<arch>.deb, checked
#                     by lintian
#   make cross-arm64  build/arm64/ with Debian's cross toolchain (downloads)
#   make packaging-check  install into a temp dir and check the result
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
EXAMPLEDIR ?= $(PREFIX)/share/doc/outfall/examples
# Debian 12 keeps packaged units in /lib/systemd/system; systemd also reads
# /usr/local/lib/systemd/system for a local install.
UNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
INSTALL ?= install

.PHONY: deb cross-arm64 packaging-check

# outfallctl is installed when it has been built. The unit gets the path
# outfalld is installed at.
install: all $(BUILD)/outfallctl
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
		$(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(EXAMPLEDIR) \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 0755 $(BUILD)/outfalld $(DESTDIR)$(SBINDIR)/outfalld
	if [ -e $(BUILD)/outfallctl ]; then \
		$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 && \
		$(INSTALL) -m 0755 $(BUILD)/outfallctl $(DESTDIR)$(BINDIR)/outfallctl && \
		$(INSTALL) -m 0644 doc/outfallctl.1 $(DESTDIR)$(MANDIR)/man1/outfallctl.1; fi
	sed 's|@sbindir@|$(SBINDIR)|g' systemd/outfalld.service.in > $(DESTDIR)$(UNITDIR)/outfalld.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/outfalld.service
	$(INSTALL) -m 0644 systemd/outfall.sysusers $(DESTDIR)$(SYSUSERSDIR)/outfall.conf
	$(INSTALL) -m 0644 systemd/outfall.tmpfiles $(DESTDIR)$(TMPFILESDIR)/outfall.conf
	$(INSTALL) -m 0644 config/outfall.conf.example config/permits.conf.example \
		$(DESTDIR)$(EXAMPLEDIR)
	$(INSTALL) -m 0644 doc/outfall.conf.5 $(DESTDIR)$(MANDIR)/man5/outfall.conf.5
	$(INSTALL) -m 0644 doc/outfalld.8 $(DESTDIR)$(MANDIR)/man8/outfalld.8

# dpkg-buildpackage runs in a copy under $(BUILD)/deb-src, with none of
# this make's settings: it cleans its tree (make clean) and writes its
# results next to it; lintian's temporary files go there too.
# DEB_ARCH=arm64 cross-builds the package (after `make cross-arm64` has set
# up the toolchain), without the unit tests. Only the package's
# Build-Depends and lintian are installed, not deps.sh's servers.
DEB_ARCH ?=
DEB_CROSS := $(if $(DEB_ARCH),-a $(DEB_ARCH) -Pnocheck)
deb:
	@dpkg-checkbuilddeps $(DEB_CROSS) >/dev/null 2>&1 && command -v lintian >/dev/null || { \
		echo "deb: installing the build dependencies and lintian"; \
		sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
		export DEBIAN_FRONTEND=noninteractive; $$sudo apt-get update -q && \
		$$sudo apt-get build-dep -y -q --no-install-recommends $(DEB_CROSS) ./ && \
		$$sudo apt-get install -y -q --no-install-recommends lintian; }
	rm -rf $(BUILD)/deb-src $(BUILD)/deb
	mkdir -p $(BUILD)/deb-src/outfall-$(VERSION) $(BUILD)/deb
	tar -cf - --exclude=./.git --exclude=./build --exclude=./$(BUILD) . | \
		tar -xf - -C $(BUILD)/deb-src/outfall-$(VERSION)
	cd $(BUILD)/deb-src/outfall-$(VERSION) && unset MAKEFLAGS MFLAGS MAKELEVEL && \
		$(if $(DEB_ARCH),DEB_BUILD_OPTIONS=nocheck) dpkg-buildpackage -us -uc -b $(DEB_CROSS)
	cp $(BUILD)/deb-src/*.deb $(BUILD)/deb-src/*.changes $(BUILD)/deb-src/*.buildinfo $(BUILD)/deb/
	TMPDIR=$$(cd $(BUILD)/deb-src && pwd) lintian --info $(BUILD)/deb/*.changes
	@scripts/packaging-check.sh --deb $(BUILD)/deb/outfall_$(VERSION)_*.deb

cross-arm64:
	@ARM64_BUILD=$(BUILD)/arm64 scripts/cross-arm64.sh

packaging-check: all
	@scripts/packaging-check.sh $(BUILD)

# ---- fuzzing (README.md "Fuzzing", tests/fuzz/) ----------------------------
#   make fuzz [FUZZ_SECONDS=60]  each libFuzzer harness for that long, new
#                     inputs kept in $(FUZZ_BUILD)/corpus, crashes in
#                     $(FUZZ_BUILD)/crashes
#   make fuzz-smoke   each harness over its seed corpus (tests/fuzz/corpus/),
#                     then FUZZ_SMOKE_SECONDS of fuzzing: part of make check
# The library is built again with clang, libFuzzer's coverage, ASan and
# UBSan in its own BUILD dir; the harnesses link it with libFuzzer's main.
FUZZ_BUILD ?= build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 4
FUZZ_CC ?= clang
# pointer-overflow stays recoverable so tests/fuzz/ubsan.supp can name a
# known finding (run.sh halts on every report that is not suppressed).
FUZZ_SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all -fsanitize-recover=pointer-overflow
FUZZ_NAMES := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-bins fuzz-seeds

$(BUILD)/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/fuzz.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz-bins: $(FUZZ_NAMES:%=$(BUILD)/%)

$(BUILD)/mkseeds: $(BUILD)/obj/tests/fuzz/mkseeds.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

# Rewrites the generated seeds in tests/fuzz/corpus/ (commit the result).
fuzz-seeds: $(BUILD)/mkseeds
	mkdir -p tests/fuzz/corpus/fuzz_codec tests/fuzz/corpus/fuzz_alertstate \
		tests/fuzz/corpus/fuzz_status
	$(BUILD)/mkseeds

fuzz-build:
	$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) SAN=1 \
		'SAN_ON=$(FUZZ_SAN)' fuzz-bins

fuzz: deps
	$(MAKE) --no-print-directory fuzz-build
	@tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-smoke: fuzz-build
	@tests/fuzz/run.sh --smoke $(FUZZ_BUILD) $(FUZZ_SMOKE_SECONDS) $(FUZZ_NAMES)
