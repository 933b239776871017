/* test_tap.c — host taps against the real /dev/net/tun inside a private
 * network (and mount) namespace, so nothing touches this host: create and
 * remove, kernel-chosen names, reuse of a persistent tap, the "in use",
 * permission and no-driver errors, vnet header size, offloads read back as
 * netdev features, and frames both ways with a 12-byte virtio-net header
 * (counted by the tap's own counters, as tap__read_counts reads them);
 * batches of frames written through io_uring and through writev().
 * Skipped (with the reason) where no private namespace can be had. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include "devices/net/tap_uring.h"
#include "tests/unit/netns.h"

#define ETH_P_TEST 0x88b5	/* IEEE local experimental ethertype */

/* ---- pure ---- */

#define F(x) (1ULL << VIRTIO_NET_F_##x)

static void test_offload_mapping(void **state)
{
	const unsigned all = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_UFO;

	assert_int_equal(tap__offload_from_guest_features(0), 0);
	/* Without GUEST_CSUM the guest takes no offloaded frames at all. */
	assert_int_equal(tap__offload_from_guest_features(F(GUEST_TSO4) | F(GUEST_TSO6) |
							  F(GUEST_ECN) | F(GUEST_UFO)), 0);
	/* The device-side (HOST_*, CSUM) features are not what the tap gives. */
	assert_int_equal(tap__offload_from_guest_features(F(CSUM) | F(HOST_TSO4) | F(HOST_UFO) |
							  F(MRG_RXBUF)), 0);
	assert_int_equal(tap__offload_from_guest_features(F(GUEST_CSUM)), TUN_F_CSUM);
	assert_int_equal(tap__offload_from_guest_features(F(GUEST_CSUM) | F(GUEST_TSO4)),
			 TUN_F_CSUM | TUN_F_TSO4);
	/* ECN only rides on TSO. */
	assert_int_equal(tap__offload_from_guest_features(F(GUEST_CSUM) | F(GUEST_ECN)), TUN_F_CSUM);
	assert_int_equal(tap__offload_from_guest_features(F(GUEST_CSUM) | F(GUEST_TSO6) |
							  F(GUEST_ECN)),
			 TUN_F_CSUM | TUN_F_TSO6 | TUN_F_TSO_ECN);
	assert_int_equal(tap__offload_from_guest_features(F(GUEST_CSUM) | F(GUEST_UFO)),
			 TUN_F_CSUM | TUN_F_UFO);
	assert_int_equal(tap__offload_from_guest_features(~0ULL), all);
}

/* ---- in the private network namespace ---- */

