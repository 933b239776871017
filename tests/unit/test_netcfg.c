/* test_netcfg.c — the --net option value, MAC and CIDR parsers, interface
 * name checks and the default MAC: good values parse to the right fields,
 * every bad one gives one line that names the culprit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "devices/net/netcfg.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static void test_full_value(void **state)
{
	static const uint8_t mac[6] = { 0x02, 0xca, 0xfe, 0xfa, 0xce, 0x01 };
	struct net_config c;
	char err[256] = "";

	assert_int_equal(netcfg__parse("tap=vnet0,mac=02:ca:fe:fa:ce:01,host-ip=192.168.100.1/24",
				       &c, err, sizeof(err)), 0);
	assert_string_equal(c.tap, "vnet0");
	assert_true(c.mac_set);
	assert_memory_equal(c.mac, mac, 6);
	assert_true(c.has_host_ip);
	assert_int_equal(c.host_ip, IP(192, 168, 100, 1));
	assert_int_equal(c.prefix, 24);
	assert_string_equal(c.bridge, "");
	assert_string_equal(err, "");
}

static void test_bridge_value(void **state)
{
	struct net_config c;
	char err[256];

	memset(&c, 0xa5, sizeof(c));	/* parse must clear what is not given */
	assert_int_equal(netcfg__parse("tap=vnet0,bridge=br0", &c, err, sizeof(err)), 0);
	assert_string_equal(c.tap, "vnet0");
	assert_string_equal(c.bridge, "br0");
	assert_false(c.mac_set);
	assert_false(c.has_host_ip);
}

static void test_other_good_values(void **state)
{
	struct net_config c;
	char err[256];

	/* Keys in any order, upper-case hex, no tap (the kernel names it). */
	assert_int_equal(netcfg__parse("host-ip=10.0.0.1/8,mac=52:54:00:AB:cd:Ef", &c, err,
				       sizeof(err)), 0);
	assert_string_equal(c.tap, "");
	assert_int_equal(c.host_ip, IP(10, 0, 0, 1));
	assert_int_equal(c.prefix, 8);
	assert_int_equal(c.mac[3], 0xab);
	assert_int_equal(c.mac[5], 0xef);

	/* The longest name the kernel takes: 15 characters. */
	assert_int_equal(netcfg__parse("tap=abcdefghijklmno", &c, err, sizeof(err)), 0);
	assert_string_equal(c.tap, "abcdefghijklmno");
	assert_int_equal(netcfg__parse("tap=my.tap-1_x", &c, err, sizeof(err)), 0);

	/* /32 and /31 have no network or broadcast address to refuse. */
	assert_int_equal(netcfg__parse("host-ip=10.1.2.0/31", &c, err, sizeof(err)), 0);
	assert_int_equal(c.prefix, 31);
	assert_int_equal(netcfg__parse("host-ip=10.1.2.255/32", &c, err, sizeof(err)), 0);
	assert_int_equal(c.host_ip, IP(10, 1, 2, 255));
	assert_int_equal(netcfg__parse("host-ip=255.254.253.1/1", &c, err, sizeof(err)) < 0, 1);
	assert_int_equal(netcfg__parse("host-ip=1.0.0.1/1", &c, err, sizeof(err)), 0);
	assert_int_equal(netcfg__parse("host-ip=169.254.9.9/16", &c, err, sizeof(err)), 0);
}

struct bad {
	const char *value;
	const char *culprit;	/* must appear in the message */
	const char *reason;	/* and so must this */
};

