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

$(GUEST_DIR)/guest_runner: tests/guests/guest_runner.c $(BUILD)/libvmm.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $< $(BUILD)/libvmm.a $(LDLIBS)

GUEST_FILES := $(GUEST_DIR)/rm_io.bin $(GUEST_DIR)/lm_boot.elf $(GUEST_DIR)/guest_runner \
               tests/guests/run.sh
guests-build: $(GUEST_FILES) $(BUILD)/vmm-static

guests: guests-build
	@if tests/guests/run.sh --probe; then \
		tests/guests/run.sh $(GUEST_DIR) $(BUILD)/vmm-static; \
	else \
		echo "guests: no usable /dev/kvm here; the tiny guests run inside the nested test host (make e2e)"; \
	fi

.PHONY: guests guests-build
