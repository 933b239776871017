/* rtnl.c — a minimal rtnetlink client: build one request, send it on a
 * fresh NETLINK_ROUTE socket, hand replies to a callback and return the
 * errno of the kernel's NLMSG_ERROR (with its extended-ack text). */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "devices/net/rtnl.h"

struct nl_req {
	struct nlmsghdr h;
	union {
		struct ifinfomsg ifi;
		struct ifaddrmsg ifa;
	};
	char attrs[64];
	bool overflow;		/* not sent: nl_talk refuses the request */
};

static void nl_init(struct nl_req *r, uint16_t type, uint16_t flags, size_t body)
{
	memset(r, 0, sizeof(*r));
	r->h.nlmsg_len = NLMSG_LENGTH(body);
	r->h.nlmsg_type = type;
	r->h.nlmsg_flags = NLM_F_REQUEST | flags;
}

static void nl_attr(struct nl_req *r, uint16_t type, const void *data, uint16_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->h.nlmsg_len));

	/* Requests here are fixed and small: overflowing is a vmm bug. */
	if (NLMSG_ALIGN(r->h.nlmsg_len) + RTA_SPACE(len) > offsetof(struct nl_req, overflow)) {
		r->overflow = true;
		return;
	}
	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_SPACE(len);
}

/* The kernel's extended-ack message, if it sent one. */
static void nl_ext_msg(const struct nlmsghdr *h, char *msg, size_t msglen)
{
	const struct nlmsgerr *e = NLMSG_DATA(h);
	size_t off = sizeof(*e) - sizeof(e->msg);
	const struct nlattr *a;
	size_t end = h->nlmsg_len - NLMSG_HDRLEN;

	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	off += (h->nlmsg_flags & NLM_F_CAPPED) ? sizeof(e->msg) : e->msg.nlmsg_len;
	off = NLA_ALIGN(off);
	while (off + sizeof(*a) <= end) {
		a = (const struct nlattr *)((const char *)e + off);
		if (a->nla_len < sizeof(*a) || off + a->nla_len > end)
			return;
		if (a->nla_type == NLMSGERR_ATTR_MSG && a->nla_len > sizeof(*a)) {
			snprintf(msg, msglen, " (%.*s)", (int)(a->nla_len - sizeof(*a)),
				 (const char *)(a + 1));
			return;
		}
		off += NLA_ALIGN(a->nla_len);
	}
}

/* NLMSG_OK without its signed/unsigned comparison. */
static bool nl_ok(const struct nlmsghdr *h, int len)
{
	return len >= (int)sizeof(*h) && h->nlmsg_len >= sizeof(*h) &&
	       h->nlmsg_len <= (unsigned)len;
}

typedef void (*nl_cb)(const struct nlmsghdr *h, void *arg);

/* Send one request; pass replies to cb; return 0, or -errno from the
 * kernel's NLMSG_ERROR with its extended message in 'msg'. */
static int nl_talk(struct nl_req *r, nl_cb cb, void *arg, char *msg, size_t msglen)
{
	static unsigned seq;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 5 };
	char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
	/* NLM_F_DUMP's bits mean CREATE/EXCL/REPLACE on NEW requests. */
	bool dump = (r->h.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP && (r->h.nlmsg_type & 3) == 2;
	int fd, one = 1, ret;

	msg[0] = '\0';
	if (r->overflow)
		return -EMSGSIZE;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (!dump)
		r->h.nlmsg_flags |= NLM_F_ACK;
	r->h.nlmsg_seq = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
	if (sendto(fd, r, r->h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		socklen_t salen = sizeof(sa);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&sa, &salen);
		struct nlmsghdr *h;
		int len = (int)n;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = errno == EAGAIN ? -ETIMEDOUT : -errno;
			goto out;
		}
		if (n > (ssize_t)sizeof(buf)) {
			ret = -EMSGSIZE;
			goto out;
		}
		if (sa.nl_pid != 0)	/* not from the kernel */
			continue;
		for (h = (struct nlmsghdr *)buf; nl_ok(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != r->h.nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE) {
				ret = 0;
				if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
					memcpy(&ret, NLMSG_DATA(h), sizeof(int));
				goto out;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e))) {
					ret = -EPROTO;
					goto out;
				}
				ret = e->error;
				if (ret)
					nl_ext_msg(h, msg, msglen);
				goto out;
			}
			if (cb)
				cb(h, arg);
		}
	}
out:
	close(fd);
	return ret;
}