static const struct bad bad_values[] = {
	{ "", "--net", "needs a value" },
	{ "tap=vnet0,foo=1", "'foo'", "unknown key" },
	{ "tap=a,tap=b", "'tap'", "twice" },
	{ "mac=02:00:00:00:00:01,mac=02:00:00:00:00:02", "'mac'", "twice" },
	{ "tap=", "'tap'", "needs a value" },
	{ "tap=vnet0,host-ip=", "'host-ip'", "needs a value" },
	{ "tap", "'tap'", "key=value" },
	{ "tap=vnet0,", "tap=vnet0,", "empty item" },
	{ ",tap=vnet0", ",tap=vnet0", "empty item" },
	{ "tap=a,,mac=02:00:00:00:00:01", "tap=a,,mac", "empty item" },
	{ "Tap=vnet0", "'Tap'", "unknown key" },
	{ "tap=abcdefghijklmnop", "abcdefghijklmnop", "too long" },
	{ "tap=a/b", "a/b", "'/'" },
	{ "tap=a:b", "a:b", "':'" },
	{ "tap=vmm%d", "vmm%d", "'%'" },
	{ "tap=a b", "a b", "space" },
	{ "tap=a\tb", "a\tb", "control" },
	{ "tap=.", "'.'", "not a valid tap name" },
	{ "tap=..", "'..'", "not a valid tap name" },
	{ "bridge=abcdefghijklmnop", "bridge name 'abcdefghijklmnop'", "too long" },
	{ "bridge=br/0", "br/0", "'/'" },
	{ "mac=02:ca:fe:fa:ce", "02:ca:fe:fa:ce", "six hex pairs" },
	{ "mac=02:ca:fe:fa:ce:01:02", "02:ca:fe:fa:ce:01:02", "six hex pairs" },
	{ "mac=02-ca-fe-fa-ce-01", "02-ca-fe-fa-ce-01", "six hex pairs" },
	{ "mac=2:ca:fe:fa:ce:01", "2:ca:fe:fa:ce:01", "six hex pairs" },
	{ "mac=02:ca:fe:fa:ce:0g", "02:ca:fe:fa:ce:0g", "six hex pairs" },
	{ "mac=02:ca:fe:fa:ce:011", "02:ca:fe:fa:ce:011", "six hex pairs" },
	{ "mac=0x:ca:fe:fa:ce:01", "0x:ca:fe:fa:ce:01", "six hex pairs" },
	{ "mac=03:00:00:00:00:01", "MAC 03:00:00:00:00:01", "is multicast" },
	{ "mac=ff:ff:ff:ff:ff:ff", "MAC ff:ff:ff:ff:ff:ff", "is multicast" },
	{ "mac=00:00:00:00:00:00", "00:00:00:00:00:00", "all zeros" },
	{ "host-ip=256.1.1.1/24", "256.1.1.1/24", "256 is above 255" },
	{ "host-ip=1.2.3.999/24", "1.2.3.999/24", "999 is above 255" },
	{ "host-ip=1234.1.1.1/24", "1234.1.1.1/24", "192.168.100.1/24" },
	{ "host-ip=1.2.3/24", "1.2.3/24", "192.168.100.1/24" },
	{ "host-ip=1.2.3.4.5/24", "1.2.3.4.5/24", "invalid address" },
	{ "host-ip=192.168.100.1", "192.168.100.1", "no prefix length" },
	{ "host-ip=192.168.100.1/", "192.168.100.1/", "prefix length" },
	{ "host-ip=192.168.100.1/33", "192.168.100.1/33", "1 to 32" },
	{ "host-ip=192.168.100.1/0", "192.168.100.1/0", "1 to 32" },
	{ "host-ip=192.168.100.1/024", "192.168.100.1/024", "1 to 32" },
	{ "host-ip=192.168.100.1/24x", "192.168.100.1/24x", "1 to 32" },
	{ "host-ip=192.168.100.1/-1", "192.168.100.1/-1", "1 to 32" },
	{ "host-ip=01.2.3.4/24", "01.2.3.4/24", "192.168.100.1/24" },
	{ "host-ip= 1.2.3.4/24", " 1.2.3.4/24", "192.168.100.1/24" },
	{ "host-ip=-1.2.3.4/24", "-1.2.3.4/24", "192.168.100.1/24" },
	{ "host-ip=192.168.100.0/24", "192.168.100.0/24", "network address" },
	{ "host-ip=192.168.100.255/24", "192.168.100.255/24", "broadcast address" },
	{ "host-ip=127.0.0.1/8", "127.0.0.1/8", "not a usable unicast" },
	{ "host-ip=224.0.0.1/4", "224.0.0.1/4", "not a usable unicast" },
	{ "host-ip=240.0.0.1/8", "240.0.0.1/8", "not a usable unicast" },
	{ "host-ip=0.1.2.3/8", "0.1.2.3/8", "not a usable unicast" },
	{ "tap=vnet0,bridge=br0,host-ip=192.168.100.1/24", "host-ip and bridge", "together" },
	{ "tap=br0,bridge=br0", "'br0'", "both" },
	{ "tap=a,tx=sendmmsg", "'sendmmsg'", "use uring or writev" },
	{ "tap=a,tx=uring,tx=writev", "'tx'", "twice" },
	{ "tap=a,queues=0", "'0'", "from 1 to 16" },
	{ "tap=a,queues=17", "'17'", "from 1 to 16" },
	{ "tap=a,queues=1000", "'1000'", "from 1 to 16" },
	{ "tap=a,queues=02", "'02'", "from 1 to 16" },
	{ "tap=a,queues=-1", "'-1'", "from 1 to 16" },
	{ "tap=a,queues=2x", "'2x'", "from 1 to 16" },
	{ "tap=a,queues= 2", "' 2'", "from 1 to 16" },
	{ "tap=a,queues=two", "'two'", "queue pairs" },
	{ "tap=a,queues=", "'queues'", "needs a value" },
	{ "tap=a,queues=2,queues=2", "'queues'", "twice" },
};

