# tests/bench/bench.mk — virtio-net benchmark, vmm against QEMU (included by
# the top Makefile): tests/bench/bench-net.sh. On this kind of machine (no
# hardware KVM) one L1 session of the nested test host boots three L2
# guests with two queue pairs each, vmm (switched live between vhost-net and
# its own datapath) and QEMU with vhost on and off, and measures the eight
# cells (each VMM and datapath with one and with two pairs in use) in turn,
# round after round (A B A B); on a host with hardware KVM and
# /dev/vhost-net it runs there directly. iperf3 both ways (one flow, 1 KiB
# writes, two flows) and a sockperf latency test (tests/e2e/scenarios/
# bench.sh, tests/e2e/l2/bench.sh). Results:
# $(BUILD)/bench/{results.md,results.json,bench.png} from report.sh.
#   make bench-net                    eight cells, 5 rounds, 3 s per test
#   make bench-net BENCH_T=10 BENCH_ROUNDS=7
#   make bench-net BENCH_CONFIGS=vmm-vhost-on:vmm-vhost-off   (one pair: no MQ)
#   make bench-net BENCH_MODE=nested  force the nested host (or direct)
#   make bench-net-arm64              the same in the nested aarch64 test
#                                     host, arm64 QEMU in its L1:
#                                     build/arm64/bench/ (nested TCG (aarch64))
#   make bench-smoke                  1 round of 1 s tests, checked (make test)
BENCH_T       ?= 3
BENCH_ROUNDS  ?= 5
# Cells next to the cells they are divided by (the ratios): the 2-pair cell
# right after its 1-pair cell on the same guest.
BENCH_CONFIGS ?= vmm-vhost-on:vmm-mq2-vhost-on:qemu-vhost-on:qemu-mq2-vhost-on:vmm-vhost-off:vmm-mq2-vhost-off:qemu-vhost-off:qemu-mq2-vhost-off
BENCH_MODE    ?= auto

bench-net: $(BUILD)/vmm $(BUILD)/vmm-static
	BUILD=$(BUILD) tests/bench/bench-net.sh --mode=$(BENCH_MODE) -t $(BENCH_T) -r $(BENCH_ROUNDS) \
		--configs $(BENCH_CONFIGS)

bench-net-arm64:
	$(MAKE) ARCH=arm64 BUILD=build/arm64
	tests/bench/bench-net.sh --arch arm64 -t $(BENCH_T) -r $(BENCH_ROUNDS) --configs $(BENCH_CONFIGS)

# The short bench's L1 image and arguments, for nested.sh's bench_smoke
# (make test runs it in the e2e pool, tests/e2e/e2e.mk's e2e-all).
BENCH_SMOKE_ENV = E2E_BENCH_IMAGE=$(BUILD)/images/l1-bench-initrd.cpio.gz \
	E2E_BENCH_ARGS=bench_t=1,bench_rounds=1,bench_configs=$(BENCH_CONFIGS)

bench-images: $(BUILD)/vmm-static disk-image
	BUILD=$(BUILD) tests/bench/build-images.sh

bench-smoke: bench-images
	BUILD=$(BUILD) $(BENCH_SMOKE_ENV) tests/e2e/nested.sh bench_smoke
	tests/bench/check.sh $(BUILD)/e2e/bench_smoke.log

.PHONY: bench-net bench-net-arm64 bench-smoke bench-images

# The native datapath benchmark (tests/bench/datapath/, docs/running.md):
# vmm's own userspace virtio-net datapath (net_tap__create's NIC, the
# I/O thread) against a tap in a private network namespace, driven by a
# synthetic guest thread; no KVM, no TCG. Built with -O2, no sanitizers.
#   make bench-datapath                                5 rounds x 2 s per cell
#   make bench-datapath BENCH_DP_TIME=0.2 BENCH_DP_ROUNDS=1   a quick look
# tests/unit/test_bench_datapath.c runs its quick mode under `make unit`
# (with ASan), asserting that every frame arrives.
BENCH_DP_TIME   ?= 2
BENCH_DP_ROUNDS ?= 5
DP_DIR  := tests/bench/datapath
DP_SRCS := $(filter-out $(DP_DIR)/bench_datapath.c,$(wildcard $(DP_DIR)/*.c))

$(BUILD)/bench-datapath: $(DP_DIR)/bench_datapath.c $(DP_SRCS) $(DP_DIR)/dp.h $(BUILD)/libvmm.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $(DP_DIR)/bench_datapath.c $(DP_SRCS) $(BUILD)/libvmm.a $(LDLIBS)

# The unit test links the same files, built like every unit test (ASan).
$(BUILD)/unit/test_bench_datapath: tests/unit/test_bench_datapath.c $(DP_SRCS) $(DP_DIR)/dp.h $(BUILD)/libvmm-san.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) $(SAN) -O1 -o $@ $< $(DP_SRCS) $(BUILD)/libvmm-san.a -lcmocka $(LDLIBS)

bench-datapath: $(BUILD)/bench-datapath
	$(BUILD)/bench-datapath --time $(BENCH_DP_TIME) --rounds $(BENCH_DP_ROUNDS)

.PHONY: bench-datapath