static void link_cb(const struct nlmsghdr *h, void *arg)
{
	struct rtnl_link *li = arg;
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifi));

	if (h->nlmsg_type != RTM_NEWLINK || len < 0)
		return;
	li->flags = ifi->ifi_flags;
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_MASTER && RTA_PAYLOAD(a) >= 4)
			memcpy(&li->master, RTA_DATA(a), 4);
		if (a->rta_type != IFLA_LINKINFO)
			continue;
		int ilen = (int)RTA_PAYLOAD(a);
		for (const struct rtattr *b = RTA_DATA(a); RTA_OK(b, ilen); b = RTA_NEXT(b, ilen))
			if (b->rta_type == IFLA_INFO_KIND)
				snprintf(li->kind, sizeof(li->kind), "%.*s",
					 (int)strnlen(RTA_DATA(b), RTA_PAYLOAD(b)),
					 (const char *)RTA_DATA(b));
	}
}

int rtnl__link_get(int ifindex, struct rtnl_link *li, char *msg, size_t msglen)
{
	struct nl_req r;

	memset(li, 0, sizeof(*li));
	nl_init(&r, RTM_GETLINK, 0, sizeof(r.ifi));
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = ifindex;
	return nl_talk(&r, link_cb, li, msg, msglen);
}

int rtnl__link_set_up(int ifindex, bool up, char *msg, size_t msglen)
{
	struct nl_req r;

	nl_init(&r, RTM_NEWLINK, 0, sizeof(r.ifi));
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = ifindex;
	r.ifi.ifi_change = IFF_UP;
	r.ifi.ifi_flags = up ? IFF_UP : 0;
	return nl_talk(&r, NULL, NULL, msg, msglen);
}

int rtnl__link_set_master(int ifindex, int master, char *msg, size_t msglen)
{
	struct nl_req r;

	nl_init(&r, RTM_NEWLINK, 0, sizeof(r.ifi));
	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = ifindex;
	nl_attr(&r, IFLA_MASTER, &master, sizeof(master));
	return nl_talk(&r, NULL, NULL, msg, msglen);
}

static int addr_change(uint16_t type, int ifindex, uint32_t ip, unsigned prefix,
		       char *msg, size_t msglen)
{
	uint32_t be = htonl(ip);
	struct nl_req r;

	if (prefix < 1 || prefix > 32)
		return -EINVAL;
	nl_init(&r, type, type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0, sizeof(r.ifa));
	r.ifa.ifa_family = AF_INET;
	r.ifa.ifa_prefixlen = (uint8_t)prefix;
	r.ifa.ifa_index = (uint32_t)ifindex;
	nl_attr(&r, IFA_LOCAL, &be, 4);
	nl_attr(&r, IFA_ADDRESS, &be, 4);
	if (type == RTM_NEWADDR && prefix < 31) {
		uint32_t bcast = htonl(ip | (0xffffffffu >> prefix));

		nl_attr(&r, IFA_BROADCAST, &bcast, 4);
	}
	return nl_talk(&r, NULL, NULL, msg, msglen);
}

int rtnl__addr_add(int ifindex, uint32_t ip, unsigned prefix, char *msg, size_t msglen)
{
	return addr_change(RTM_NEWADDR, ifindex, ip, prefix, msg, msglen);
}

int rtnl__addr_del(int ifindex, uint32_t ip, unsigned prefix, char *msg, size_t msglen)
{
	return addr_change(RTM_DELADDR, ifindex, ip, prefix, msg, msglen);
}

struct addr_walk {
	rtnl_addr_fn fn;
	void *arg;
};

static void addr_cb(const struct nlmsghdr *h, void *arg)
{
	struct addr_walk *w = arg;
	const struct ifaddrmsg *ifa = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifa));
	uint32_t ip;

	if (h->nlmsg_type != RTM_NEWADDR || len < 0 || ifa->ifa_family != AF_INET)
		return;
	for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type != IFA_LOCAL || RTA_PAYLOAD(a) < 4)
			continue;
		memcpy(&ip, RTA_DATA(a), 4);
		w->fn((int)ifa->ifa_index, ntohl(ip), ifa->ifa_prefixlen, w->arg);
	}
}

int rtnl__addr_dump(rtnl_addr_fn fn, void *arg, char *msg, size_t msglen)
{
	struct addr_walk w = { fn, arg };
	struct nl_req r;

	nl_init(&r, RTM_GETADDR, NLM_F_DUMP, sizeof(r.ifa));
	r.ifa.ifa_family = AF_INET;
	return nl_talk(&r, addr_cb, &w, msg, msglen);
}
