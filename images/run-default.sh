#!/bin/sh
# images/run-default.sh — `make run`: boot the default guest (the installed
# Debian kernel + build/images/l2-initrd.cpio.gz) with a shell on this terminal.
# With a /dev/kvm that can boot Linux (hardware VMX/SVM KVM), vmm runs here;
# otherwise (our machines: no /dev/kvm, or the PVM backend that cannot boot a
# stock kernel, see ../shared/notes/test-host.md (beside the repository)) the guest boots inside the
# nested test host. VMM_RUN_LOCAL=1 or 0 overrides the check.

set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}

# Hardware KVM: /dev/kvm usable and backed by kvm_intel or kvm_amd.
local_kvm_boots_linux()
{
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	[ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]
}

local=${VMM_RUN_LOCAL:-}
if [ -z "$local" ]; then
	if local_kvm_boots_linux; then local=1; else local=0; fi
fi

if [ "$local" = 1 ]; then
	. images/lib.sh
	kver=$(img__kernel_version)
	images/build-l2.sh --if-stale
	[ -x "$BUILD/vmm" ] || make -s BUILD="$BUILD" "$BUILD/vmm"
	exec "$BUILD/vmm" run --kernel "/boot/vmlinuz-$kver" \
		--initrd "$BUILD/images/l2-initrd.cpio.gz" \
		--params "console=ttyS0 reboot=k panic=-1" --mem 512 --cpus 2
fi

echo "run: this machine has no /dev/kvm that can boot Linux, so the default guest boots with vmm inside the nested test host (QEMU TCG -> L1 with KVM -> vmm -> guest)"
make -s BUILD="$BUILD" "$BUILD/vmm-static"
exec tests/e2e/nested.sh shell