static void test_create_named(void **state)
{
	struct tap t;
	char err[256] = "";

	NEED_NETNS();
	assert_false(link_exists("vmmt0"));
	assert_int_equal(tap__open(&t, "vmmt0", err, sizeof(err)), 0);
	assert_string_equal(t.ifname, "vmmt0");
	assert_true(t.created);
	assert_int_equal(t.ifindex, (int)if_nametoindex("vmmt0"));
	assert_int_equal(t.vnet_hdr_len, 10);
	assert_int_equal(t.offload, 0);
	assert_true(fcntl(t.fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(t.fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(tun_flags_of("vmmt0") & (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_PERSIST |
						  IFF_TUN), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
	{
		int sndbuf = 0;	/* no send-buffer limit, like QEMU */

		assert_int_equal(ioctl(t.fd, TUNGETSNDBUF, &sndbuf), 0);
		assert_int_equal(sndbuf, INT_MAX);
	}
	assert_false(if_flags("vmmt0") & IFF_UP);	/* untouched until host setup */
	assert_int_equal(read(t.fd, err, sizeof(err)), -1);	/* non-blocking */
	assert_int_equal(errno, EAGAIN);

	tap__close(&t);
	assert_int_equal(t.fd, -1);
	assert_false(link_exists("vmmt0"));
	assert_int_equal(if_nametoindex("vmmt0"), 0);
	tap__close(&t);		/* again: harmless */
}

static void test_kernel_names(void **state)
{
	struct tap a, b;
	char err[256];

	NEED_NETNS();
	assert_int_equal(tap__open(&a, NULL, err, sizeof(err)), 0);
	assert_int_equal(tap__open(&b, "", err, sizeof(err)), 0);
	assert_int_equal(strncmp(a.ifname, "vmmtap", 6), 0);
	assert_int_equal(strncmp(b.ifname, "vmmtap", 6), 0);
	assert_string_not_equal(a.ifname, b.ifname);
	assert_true(a.created && b.created);
	assert_true(link_exists(a.ifname) && link_exists(b.ifname));
	tap__close(&a);
	tap__close(&b);
	assert_false(link_exists(a.ifname) || link_exists(b.ifname));
}

static void test_hdr_len_and_offloads(void **state)
{
	const unsigned want = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_UFO;
	struct tap t;
	char err[256];
	int sz = 0;

	NEED_NETNS();
	assert_int_equal(tap__open(&t, "vmmo0", err, sizeof(err)), 0);
	assert_int_equal(tap__set_vnet_hdr_len(&t, 12), 0);
	assert_int_equal(ioctl(t.fd, TUNGETVNETHDRSZ, &sz), 0);
	assert_int_equal(sz, 12);
	assert_int_equal(t.vnet_hdr_len, 12);
	assert_int_equal(tap__set_vnet_hdr_len(&t, 11), -EINVAL);
	assert_int_equal(tap__set_vnet_hdr_len(&t, 0), -EINVAL);
	assert_int_equal(ioctl(t.fd, TUNGETVNETHDRSZ, &sz), 0);
	assert_int_equal(sz, 12);
	assert_int_equal(t.vnet_hdr_len, 12);

	/* The offloads show up as the tap's netdev features. */
	assert_int_equal(ethtool_get("vmmo0", ETHTOOL_GTXCSUM), 0);
	assert_int_equal(tap__set_offload(&t, want), 0);
	assert_true(t.offload == want || t.offload == (want & ~TUN_F_UFO));
	assert_int_equal(ethtool_get("vmmo0", ETHTOOL_GTXCSUM), 1);
	assert_int_equal(ethtool_get("vmmo0", ETHTOOL_GTSO), 1);
	assert_int_equal(tap__set_offload(&t, TUN_F_CSUM), 0);
	assert_int_equal(t.offload, TUN_F_CSUM);
	assert_int_equal(ethtool_get("vmmo0", ETHTOOL_GTSO), 0);

	/* The kernel refuses UFO without CSUM: the retry without UFO is what
	 * takes, and it is recorded. */
	assert_int_equal(tap__set_offload(&t, TUN_F_UFO), 0);
	assert_int_equal(t.offload, 0);
	assert_int_equal(ethtool_get("vmmo0", ETHTOOL_GTXCSUM), 0);
	/* A flag no kernel knows fails both ways and changes nothing. */
	assert_int_equal(tap__set_offload(&t, TUN_F_CSUM), 0);
	assert_int_equal(tap__set_offload(&t, 0x40000000u | TUN_F_UFO), -EINVAL);
	assert_int_equal(t.offload, TUN_F_CSUM);
	assert_int_equal(ethtool_get("vmmo0", ETHTOOL_GTXCSUM), 1);
	tap__close(&t);
}

static void test_in_use_and_not_a_tap(void **state)
{
	struct tap a, b;
	char err[256];

	NEED_NETNS();
	assert_int_equal(tap__open(&a, "vmmb0", err, sizeof(err)), 0);
	assert_int_equal(tap__open(&b, "vmmb0", err, sizeof(err)), -1);
	assert_string_equal(err, "tap 'vmmb0' is in use by another process");
	assert_int_equal(b.fd, -1);
	tap__close(&b);		/* after a failed open: harmless */
	assert_true(link_exists("vmmb0"));	/* the holder's tap survives */

	assert_int_equal(tap__open(&b, "lo", err, sizeof(err)), -1);
	assert_string_equal(err, "interface 'lo' exists but is not a single-queue tap");
	assert_int_equal(tap__open(&b, "bad/name", err, sizeof(err)), -1);
	assert_one_line(err, "'bad/name'");
	tap__close(&a);
	assert_false(link_exists("vmmb0"));
}

static const char *child_tap;

static void open_tap(char *out, size_t len)
{
	struct tap t;

	if (tap__open(&t, child_tap, out, len) == 0) {
		snprintf(out, len, "opened");
		tap__close(&t);
	}
}

static void test_no_cap_net_admin(void **state)
{
	char out[256];

	NEED_NETNS();
	child_tap = "vmmcap0";
	without_net_admin(open_tap, out, sizeof(out));
	assert_string_equal(out, "cannot create tap 'vmmcap0': permission denied "
			    "(needs CAP_NET_ADMIN, or a persistent tap owned by this user)");
	assert_false(link_exists("vmmcap0"));

	persistent_tap("vmmcap1", true, 4321);
	child_tap = "vmmcap1";
	without_net_admin(open_tap, out, sizeof(out));
	assert_string_equal(out, "cannot open tap 'vmmcap1': permission denied "
			    "(needs CAP_NET_ADMIN, or a persistent tap owned by this user)");
	persistent_tap("vmmcap1", false, -1);
}

static void no_tun(char *out, size_t len)
{
	struct tap t;

	/* The child has its own mount namespace: hide /dev/net there. */
	if (unshare(CLONE_NEWNS) < 0 || mount("none", "/dev/net", "tmpfs", 0, NULL) < 0) {
		snprintf(out, len, "cannot hide /dev/net: %s", strerror(errno));
		return;
	}
	if (tap__open(&t, "vmmnt0", out, len) == 0) {
		snprintf(out, len, "opened");
		tap__close(&t);
	}
}

static void test_no_dev_net_tun(void **state)
{
	char out[256];

	NEED_NETNS();
	without_net_admin(no_tun, out, sizeof(out));
	assert_string_equal(out, "cannot open /dev/net/tun: No such file or directory "
			    "(no tun driver on this host?)");
}

static bool wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 2000) == 1;
}

static void make_frame(uint8_t *f, size_t len, uint8_t tag)
{
	static const uint8_t dst[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t src[6] = { 0x02, 0xca, 0xfe, 0xfa, 0xce, 0x01 };

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETH_P_TEST >> 8;
	f[13] = ETH_P_TEST & 0xff;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(tag + i);
}

static void test_frames_both_ways(void **state)
{
	struct net_config c = { .tap = "vmmf0" };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_TEST) };
	uint8_t frame[60], buf[2048];
	struct virtio_net_hdr_mrg_rxbuf h = { .num_buffers = 1 };
	struct tap_counts c0, c1, c2;
	struct tap t;
	char err[256];
	int ps;

	NEED_NETNS();
	assert_int_equal(tap__open(&t, c.tap, err, sizeof(err)), 0);
	assert_int_equal(tap__set_vnet_hdr_len(&t, sizeof(h)), 0);
	assert_int_equal(netcfg__host_setup(&t, &c, err, sizeof(err)), 0);
	assert_int_equal(tap__read_counts(t.ifname, &c0), 0);
	ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_TEST));
	assert_true(ps >= 0);
	sll.sll_ifindex = t.ifindex;
	assert_int_equal(bind(ps, (struct sockaddr *)&sll, sizeof(sll)), 0);

	/* Guest to host: header + frame written to the tap fd. */
	h.hdr.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	memcpy(buf, &h, sizeof(h));
	make_frame(frame, sizeof(frame), 0x10);
	memcpy(buf + sizeof(h), frame, sizeof(frame));
	assert_int_equal(write(t.fd, buf, sizeof(h) + sizeof(frame)), sizeof(h) + sizeof(frame));
	assert_true(wait_readable(ps));
	assert_int_equal(recv(ps, buf, sizeof(buf), 0), sizeof(frame));
	assert_memory_equal(buf, frame, sizeof(frame));
	/* The tap received it: the guest's tx, frame bytes only. */
	assert_int_equal(tap__read_counts(t.ifname, &c1), 0);
	assert_int_equal(c1.tx_packets - c0.tx_packets, 1);
	assert_int_equal(c1.tx_bytes - c0.tx_bytes, sizeof(frame));

	/* Host to guest: the tap fd yields the header, then the frame. The
	 * host may also send its own (IPv6) frames: skip those. */
	make_frame(frame, sizeof(frame), 0x77);
	assert_int_equal(sendto(ps, frame, sizeof(frame), 0, (struct sockaddr *)&sll, sizeof(sll)),
			 sizeof(frame));
	for (int tries = 0;; tries++) {
		ssize_t n;

		assert_true(tries < 64);
		assert_true(wait_readable(t.fd));
		memset(buf, 0xee, sizeof(buf));
		n = read(t.fd, buf, sizeof(buf));
		assert_true(n >= (ssize_t)sizeof(h) + 14);
		if (buf[sizeof(h) + 12] != ETH_P_TEST >> 8 || buf[sizeof(h) + 13] != (ETH_P_TEST & 0xff))
			continue;
		assert_int_equal(n, sizeof(h) + sizeof(frame));
		memcpy(&h, buf, sizeof(h));
		assert_int_equal(h.hdr.flags, 0);
		assert_int_equal(h.hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);
		assert_memory_equal(buf + sizeof(h), frame, sizeof(frame));
		break;
	}
	/* The tap sent it (and maybe the host's own frames before): the
	 * guest's rx, counted when read. */
	assert_int_equal(tap__read_counts(t.ifname, &c2), 0);
	assert_true(c2.rx_packets - c1.rx_packets >= 1);
	assert_true(c2.rx_bytes - c1.rx_bytes >= sizeof(frame));
	assert_int_equal(c2.tx_packets, c1.tx_packets);
	close(ps);
	tap__close(&t);
	assert_int_equal(tap__read_counts(t.ifname, &c2), -ENOENT);   /* gone with it */
	assert_int_equal(tap__read_counts("vmmnone0", &c2), -ENOENT);
}

