# Unit tests: cmocka, every library object rebuilt with ASan + UBSan.
# Each tests/unit/test_*.c becomes one program linked against libvmm-san.a.
SAN_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/san/%.o)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/unit/%)

$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC SAN  $<")
	$(Q)$(CC) $(CFLAGS) $(SAN) -O1 -c -o $@ $<

$(BUILD)/libvmm-san.a: $(SAN_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/unit/%: tests/unit/%.c $(BUILD)/libvmm-san.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) $(SAN) -O1 -o $@ $< $(BUILD)/libvmm-san.a -lcmocka $(LDLIBS)

# The datapath's threads once more under ThreadSanitizer: each queue pair
# on its own thread under its own lock, device-wide changes under every
# pair's lock (test_net_threads.c). Only the objects it links, so it
# builds in seconds. GCC cannot instrument atomic_thread_fence (a warning).
TSAN_SRCS  := virtio/net.c virtio/net_rxtx.c virtio/net_mq.c virtio/net_ctrl.c virtio/net_switch.c \
              virtio/virtqueue.c virtio/virtio.c vmm/loop.c vmm/log.c vmm/memory.c \
              vmm/iov.c vmm/util.c vmm/seccomp.c vmm/seccomp_rules.c
TSAN_OBJS  := $(TSAN_SRCS:%.c=$(BUILD)/tsan/%.o)
TSAN       := -fsanitize=thread -fno-omit-frame-pointer -Wno-error=tsan -Wno-tsan

$(BUILD)/tsan/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC TSAN $<")
	$(Q)$(CC) $(CFLAGS) $(TSAN) -O1 -c -o $@ $<

$(BUILD)/unit/tsan_net_threads: tests/unit/test_net_threads.c $(TSAN_OBJS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) $(TSAN) -O1 -o $@ $< $(TSAN_OBJS) -lcmocka $(LDLIBS)

unit-build: $(UNIT_BINS) $(BUILD)/unit/tsan_net_threads
unit: unit-build
	@tests/unit/lint-paths.sh
	@TSAN_OPTIONS=halt_on_error=1:exitcode=66 tests/unit/run.sh $(UNIT_BINS) \
		$(BUILD)/unit/tsan_net_threads

.PHONY: unit unit-build
