# tests/e2e/e2e.mk — the nested end-to-end tier (included by the top Makefile).
# QEMU TCG boots the nested test host (L1, real KVM and vhost-net inside), which
# runs build/vmm-static on the L2 guest; see tests/e2e/nested.sh.
#   make e2e                  scenarios $(E2E_SCENARIOS)
#   make soak                 $(SOAK_BOOTS) consecutive L2 boots in one L1
#   make images               build/images/{l1,l2}-initrd.cpio.gz only
#   make disk-image           build/images/fedora-layout.qcow2, the disk
#                             scenario's test disk (images/build-fedora.sh)
#                             (and fedora44-layout, debian-cloud-layout)
#   make e2e-qemu             the boot scenario with QEMU as the L2 VMM (reference)
# `make run` uses images/run-default.sh (the nested shell scenario here).
# The two longest first (scenarios run E2E_JOBS=2 at a time, nested.sh):
# soak:20, 20 consecutive L2 boots with no retries, and distro. NAME@6.12 runs a
# scenario with the newer L2 kernel (bookworm-backports) as well as the
# default 6.1. layouts: the three disk layouts cloud images use; distro:
# a real Debian system (systemd, cloud-init, sshd) in the Fedora 44 layout.
E2E_SCENARIOS ?= soak:$(SOAK_BOOTS) distro boot boot@6.12 poweroff guests net net@6.12 vhost mq \
                 vhost@6.12 vhost_missing switch manage console disk layouts hostile_disk sandbox
SOAK_BOOTS    ?= 20

e2e: $(BUILD)/vmm $(BUILD)/vmm-static guests-build disk-image system-image
	tests/e2e/local-errors.sh $(BUILD)/vmm
	BUILD=$(BUILD) tests/e2e/nested.sh $(E2E_SCENARIOS)

soak: $(BUILD)/vmm-static
	BUILD=$(BUILD) tests/e2e/nested.sh soak:$(SOAK_BOOTS)

images: $(BUILD)/vmm-static disk-image
	BUILD=$(BUILD) images/build-l1.sh --if-stale

# Before the L1 image: build-l1.sh carries the disk in when it exists
# (images/l1-payloads.list names it at build/images/).
disk-image:
	images/build-fedora.sh --if-stale $(BUILD)/images
# ... and the other layouts' disks (tests/e2e/scenarios/layouts.sh)
disk-image: disk-image-f44 disk-image-debian
disk-image-f44:
	images/build-fedora.sh --if-stale --layout f44 $(BUILD)/images
disk-image-debian:
	images/build-debian-cloud.sh --if-stale $(BUILD)/images
.PHONY: disk-image-f44 disk-image-debian system-image

# The distro scenario's Debian system (mmdebstrap: root and Debian's mirror),
# shared into L1 over 9p from $(BUILD)/images/system.
system-image:
	images/build-debian-system.sh --if-stale $(BUILD)/images/system

e2e-qemu:
	BUILD=$(BUILD) tests/e2e/nested.sh --l2-vmm=qemu boot

.PHONY: e2e soak images e2e-qemu disk-image

# The nested aarch64 test host (tests/e2e/nested-arm64.sh): the arm64 vmm
# cross-built into build/arm64 (make deps ARCH=arm64 first), then QEMU TCG
# with virtualization=on boots the stock arm64 kernel as L1 with KVM, and
# vmm boots it again as L2. layouts: x86's layouts scenario on the Fedora
# 40 and 44 layouts built for arm64 (BLS on ext4 and btrfs; diskboot is
# grub.cfg on ext4), about a minute.
E2E_ARM64_SCENARIOS ?= boot soak:20 net net-vhost iperf iperf-vhost blk disks diskboot layouts manage stop
e2e-arm64: e2e-arm64-build
	tests/e2e/nested-arm64.sh $(E2E_ARM64_SCENARIOS)

e2e-arm64-build:
	$(MAKE) ARCH=arm64 BUILD=build/arm64
	ARM_BUILD=build/arm64 images/build-arm64.sh --if-stale

# make test: the x86 and the aarch64 scenarios and the short bench
# (tests/bench/bench.mk) in one pool, E2E_JOBS (2) L1 sessions at a time,
# each with one L1 vCPU (one core), longest first so that the last to end
# are short ones.
E2E_ALL_SCENARIOS ?= distro soak:$(SOAK_BOOTS) bench_smoke switch disk arm64/soak:20 mq layouts \
	hostile_disk arm64/layouts manage sandbox net vhost vhost@6.12 net@6.12 \
	arm64/iperf arm64/iperf-vhost arm64/diskboot arm64/disks arm64/blk \
	arm64/net arm64/net-vhost boot poweroff boot@6.12 console arm64/manage \
	arm64/stop arm64/boot guests vhost_missing
# (the same scenarios as make e2e and make e2e-arm64, checked here)
ifeq ($(origin E2E_ALL_SCENARIOS)$(origin E2E_SCENARIOS)$(origin E2E_ARM64_SCENARIOS),filefilefile)
ifneq ($(sort $(E2E_ALL_SCENARIOS)),$(sort $(E2E_SCENARIOS) $(addprefix arm64/,$(E2E_ARM64_SCENARIOS)) bench_smoke))
$(error tests/e2e/e2e.mk: E2E_ALL_SCENARIOS is not E2E_SCENARIOS, arm64/E2E_ARM64_SCENARIOS and bench_smoke)
endif
endif
e2e-all: $(BUILD)/vmm $(BUILD)/vmm-static guests-build disk-image system-image e2e-arm64-build \
		bench-images
	tests/e2e/local-errors.sh $(BUILD)/vmm
	BUILD=$(BUILD) $(BENCH_SMOKE_ENV) tests/e2e/nested.sh $(E2E_ALL_SCENARIOS)
	tests/bench/check.sh $(BUILD)/e2e/bench_smoke.log

.PHONY: e2e-arm64 e2e-arm64-build e2e-all
