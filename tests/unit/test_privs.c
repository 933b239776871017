/* test_privs.c — least privilege (vmm/privs.c and what --user changes
 * elsewhere), each irreversible step in a forked child: --user parsing;
 * the switch (every id changed, one group, root not coming back, not
 * dumpable); the control socket made in the user's runtime directory
 * with the user's ids, served to the user and removed after the drop;
 * a tap made for the user (`ip tuntap add ... user U`) opened without
 * root; a tap vmm created vanishing at close without CAP_NET_ADMIN; and
 * a reused tap that vmm would have to undo refused. Namespace tests are
 * skipped (with the reason) where no private network namespace can be
 * had. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/net/netcfg.h"
#include "devices/net/tap.h"
#include "virtio/net_tap.h"
#include "vmm/control.h"
#include "vmm/privs.h"
#include "tests/unit/netns.h"

#define NOBODY 65534

/* In a child: plain checks, reported on stderr, exit 1 on the first. */
#define CHECK(c) do {								\
	if (!(c)) {								\
		fprintf(stderr, "%s:%d: check failed: %s (errno %s)\n",	\
			__FILE__, __LINE__, #c, strerror(errno));		\
		_exit(1);							\
	}									\
} while (0)

static void in_child(void (*fn)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void need_root(void)
{
	if (geteuid() != 0) {
		print_message("skipped: not root\n");
		skip();
	}
}

/* ---- --user ---- */

static void test_resolve(void **state)
{
	struct privs p;
	char err[256];

	need_root();
	assert_int_equal(privs__resolve(NULL, &p, err, sizeof(err)), 0);
	assert_false(p.drop);
	assert_int_equal(privs__resolve("", &p, err, sizeof(err)), 0);
	assert_false(p.drop);
	assert_int_equal(privs__resolve("nobody", &p, err, sizeof(err)), 0);
	assert_true(p.drop);
	assert_int_equal(p.uid, NOBODY);
	assert_int_equal(p.gid, NOBODY);
	assert_int_equal(privs__resolve("1234", &p, err, sizeof(err)), 0);
	assert_int_equal(p.uid, 1234);
	assert_int_equal(p.gid, 1234);
	assert_int_equal(privs__resolve("1234:99", &p, err, sizeof(err)), 0);
	assert_int_equal(p.gid, 99);
	assert_int_equal(privs__resolve("root", &p, err, sizeof(err)), -1);
	assert_one_line(err, "--user 'root': that is root");
	assert_int_equal(privs__resolve("0", &p, err, sizeof(err)), -1);
	assert_int_equal(privs__resolve("no-such-user-here", &p, err, sizeof(err)), -1);
	assert_one_line(err, "--user 'no-such-user-here': no such user in /etc/passwd");
	assert_int_equal(privs__resolve("12:x", &p, err, sizeof(err)), -1);
	assert_one_line(err, "give NAME or UID[:GID]");
	assert_int_equal(privs__resolve("nobody:1", &p, err, sizeof(err)), -1);
}

static void resolve_without_root(void)
{
	struct privs p;
	char err[256];

	CHECK(setgroups(0, NULL) == 0 && setresgid(NOBODY, NOBODY, NOBODY) == 0 &&
	      setresuid(NOBODY, NOBODY, NOBODY) == 0);
	/* Naming oneself is nothing to do; anyone else needs root. */
	CHECK(privs__resolve("nobody", &p, err, sizeof(err)) == 0 && !p.drop);
	CHECK(privs__resolve("1234", &p, err, sizeof(err)) == -1);
	CHECK(strstr(err, "only root can switch users (vmm runs as uid 65534)"));
	/* The parser keeps the caller's ids: there is nothing to switch to. */
	{
		uid_t u;
		gid_t g;

		CHECK(!privs__parser_ids(NULL, &u, &g));
	}
}

static void test_resolve_without_root(void **state)
{
	need_root();
	in_child(resolve_without_root);
}

/* ---- the switch ---- */

static void switch_to_nobody(void)
{
	uid_t r, e, s;
	gid_t rg, eg, sg, groups[8];
	char err[256];

	CHECK(privs__switch(NOBODY, NOBODY, err, sizeof(err)) == 0);
	CHECK(getresuid(&r, &e, &s) == 0 && r == NOBODY && e == NOBODY && s == NOBODY);
	CHECK(getresgid(&rg, &eg, &sg) == 0 && rg == NOBODY && eg == NOBODY && sg == NOBODY);
	CHECK(getgroups(8, groups) == 1 && groups[0] == NOBODY);
	CHECK(setuid(0) < 0 && setgid(0) < 0);
	CHECK(prctl(PR_GET_DUMPABLE) == 0);
	/* root's files are out of reach now */
	CHECK(open("/etc/shadow", O_RDONLY) < 0 || access("/etc/shadow", F_OK) < 0);
}

static void test_switch(void **state)
{
	need_root();
	in_child(switch_to_nobody);
}

static void as_user_and_back(void)
{
	struct privs p;
	char err[256];

	CHECK(privs__resolve("nobody", &p, err, sizeof(err)) == 0);
	setenv("XDG_RUNTIME_DIR", "/root", 1);          /* root's, not nobody's */
	CHECK(privs__as_user(&p, err, sizeof(err)) == 0);
	CHECK(geteuid() == NOBODY && getuid() == 0 && getegid() == NOBODY);
	CHECK(!getenv("XDG_RUNTIME_DIR"));
	CHECK(privs__as_root(&p, err, sizeof(err)) == 0);
	CHECK(geteuid() == 0 && getegid() == 0);
}

static void test_as_user_and_back(void **state)
{
	need_root();
	in_child(as_user_and_back);
}

/* ---- the control socket after --user ---- */

static int dummy_info(void *opaque, struct vm_snapshot *out)
{
	snprintf(out->name, sizeof(out->name), "privtest");
	out->pid = getpid();
	snprintf(out->state, sizeof(out->state), "running");
	return 0;
}

static const struct control_ops ops = { .info = dummy_info, .stat = dummy_info };

static void control_as_user(void)
{
	char err[256], name[32], dir[128], reply[CONTROL_REPLY_MAX];
	struct control c;
	struct privs p;
	struct stat st;
	pid_t client;
	int status;

	unsetenv("VMM_RUNTIME_DIR");
	unsetenv("XDG_RUNTIME_DIR");
	snprintf(name, sizeof(name), "privtest-%d", (int)getpid());
	CHECK(privs__resolve("nobody", &p, err, sizeof(err)) == 0);
	/* vm__init's order: the socket with the user's ids, then root again */
	CHECK(privs__as_user(&p, err, sizeof(err)) == 0);
	CHECK(control__open(&c, name, &ops, NULL, err, sizeof(err)) == 0);
	CHECK(privs__as_root(&p, err, sizeof(err)) == 0);
	snprintf(dir, sizeof(dir), "/tmp/vmm-%d", NOBODY);
	CHECK(!strncmp(c.path, dir, strlen(dir)));
	CHECK(stat(dir, &st) == 0 && st.st_uid == NOBODY && (st.st_mode & 0777) == 0700);
	CHECK(stat(c.path, &st) == 0 && st.st_uid == NOBODY && S_ISSOCK(st.st_mode));
	CHECK(privs__drop(&p, err, sizeof(err)) == 0);
	/* the user's `vmm list` reaches it */
	client = fork();
	CHECK(client >= 0);
	if (client == 0) {
		bool stale;

		_exit(control__request(name, "info", reply, sizeof(reply), &stale, err,
				       sizeof(err)) == 0 && strstr(reply, "\"privtest\"") ? 0 : 1);
	}
	for (int i = 0; i < 200; i++) {
		control__handle(&c);
		if (waitpid(client, &status, WNOHANG) == client)
			break;
		usleep(10000);
	}
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* and vmm, no longer root, removes it at exit */
	control__close(&c);
	CHECK(stat(c.path, &st) < 0 && errno == ENOENT);
	snprintf(dir, sizeof(dir), "/tmp/vmm-%d/%s.sock", NOBODY, name);
	CHECK(access(dir, F_OK) < 0);
}

static void test_control_socket_for_user(void **state)
{
	need_root();
	in_child(control_as_user);
}

/* ---- taps ---- */

/* `ip tuntap add dev vmmu0 mode tap user nobody`, then nobody's vmm. */
static void open_users_tap(void)
{
	struct net_config c = { 0 };
	struct tap t;
	char err[256];

	CHECK(privs__switch(NOBODY, NOBODY, err, sizeof(err)) == 0);
	CHECK(tap__open(&t, "vmmu0", err, sizeof(err)) == 0);
	CHECK(!t.created);
	/* the admin set it up: nothing for vmm to change, or undo */
	CHECK(netcfg__host_setup(&t, &c, err, sizeof(err)) == 0);
	CHECK(!t.set_up && !t.configured_addr && !t.set_master);
	tap__close(&t);
	/* a tap that is not this user's stays closed to it */
	CHECK(tap__open(&t, "vmmr0", err, sizeof(err)) == -1);
	CHECK(strstr(err, "permission denied"));
}

static void test_tap_made_for_user(void **state)
{
	NEED_NETNS();
	need_root();
	persistent_tap("vmmu0", true, NOBODY);
	set_addr_up("vmmu0", IP(192, 168, 77, 1), IP(255, 255, 255, 0));
	persistent_tap("vmmr0", true, 0);
	in_child(open_users_tap);
	assert_true(link_exists("vmmu0"));     /* still the admin's */
	persistent_tap("vmmu0", false, -1);
	persistent_tap("vmmr0", false, -1);
}

/* Root creates and configures the tap, drops to nobody, and at exit the
 * kernel's removal of the tap is the whole undo. */
static void created_then_dropped(void)
{
	struct net_config c = { .has_host_ip = true, .host_ip = IP(192, 168, 78, 1), .prefix = 24 };
	struct net_tap nt = { .index = 0 };
	char err[256];

	CHECK(tap__open(&nt.tap, "vmmc0", err, sizeof(err)) == 0);
	CHECK(nt.tap.created);
	CHECK(netcfg__host_setup(&nt.tap, &c, err, sizeof(err)) == 0);
	CHECK(nt.tap.configured_addr && nt.tap.set_up);
	CHECK(net_tap__for_user(&nt, "nobody") == 0 && nt.tap.kernel_undoes);
	CHECK(privs__switch(NOBODY, NOBODY, err, sizeof(err)) == 0);
	CHECK(link_exists("vmmc0"));
	tap__close(&nt.tap);
	CHECK(!link_exists("vmmc0"));
}

static void test_created_tap_goes_without_root(void **state)
{
	NEED_NETNS();
	need_root();
	in_child(created_then_dropped);
	assert_false(link_exists("vmmc0"));
}

/* A reused tap vmm changed could not be put back without root. */
static void test_reused_tap_refused(void **state)
{
	struct net_config c = { .has_host_ip = true, .host_ip = IP(192, 168, 79, 1), .prefix = 24 };
	struct net_tap nt = { .index = 1 };
	uint32_t ip, mask;
	char err[256];

	NEED_NETNS();
	need_root();
	persistent_tap("vmmp0", true, -1);
	assert_int_equal(tap__open(&nt.tap, "vmmp0", err, sizeof(err)), 0);
	assert_false(nt.tap.created);
	assert_int_equal(netcfg__host_setup(&nt.tap, &c, err, sizeof(err)), 0);
	assert_int_equal(net_tap__for_user(&nt, "nobody"), -1);
	tap__close(&nt.tap);           /* root still: undone */
	assert_int_equal(if_addr("vmmp0", &ip, &mask), -1);
	/* untouched (the admin's address and link): nothing to refuse */
	set_addr_up("vmmp0", IP(192, 168, 79, 1), IP(255, 255, 255, 0));
	assert_int_equal(tap__open(&nt.tap, "vmmp0", err, sizeof(err)), 0);
	assert_int_equal(netcfg__host_setup(&nt.tap, &c, err, sizeof(err)), 0);
	assert_int_equal(net_tap__for_user(&nt, "nobody"), 0);
	assert_false(nt.tap.kernel_undoes);
	tap__close(&nt.tap);
	persistent_tap("vmmp0", false, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_resolve_without_root),
		cmocka_unit_test(test_switch),
		cmocka_unit_test(test_as_user_and_back),
		cmocka_unit_test(test_control_socket_for_user),
		cmocka_unit_test(test_tap_made_for_user),
		cmocka_unit_test(test_created_tap_goes_without_root),
		cmocka_unit_test(test_reused_tap_refused),
	};

	enter_netns();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
