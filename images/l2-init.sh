#!/bin/sh
# images/l2-init.sh — /init of the default L2 guest (build/images/l2-initrd.cpio.gz).
#
# Mounts the usual file systems, writes boot marker 0x42 to I/O port 0x80,
# prints "VMM-L2-INIT-OK uptime=SECONDS" (the guest's own time since its kernel
# started), then does what the kernel command line asks:
#   vmmtest=reboot   reboot at once (boot-time and soak tests)
#   vmmtest=idle     stay up until the VMM ends it; vmmtest_button=acpid
#                    powers the guest off on the ACPI power button (vmm stop)
#   vmmtest=NAME     run /tests/l2/NAME.sh if the image has it, then reboot
#   (none)           an interactive shell on the console; leaving it reboots
# Every path ends in "reboot -f": the VMM sees the reset (reboot=k) and exits.
# vmmtest_rows= / vmmtest_cols= set the console size for the shell.

export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root TERM="${TERM:-linux}"

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /tmp /run /root
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp

# Boot marker for the VMM's port-0x80 recorder (byte 0x42 = "init reached").
# x86 only: elsewhere /dev/port is the PCI I/O space, which the arm64
# platform does not map (the write would oops the guest's dd).
case $(uname -m) in
x86_64|i?86) printf '\102' | dd of=/dev/port bs=1 seek=128 count=1 conv=notrunc 2>/dev/null ;;
esac

read -r up _ < /proc/uptime
echo "vmm default guest: $(uname -sr), $(nproc) CPUs, $(awk '/MemTotal/ { print $2 " kB" }' /proc/meminfo)"
echo "VMM-L2-INIT-OK uptime=$up"

mode=shell
rows=
cols=
# shellcheck disable=SC2013 # words, not lines
for w in $(cat /proc/cmdline); do
	case $w in
	vmmtest=*) mode=${w#vmmtest=} ;;
	vmmtest_rows=*) rows=${w#vmmtest_rows=} ;;
	vmmtest_cols=*) cols=${w#vmmtest_cols=} ;;
	esac
done

# The virtio-net and virtio-blk driver stacks, for tests and for users with
# a NIC, and the ACPI power button (button, evdev).
load_net_modules()
{
	while read -r m; do
		insmod "/lib/modules/$(uname -r)/$m" 2>/dev/null
	done < /etc/modules.load
}

case $mode in
reboot)
	;;
idle)
	# Stay up until the VMM is stopped from outside; with vmmtest_ip=A/N
	# the NIC gets that address (management tests ping it). The button
	# driver is loaded either way, so the guest enables the ACPI power
	# button's event; only with vmmtest_button=acpid does anything act on
	# it: busybox acpid reads the button's input device (KEY_POWER) and
	# runs /etc/acpi/PWRF/00000080, which powers off (ACPI S5).
	load_net_modules
	# shellcheck disable=SC2013 # words, not lines
	for w in $(cat /proc/cmdline); do
		case $w in
		vmmtest_ip=*)
			ip addr add "${w#*=}" dev eth0 && ip link set eth0 up ;;
		vmmtest_button=acpid)
			mkdir -p /etc/acpi/PWRF
			printf '#!/bin/sh\necho VMM-L2-POWER-BUTTON > /dev/console\nsync\npoweroff -f\n' \
				> /etc/acpi/PWRF/00000080
			chmod 755 /etc/acpi/PWRF/00000080
			acpid -c /etc/acpi -l /tmp/acpid.log -p /tmp/acpid.pid &&
				echo "VMM-L2-ACPID on" /dev/input/event* ;;
		esac
	done
	echo "VMM-L2-IDLE"
	while :; do sleep 3600; done
	;;
poweroff)
	sync
	poweroff -f
	echo "VMM-L2-ERROR poweroff failed"
	sleep 3600
	;;
shell)
	load_net_modules
	hostname vmm-guest
	if [ -n "$rows" ] && [ -n "$cols" ]; then
		stty -F /dev/ttyS0 rows "$rows" cols "$cols" 2>/dev/null
	fi
	echo "Type 'exit' (or press Ctrl-D) to leave; the guest then reboots and the VMM exits."
	# setsid + cttyhack give the shell a controlling tty (job control, ^C).
	setsid cttyhack sh -l
	;;
*)
	if [ -f "/tests/l2/$mode.sh" ]; then
		load_net_modules
		# shellcheck disable=SC1090
		. "/tests/l2/$mode.sh"
	else
		echo "VMM-L2-ERROR unknown vmmtest=$mode"
	fi
	;;
esac

sync
reboot -f
# reboot -f returns only if the reset did not happen.
echo "VMM-L2-ERROR reboot failed"
sleep 3600