static void test_queues(void **state)
{
	struct net_config c;
	char err[256] = "";

	/* not given: one pair, as before multiqueue */
	assert_int_equal(netcfg__parse("tap=vnet0", &c, err, sizeof(err)), 0);
	assert_int_equal(c.queues, 1);
	assert_int_equal(netcfg__parse("tap=vnet0,queues=1", &c, err, sizeof(err)), 0);
	assert_int_equal(c.queues, 1);
	assert_int_equal(netcfg__parse("queues=2,tap=vnet0,vhost=on", &c, err, sizeof(err)), 0);
	assert_int_equal(c.queues, 2);
	assert_int_equal(c.vhost, NET_VHOST_ON);
	/* tx=: how TX batches reach the tap; not given: vmm's default */
	assert_int_equal(c.tx, NET_TX_DEFAULT);
	assert_int_equal(netcfg__parse("tap=vnet0,tx=uring", &c, err, sizeof(err)), 0);
	assert_int_equal(c.tx, NET_TX_URING);
	assert_int_equal(netcfg__parse("tx=writev,tap=vnet0", &c, err, sizeof(err)), 0);
	assert_int_equal(c.tx, NET_TX_WRITEV);
	assert_int_equal(netcfg__parse("tap=vnet0,queues=16", &c, err, sizeof(err)), 0);
	assert_int_equal(c.queues, NET_MAX_QUEUE_PAIRS);
	/* at most one pair per vCPU, checked once the vCPU count is known */
	assert_int_equal(netcfg__check_queues(&c, 16, err, sizeof(err)), 0);
	assert_int_equal(netcfg__check_queues(&c, 64, err, sizeof(err)), 0);
	assert_int_equal(netcfg__check_queues(&c, 15, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "queues=16 is more than the 15 vCPUs"));
	assert_null(strchr(err, '\n'));
	assert_int_equal(netcfg__parse("tap=vnet0,queues=2", &c, err, sizeof(err)), 0);
	assert_int_equal(netcfg__check_queues(&c, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "queues=2 is more than the 1 vCPU "));
	assert_int_equal(netcfg__parse("tap=vnet0", &c, err, sizeof(err)), 0);
	assert_int_equal(netcfg__check_queues(&c, 1, err, sizeof(err)), 0);
}

