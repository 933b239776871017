/* frame_recv.c — wait for one test frame on a host interface (run in the
 * nested test host, which has no tcpdump).
 *
 *   frame_recv IFNAME TOKEN TIMEOUT_S [READY_FD]
 *
 * Exits 0 when a frame with ethertype 0x88b5 whose payload contains TOKEN
 * arrives on IFNAME, 1 when TIMEOUT_S seconds pass first, 2 on bad usage
 * or a socket error. IFNAME need not exist yet (vmm creates its tap): the
 * packet socket listens on all interfaces from the start and keeps the
 * frames of IFNAME, whose index comes from if_nametoindex() or, for an
 * interface that appears later, from the kernel's RTM_NEWLINK message.
 * So a frame sent right after the tap appears is not missed, and neither
 * is one whose tap is gone by the time it is read. With READY_FD, writes
 * "ready" there (and closes it) once both sockets are listening, so the
 * caller can start the sender only then. Brings no interface up. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ETH_TYPE_TEST 0x88b5

static const char *ifname;
static unsigned ifindex;	/* 0 until IFNAME is known to exist */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void found_index(unsigned idx, const char *how)
{
	if (idx == 0 || idx == ifindex)
		return;
	ifindex = idx;
	printf("frame_recv: %s has index %u (%s)\n", ifname, idx, how);
	fflush(stdout);
}

/* Read whatever link messages are queued; learn IFNAME's index from an
 * RTM_NEWLINK that names it. */
static void drain_netlink(int nl)
{
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	ssize_t n;

	while ((n = recv(nl, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			struct ifinfomsg *ifi;
			struct rtattr *a;
			int alen;

			if (h->nlmsg_type != RTM_NEWLINK ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
				continue;
			ifi = NLMSG_DATA(h);
			alen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)));
			for (a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
				const char *name = RTA_DATA(a);
				size_t nlen = RTA_PAYLOAD(a);

				if (a->rta_type == IFLA_IFNAME && ifi->ifi_index > 0 &&
				    strnlen(name, nlen) == strlen(ifname) &&
				    !strncmp(name, ifname, nlen))
					found_index((unsigned)ifi->ifi_index, "link message");
			}
		}
	}
	if (n < 0 && errno == ENOBUFS)	/* messages lost: ask by name */
		found_index(if_nametoindex(ifname), "lookup");
}

/* 1 when the frame is ours: IFNAME, ethertype 0x88b5, TOKEN inside. */
static int check_frame(int nl, const unsigned char *f, size_t len,
		       const struct sockaddr_ll *from, const char *token)
{
	if (!ifindex) {
		drain_netlink(nl);
		found_index(if_nametoindex(ifname), "lookup");
	}
	if (!ifindex || (unsigned)from->sll_ifindex != ifindex || len < ETH_HLEN)
		return 0;
	if ((f[12] << 8 | f[13]) != ETH_TYPE_TEST)
		return 0;
	if (!memmem(f + ETH_HLEN, len - ETH_HLEN, token, strlen(token)))
		return 0;
	printf("frame_recv: got %zu bytes from %02x:%02x:%02x:%02x:%02x:%02x on %s\n", len,
	       f[6], f[7], f[8], f[9], f[10], f[11], ifname);
	return 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	const char *token;
	long long deadline;
	unsigned long others = 0;
	char *end;
	long tmo;
	int nl, pk;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: frame_recv IFNAME TOKEN TIMEOUT_S [READY_FD]\n");
		return 2;
	}
	ifname = argv[1];
	token = argv[2];
	tmo = strtol(argv[3], &end, 10);
	if (*end || tmo <= 0 || tmo > 3600 || strlen(ifname) >= IFNAMSIZ || !*token) {
		fprintf(stderr, "frame_recv: bad IFNAME, TOKEN or TIMEOUT_S (1..3600)\n");
		return 2;
	}
	deadline = now_ms() + tmo * 1000;

	/* Link messages first, then the lookup: no window where IFNAME
	 * appears unnoticed. */
	nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl < 0 || bind(nl, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("frame_recv: netlink socket");
		return 2;
	}
	pk = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (pk < 0) {
		perror("frame_recv: packet socket (needs CAP_NET_RAW)");
		return 2;
	}
	found_index(if_nametoindex(ifname), "lookup");
	if (argc == 5) {
		int fd = atoi(argv[4]);

		if (fd <= 2 || write(fd, "ready\n", 6) != 6) {
			perror("frame_recv: READY_FD");
			return 2;
		}
		close(fd);
	}

	for (;;) {
		struct pollfd p[2] = { { .fd = nl, .events = POLLIN }, { .fd = pk, .events = POLLIN } };
		long long left = deadline - now_ms();
		int r;

		if (left <= 0)
			break;
		r = poll(p, 2, (int)left);
		if (r < 0 && errno != EINTR) {
			perror("frame_recv: poll");
			return 2;
		}
		if (r <= 0)
			continue;
		if (p[0].revents)
			drain_netlink(nl);
		if (p[1].revents) {
			unsigned char f[2048];
			struct sockaddr_ll from;
			socklen_t fl = sizeof(from);
			ssize_t n = recvfrom(pk, f, sizeof(f), MSG_DONTWAIT,
					     (struct sockaddr *)&from, &fl);

			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				perror("frame_recv: recvfrom");
				return 2;
			}
			if (n > 0 && check_frame(nl, f, (size_t)n, &from, token))
				return 0;
			if (n > 0 && ifindex && (unsigned)from.sll_ifindex == ifindex)
				others++;
		}
	}
	printf("frame_recv: TIMEOUT after %ld s: %s %s, %lu other frames on it\n", tmo, ifname,
	       ifindex ? "appeared" : "never appeared", others);
	return 1;
}
