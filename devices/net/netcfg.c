/* netcfg.c — the --net option and the tap's host-side configuration: link up,
 * an IPv4 address, bridge membership (rtnl.c), each step recorded in struct
 * tap and undone on close. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "devices/net/netcfg.h"
#include "devices/net/rtnl.h"
#include "devices/net/tap.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define fail util__fail
#define IP_FMT "%u.%u.%u.%u"
#define IP_ARGS(a) (a) >> 24, ((a) >> 16) & 0xff, ((a) >> 8) & 0xff, (a) & 0xff

/* ---- parsing ---- */

int netcfg__check_ifname(const char *what, const char *s, char *err, size_t errlen)
{
	size_t n = strlen(s);

	if (n == 0)
		return fail(err, errlen, "%s name is empty", what);
	if (n >= IFNAMSIZ)
		return fail(err, errlen, "%s name '%s' is too long (at most %d characters)",
			    what, s, IFNAMSIZ - 1);
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return fail(err, errlen, "'%s' is not a valid %s name", s, what);
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= ' ' || c == 0x7f)
			return fail(err, errlen, "%s name '%s' contains a space or control character",
				    what, s);
		if (c == '/' || c == ':' || c == '%')
			return fail(err, errlen, "%s name '%s' contains '%c'", what, s, c);
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int netcfg__parse_mac(const char *s, uint8_t mac[6], char *err, size_t errlen)
{
	for (int i = 0; i < 6; i++) {
		const char *p = s + 3 * i;
		int hi = hexval(p[0]), lo = hi < 0 ? -1 : hexval(p[1]);

		if (hi < 0 || lo < 0 || p[2] != (i < 5 ? ':' : '\0'))
			return fail(err, errlen, "invalid MAC '%s': write six hex pairs like 02:ca:fe:fa:ce:01",
				    s);
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	if (mac[0] & 1)
		return fail(err, errlen, "MAC %s is multicast (the first byte must be even)", s);
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return fail(err, errlen, "MAC %s is all zeros", s);
	return 0;
}

/* Up to 'maxd' decimal digits without a leading zero; -1 if none or bad. */
static long parse_dec(const char **pp, int maxd)
{
	const char *p = *pp;
	long v = 0;
	int n = 0;

	while (*p >= '0' && *p <= '9' && n <= maxd) {
		v = v * 10 + (*p++ - '0');
		n++;
	}
	if (n == 0 || n > maxd || (n > 1 && **pp == '0'))
		return -1;
	*pp = p;
	return v;
}

int netcfg__parse_cidr(const char *s, uint32_t *ip, unsigned *prefix, char *err, size_t errlen)
{
	const char *p = s;
	uint32_t a = 0, host;
	long v;

	for (int i = 0; i < 4; i++) {
		v = parse_dec(&p, 3);
		if (v < 0 || (i < 3 && *p != '.'))
			return fail(err, errlen, "invalid address '%s': write it like 192.168.100.1/24", s);
		if (v > 255)
			return fail(err, errlen, "invalid address '%s': %ld is above 255", s, v);
		a = a << 8 | (uint32_t)v;
		if (i < 3)
			p++;
	}
	if (*p == '\0')
		return fail(err, errlen, "address '%s' has no prefix length: write it like 192.168.100.1/24",
			    s);
	if (*p != '/')
		return fail(err, errlen, "invalid address '%s': write it like 192.168.100.1/24", s);
	p++;
	v = parse_dec(&p, 2);
	if (v < 1 || v > 32 || *p)
		return fail(err, errlen, "invalid prefix length in '%s': give 1 to 32", s);
	if ((a >> 24) == 0 || (a >> 24) == 127 || (a >> 28) >= 0xe)
		return fail(err, errlen, "address '%s' is not a usable unicast host address", s);
	host = v == 32 ? 0 : a & (0xffffffffu >> v);
	if (v <= 30 && host == 0)
		return fail(err, errlen, "address '%s' is the network address of its subnet", s);
	if (v <= 30 && host == (0xffffffffu >> v))
		return fail(err, errlen, "address '%s' is the broadcast address of its subnet", s);
	*ip = a;
	*prefix = (unsigned)v;
	return 0;
}

enum { KEY_TAP, KEY_MAC, KEY_HOST_IP, KEY_BRIDGE, KEY_VHOST, KEY_QUEUES, KEY_TX, NR_KEYS };
static const char *const keys[NR_KEYS] = { "tap", "mac", "host-ip", "bridge", "vhost", "queues",
					   "tx" };

/* queues=N: a plain decimal 1..NET_MAX_QUEUE_PAIRS. */
static int parse_queues(const char *s, unsigned *out, char *err, size_t errlen)
{
	const char *p = s;
	long v = parse_dec(&p, 3);

	if (v < 1 || *p || v > NET_MAX_QUEUE_PAIRS)
		return fail(err, errlen, "invalid queues '%s': give a number of queue pairs from 1 to %d",
			    s, NET_MAX_QUEUE_PAIRS);
	*out = (unsigned)v;
	return 0;
}

int netcfg__check_queues(const struct net_config *c, int nr_cpus, char *err, size_t errlen)
{
	if (c->queues > 1 && (int)c->queues > nr_cpus)
		return fail(err, errlen, "--net: queues=%u is more than the %d vCPU%s (give at most "
			    "one queue pair per vCPU)", c->queues, nr_cpus, nr_cpus == 1 ? "" : "s");
	return 0;
}

int netcfg__parse_vhost(const char *s)
{
	if (!strcmp(s, "on"))
		return NET_VHOST_ON;
	if (!strcmp(s, "off"))
		return NET_VHOST_OFF;
	if (!strcmp(s, "auto"))
		return NET_VHOST_AUTO;
	return -1;
}

int netcfg__parse(const char *value, struct net_config *out, char *err, size_t errlen)
{
	char buf[256], sub[192], *item, *save = NULL;
	unsigned seen = 0;

	memset(out, 0, sizeof(*out));
	if (!value || !*value)
		return fail(err, errlen, "--net needs a value, like tap=vnet0,host-ip=192.168.100.1/24");
	if (strlen(value) >= sizeof(buf))
		return fail(err, errlen, "--net value is too long (%zu characters)", strlen(value));
	if (value[0] == ',' || value[strlen(value) - 1] == ',' || strstr(value, ",,"))
		return fail(err, errlen, "--net '%s' has an empty item", value);
	strcpy(buf, value);

	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *val = strchr(item, '=');
		int k, r = 0;

		if (!val)
			return fail(err, errlen, "--net: '%s' is not key=value", item);
		*val++ = '\0';
		for (k = 0; k < NR_KEYS && strcmp(item, keys[k]); k++)
			;
		if (k == NR_KEYS)
			return fail(err, errlen, "--net: unknown key '%s' (use tap, mac, host-ip, bridge, vhost, queues or tx)",
				    item);
		if (seen & (1u << k))
			return fail(err, errlen, "--net: '%s' is given twice", item);
		seen |= 1u << k;
		if (!*val)
			return fail(err, errlen, "--net: '%s' needs a value", item);
		switch (k) {
		case KEY_TAP:
			r = netcfg__check_ifname("tap", val, sub, sizeof(sub));
			if (!r)
				strcpy(out->tap, val);
			break;
		case KEY_BRIDGE:
			r = netcfg__check_ifname("bridge", val, sub, sizeof(sub));
			if (!r)
				strcpy(out->bridge, val);
			break;
		case KEY_MAC:
			r = netcfg__parse_mac(val, out->mac, sub, sizeof(sub));
			out->mac_set = true;
			break;
		case KEY_HOST_IP:
			r = netcfg__parse_cidr(val, &out->host_ip, &out->prefix, sub, sizeof(sub));
			out->has_host_ip = true;
			break;
		case KEY_VHOST:
			r = netcfg__parse_vhost(val);
			if (r < 0)
				snprintf(sub, sizeof(sub), "invalid vhost '%s': use on, off or auto", val);
			else
				out->vhost = (enum net_vhost)r;
			break;
		case KEY_QUEUES:
			r = parse_queues(val, &out->queues, sub, sizeof(sub));
			break;
		case KEY_TX:
			if (!strcmp(val, "uring"))
				out->tx = NET_TX_URING;
			else if (!strcmp(val, "writev"))
				out->tx = NET_TX_WRITEV;
			else
				r = fail(sub, sizeof(sub), "invalid tx '%s': use uring or writev", val);
			break;
		}
		if (r < 0)
			return fail(err, errlen, "--net: %s", sub);
	}
	if (!out->queues)
		out->queues = 1;
	if (out->has_host_ip && out->bridge[0])
		return fail(err, errlen, "--net: host-ip and bridge cannot be used together (give the bridge the host address)");
	if (out->bridge[0] && !strcmp(out->bridge, out->tap))
		return fail(err, errlen, "--net: tap and bridge are both '%s'", out->tap);
	return 0;
}

