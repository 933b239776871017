# tests/e2e/l2/ping.sh — sourced by images/l2-init.sh for vmmtest=ping (the
# arm64 nested host's net scenario, tests/e2e/l1-init-arm64.sh): eth0 gets
# vmmtest_ip=ADDR/N, pings vmmtest_peer=ADDR (L1's end of the tap), and
# shows how its interrupts arrive (MSI-X through the GICv3 ITS: "ITS-MSI" in
# /proc/interrupts). Prints VMM-L2-PING-OK or VMM-L2-PING-FAIL.
ping_ip=
ping_peer=
# shellcheck disable=SC2013 # words, not lines
for w in $(cat /proc/cmdline); do
	case $w in
	vmmtest_ip=*) ping_ip=${w#*=} ;;
	vmmtest_peer=*) ping_peer=${w#*=} ;;
	esac
done
ip addr add "$ping_ip" dev eth0 && ip link set eth0 up
grep -E "virtio|ITS" /proc/interrupts
if ping -c 3 -W 5 "$ping_peer"; then
	echo "VMM-L2-PING-OK"
else
	echo "VMM-L2-PING-FAIL"
	ip addr
fi
