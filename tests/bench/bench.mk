# tests/bench/bench.mk — virtio-net benchmark, vmm against QEMU (included by
# the top Makefile). One L1 session of the nested test host boots the same L2
# guest four times: vmm and QEMU, each with vhost-net on and off; the guest
# runs iperf3 both ways and a sockperf latency test (tests/e2e/scenarios/
# bench.sh, tests/e2e/l2/bench.sh). Results: $(BUILD)/e2e/bench.log, and
# $(BUILD)/bench/{results.md,results.json,bench.png} from tests/bench/report.sh.
#   make bench-net                    all four configurations, 3 s per run
#   make bench-net BENCH_T=10         longer runs
#   make bench-net BENCH_CONFIGS=vmm-vhost-on:qemu-vhost-on
BENCH_T       ?= 3
BENCH_CONFIGS ?= vmm-vhost-on:vmm-vhost-off:qemu-vhost-on:qemu-vhost-off

bench-net: $(BUILD)/vmm-static
	BUILD=$(BUILD) tests/bench/build-images.sh
	BUILD=$(BUILD) E2E_L1_IMAGE=$(BUILD)/images/l1-bench-initrd.cpio.gz \
		E2E_L2_ARGS="bench_t=$(BENCH_T) bench_configs=$(BENCH_CONFIGS)" \
		tests/e2e/nested.sh --l2-vmm=qemu bench; rc=$$?; \
		BUILD=$(BUILD) tests/bench/report.sh $(BUILD)/e2e/bench.log && exit $$rc

.PHONY: bench-net
