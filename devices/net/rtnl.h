/* rtnl.h — the few rtnetlink requests vmm makes on the host (link state,
 * bridge master, IPv4 addresses), each sent on its own NETLINK_ROUTE socket
 * and checked against the kernel's ACK. Every call returns 0 or -errno and
 * writes the kernel's extended-ack text, as " (text)", or "" to 'msg'. */
#ifndef DEVICES_RTNL_H
#define DEVICES_RTNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rtnl_link {
	unsigned flags;		/* IFF_* */
	int master;		/* ifindex of the master device, 0 if none */
	char kind[16];		/* IFLA_INFO_KIND: "bridge", "tun", or "" */
};

int rtnl__link_get(int ifindex, struct rtnl_link *li, char *msg, size_t msglen);
int rtnl__link_set_up(int ifindex, bool up, char *msg, size_t msglen);
/* master 0 detaches the link from its master. */
int rtnl__link_set_master(int ifindex, int master, char *msg, size_t msglen);

/* Addresses in host byte order; adding one that exists gives -EEXIST. */
int rtnl__addr_add(int ifindex, uint32_t ip, unsigned prefix, char *msg, size_t msglen);
int rtnl__addr_del(int ifindex, uint32_t ip, unsigned prefix, char *msg, size_t msglen);

/* Call fn for every IPv4 address on the host (this network namespace). */
typedef void (*rtnl_addr_fn)(int ifindex, uint32_t ip, unsigned prefix, void *arg);
int rtnl__addr_dump(rtnl_addr_fn fn, void *arg, char *msg, size_t msglen);

#endif
