#!/bin/sh
# Seed corpus for fuzz_stats_json: replies as stats__json() writes them
# (the layout documented in vmm/stats.h: a VM with vCPUs, NICs on both
# datapaths, one with its counts per datapath and two queue pairs each
# with its vhost worker, and disks, escapes in strings), and the server's
# error and stop answers.
#   corpus-stats_json.sh OUTDIR SPARSE_PACK FUZZER
set -e
out=$1
kvm='"kvm_exits":{"exits":1000,"io":10,"mmio":20,"halt":30,"irq":40,"irq_window":5,"signal":1}'
usr='"user_exits":{"io":10,"mmio":20,"hlt":0,"other":3,"total":33}'
queue() {   # PAIR VHOST_TID
	printf '{"pair":%s,"rx_packets":%s,"rx_bytes":%s,"tx_packets":2,"tx_bytes":3000,' \
		"$1" "$(($1 + 1))" "$(($1 * 1500 + 1500))"
	printf '"kicks":{"rx":1,"tx":2},"interrupts":{"rx":1,"tx":1},'
	printf '"vhost_thread":{"tid":%s,"cpu_s":0.125}}' "$2"
}
nic() {   # INDEX TAP DATAPATH VHOST_TID [by]
	printf '{"index":%s,"tap":"%s","datapath":"%s","rx_packets":1,"rx_bytes":1500,' "$1" "$2" "$3"
	printf '"rx_filtered":0,"rx_dropped":0,"tx_packets":2,"tx_bytes":3000,"tx_dropped":0,'
	printf '"kicks":{"rx":1,"tx":2,"ctrl":0},"interrupts":{"rx":1,"tx":1,"ctrl":0},'
	printf '"vhost_thread":{"tid":%s,"cpu_s":0.125}' "$4"
	# per datapath, from the tap's counters (left out when unreadable)
	[ "$5" = by ] && printf ',"by_datapath":{%s,%s}' \
		'"userspace":{"rx_packets":10,"rx_bytes":15000,"tx_packets":20,"tx_bytes":1200}' \
		'"vhost-net":{"rx_packets":7,"rx_bytes":10500,"tx_packets":9,"tx_bytes":540}'
	# one pair, or two each with its own worker (queues=2)
	printf ',"queues":['
	if [ "$5" = by ]; then queue 0 "$4"; printf ','; queue 1 "$(($4 + 1))"; else queue 0 0; fi
	printf ']}'
}
disk() {   # INDEX DEV PATH FORMAT RO SEED
	printf '{"index":%s,"dev":"%s","path":"%s","format":"%s","read_only":%s,"seed":%s,' \
		"$1" "$2" "$3" "$4" "$5" "$6"
	printf '"size_bytes":21474836480,"reads":100,"writes":50,"flushes":3,"discards":1,'
	printf '"write_zeroes":0,"get_ids":1,"others":0,"bytes_read":409600,"bytes_written":204800,'
	printf '"errors":0,"kicks":120,"interrupts":110,"worker_thread":{"tid":1237,"cpu_s":0.5}}'
}
{
	printf '{"name":"web1","pid":1234,"state":"running","vcpus":2,"mem_bytes":1073741824,'
	printf '"uptime_s":12.345,"io_thread":{"tid":1235,"cpu_s":0.012},"vcpu":['
	printf '{"id":0,"tid":1236,"cpu_s":1.5,%s,%s},' "$kvm" "$usr"
	printf '{"id":1,"tid":0,"cpu_s":0.000,%s,%s}],"nic":[' "$kvm" "$usr"
	nic 0 tap0 vhost-net 999 by; printf ','; nic 1 'vnet\\"1' userspace 0
	printf '],"disk":['
	disk 0 vda '/images/Fedora \u00e9\\\\x.qcow2' qcow2 false false; printf ','
	disk 1 vdb '\ufffd\t' memory true true
	printf ']}\n'
} > "$out/full"
printf '{"name":"a","pid":1,"state":"stopping","vcpus":0,"mem_bytes":0,"uptime_s":0.000,"io_thread":{"tid":0,"cpu_s":0.000},"vcpu":[],"nic":[],"disk":[]}' > "$out/empty"
printf '{"error":"unknown request (info, stat or stop)"}\n' > "$out/error"
printf '{"ok":true}\n' > "$out/ok"
