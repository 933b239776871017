# vmm — a small virtual machine monitor on Linux KVM.
#   make          build ./build/vmm
#   make test     unit tests (ASan+UBSan), every fuzzer for a few seconds,
#                 local tiny guests, nested e2e (the 20-boot soak first),
#                 the nested aarch64 scenarios (make e2e-arm64)
#   make unit     unit tests only
#   make e2e      nested test host only (QEMU TCG -> L1 KVM -> vmm -> L2)
#   make soak     20 consecutive L2 boots inside one L1
#   make fuzz     each libFuzzer target for FUZZ_TIME (60) seconds
#   make run      boot the default guest (locally if /dev/kvm can, else nested)
#   make ARCH=arm64   build/arm64/vmm-static for aarch64 (`make deps ARCH=arm64`
#                 first on an x86-64 machine: the cross compiler and a sysroot)
#   make bench-net    virtio-net, vmm against QEMU (tests/bench/bench.mk);
#                 make bench-net-arm64: the same on the nested aarch64 host
# The machine's own architecture by default: plain `make` on an aarch64
# host is the native arm64 build (build/arm64/vmm, system libraries).
ifeq ($(origin ARCH),undefined)
ARCH     := $(if $(filter aarch64,$(shell uname -m)),arm64,x86)
endif
CC       ?= gcc
CFLAGS   ?= -O2 -g
ifeq ($(ARCH),arm64)
# Everything for arm64 lives under build/arm64, so an x86 build beside it is
# untouched. On any other machine it is a cross build: aarch64-linux-gnu-gcc
# (with the arm64 Linux UAPI headers of linux-libc-dev-arm64-cross) and the
# arm64 libraries unpacked into a sysroot by images/install-deps-arm64.sh,
# linked statically (the sysroot's .so links point outside it).
BUILD    ?= build/arm64
ifneq ($(shell uname -m),aarch64)
CROSS_COMPILE ?= aarch64-linux-gnu-
ARM64_SYSROOT ?= $(BUILD)/sysroot
CC       := $(CROSS_COMPILE)gcc
CFLAGS   += -isystem $(ARM64_SYSROOT)/usr/include
LDFLAGS  += -L$(ARM64_SYSROOT)/usr/lib/aarch64-linux-gnu
endif
else
BUILD    ?= build
endif
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -MMD -MP \
            -D_GNU_SOURCE -I.
LDLIBS   += -lext2fs -lcom_err -lzstd -lz -llzo2 -lpthread
# liburing: batched tap writes (devices/net/tap_uring.c); libfdt: the arm64
# device tree (arch/arm64/fdt.c, built and unit-tested on every architecture)
LDLIBS   += -lseccomp -luring -lfdt
# Quiet by default (kvmtool style); `make V=1` shows the full commands.
ifeq ($(V),1)
Q :=
else
Q := @
endif
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

CORE_SRCS := vmm/log.c vmm/memory.c vmm/bus.c vmm/vm.c vmm/vcpu.c vmm/loop.c \
             vmm/console.c vmm/cli.c vmm/cli_verbs.c vmm/diskcfg.c vmm/util.c vmm/irq.c \
             vmm/kvm_stats.c vmm/control.c vmm/control_client.c vmm/stats.c \
             vmm/stats_parse.c vmm/stats_proc.c vmm/strbuf.c \
             vmm/disks.c vmm/iov.c vmm/devreg.c vmm/vm_control.c vmm/ring.c \
             vmm/console_client.c vmm/detach.c vmm/bootfiles.c
# Booting a cloud image without --kernel: partitions, ext4/btrfs/FAT read
# through the disk layer, BLS and grub.cfg, the NoCloud seed disk.
CORE_SRCS += $(wildcard vmm/boot/*.c)
# Least privilege: seccomp filters, --user, the disk-boot parser's child.
CORE_SRCS += vmm/seccomp.c vmm/seccomp_rules.c vmm/privs.c vmm/parse_child.c \
             vmm/control_thread.c vmm/client.c
ARCH_SRCS := $(wildcard arch/$(ARCH)/*.c)
# The arm64 parts that touch no KVM (Image parser, device-tree builder) are
# built everywhere, so the x86 unit tests and fuzzers cover them too.
ARCH_SRCS += $(filter-out $(ARCH_SRCS),arch/arm64/image.c arch/arm64/fdt.c)
DEV_SRCS  := $(wildcard devices/*/*.c)
VIRTIO_SRCS := $(wildcard virtio/*.c)
LIB_SRCS  := $(CORE_SRCS) $(ARCH_SRCS) $(DEV_SRCS) $(VIRTIO_SRCS)
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)

ifneq ($(ARM64_SYSROOT),)
# cross: static only (see above)
all: $(BUILD)/vmm-static
else
all: $(BUILD)/vmm
endif

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libvmm.a: $(LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/vmm: $(BUILD)/obj/vmm/main.o $(BUILD)/libvmm.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A static build for the nested test host's initramfs.
$(BUILD)/vmm-static: $(BUILD)/obj/vmm/main.o $(BUILD)/libvmm.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -static -o $@ $^ $(LDLIBS)

include tests/unit/unit.mk
-include tests/guests/guests.mk
-include tests/e2e/e2e.mk
-include tests/bench/bench.mk
-include tests/fuzz/fuzz.mk

# make test runs the aarch64 scenarios too, so deps always brings the
# cross build's and the nested aarch64 host's packages (quick when there).
deps:
	images/install-deps.sh
	images/install-deps-arm64.sh build/arm64

# make test builds everything first, one job per core (the unit tests'
# sanitizer builds, the fuzzers, the tiny guests, vmm, the arm64 cross
# build, the test hosts' images), runs the unit tests beside the fuzzers
# (each one core; -Otarget: each one's output whole), then the nested tier:
# the x86 and aarch64 scenarios and the short bench share one pool that
# keeps both cores busy (tests/e2e/e2e.mk's e2e-all).
NPROC := $(shell nproc 2> /dev/null || echo 2)
test-build:
	$(MAKE) -j$(NPROC) unit-build fuzz-build guests-build $(BUILD)/vmm $(BUILD)/vmm-static \
		disk-image system-image e2e-arm64-build bench-images

test: test-build
	$(MAKE) -j2 -Otarget unit fuzz-smoke
	$(MAKE) -j1 guests e2e-all
	@echo "make test: all tiers passed"

run: $(BUILD)/vmm $(BUILD)/vmm-static
	images/run-default.sh

clean:
ifeq ($(ARCH),arm64)
	rm -rf $(filter-out $(BUILD)/sysroot $(BUILD)/debs,$(wildcard $(BUILD)/*))
else
	rm -rf $(BUILD)
endif

.PHONY: all deps test test-build run clean
# Only files: build/arm64 holds unpacked Debian packages with directories
# named *.d (sysroot, debroot), and an x86 build must not read arm64's
# dependency files.
-include $(shell find $(BUILD) \( -name sysroot -o -name debroot -o -path build/arm64 -a ! -path $(BUILD) \) \
	-prune -o -name '*.d' -type f -print 2>/dev/null)
