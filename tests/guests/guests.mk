# Tiny purpose-built test guests (tests/guests): they need a usable
# /dev/kvm. On machines without one they run inside the nested test host
# as part of `make e2e` (the L1 image carries them).
GUEST_DIR := $(BUILD)/guests

$(GUEST_DIR)/rm_io.bin: tests/guests/rm_io.S
	@mkdir -p $(dir $@)
	$(CC) -m32 -c -o $(GUEST_DIR)/rm_io.o $<
	ld -m elf_i386 -Ttext=0x1000 --oformat binary -o $@ $(GUEST_DIR)/rm_io.o

$(GUEST_DIR)/lm_boot.elf: tests/guests/lm_boot.S
	@mkdir -p $(dir $@)
	$(CC) -nostdlib -static -no-pie -Wl,-Ttext=0x100000 -Wl,--build-id=none \
		-Wl,-N -Wl,--no-warn-rwx-segments -o $@ $<

# 64-bit guests in C: freestanding, linked at 1 MiB as one PT_LOAD segment.
GUEST64_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -O2 -ffreestanding -nostdlib -static \
	-fno-pic -no-pie -mno-red-zone -mgeneral-regs-only -fno-stack-protector \
	-fcf-protection=none -fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns \
	-Wl,-T,tests/guests/guest64.ld -Wl,--build-id=none -Wl,--no-warn-rwx-segments

$(GUEST_DIR)/nic_tx.elf: tests/guests/start64.S tests/guests/nic_tx.c tests/guests/guest64.ld
	@mkdir -p $(dir $@)
	$(CC) $(GUEST64_CFLAGS) -o $@ tests/guests/start64.S tests/guests/nic_tx.c

# Host side of the NIC test (runs in L1, which has no tcpdump).
$(GUEST_DIR)/frame_recv: tests/guests/frame_recv.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $<

$(GUEST_DIR)/guest_runner: tests/guests/guest_runner.c $(BUILD)/libvmm.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $< $(BUILD)/libvmm.a $(LDLIBS)

GUEST_FILES := $(GUEST_DIR)/rm_io.bin $(GUEST_DIR)/lm_boot.elf $(GUEST_DIR)/guest_runner \
               $(GUEST_DIR)/nic_tx.elf $(GUEST_DIR)/frame_recv tests/guests/run.sh
guests-build: $(GUEST_FILES) $(BUILD)/vmm-static

guests: guests-build
	@if tests/guests/run.sh --probe; then \
		tests/guests/run.sh $(GUEST_DIR) $(BUILD)/vmm-static; \
	else \
		echo "guests: no usable /dev/kvm here; the tiny guests run inside the nested test host (make e2e)"; \
	fi

.PHONY: guests guests-build
