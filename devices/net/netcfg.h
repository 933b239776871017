/* netcfg.h — the --net option ("tap=NAME,mac=MAC,host-ip=A.B.C.D/N" or
 * "tap=NAME,bridge=BR", with ",queues=N" for N queue pairs) and the host-side configuration of the tap through
 * rtnetlink: link up, an IPv4 address, bridge membership; each step is
 * recorded in struct tap so that tap__close undoes exactly what vmm did. */
#ifndef DEVICES_NETCFG_H
#define DEVICES_NETCFG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tap;

/* Which datapath moves the NIC's packets. */
enum net_vhost {
	NET_VHOST_DEFAULT,	/* not given: the global --vhost (auto) */
	NET_VHOST_OFF,		/* vmm's userspace datapath */
	NET_VHOST_ON,		/* the kernel's vhost-net, or an error */
	NET_VHOST_AUTO,		/* vhost-net if it can be opened, else userspace */
};

/* How the userspace datapath writes a batch of frames to the tap
 * (devices/net/tap_uring.h). */
enum net_tx {
	NET_TX_DEFAULT,		/* not given: NET_TX_DEFAULT_MODE (virtio/net_tap.c) */
	NET_TX_URING,		/* one io_uring_enter per batch, else writev() */
	NET_TX_WRITEV,		/* one writev() per frame */
};

/* "on", "off", "auto" -> enum; -1 for anything else. */
int netcfg__parse_vhost(const char *s);

/* Most queue pairs a NIC can have (queues=N): one MSI-X vector per
 * virtqueue (2N+1 with the control queue) and one tap queue and one
 * /dev/vhost-net per pair; a multiqueue tap takes up to 256. */
#define NET_MAX_QUEUE_PAIRS 16

struct net_config {
	char tap[IFNAMSIZ];	/* "" lets the kernel pick a name */
	uint8_t mac[6];		/* the guest's MAC */
	bool mac_set;		/* false: caller uses netcfg__default_mac */
	char bridge[IFNAMSIZ];	/* "" for none */
	bool has_host_ip;
	uint32_t host_ip;	/* host byte order */
	unsigned prefix;	/* 1..32 */
	enum net_vhost vhost;	/* vhost=on|off|auto */
	unsigned queues;	/* queue pairs, 1..NET_MAX_QUEUE_PAIRS (1 if
				 * not given); the VM's vCPU count is checked
				 * later (netcfg__check_queues) */
	enum net_tx tx;		/* tx=uring|writev */
};

/* Parse the value of --net. On error writes one line naming the culprit to
 * 'err' and returns -1; *out is then unspecified. */
int netcfg__parse(const char *value, struct net_config *out, char *err, size_t errlen);

/* queues=N must not exceed the vCPU count (a pair per vCPU is what
 * multiqueue is for, and Linux uses at most one per CPU). 0, or -1 with
 * one line in err. */
int netcfg__check_queues(const struct net_config *c, int nr_cpus, char *err, size_t errlen);

/* "02:ca:fe:fa:ce:01": six ':'-separated hex pairs, unicast, not all-zero. */
int netcfg__parse_mac(const char *s, uint8_t mac[6], char *err, size_t errlen);

/* "192.168.100.1/24": a usable host address with its prefix length. */
int netcfg__parse_cidr(const char *s, uint32_t *ip, unsigned *prefix,
		       char *err, size_t errlen);

/* A host interface name the kernel accepts as-is (no '%' template). */
int netcfg__check_ifname(const char *what, const char *s, char *err, size_t errlen);

/* A locally administered unicast MAC 02:xx:xx:xx:xx:xx derived from seed. */
void netcfg__default_mac(uint8_t mac[6], unsigned seed);

/* Configure the host side of an open tap as *c asks: attach to c->bridge,
 * add c->host_ip/prefix, set the link up. On error writes one line, undoes
 * its own partial work and returns -1. */
int netcfg__host_setup(struct tap *t, const struct net_config *c, char *err, size_t errlen);

/* Undo what netcfg__host_setup recorded in *t (called by tap__close).
 * Failures are reported with pr_warn. */
void netcfg__host_teardown(struct tap *t);

#endif
