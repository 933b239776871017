/* netns.h — helpers for unit tests that need a private network namespace:
 * entering one (with its own sysfs), observing links through ioctls and sysfs
 * rather than the code under test, persistent taps and bridges made the old
 * way, and running a function without CAP_NET_ADMIN in a child. Include
 * after <cmocka.h>. */
#ifndef TESTS_UNIT_NETNS_H
#define TESTS_UNIT_NETNS_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

/* Why the namespace tests are skipped, or "" when they can run. */
static char no_ns_reason[160];

#define NEED_NETNS() do {						\
	if (no_ns_reason[0]) {						\
		print_message("skipped: %s\n", no_ns_reason);		\
		skip();							\
	}								\
} while (0)

/* ---- independent observers: ioctls and sysfs ---- */

/* One SIOC* ioctl on interface 'name'; returns 0 or -errno. */
static inline int ifr_ioctl(const char *name, unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	assert_true(s >= 0);
	snprintf(ifr->ifr_name, IFNAMSIZ, "%s", name);
	r = ioctl(s, req, ifr) < 0 ? -errno : 0;
	close(s);
	return r;
}

static inline bool link_exists(const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/class/net/%s", name);
	return access(path, F_OK) == 0;
}

static inline unsigned tun_flags_of(const char *name)
{
	char path[80];
	unsigned v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", name);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%x", &v), 1);
	fclose(f);
	return v;
}

static inline short if_flags(const char *name)
{
	struct ifreq ifr = { 0 };

	assert_int_equal(ifr_ioctl(name, SIOCGIFFLAGS, &ifr), 0);
	return ifr.ifr_flags;
}

/* The primary IPv4 address and its netmask, or -1 if none. */
static inline int if_addr(const char *name, uint32_t *ip, uint32_t *mask)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int r = ifr_ioctl(name, SIOCGIFADDR, &ifr);

	if (r) {
		assert_int_equal(r, -EADDRNOTAVAIL);
		return -1;
	}
	*ip = ntohl(sin->sin_addr.s_addr);
	assert_int_equal(ifr_ioctl(name, SIOCGIFNETMASK, &ifr), 0);
	*mask = ntohl(sin->sin_addr.s_addr);
	return 0;
}

/* What an admin would do by hand: an address (if ip) and link up. */
static inline void set_addr_up(const char *name, uint32_t ip, uint32_t mask)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

	if (ip) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(ip);
		assert_int_equal(ifr_ioctl(name, SIOCSIFADDR, &ifr), 0);
		sin->sin_addr.s_addr = htonl(mask);
		assert_int_equal(ifr_ioctl(name, SIOCSIFNETMASK, &ifr), 0);
	}
	ifr.ifr_flags = IFF_UP;
	assert_int_equal(ifr_ioctl(name, SIOCSIFFLAGS, &ifr), 0);
}

/* The bridge 'name' is a port of, or "" */
static inline void master_of(const char *name, char *out, size_t len)
{
	char path[80], target[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/class/net/%s/master", name);
	n = readlink(path, target, sizeof(target) - 1);
	out[0] = '\0';
	if (n < 0)
		return;
	target[n] = '\0';
	snprintf(out, len, "%s", strrchr(target, '/') ? strrchr(target, '/') + 1 : target);
}

static inline unsigned ethtool_get(const char *name, uint32_t cmd)
{
	struct ethtool_value ev = { .cmd = cmd };
	struct ifreq ifr = { .ifr_data = (void *)&ev };

	assert_int_equal(ifr_ioctl(name, SIOCETHTOOL, &ifr), 0);
	return ev.data;
}

static inline void bridge_add(const char *name, bool add)
{
	struct ifreq ifr = { 0 };	/* SIOCBR{ADD,DEL}BR take the name */

	assert_int_equal(ifr_ioctl(name, add ? SIOCBRADDBR : SIOCBRDELBR, &ifr), 0);
}

/* A persistent tap as `ip tuntap add` makes it; owner -1 for none. */
static inline void persistent_tap(const char *name, bool persist, long owner)
{
	struct ifreq ifr = { 0 };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	if (owner >= 0)
		assert_int_equal(ioctl(fd, TUNSETOWNER, (unsigned long)owner), 0);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, (unsigned long)persist), 0);
	close(fd);
	assert_int_equal(link_exists(name), persist);
}

static inline void assert_one_line(const char *err, const char *want)
{
	if (!strstr(err, want))
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	assert_null(strchr(err, '\n'));
}

/* Run fn in a child without CAP_NET_ADMIN (still uid 0, other capabilities
 * kept); it returns an error text ("" for success) through a pipe. */
static inline void without_net_admin(void (*fn)(char *out, size_t len), char *out, size_t len)
{
	int p[2], status;
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2];
		char buf[256] = "capset failed";

		close(p[0]);
		if (syscall(SYS_capget, &h, d) == 0) {
			d[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
			d[CAP_NET_ADMIN / 32].permitted &= ~(1u << (CAP_NET_ADMIN % 32));
			if (syscall(SYS_capset, &h, d) == 0)
				fn(buf, sizeof(buf));
		}
		n = write(p[1], buf, strlen(buf) + 1);
		_exit(n > 0 ? 0 : 1);
	}
	close(p[1]);
	n = read(p[0], out, len - 1);
	close(p[0]);
	assert_true(n > 0);
	out[n] = '\0';
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A private network namespace (and a mount namespace with its own sysfs,
 * so /sys/class/net shows that namespace). */
static inline void enter_netns(void)
{
	if (geteuid() != 0)
		snprintf(no_ns_reason, sizeof(no_ns_reason), "not root: no private network namespace");
	else if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
		snprintf(no_ns_reason, sizeof(no_ns_reason), "unshare(CLONE_NEWNET): %s",
			 strerror(errno));
	else if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		 mount("sysfs", "/sys", "sysfs", 0, NULL) < 0)
		snprintf(no_ns_reason, sizeof(no_ns_reason), "cannot mount a private sysfs: %s",
			 strerror(errno));
	else if (access("/dev/net/tun", R_OK | W_OK) < 0)
		snprintf(no_ns_reason, sizeof(no_ns_reason), "/dev/net/tun: %s", strerror(errno));
}


#endif
