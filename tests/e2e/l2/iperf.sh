# tests/e2e/l2/iperf.sh — vmmtest=iperf, the guest side of the arm64 nested
# host's iperf scenarios (tests/e2e/l1-init-arm64.sh; sourced by the L2
# /init after its modules are loaded): eth0 gets vmmtest_ip=ADDR/N, then
# iperf3 against the server on vmmtest_peer=ADDR (L1) for
# vmmtest_iperf_s=SECONDS (5) each way:
#   VMM-L2-IPERF guest_to_host_mbps=N host_to_guest_mbps=N
iperf_ip=
iperf_peer=
iperf_s=5
# shellcheck disable=SC2013 # words, not lines
for w in $(cat /proc/cmdline); do
	case $w in
	vmmtest_ip=*) iperf_ip=${w#*=} ;;
	vmmtest_peer=*) iperf_peer=${w#*=} ;;
	vmmtest_iperf_s=*) iperf_s=${w#*=} ;;
	esac
done
ip addr add "$iperf_ip" dev eth0 && ip link set eth0 up
# the link and the server: a ping first (ARP, and L1's answer)
ping -c 1 -W 10 "$iperf_peer" > /dev/null 2>&1
iperf_mbps()
{
	awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") v = $(i - 1) } END { print v }'
}
tx=$(iperf3 -c "$iperf_peer" -t "$iperf_s" -f m 2>&1 | tee /tmp/iperf-tx | iperf_mbps)
rx=$(iperf3 -c "$iperf_peer" -t "$iperf_s" -f m -R 2>&1 | tee /tmp/iperf-rx | iperf_mbps)
sed 's/^/VMM-L2-IPERF-LOG /' /tmp/iperf-tx /tmp/iperf-rx | grep -E "sender|receiver|error"
echo "VMM-L2-IPERF guest_to_host_mbps=${tx:-none} host_to_guest_mbps=${rx:-none}"
