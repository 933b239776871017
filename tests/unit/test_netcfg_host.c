/* test_netcfg_host.c — the tap's host-side configuration through rtnetlink
 * inside a private network namespace: address and link up on a created tap
 * (gone with it), a reused persistent tap left exactly as found, an address
 * already in use elsewhere, bridge membership and its errors, and what works
 * without CAP_NET_ADMIN. Observed through ioctls and sysfs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "devices/net/netcfg.h"
#include "devices/net/tap.h"
#include "tests/unit/netns.h"

static void test_host_ip_on_created_tap(void **state)
{
	struct net_config c;
	struct tap a, b;
	uint32_t ip, mask;
	char err[256];

	NEED_NETNS();
	assert_int_equal(netcfg__parse("tap=vmmh0,host-ip=10.66.0.1/24", &c, err, sizeof(err)), 0);
	assert_int_equal(tap__open(&a, c.tap, err, sizeof(err)), 0);
	assert_int_equal(netcfg__host_setup(&a, &c, err, sizeof(err)), 0);
	assert_int_equal(if_addr("vmmh0", &ip, &mask), 0);
	assert_int_equal(ip, IP(10, 66, 0, 1));
	assert_int_equal(mask, 0xffffff00u);
	assert_true(if_flags("vmmh0") & IFF_UP);
	assert_true(a.configured_addr && a.set_up && !a.set_master);

	/* The same address on a second tap is refused, and that tap is left
	 * as it was: down, no address. */
	assert_int_equal(tap__open(&b, "vmmh1", err, sizeof(err)), 0);
	assert_int_equal(netcfg__host_setup(&b, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "host-ip 10.66.0.1 is already in use on 'vmmh0'");
	assert_false(if_flags("vmmh1") & IFF_UP);
	assert_int_equal(if_addr("vmmh1", &ip, &mask), -1);
	assert_false(b.configured_addr || b.set_up);
	tap__close(&b);

	tap__close(&a);
	assert_false(link_exists("vmmh0"));
	assert_false(link_exists("vmmh1"));
}

static void test_reused_persistent_tap(void **state)
{
	struct net_config c;
	struct tap t;
	uint32_t ip, mask;
	char err[256];

	NEED_NETNS();
	persistent_tap("vmmp0", true, -1);
	assert_false(if_flags("vmmp0") & IFF_UP);
	assert_int_equal(netcfg__parse("tap=vmmp0,host-ip=10.77.0.1/16", &c, err, sizeof(err)), 0);
	assert_int_equal(tap__open(&t, c.tap, err, sizeof(err)), 0);
	assert_false(t.created);
	assert_true(tun_flags_of("vmmp0") & IFF_VNET_HDR);
	assert_int_equal(netcfg__host_setup(&t, &c, err, sizeof(err)), 0);
	assert_int_equal(if_addr("vmmp0", &ip, &mask), 0);
	assert_int_equal(ip, IP(10, 77, 0, 1));
	assert_int_equal(mask, 0xffff0000u);
	assert_true(if_flags("vmmp0") & IFF_UP);

	/* Close undoes exactly what vmm did; the tap stays. */
	tap__close(&t);
	assert_true(link_exists("vmmp0"));
	assert_int_equal(if_addr("vmmp0", &ip, &mask), -1);
	assert_false(if_flags("vmmp0") & IFF_UP);

	/* The next user of a persistent tap finds the header size it left,
	 * but not its offloads: the guest may not take them. */
	assert_int_equal(tap__open(&t, c.tap, err, sizeof(err)), 0);
	assert_int_equal(tap__set_vnet_hdr_len(&t, 12), 0);
	assert_int_equal(tap__set_offload(&t, TUN_F_CSUM | TUN_F_TSO4), 0);
	assert_int_equal(ethtool_get("vmmp0", ETHTOOL_GTXCSUM), 1);
	tap__close(&t);
	assert_int_equal(tap__open(&t, c.tap, err, sizeof(err)), 0);
	assert_int_equal(t.vnet_hdr_len, 12);
	assert_int_equal(t.offload, 0);
	assert_int_equal(ethtool_get("vmmp0", ETHTOOL_GTXCSUM), 0);
	tap__close(&t);

	/* Already up with that address (the admin's doing): nothing is vmm's,
	 * nothing is undone. */
	set_addr_up("vmmp0", IP(10, 77, 0, 1), 0xffff0000u);
	assert_int_equal(tap__open(&t, c.tap, err, sizeof(err)), 0);
	assert_int_equal(netcfg__host_setup(&t, &c, err, sizeof(err)), 0);
	assert_false(t.configured_addr || t.set_up);
	tap__close(&t);
	assert_int_equal(if_addr("vmmp0", &ip, &mask), 0);
	assert_true(if_flags("vmmp0") & IFF_UP);
	persistent_tap("vmmp0", false, -1);
}

