/* test_tap_mq.c — multiqueue taps (IFF_MULTI_QUEUE) against the real
 * /dev/net/tun in a private network namespace: one fd per queue, the
 * queues attached and detached with TUNSETQUEUE (tap__set_queues), flows
 * from the host spread over the attached queues only, a detached queue's
 * fd still sending and polling without an error, and the open errors a
 * multiqueue tap adds (a single-queue tap of that name, another
 * process's multiqueue tap). Skipped where no namespace can be had. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <cmocka.h>

#include "devices/net/netcfg.h"
#include "devices/net/tap.h"
#include "tests/unit/netns.h"

#define HDR sizeof(struct virtio_net_hdr_mrg_rxbuf)

static void test_open_and_queues(void **state)
{
	struct tap t;
	char err[256] = "";

	NEED_NETNS();
	assert_int_equal(tap__open_queues(&t, "vmmq0", 4, err, sizeof(err)), 0);
	assert_int_equal(t.nr_queues, 4);
	assert_int_equal(t.attached, 4);
	assert_int_equal(t.fd, t.qfd[0]);
	for (int i = 0; i < 4; i++) {
		assert_true(t.qfd[i] >= 0);
		assert_true(fcntl(t.qfd[i], F_GETFL) & O_NONBLOCK);
		assert_true(fcntl(t.qfd[i], F_GETFD) & FD_CLOEXEC);
		for (int k = 0; k < i; k++)
			assert_int_not_equal(t.qfd[i], t.qfd[k]);
	}
	assert_int_equal(t.qfd[4], -1);
	assert_true(t.created);
	assert_true(tun_flags_of("vmmq0") & IFF_MULTI_QUEUE);
	/* header size and offloads are the tap's: set through queue 0 */
	assert_int_equal(tap__set_vnet_hdr_len(&t, HDR), 0);
	{
		int sz = 0;

		assert_int_equal(ioctl(t.qfd[3], TUNGETVNETHDRSZ, &sz), 0);
		assert_int_equal(sz, HDR);
	}
	/* down, down again (nothing to do), up; out of range refused */
	assert_int_equal(tap__set_queues(&t, 1), 0);
	assert_int_equal(t.attached, 1);
	assert_int_equal(tap__set_queues(&t, 1), 0);
	assert_int_equal(tap__set_queues(&t, 3), 0);
	assert_int_equal(t.attached, 3);
	assert_int_equal(tap__set_queues(&t, 0), -EINVAL);
	assert_int_equal(tap__set_queues(&t, 5), -EINVAL);
	assert_int_equal(t.attached, 3);
	/* the kernel agrees: attaching an attached queue is EINVAL */
	{
		struct ifreq ifr = { .ifr_flags = IFF_ATTACH_QUEUE };

		assert_int_equal(ioctl(t.qfd[2], TUNSETQUEUE, &ifr), -1);
		assert_int_equal(errno, EINVAL);
		assert_int_equal(ioctl(t.qfd[3], TUNSETQUEUE, &ifr), 0);
		ifr.ifr_flags = IFF_DETACH_QUEUE;
		assert_int_equal(ioctl(t.qfd[3], TUNSETQUEUE, &ifr), 0);
	}
	tap__close(&t);
	assert_false(link_exists("vmmq0"));
	assert_int_equal(t.nr_queues, 0);

	/* one queue is the single-queue tap of before */
	assert_int_equal(tap__open_queues(&t, "vmmq1", 1, err, sizeof(err)), 0);
	assert_false(tun_flags_of("vmmq1") & IFF_MULTI_QUEUE);
	assert_int_equal(tap__set_queues(&t, 1), 0);
	tap__close(&t);
	assert_int_equal(tap__open_queues(&t, "vmmq1", TAP_MAX_QUEUES + 1, err, sizeof(err)), -1);
	assert_one_line(err, "1 to 16");
}

static void test_open_errors(void **state)
{
	struct tap a, b;
	char err[256];

	NEED_NETNS();
	/* a single-queue tap of that name */
	assert_int_equal(tap__open(&a, "vmmq2", err, sizeof(err)), 0);
	assert_int_equal(tap__open_queues(&b, "vmmq2", 2, err, sizeof(err)), -1);
	assert_string_equal(err, "interface 'vmmq2' exists but is not a multiqueue tap");
	tap__close(&a);
	/* another process's (not persistent) multiqueue tap: not joined */
	assert_int_equal(tap__open_queues(&a, "vmmq3", 2, err, sizeof(err)), 0);
	assert_int_equal(tap__open_queues(&b, "vmmq3", 2, err, sizeof(err)), -1);
	assert_string_equal(err, "tap 'vmmq3' is in use by another process");
	assert_int_equal(b.fd, -1);
	tap__close(&b);
	assert_true(link_exists("vmmq3"));
	assert_int_equal(tap__set_queues(&a, 1), 0);   /* the holder's queues are intact */
	assert_int_equal(tap__set_queues(&a, 2), 0);
	tap__close(&a);
	assert_false(link_exists("vmmq3"));
}