void netcfg__default_mac(uint8_t mac[6], unsigned seed)
{
	/* splitmix64: distinct seeds give well-spread addresses. */
	uint64_t z = (uint64_t)seed + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	mac[0] = 0x02;	/* locally administered, unicast */
	for (int i = 1; i < 6; i++)
		mac[i] = (uint8_t)(z >> (8 * (i - 1)));
}

/* ---- host configuration ---- */

/* Where the address already is (preferring the tap itself); a warning for
 * another interface's subnet that overlaps ours. */
struct addr_scan {
	uint32_t ip;
	unsigned prefix;
	int self, found;
};

static void addr_seen(int ifindex, uint32_t ip, unsigned prefix, void *arg)
{
	struct addr_scan *s = arg;
	unsigned p = MIN(s->prefix, prefix);
	uint32_t mask = p ? 0xffffffffu << (32 - p) : 0;
	char name[IFNAMSIZ];

	if (ip == s->ip) {
		if (!s->found || ifindex == s->self)
			s->found = ifindex;
	} else if (ifindex != s->self && ((ip ^ s->ip) & mask) == 0) {
		pr_warn("host-ip " IP_FMT "/%u overlaps " IP_FMT "/%u on '%s'", IP_ARGS(s->ip),
			s->prefix, IP_ARGS(ip), prefix,
			if_indextoname((unsigned)ifindex, name) ? name : "?");
	}
}