static void check_one_line(const char *err, const struct bad *b)
{
	if (!strstr(err, b->culprit) || !strstr(err, b->reason))
		fail_msg("'%s' gave \"%s\": wants \"%s\" and \"%s\"", b->value, err,
			 b->culprit, b->reason);
	assert_null(strchr(err, '\n'));
	assert_true(strncmp(err, "--net", 5) == 0);
}

static void test_bad_values(void **state)
{
	struct net_config c;
	char err[256];

	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		const struct bad *b = &bad_values[i];

		err[0] = '\0';
		if (netcfg__parse(b->value, &c, err, sizeof(err)) != -1)
			fail_msg("'%s' was accepted", b->value);
		check_one_line(err, b);
	}
	assert_int_equal(netcfg__parse(NULL, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--net needs a value"));
}

static void test_too_long_and_small_buffers(void **state)
{
	struct net_config c;
	char big[400], err[256], tiny[8];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "tap=", 4);
	assert_int_equal(netcfg__parse(big, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));

	/* Messages are cut to the buffer, never written past it (ASan). */
	memset(tiny, 'x', sizeof(tiny));
	assert_int_equal(netcfg__parse("mac=03:00:00:00:00:01", &c, tiny, sizeof(tiny)), -1);
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
	assert_int_equal(netcfg__parse("tap=x/y", &c, NULL, 0), -1);
}

static void test_sub_parsers(void **state)
{
	uint8_t mac[6];
	uint32_t ip;
	unsigned prefix;
	char err[128];

	/* Direct use (without --net) gives the same message, unprefixed. */
	assert_int_equal(netcfg__parse_mac("01:00:5e:00:00:01", mac, err, sizeof(err)), -1);
	assert_string_equal(err, "MAC 01:00:5e:00:00:01 is multicast (the first byte must be even)");
	assert_int_equal(netcfg__parse_mac("fe:ff:ff:ff:ff:ff", mac, err, sizeof(err)), 0);
	assert_int_equal(mac[0], 0xfe);
	assert_int_equal(netcfg__parse_cidr("255.255.255.254/31", &ip, &prefix, err, sizeof(err)), -1);
	assert_int_equal(netcfg__parse_cidr("223.255.255.254/24", &ip, &prefix, err, sizeof(err)), 0);
	assert_int_equal(ip, IP(223, 255, 255, 254));
	assert_int_equal(netcfg__check_ifname("bridge", "", err, sizeof(err)), -1);
	assert_string_equal(err, "bridge name is empty");
	assert_int_equal(netcfg__check_ifname("tap", "vnet0", err, sizeof(err)), 0);
}

static void test_default_mac(void **state)
{
	static uint8_t macs[4096][6];
	uint8_t again[6];
	char text[18], err[128];

	for (unsigned s = 0; s < 4096; s++) {
		uint8_t *m = macs[s];
		unsigned seed = s * 7919u + (s & 1 ? 0x80000000u : 0);

		netcfg__default_mac(m, seed);
		assert_int_equal(m[0], 0x02);	/* local, unicast */
		netcfg__default_mac(again, seed);
		assert_memory_equal(m, again, 6);
		snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x",
			 m[0], m[1], m[2], m[3], m[4], m[5]);
		assert_int_equal(netcfg__parse_mac(text, again, err, sizeof(err)), 0);
		for (unsigned o = 0; o < s; o++)
			if (!memcmp(macs[o], m, 6))
				fail_msg("seeds %u and %u give the same MAC %s", o, s, text);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_value),
		cmocka_unit_test(test_bridge_value),
		cmocka_unit_test(test_other_good_values),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_queues),
		cmocka_unit_test(test_too_long_and_small_buffers),
		cmocka_unit_test(test_sub_parsers),
		cmocka_unit_test(test_default_mac),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
