# vmm — a small virtual machine monitor on Linux KVM.
#   make          build ./build/vmm
#   make test     unit tests (ASan+UBSan), every fuzzer for a few seconds,
#                 local tiny guests, nested e2e (the 20-boot soak first)
#   make unit     unit tests only
#   make e2e      nested test host only (QEMU TCG -> L1 KVM -> vmm -> L2)
#   make soak     20 consecutive L2 boots inside one L1
#   make fuzz     each libFuzzer target for FUZZ_TIME (60) seconds
#   make run      boot the default guest (locally if /dev/kvm can, else nested)
ARCH     ?= x86
CC       ?= gcc
BUILD    ?= build
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -MMD -MP \
            -D_GNU_SOURCE -I.
LDLIBS   += -lext2fs -lcom_err -lzstd -lz -llzo2 -lpthread
LDLIBS   += -lseccomp -luring
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
             vmm/console_client.c vmm/detach.c
# Booting a cloud image without --kernel: partitions, ext4/btrfs/FAT read
# through the disk layer, BLS and grub.cfg, the NoCloud seed disk.
CORE_SRCS += $(wildcard vmm/boot/*.c)
# Least privilege: seccomp filters, --user, the disk-boot parser's child.
CORE_SRCS += vmm/seccomp.c vmm/seccomp_rules.c vmm/privs.c vmm/parse_child.c \
             vmm/control_thread.c vmm/client.c
ARCH_SRCS := $(wildcard arch/$(ARCH)/*.c)
DEV_SRCS  := $(wildcard devices/*/*.c)
VIRTIO_SRCS := $(wildcard virtio/*.c)
LIB_SRCS  := $(CORE_SRCS) $(ARCH_SRCS) $(DEV_SRCS) $(VIRTIO_SRCS)
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)

all: $(BUILD)/vmm

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

deps:
	images/install-deps.sh

test: unit fuzz-smoke guests e2e bench-smoke
	@echo "make test: all tiers passed"

run: $(BUILD)/vmm $(BUILD)/vmm-static
	images/run-default.sh

clean:
	rm -rf $(BUILD)

.PHONY: all deps test run clean
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