/* A UDP/IPv4 frame from the host; 'flow' picks the source port, so the
 * tap hashes each flow to some queue. */
static size_t udp_frame(uint8_t *f, unsigned flow)
{
	static const uint8_t dst[6] = { 0x02, 0xca, 0xfe, 0xfa, 0xce, 0x01 };
	static const uint8_t src[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

	memset(f, 0, 60);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;                   /* IPv4 */
	f[14] = 0x45;
	f[17] = 46;                     /* total length */
	f[22] = 64;
	f[23] = 17;                     /* UDP */
	f[26] = 10; f[29] = 1;          /* 10.0.0.1 -> 10.0.0.2 */
	f[30] = 10; f[33] = 2;
	f[34] = (uint8_t)((1000 + flow) >> 8);
	f[35] = (uint8_t)(1000 + flow);
	f[36] = 0x13; f[37] = 0x88;     /* port 5000 */
	f[39] = 26;                     /* UDP length */
	return 60;
}

/* Frames waiting on queue fd 'fd' (each read is one frame). */
static int drain(int fd)
{
	uint8_t buf[2048];
	int n = 0;

	while (read(fd, buf, sizeof(buf)) > 0)
		n++;
	return n;
}

static void send_flows(int ps, int ifindex, unsigned nflows)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = ifindex,
				   .sll_halen = 6 };
	uint8_t f[60];

	for (unsigned i = 0; i < nflows; i++) {
		size_t len = udp_frame(f, i);

		assert_int_equal(sendto(ps, f, len, 0, (struct sockaddr *)&sll, sizeof(sll)),
				 (ssize_t)len);
	}
	usleep(100 * 1000);   /* the tap queues them synchronously; be generous */
}

static void test_flows_spread_over_attached_queues(void **state)
{
	struct net_config c = { .tap = "vmmq4" };
	struct tap t;
	char err[256];
	int ps, got[2];

	NEED_NETNS();
	assert_int_equal(tap__open_queues(&t, c.tap, 2, err, sizeof(err)), 0);
	assert_int_equal(tap__set_vnet_hdr_len(&t, HDR), 0);
	assert_int_equal(netcfg__host_setup(&t, &c, err, sizeof(err)), 0);
	ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	assert_true(ps >= 0);
	drain(t.qfd[0]);
	drain(t.qfd[1]);

	/* both attached: 64 flows land on both queues */
	send_flows(ps, t.ifindex, 64);
	got[0] = drain(t.qfd[0]);
	got[1] = drain(t.qfd[1]);
	assert_true(got[0] + got[1] >= 64);
	assert_true(got[0] > 0 && got[1] > 0);

	/* queue 1 detached: everything on queue 0; queue 1's fd reads
	 * nothing, polls without an error and still sends */
	assert_int_equal(tap__set_queues(&t, 1), 0);
	send_flows(ps, t.ifindex, 64);
	got[0] = drain(t.qfd[0]);
	got[1] = drain(t.qfd[1]);
	assert_true(got[0] >= 64);
	assert_int_equal(got[1], 0);
	{
		struct pollfd p = { .fd = t.qfd[1], .events = POLLIN | POLLOUT };
		uint8_t pkt[HDR + 60] = { 0 };

		assert_int_equal(poll(&p, 1, 0), 1);
		assert_int_equal(p.revents, POLLOUT);
		udp_frame(pkt + HDR, 1);
		assert_int_equal(write(t.qfd[1], pkt, sizeof(pkt)), sizeof(pkt));
	}
	/* and back to two */
	assert_int_equal(tap__set_queues(&t, 2), 0);
	send_flows(ps, t.ifindex, 64);
	got[0] = drain(t.qfd[0]);
	got[1] = drain(t.qfd[1]);
	assert_true(got[0] > 0 && got[1] > 0);
	close(ps);
	tap__close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_and_queues),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_flows_spread_over_attached_queues),
	};

	enter_netns();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
