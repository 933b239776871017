# tests/e2e/l2/net.sh — guest side of the 'net' scenario (sourced by the
# L2 /init after the virtio-net modules are loaded). Prints NET-* lines the
# L1 scenario asserts on. The host (L1) is 192.168.100.1 on the tap.
HOST=192.168.100.1
echo "NET-STEP lspci"
lspci -vv -d 1af4:1041 2>&1 | sed 's/^/NET-LSPCI /'
dev=$(for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = 0x1041 ] && echo "$d"
done | head -n 1)
echo "NET-PCI dev=${dev##*/} subsys=$(cat "$dev/subsystem_vendor"):$(cat "$dev/subsystem_device") driver=$(basename "$(readlink "$dev/driver")")"
vdev=$(ls -d "$dev"/virtio* 2>/dev/null | head -n 1)
ifname=$(ls "$vdev/net" 2>/dev/null | head -n 1)
echo "NET-VIRTIO driver=$(basename "$(readlink "$vdev/driver")") ifname=$ifname mac=$(cat "/sys/class/net/$ifname/address")"
echo "NET-MSIX irqs=$(ls "$dev/msi_irqs" 2>/dev/null | wc -l)"
# The ECAM window from the MCFG: Linux claims it in /proc/iomem only when
# it accepted it (found it reserved, e820 or PNP0C02).
grep -Ei "mmconfig|ecam" /proc/iomem | sed 's/^ */NET-ECAM /'
dmesg | grep -Ei "mmconfig|ecam" | sed 's/^/NET-ECAMLOG /'

ip addr add 192.168.100.2/24 dev "$ifname"
ip link set "$ifname" up
if ping -c 3 -W 5 "$HOST" > /tmp/ping.out 2>&1; then
	echo "NET-PING ok $(tail -n 1 /tmp/ping.out)"
else
	echo "NET-PING fail"; sed 's/^/NET-PINGLOG /' /tmp/ping.out
fi

# iperf3: guest -> host, then host -> guest (-R). One line each with the
# receiver's bits per second from the JSON-free summary.
# NET-MARK lines let L1 take vmm's counters (SIGUSR2) around each run;
# the pauses keep the snapshots outside the measured interval.
for dir in tx rx; do
	flag=; [ $dir = rx ] && flag=-R
	echo "NET-MARK begin-$dir"; sleep 2
	if timeout 60 iperf3 -c "$HOST" -t 3 -f m $flag > /tmp/iperf.$dir 2>&1; then
		bps=$(awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") print $i }' /tmp/iperf.$dir | tail -n 1)
		echo "NET-IPERF dir=$dir mbps=${bps:-0}"
	else
		echo "NET-IPERF dir=$dir mbps=0 failed"; sed 's/^/NET-IPERFLOG /' /tmp/iperf.$dir | tail -n 5
	fi
	echo "NET-MARK end-$dir"; sleep 2
done

# Driver reset under traffic: unbind and rebind virtio-pci while pings
# run as fast as replies come, then the NIC must work again.
echo "NET-MARK before-reload"; sleep 2
ping -A -w 4 "$HOST" > /dev/null 2>&1 &	# -A: as fast as replies come (busybox has no -f)
sleep 1
echo "${dev##*/}" > /sys/bus/pci/drivers/virtio-pci/unbind
echo "${dev##*/}" > /sys/bus/pci/drivers/virtio-pci/bind
wait
ifname=$(ls "$(ls -d "$dev"/virtio* | head -n 1)/net" 2>/dev/null | head -n 1)
ip addr add 192.168.100.2/24 dev "$ifname" 2>/dev/null
ip link set "$ifname" up
if ping -c 2 -W 5 "$HOST" > /dev/null 2>&1; then
	echo "NET-RELOAD ok ifname=$ifname"
else
	echo "NET-RELOAD fail"
fi
# and traffic at full rate again after the reload
if timeout 60 iperf3 -c "$HOST" -t 2 -f m > /tmp/iperf.after 2>&1; then
	bps=$(awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") print $i }' /tmp/iperf.after | tail -n 1)
	echo "NET-IPERF dir=after-reload mbps=${bps:-0}"
else
	echo "NET-IPERF dir=after-reload mbps=0 failed"
fi
echo "NET-MARK after-reload"; sleep 2
echo "NET-DONE"
