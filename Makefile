# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shoal: make | make test | make bench | make bench-full | make demo | make deps | make clean   (V=1 for verbose)

BUILD    ?= build
PREFIX   ?= /usr/local
SBINDIR  ?= $(PREFIX)/sbin
LIBDIR   ?= $(PREFIX)/lib
MANDIR   ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR  ?= $(LIBDIR)/systemd/system
CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH     := $(shell uname -m)

ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -Ilib -I$(BUILD)
BPF_CFLAGS := -O2 -g -Wall -Wextra -Werror -target bpf -D__bpf__ \
	-I/usr/include/$(ARCH)-linux-gnu -Iinclude -Ibpf
LDLIBS   := -lbpf -lelf -lz -lyaml -ljson-c

BPF_SRCS  := bpf/shoal.bpf.c
BPF_HDRS  := $(wildcard bpf/*.h) $(wildcard include/shoal/*.h)
LIB_SRCS  := $(wildcard lib/*.c)
LIB_OBJS  := $(patsubst lib/%.c,$(BUILD)/lib/%.o,$(LIB_SRCS))
LIB_HDRS  := $(wildcard lib/*.h) $(wildcard include/shoal/*.h)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
UNIT_COMMON := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))

.PHONY: all deps test test-unit test-e2e bench bench-full demo clean install uninstall
.DELETE_ON_ERROR:

LAB_BINS := $(BUILD)/lab/shoal-stream $(BUILD)/lab/shoal-echo $(BUILD)/lab/xdp_pass.bpf.o

DAEMON_SRCS := $(wildcard daemon/*.c)

all: $(BUILD)/shoalctl $(BUILD)/shoald $(BUILD)/libshoal.a $(LAB_BINS)

deps:
	$(Q)scripts/deps.sh all

$(BUILD) $(BUILD)/lib $(BUILD)/tests $(BUILD)/bench $(BUILD)/lab:
	$(Q)mkdir -p $@

$(BUILD)/shoal.bpf.o: $(BPF_SRCS) $(BPF_HDRS) | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/shoal.skel.h: $(BUILD)/shoal.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name shoal_bpf > $@

# The same program keyed on the NIC's RX hash: loaded bound to the uplink (flow_hash: nic).
$(BUILD)/shoal_nic.bpf.o: $(BPF_SRCS) $(BPF_HDRS) | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DSHOAL_RX_HASH=1 -c $< -o $@

$(BUILD)/shoal_nic.skel.h: $(BUILD)/shoal_nic.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name shoal_nic_bpf > $@

$(BUILD)/lib/%.o: lib/%.c $(LIB_HDRS) $(BUILD)/shoal.skel.h $(BUILD)/shoal_nic.skel.h | $(BUILD)/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libshoal.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(BUILD)/shoalctl: cli/shoalctl.c $(BUILD)/libshoal.a $(LIB_HDRS) | $(BUILD)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ $(BUILD)/libshoal.a $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(UNIT_COMMON) tests/unit/*.h $(BUILD)/libshoal.a | $(BUILD)/tests
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit -DSHOAL_BUILD_DIR='"$(abspath $(BUILD))"' $< $(UNIT_COMMON) \
		-o $@ $(BUILD)/libshoal.a $(LDLIBS) -lcmocka

$(BUILD)/shoald: $(DAEMON_SRCS) daemon/shoald.h $(BUILD)/libshoal.a $(LIB_HDRS) | $(BUILD)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) -Idaemon $(DAEMON_SRCS) -o $@ $(BUILD)/libshoal.a $(LDLIBS) -lmicrohttpd -lpthread

$(BUILD)/lab/shoal-stream: lab/stream.c | $(BUILD)/lab
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

$(BUILD)/lab/shoal-echo: lab/echo.c | $(BUILD)/lab
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

$(BUILD)/lab/%.bpf.o: lab/%.bpf.c | $(BUILD)/lab
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# Tests run as root in private namespaces the suites create; the runner prints "N passed, N failed".
test-unit: $(UNIT_BINS) $(BUILD)/bench/shoal-gen
	$(Q)tests/run.sh unit $(UNIT_BINS)

test-e2e: all
	$(Q)tests/run.sh e2e

test: deps
	$(Q)$(MAKE) --no-print-directory all $(UNIT_BINS) $(BUILD)/bench/shoal-gen
	$(Q)tests/run.sh all $(UNIT_BINS)

$(BUILD)/bench/%.bpf.o: bench/%.bpf.c $(BPF_HDRS) bench/gen.h bench/floor.h | $(BUILD)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Ibench -c $< -o $@

BENCH_COMMON := bench/common.c bench/common.h tests/unit/fixture.c bench/floor.c bench/floor.h

$(BUILD)/bench/micro: bench/micro.c $(BENCH_COMMON) $(BUILD)/libshoal.a $(BUILD)/bench/floor.bpf.o | $(BUILD)/bench
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) -Ibench -Itests/unit -DFLOOR_OBJ='"$(abspath $(BUILD)/bench/floor.bpf.o)"' \
		$< bench/common.c bench/floor.c tests/unit/fixture.c -o $@ $(BUILD)/libshoal.a $(LDLIBS) -lm

$(BUILD)/bench/live: bench/live.c $(BENCH_COMMON) bench/traffic.c bench/traffic.h $(BUILD)/libshoal.a \
		$(BUILD)/bench/floor.bpf.o | $(BUILD)/bench
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) -Ibench -Itests/unit -DFLOOR_OBJ='"$(abspath $(BUILD)/bench/floor.bpf.o)"' \
		$< bench/traffic.c bench/common.c tests/unit/fixture.c -o $@ $(BUILD)/libshoal.a $(LDLIBS) -lm

$(BUILD)/bench/scale: bench/scale.c $(BENCH_COMMON) $(BUILD)/libshoal.a $(BUILD)/bench/floor.bpf.o | $(BUILD)/bench
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) -Ibench -Itests/unit -DFLOOR_OBJ='"$(abspath $(BUILD)/bench/floor.bpf.o)"' \
		$< bench/common.c bench/floor.c tests/unit/fixture.c -o $@ $(BUILD)/libshoal.a $(LDLIBS) -lm

# The traffic generator (BPF_PROG_TEST_RUN live frames) and the live data-path benchmark built on it.
GEN_COMMON := bench/traffic.c bench/traffic.h bench/gen.h bench/common.c bench/common.h

$(BUILD)/bench/shoal-gen: bench/gen.c $(GEN_COMMON) $(BUILD)/libshoal.a $(BUILD)/bench/gen.bpf.o | $(BUILD)/bench
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) -Ibench -DGEN_OBJ='"$(abspath $(BUILD)/bench/gen.bpf.o)"' \
		$< bench/traffic.c bench/common.c -o $@ $(BUILD)/libshoal.a $(LDLIBS) -lm

$(BUILD)/bench/datapath: bench/datapath.c $(GEN_COMMON) $(BENCH_COMMON) $(BUILD)/libshoal.a \
		$(BUILD)/bench/gen.bpf.o $(BUILD)/bench/floor.bpf.o | $(BUILD)/bench
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) -Ibench -Itests/unit -DGEN_OBJ='"$(abspath $(BUILD)/bench/gen.bpf.o)"' \
		-DFLOOR_OBJ='"$(abspath $(BUILD)/bench/floor.bpf.o)"' \
		$< bench/traffic.c bench/common.c tests/unit/fixture.c -o $@ $(BUILD)/libshoal.a $(LDLIBS) -lm

BENCH_BINS := $(BUILD)/bench/micro $(BUILD)/bench/live $(BUILD)/bench/datapath $(BUILD)/bench/scale \
	$(BUILD)/bench/shoal-gen

# The quick set: the test-run micro-benchmark, the live data path, the flow hash sources.
bench: deps
	$(Q)$(MAKE) --no-print-directory $(BUILD)/bench/micro $(BUILD)/bench/datapath $(BUILD)/bench/live
	$(Q)$(BUILD)/bench/micro $(BUILD)/bench/micro.json
	$(Q)$(BUILD)/bench/datapath $(BUILD)/bench/datapath.json
	$(Q)$(BUILD)/bench/live $(BUILD)/bench/live.json

# Everything, with the comparison against the alternatives, into build/bench/report.md and plots.
bench-full:
	$(Q)scripts/deps.sh bench
	$(Q)$(MAKE) --no-print-directory all $(BENCH_BINS)
	$(Q)BENCH_BIN=$(abspath $(BUILD))/bench bench/full.sh $(BUILD)/bench

# The README's main command: installs what is missing, builds, runs the demo cluster.
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)lab/demo.sh

clean:
	$(Q)rm -rf $(BUILD)

# make install [PREFIX=/usr/local] [DESTDIR=...]: binaries, the BPF object (for
# shoalctl upgrade), man pages, the systemd unit and a sample config. An existing
# shoal.yaml is never touched; the sample is root-only because it shows a seed.
install: all
	$(Q)install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR)/shoal $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR)
	$(Q)install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)/shoal
	$(Q)install -m 0755 $(BUILD)/shoald $(BUILD)/shoalctl $(DESTDIR)$(SBINDIR)/
	$(Q)install -m 0644 $(BUILD)/shoal.bpf.o $(DESTDIR)$(LIBDIR)/shoal/shoal.bpf.o
	$(Q)install -m 0644 $(BUILD)/shoal_nic.bpf.o $(DESTDIR)$(LIBDIR)/shoal/shoal_nic.bpf.o
	$(Q)install -m 0644 docs/man/shoald.8 docs/man/shoalctl.8 $(DESTDIR)$(MANDIR)/man8/
	$(Q)install -m 0644 docs/man/shoal.yaml.5 $(DESTDIR)$(MANDIR)/man5/
	$(Q)sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		packaging/shoald.service.in >$(DESTDIR)$(UNITDIR)/shoald.service
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/shoald.service
	$(Q)install -m 0600 docs/examples/cluster.yaml $(DESTDIR)$(SYSCONFDIR)/shoal/shoal.yaml.sample
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))

uninstall:
	$(Q)rm -f $(DESTDIR)$(SBINDIR)/shoald $(DESTDIR)$(SBINDIR)/shoalctl \
		$(DESTDIR)$(LIBDIR)/shoal/shoal.bpf.o $(DESTDIR)$(LIBDIR)/shoal/shoal_nic.bpf.o \
		$(DESTDIR)$(MANDIR)/man8/shoald.8 \
		$(DESTDIR)$(MANDIR)/man8/shoalctl.8 $(DESTDIR)$(MANDIR)/man5/shoal.yaml.5 \
		$(DESTDIR)$(UNITDIR)/shoald.service $(DESTDIR)$(SYSCONFDIR)/shoal/shoal.yaml.sample
	$(Q)rmdir $(DESTDIR)$(LIBDIR)/shoal 2>/dev/null || true