static void test_bridge(void **state)
{
	struct net_config c;
	struct tap t;
	char err[256], m[256];

	NEED_NETNS();
	bridge_add("vmmbr0", true);
	persistent_tap("vmmq0", true, -1);

	/* Errors leave the tap untouched. */
	assert_int_equal(netcfg__parse("tap=vmmq0,bridge=nobr0", &c, err, sizeof(err)), 0);
	assert_int_equal(tap__open(&t, c.tap, err, sizeof(err)), 0);
	assert_int_equal(netcfg__host_setup(&t, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "bridge 'nobr0' not found");
	assert_int_equal(netcfg__parse("tap=vmmq0,bridge=lo", &c, err, sizeof(err)), 0);
	assert_int_equal(netcfg__host_setup(&t, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "interface 'lo' is not a bridge");
	assert_false(if_flags("vmmq0") & IFF_UP);

	/* A port while vmm runs, and not after. */
	assert_int_equal(netcfg__parse("tap=vmmq0,bridge=vmmbr0", &c, err, sizeof(err)), 0);
	assert_int_equal(netcfg__host_setup(&t, &c, err, sizeof(err)), 0);
	master_of("vmmq0", m, sizeof(m));
	assert_string_equal(m, "vmmbr0");
	assert_true(if_flags("vmmq0") & IFF_UP);
	tap__close(&t);
	master_of("vmmq0", m, sizeof(m));
	assert_string_equal(m, "");
	assert_false(if_flags("vmmq0") & IFF_UP);
	assert_true(link_exists("vmmq0"));
	persistent_tap("vmmq0", false, -1);

	/* A created tap on the bridge disappears with vmm. */
	assert_int_equal(netcfg__parse("tap=vmmq1,bridge=vmmbr0", &c, err, sizeof(err)), 0);
	assert_int_equal(tap__open(&t, c.tap, err, sizeof(err)), 0);
	assert_int_equal(netcfg__host_setup(&t, &c, err, sizeof(err)), 0);
	assert_true(link_exists("vmmbr0/brif/vmmq1"));
	tap__close(&t);
	assert_false(link_exists("vmmq1"));
	assert_false(link_exists("vmmbr0/brif/vmmq1"));
	bridge_add("vmmbr0", false);
}

static void open_own_and_setup(char *out, size_t len)
{
	struct net_config c = { .tap = "vmmcap2" };
	struct tap t;

	if (tap__open(&t, c.tap, out, len) < 0)
		return;
	if (t.created)
		snprintf(out, len, "created?");
	else if (netcfg__host_setup(&t, &c, out, len) == 0)
		out[0] = '\0';
	tap__close(&t);
}

static void test_setup_without_cap_net_admin(void **state)
{
	char out[256];

	NEED_NETNS();
	/* A persistent tap of our own opens without the capability; setting
	 * it up needs it, unless it is already up. */
	persistent_tap("vmmcap2", true, (long)geteuid());
	without_net_admin(open_own_and_setup, out, sizeof(out));
	assert_string_equal(out, "cannot set tap 'vmmcap2' up: Operation not permitted "
			    "(needs CAP_NET_ADMIN)");
	assert_false(if_flags("vmmcap2") & IFF_UP);
	set_addr_up("vmmcap2", 0, 0);
	without_net_admin(open_own_and_setup, out, sizeof(out));
	assert_string_equal(out, "");
	assert_true(if_flags("vmmcap2") & IFF_UP);
	persistent_tap("vmmcap2", false, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_ip_on_created_tap),
		cmocka_unit_test(test_reused_persistent_tap),
		cmocka_unit_test(test_bridge),
		cmocka_unit_test(test_setup_without_cap_net_admin),
	};

	enter_netns();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