/* Batched writes (devices/net/tap_uring.c), through io_uring and through
 * the writev() fallback: every frame of a batch reaches the host once, in
 * order. */
static void batch_writes(bool uring)
{
	struct net_config c = { .tap = "vmmb0" };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_TEST) };
	struct virtio_net_hdr_mrg_rxbuf h = { .hdr.gso_type = VIRTIO_NET_HDR_GSO_NONE };
	enum { N = 40 };
	static uint8_t frames[N][100];
	struct iovec iov[N][2];
	const struct iovec *iovs[N];
	int counts[N];
	ssize_t res[N];
	uint8_t buf[2048];
	struct tap_counts c0, c1;
	struct tap_uring u;
	struct tap t;
	char err[256], why[160] = "";
	int ps;

	NEED_NETNS();
	assert_int_equal(tap__open(&t, c.tap, err, sizeof(err)), 0);
	assert_int_equal(tap__set_vnet_hdr_len(&t, sizeof(h)), 0);
	assert_int_equal(netcfg__host_setup(&t, &c, err, sizeof(err)), 0);
	assert_int_equal(tap__read_counts(t.ifname, &c0), 0);
	ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_TEST));
	assert_true(ps >= 0);
	sll.sll_ifindex = t.ifindex;
	assert_int_equal(bind(ps, (struct sockaddr *)&sll, sizeof(sll)), 0);
	if (tap_uring__init(&u, t.fd, uring, why, sizeof(why)) != uring) {
		tap__close(&t);
		close(ps);
		print_message("skipped: %s\n", why);   /* no io_uring here */
		skip();
	}
	/* tap__open's send buffer is unlimited: never full, no links */
	assert_false(u.link);
	for (int i = 0; i < N; i++) {
		make_frame(frames[i], 60 + (size_t)i, (uint8_t)i);
		iov[i][0] = (struct iovec){ &h, sizeof(h) };
		iov[i][1] = (struct iovec){ frames[i], 60 + (size_t)i };
		iovs[i] = iov[i];
		counts[i] = 2;
	}
	assert_int_equal(tap_uring__write(&u, iovs, counts, N, res), N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(res[i], sizeof(h) + 60 + i);
		assert_true(wait_readable(ps));
		assert_int_equal(recv(ps, buf, sizeof(buf), 0), 60 + i);
		assert_memory_equal(buf, frames[i], 60 + (size_t)i);
	}
	assert_int_equal(tap__read_counts(t.ifname, &c1), 0);
	assert_int_equal(c1.tx_packets - c0.tx_packets, N);
	if (uring) {
		/* The ring does nothing but READV/WRITEV on its fixed file:
		 * a NOP, or a write to an fd that is not registered, is
		 * refused (the sandbox seccomp cannot give it). */
		struct io_uring_sqe *sqe;
		struct io_uring_cqe *cqe;

		for (int i = 0; i < 2; i++) {
			sqe = io_uring_get_sqe(&u.ring);
			if (i == 0) {
				io_uring_prep_nop(sqe);
				sqe->flags = IOSQE_FIXED_FILE;
			} else {
				io_uring_prep_writev(sqe, t.fd, iov[0], 2, (__u64)-1);
			}
			io_uring_submit_and_wait(&u.ring, 1);
			assert_int_equal(io_uring_wait_cqe(&u.ring, &cqe), 0);
			assert_int_equal(cqe->res, -EACCES);
			io_uring_cqe_seen(&u.ring, cqe);
		}
		assert_int_equal(io_uring_register_files_update(&u.ring, 0, &ps, 1), -EACCES);
		assert_int_equal(tap__read_counts(t.ifname, &c0), 0);
		assert_int_equal(c0.tx_packets, c1.tx_packets);
	}
	tap_uring__exit(&u);
	close(ps);
	tap__close(&t);
}

static void test_batch_writes_uring(void **state) { batch_writes(true); }
static void test_batch_writes_writev(void **state) { batch_writes(false); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offload_mapping),
		cmocka_unit_test(test_create_named),
		cmocka_unit_test(test_kernel_names),
		cmocka_unit_test(test_hdr_len_and_offloads),
		cmocka_unit_test(test_in_use_and_not_a_tap),
		cmocka_unit_test(test_no_cap_net_admin),
		cmocka_unit_test(test_no_dev_net_tun),
		cmocka_unit_test(test_frames_both_ways),
		cmocka_unit_test(test_batch_writes_uring),
		cmocka_unit_test(test_batch_writes_writev),
	};

	enter_netns();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