static const char *perm_hint(int e)
{
	return e == -EPERM || e == -EACCES ? " (needs CAP_NET_ADMIN)" : "";
}

static int setup_bridge(struct tap *t, const char *bridge, const struct rtnl_link *tl,
			char *err, size_t errlen)
{
	char msg[160], other[IFNAMSIZ];
	struct rtnl_link bl;
	int br = (int)if_nametoindex(bridge), e;

	if (!br)
		return fail(err, errlen, "bridge '%s' not found", bridge);
	e = rtnl__link_get(br, &bl, msg, sizeof(msg));
	if (e)
		return fail(err, errlen, "cannot query bridge '%s': %s%s", bridge, strerror(-e), msg);
	if (strcmp(bl.kind, "bridge"))
		return fail(err, errlen, "interface '%s' is not a bridge", bridge);
	if (tl->master == br)
		return 0;	/* already a port: not ours to detach */
	if (tl->master)
		return fail(err, errlen, "tap '%s' is already attached to '%s'", t->ifname,
			    if_indextoname((unsigned)tl->master, other) ? other : "?");
	e = rtnl__link_set_master(t->ifindex, br, msg, sizeof(msg));
	if (e)
		return fail(err, errlen, "cannot attach tap '%s' to bridge '%s': %s%s%s", t->ifname,
			    bridge, strerror(-e), msg, perm_hint(e));
	t->set_master = true;
	return 0;
}

static int setup_addr(struct tap *t, uint32_t ip, unsigned prefix, char *err, size_t errlen)
{
	struct addr_scan s = { .ip = ip, .prefix = prefix, .self = t->ifindex };
	char msg[160], other[IFNAMSIZ];
	int e;

	e = rtnl__addr_dump(addr_seen, &s, msg, sizeof(msg));
	if (e)
		return fail(err, errlen, "cannot list host addresses: %s%s", strerror(-e), msg);
	if (s.found == t->ifindex)
		return 0;	/* already there: not ours to remove */
	if (s.found)
		return fail(err, errlen, "host-ip " IP_FMT " is already in use on '%s'", IP_ARGS(ip),
			    if_indextoname((unsigned)s.found, other) ? other : "?");
	e = rtnl__addr_add(t->ifindex, ip, prefix, msg, sizeof(msg));
	if (e)
		return fail(err, errlen, "cannot add " IP_FMT "/%u to tap '%s': %s%s%s", IP_ARGS(ip),
			    prefix, t->ifname, strerror(-e), msg, perm_hint(e));
	t->configured_addr = true;
	t->addr = ip;
	t->prefix = prefix;
	return 0;
}

int netcfg__host_setup(struct tap *t, const struct net_config *c, char *err, size_t errlen)
{
	struct rtnl_link tl;
	char msg[160];
	int e;

	e = rtnl__link_get(t->ifindex, &tl, msg, sizeof(msg));
	if (e)
		return fail(err, errlen, "cannot query tap '%s': %s%s", t->ifname, strerror(-e), msg);
	if (c->bridge[0] && setup_bridge(t, c->bridge, &tl, err, errlen) < 0)
		goto undo;
	if (c->has_host_ip && setup_addr(t, c->host_ip, c->prefix, err, errlen) < 0)
		goto undo;
	if (!(tl.flags & IFF_UP)) {
		e = rtnl__link_set_up(t->ifindex, true, msg, sizeof(msg));
		if (e) {
			fail(err, errlen, "cannot set tap '%s' up: %s%s%s", t->ifname, strerror(-e),
			     msg, perm_hint(e));
			goto undo;
		}
		t->set_up = true;
	}
	return 0;
undo:
	netcfg__host_teardown(t);
	return -1;
}

void netcfg__host_teardown(struct tap *t)
{
	char msg[160];
	int e;

	if (t->set_up) {
		e = rtnl__link_set_up(t->ifindex, false, msg, sizeof(msg));
		if (e && e != -ENODEV)
			pr_warn("could not set tap '%s' down: %s%s", t->ifname, strerror(-e), msg);
		t->set_up = false;
	}
	if (t->configured_addr) {
		e = rtnl__addr_del(t->ifindex, t->addr, t->prefix, msg, sizeof(msg));
		if (e && e != -ENODEV && e != -EADDRNOTAVAIL)
			pr_warn("could not remove " IP_FMT "/%u from tap '%s': %s%s",
				IP_ARGS(t->addr), t->prefix, t->ifname, strerror(-e), msg);
		t->configured_addr = false;
	}
	if (t->set_master) {
		e = rtnl__link_set_master(t->ifindex, 0, msg, sizeof(msg));
		if (e && e != -ENODEV)
			pr_warn("could not detach tap '%s' from its bridge: %s%s", t->ifname,
				strerror(-e), msg);
		t->set_master = false;
	}
}
