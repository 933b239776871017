# tests/bench/bench.mk — virtio-net benchmark, vmm against QEMU (included by
# the top Makefile): tests/bench/bench-net.sh. On this kind of machine (no
# hardware KVM) one L1 session of the nested test host boots three L2
# guests, vmm (switched live between vhost-net and its own datapath) and
# QEMU with vhost on and off, and measures the four cells in turn, round
# after round (A B A B); on a host with hardware KVM and /dev/vhost-net it
# runs there directly. iperf3 both ways and a sockperf latency test
# (tests/e2e/scenarios/bench.sh, tests/e2e/l2/bench.sh). Results:
# $(BUILD)/bench/{results.md,results.json,bench.png} from report.sh.
#   make bench-net                    four cells, 5 rounds, 3 s per test
#   make bench-net BENCH_T=10 BENCH_ROUNDS=7
#   make bench-net BENCH_CONFIGS=vmm-vhost-on:vmm-vhost-off
#   make bench-net BENCH_MODE=nested  force the nested host (or direct)
#   make bench-smoke                  2 rounds of 1 s tests, checked (make test)
BENCH_T       ?= 3
BENCH_ROUNDS  ?= 5
BENCH_CONFIGS ?= vmm-vhost-on:qemu-vhost-on:vmm-vhost-off:qemu-vhost-off
BENCH_MODE    ?= auto

bench-net: $(BUILD)/vmm $(BUILD)/vmm-static
	BUILD=$(BUILD) tests/bench/bench-net.sh --mode=$(BENCH_MODE) -t $(BENCH_T) -r $(BENCH_ROUNDS) \
		--configs $(BENCH_CONFIGS)

bench-smoke: $(BUILD)/vmm-static
	BUILD=$(BUILD) tests/bench/build-images.sh
	BUILD=$(BUILD) E2E_L1_IMAGE=$(BUILD)/images/l1-bench-initrd.cpio.gz \
		E2E_L2_ARGS="bench_t=1,bench_rounds=2" tests/e2e/nested.sh --l2-vmm=qemu bench_smoke
	tests/bench/check.sh $(BUILD)/e2e/bench_smoke.log

.PHONY: bench-net bench-smoke
