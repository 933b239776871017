# tests/bench/bench.mk — virtio-net benchmark, vmm against QEMU (included by
# the top Makefile): tests/bench/bench-net.sh. On this kind of machine (no
# hardware KVM) one L1 session of the nested test host boots the same L2
# guest four times: vmm and QEMU, each with vhost-net on and off; on a host
# with hardware KVM and /dev/vhost-net it runs there directly. The guest
# runs iperf3 both ways and a sockperf latency test (tests/e2e/scenarios/
# bench.sh, tests/e2e/l2/bench.sh). Results: $(BUILD)/bench/{results.md,
# results.json,bench.png} from tests/bench/report.sh.
#   make bench-net                    all four configurations, 3 s per run
#   make bench-net BENCH_T=10         longer runs
#   make bench-net BENCH_CONFIGS=vmm-vhost-on:qemu-vhost-on
#   make bench-net BENCH_MODE=nested  force the nested host (or direct)
#   make bench-smoke                  1 s per run, cells checked (make test)
BENCH_T       ?= 3
BENCH_CONFIGS ?= vmm-vhost-on:vmm-vhost-off:qemu-vhost-on:qemu-vhost-off
BENCH_MODE    ?= auto

bench-net: $(BUILD)/vmm $(BUILD)/vmm-static
	BUILD=$(BUILD) tests/bench/bench-net.sh --mode=$(BENCH_MODE) -t $(BENCH_T) \
		--configs $(BENCH_CONFIGS)

bench-smoke: $(BUILD)/vmm-static
	BUILD=$(BUILD) tests/bench/build-images.sh
	BUILD=$(BUILD) E2E_L1_IMAGE=$(BUILD)/images/l1-bench-initrd.cpio.gz \
		E2E_L2_ARGS="bench_t=1" tests/e2e/nested.sh --l2-vmm=qemu bench_smoke
	tests/bench/check.sh $(BUILD)/e2e/bench_smoke.log

.PHONY: bench-net bench-smoke
