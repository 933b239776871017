/* test_cli.c — `vmm` command-line parsing: defaults, every option, and
 * the one-line errors for bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/cli.h"
#include "vmm/util.h"

static char err[256];

/* Writable copies of the arguments, as a process's argv is (vmm
 * overwrites a --root-password in place); they outlive the parse. */
static char args[32][512];
static char *argv_seen[32];

static char *arg(int i, const char *a)
{
	snprintf(args[i], sizeof(args[i]), "%s", a);
	return argv_seen[i] = args[i];
}

static int parse(struct vm_config *cfg, enum cli_verb *verb, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	char *a;

	argv[argc] = arg(argc, "vmm");
	argc++;
	va_start(ap, verb);
	while ((a = va_arg(ap, char *)) != NULL) {
		argv[argc] = arg(argc, a);
		argc++;
	}
	va_end(ap);
	argv[argc] = NULL;
	return cli__parse(argc, argv, verb, cfg, err, sizeof(err));
}

static void test_defaults(void **state)
{
	struct vm_config c;
	enum cli_verb v;

	assert_int_equal(parse(&c, &v, "run", "--kernel", "bz", NULL), 0);
	assert_int_equal(v, CLI_VERB_RUN);
	assert_string_equal(c.kernel, "bz");
	assert_null(c.initrd);
	assert_string_equal(c.params, "console=ttyS0 reboot=k panic=-1");	/* x86 */
	assert_int_equal(c.mem_bytes, 512 * MiB);
	assert_int_equal(c.nr_cpus, 1);
	assert_false(c.boot_markers);
}

/* vmm set NAME --vhost on|off [--nic N] */
static void test_set(void **state)
{
	struct vm_config c;
	enum cli_verb v;

	assert_int_equal(parse(&c, &v, "set", "web1", "--vhost", "off", NULL), 0);
	assert_int_equal(v, CLI_VERB_SET);
	assert_string_equal(c.name, "web1");
	assert_int_equal(c.set_vhost, 0);
	assert_int_equal(c.set_nic, -1);
	assert_int_equal(parse(&c, &v, "set", "--vhost", "on", "--nic", "1", "web1", NULL), 0);
	assert_int_equal(c.set_vhost, 1);
	assert_int_equal(c.set_nic, 1);
	assert_int_equal(parse(&c, &v, "set", "web1", NULL), -1);
	assert_string_equal(err, "vmm set needs --vhost on|off");
	assert_int_equal(parse(&c, &v, "set", "--vhost", "on", NULL), -1);
	assert_string_equal(err, "vmm set needs a VM name (see vmm list)");
	assert_int_equal(parse(&c, &v, "set", "w", "--vhost", "yes", NULL), -1);
	assert_string_equal(err, "vmm set: invalid --vhost 'yes': use on or off");
	assert_int_equal(parse(&c, &v, "set", "w", "--vhost", "on", "--nic", "99", NULL), -1);
	assert_non_null(strstr(err, "invalid --nic '99'"));
	assert_int_equal(parse(&c, &v, "set", "w", "--vhost", NULL), -1);
	assert_string_equal(err, "vmm set: --vhost needs a value");
	assert_int_equal(parse(&c, &v, "set", "w", "x", "--vhost", "on", NULL), -1);
	assert_string_equal(err, "vmm set takes one VM name");
	assert_int_equal(parse(&c, &v, "set", "w", "--mem", "1G", NULL), -1);
	assert_string_equal(err, "unknown option '--mem' for vmm set");
}

/* vmm stop [--timeout S | --force] NAME, vmm kill NAME */
static void test_stop_options(void **state)
{
	struct vm_config c;
	enum cli_verb v;

	assert_int_equal(parse(&c, &v, "stop", "web1", NULL), 0);
	assert_int_equal(v, CLI_VERB_STOP);
	assert_string_equal(c.name, "web1");
	assert_false(c.force);
	assert_int_equal(c.timeout_s, VMM_STOP_TIMEOUT_S);
	assert_int_equal(VMM_STOP_TIMEOUT_S, 60);
	assert_int_equal(parse(&c, &v, "stop", "--timeout", "5", "web1", NULL), 0);
	assert_int_equal(c.timeout_s, 5);
	assert_int_equal(parse(&c, &v, "stop", "web1", "--timeout=86400", NULL), 0);
	assert_int_equal(c.timeout_s, 86400);
	assert_int_equal(parse(&c, &v, "stop", "-t", "1", "web1", NULL), 0);
	assert_int_equal(c.timeout_s, 1);
	assert_int_equal(parse(&c, &v, "stop", "--force", "web1", NULL), 0);
	assert_true(c.force);
	assert_int_equal(parse(&c, &v, "stop", "web1", "-f", NULL), 0);
	assert_true(c.force);
	assert_int_equal(parse(&c, &v, "kill", "web1", NULL), 0);
	assert_int_equal(v, CLI_VERB_STOP);
	assert_true(c.force);
	assert_string_equal(c.name, "web1");

	assert_int_equal(parse(&c, &v, "stop", "--timeout", "0", "w", NULL), -1);
	assert_string_equal(err, "vmm stop: invalid --timeout '0': give seconds from 1 to 86400");
	assert_int_equal(parse(&c, &v, "stop", "--timeout", "86401", "w", NULL), -1);
	assert_int_equal(parse(&c, &v, "stop", "--timeout", "5s", "w", NULL), -1);
	assert_int_equal(parse(&c, &v, "stop", "--timeout", "-5", "w", NULL), -1);
	assert_int_equal(parse(&c, &v, "stop", "--timeout=", "w", NULL), -1);
	assert_int_equal(parse(&c, &v, "stop", "--timeout", "99999999999999999999", "w", NULL), -1);
	assert_int_equal(parse(&c, &v, "stop", "w", "--timeout", NULL), -1);
	assert_string_equal(err, "vmm stop: --timeout needs a value");
	assert_int_equal(parse(&c, &v, "stop", "--force", "--timeout", "5", "w", NULL), -1);
	assert_non_null(strstr(err, "give --force or --timeout, not both"));
	assert_int_equal(parse(&c, &v, "stop", NULL), -1);
	assert_string_equal(err, "vmm stop needs a VM name (see vmm list)");
	assert_int_equal(parse(&c, &v, "stop", "a", "b", NULL), -1);
	assert_string_equal(err, "vmm stop takes one VM name");
	assert_int_equal(parse(&c, &v, "stop", "../x", NULL), -1);
	assert_string_equal(err, "invalid VM name '../x'");
	assert_int_equal(parse(&c, &v, "kill", "--force", "w", NULL), -1);
	assert_string_equal(err, "unknown option '--force' for vmm kill");
	assert_int_equal(parse(&c, &v, "kill", "--timeout", "5", "w", NULL), -1);
	assert_int_equal(parse(&c, &v, "kill", NULL), -1);
	assert_string_equal(err, "vmm kill needs a VM name (see vmm list)");
	/* No reboot: said why, in one line. */
	assert_int_equal(parse(&c, &v, "reboot", "w", NULL), -1);
	assert_non_null(strstr(err, "vmm reboot is not supported: ACPI has no reboot button"));
	assert_null(strchr(err, '\n'));
}

/* vmm list [--json], vmm stat NAME [--json] */
static void test_list_stat(void **state)
{
	struct vm_config c;
	enum cli_verb v;

	assert_int_equal(parse(&c, &v, "list", NULL), 0);
	assert_int_equal(v, CLI_VERB_LIST);
	assert_false(c.json);
	assert_int_equal(parse(&c, &v, "list", "--json", NULL), 0);
	assert_true(c.json);
	assert_int_equal(parse(&c, &v, "list", "web1", NULL), -1);
	assert_string_equal(err, "vmm list takes no VM name");
	assert_int_equal(parse(&c, &v, "list", "--all", NULL), -1);
	assert_string_equal(err, "unknown option '--all' for vmm list");
	assert_int_equal(parse(&c, &v, "stat", "--json", "web1", NULL), 0);
	assert_int_equal(v, CLI_VERB_STAT);
	assert_true(c.json);
	assert_string_equal(c.name, "web1");
	assert_int_equal(parse(&c, &v, "stat", NULL), -1);
	assert_string_equal(err, "vmm stat needs a VM name (see vmm list)");
	assert_int_equal(parse(&c, &v, "stat", "web1", "--force", NULL), -1);
	assert_string_equal(err, "unknown option '--force' for vmm stat");
}

/* Every verb answers --help with its own usage (those that name a VM:
 * anywhere, even after a bad argument); `vmm help VERB` too. */
static void test_verb_help(void **state)
{
	static const char *const verbs[] = { "run", "list", "stat", "stop", "kill", "set" };
	struct vm_config c;
	enum cli_verb v;

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		char want[32];
		const char *u;

		snprintf(want, sizeof(want), "vmm %s ", verbs[i]);
		assert_int_equal(parse(&c, &v, verbs[i], "--help", NULL), 0);
		assert_int_equal(v, CLI_VERB_HELP);
		assert_string_equal(c.help_verb, verbs[i]);
		u = cli__verb_usage(c.help_verb);
		assert_non_null(u);
		if (strncmp(u, "usage: ", 7) || !strstr(u, want))
			fail_msg("vmm %s --help: \"%.60s...\"", verbs[i], u);
		/* run's options are getopt's, taken in order */
		if (i > 0) {
			assert_int_equal(parse(&c, &v, verbs[i], "x", "--bogus", "-h", NULL), 0);
			assert_int_equal(v, CLI_VERB_HELP);
		}
		assert_int_equal(parse(&c, &v, "help", verbs[i], NULL), 0);
		assert_string_equal(c.help_verb, verbs[i]);
	}
	assert_non_null(strstr(cli__verb_usage("stop"), "--timeout S"));
	assert_non_null(strstr(cli__verb_usage("list"), "--json"));
	assert_null(cli__verb_usage("boot"));
	assert_int_equal(parse(&c, &v, "help", "boot", NULL), -1);
	assert_string_equal(err, "no help for 'boot' (try vmm --help)");
	assert_int_equal(parse(&c, &v, "help", NULL), 0);
	assert_int_equal(v, CLI_VERB_HELP);
	assert_null(c.help_verb);
}

static void test_long_options(void **state)
{
	struct vm_config c;
	enum cli_verb v;

	assert_int_equal(parse(&c, &v, "run", "--kernel", "k", "--initrd", "i", "--params",
			       "console=ttyS0 quiet", "--mem", "2G", "--cpus", "4", "--name",
			       "web-1", "--boot-markers", "--no-console", NULL), 0);
	assert_string_equal(c.initrd, "i");
	assert_string_equal(c.params, "console=ttyS0 quiet");
	assert_int_equal(c.mem_bytes, 2 * GiB);
	assert_int_equal(c.nr_cpus, 4);
	assert_string_equal(c.name, "web-1");
	assert_true(c.boot_markers);
	assert_true(c.no_console);
	assert_false(c.no_rng);                 /* virtio-rng is on by default */
	assert_int_equal(parse(&c, &v, "run", "--kernel", "k", "--no-rng", NULL), 0);
	assert_true(c.no_rng);
	assert_int_equal(parse(&c, &v, "run", "--kernel", "k", "--no-rng=1", NULL), -1);
}

static void test_short_options(void **state)
{
	struct vm_config c;
	enum cli_verb v;

	assert_int_equal(parse(&c, &v, "run", "-k", "k", "-i", "i", "-p", "x", "-m", "1024",
			       "-c", "2", "-n", "a", "-v", "-v", NULL), 0);
	assert_string_equal(c.kernel, "k");
	assert_int_equal(c.mem_bytes, 1 * GiB);
	assert_int_equal(c.nr_cpus, 2);
	assert_int_equal(c.verbose, 2);
	/* --opt=value form */
	assert_int_equal(parse(&c, &v, "run", "--kernel=k", "--mem=256M", NULL), 0);
	assert_int_equal(c.mem_bytes, 256 * MiB);
}

/* A disk boot without --mem/--cpus gets sizes a systemd guest needs;
 * whatever the user gives wins, and a kernel boot keeps 512 MiB / 1. */
static void test_disk_boot_sizes(void **state)
{
	struct vm_config c;
	enum cli_verb v;

	assert_int_equal(parse(&c, &v, "run", "--disk", "a.qcow2", NULL), 0);
	assert_int_equal(c.mem_bytes, VMM_DISK_BOOT_MEM);
	assert_int_equal(c.nr_cpus, VMM_DISK_BOOT_CPUS);
	assert_true(c.sized_for_disk);
	assert_true(VMM_DISK_BOOT_MEM >= 1 * GiB && VMM_DISK_BOOT_CPUS >= 2);
	assert_int_equal(parse(&c, &v, "run", "--disk", "a.qcow2", "--mem", "4G", NULL), 0);
	assert_int_equal(c.mem_bytes, 4 * GiB);
	assert_int_equal(c.nr_cpus, VMM_DISK_BOOT_CPUS);
	assert_int_equal(parse(&c, &v, "run", "--disk", "a.qcow2", "-m", "512", "-c", "1", NULL), 0);
	assert_int_equal(c.mem_bytes, 512 * MiB);
	assert_int_equal(c.nr_cpus, 1);
	assert_false(c.sized_for_disk);
	assert_int_equal(parse(&c, &v, "run", "--disk", "a.qcow2", "-k", "k", NULL), 0);
	assert_int_equal(c.mem_bytes, 512 * MiB);
	assert_int_equal(c.nr_cpus, 1);
	assert_false(c.sized_for_disk);
}

static void test_help_version(void **state)
{
	struct vm_config c;
	enum cli_verb v;

	assert_int_equal(parse(&c, &v, "--help", NULL), 0);
	assert_int_equal(v, CLI_VERB_HELP);
	assert_int_equal(parse(&c, &v, "run", "--help", NULL), 0);
	assert_int_equal(v, CLI_VERB_HELP);
	assert_int_equal(parse(&c, &v, "--version", NULL), 0);
	assert_int_equal(v, CLI_VERB_VERSION);
	assert_non_null(strstr(cli__usage(), "--kernel"));
	assert_non_null(strstr(cli__usage(), "(default: \"console=ttyS0 reboot=k panic=-1\";"));
	assert_non_null(strstr(cli__usage(), "serial console (ttyS0) on this"));
}

static void expect_error(const char *needle, ...)
{
	struct vm_config c;
	enum cli_verb v;
	char *argv[32];
	int argc = 0;
	va_list ap;
	char *a;

	argv[argc] = arg(argc, "vmm");
	argc++;
	va_start(ap, needle);
	while ((a = va_arg(ap, char *)) != NULL) {
		argv[argc] = arg(argc, a);
		argc++;
	}
	va_end(ap);
	argv[argc] = NULL;
	assert_int_equal(cli__parse(argc, argv, &v, &c, err, sizeof(err)), -1);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s'", err, needle);
	assert_null(strchr(err, '\n'));  /* one line */
}

static void test_errors(void **state)
{
	expect_error("no command", NULL);
	expect_error("unknown command 'boot'", "boot", NULL);
	expect_error("nothing to boot", "run", NULL);
	expect_error("unknown option '--bogus'", "run", "-k", "k", "--bogus", NULL);
	expect_error("unknown option '-z'", "run", "-k", "k", "-z", NULL);
	expect_error("needs a value", "run", "--kernel", NULL);
	expect_error("invalid --mem 'lots'", "run", "-k", "k", "--mem", "lots", NULL);
	expect_error("invalid --mem '0'", "run", "-k", "k", "--mem", "0", NULL);
	expect_error("invalid --mem '8'", "run", "-k", "k", "--mem", "8", NULL);
	expect_error("invalid --mem '-5'", "run", "-k", "k", "--mem", "-5", NULL);
	expect_error("multiple of 2 MiB", "run", "-k", "k", "--mem", "33", NULL);
	expect_error("invalid --mem '99999999999999999999'", "run", "-k", "k", "--mem",
		     "99999999999999999999", NULL);
	expect_error("invalid --cpus '0'", "run", "-k", "k", "--cpus", "0", NULL);
	expect_error("invalid --cpus '65'", "run", "-k", "k", "--cpus", "65", NULL);
	expect_error("invalid --cpus '2x'", "run", "-k", "k", "--cpus", "2x", NULL);
	expect_error("invalid --cpus ''", "run", "-k", "k", "--cpus", "", NULL);
	expect_error("invalid --name 'a/b'", "run", "-k", "k", "--name", "a/b", NULL);
	expect_error("unexpected argument 'extra'", "run", "-k", "k", "extra", NULL);
}

static void test_net_and_vhost(void **state)
{
	struct vm_config c;
	enum cli_verb v;

	assert_int_equal(parse(&c, &v, "run", "-k", "k", "--net",
			       "tap=vnet0,mac=02:ca:fe:fa:ce:01,host-ip=192.168.100.1/24",
			       "--net", "tap=vnet1,bridge=br0,vhost=off", NULL), 0);
	assert_int_equal(c.nr_nics, 2);
	assert_string_equal(c.nic[0].tap, "vnet0");
	assert_true(c.nic[0].mac_set);
	assert_int_equal(c.nic[0].mac[5], 0x01);
	assert_true(c.nic[0].has_host_ip);
	assert_int_equal(c.nic[0].host_ip, 0xc0a86401);
	assert_int_equal(c.nic[0].prefix, 24);
	assert_int_equal(c.nic[0].vhost, NET_VHOST_AUTO);  /* the default */
	assert_string_equal(c.nic[1].bridge, "br0");
	assert_int_equal(c.nic[1].vhost, NET_VHOST_OFF);   /* its own key wins */
	/* --vhost sets the default for NICs without vhost=, in any order */
	assert_int_equal(parse(&c, &v, "run", "-k", "k", "--net", "tap=a", "--vhost", "on",
			       "--net", "tap=b,vhost=auto", NULL), 0);
	assert_int_equal(c.vhost, NET_VHOST_ON);
	assert_int_equal(c.nic[0].vhost, NET_VHOST_ON);
	assert_int_equal(c.nic[1].vhost, NET_VHOST_AUTO);
	assert_int_equal(parse(&c, &v, "run", "-k", "k", "--vhost", "off", NULL), 0);
	assert_int_equal(c.vhost, NET_VHOST_OFF);
}

static void test_net_errors(void **state)
{
	expect_error("invalid --vhost 'yes'", "run", "-k", "k", "--vhost", "yes", NULL);
	expect_error("invalid vhost 'x'", "run", "-k", "k", "--net", "tap=a,vhost=x", NULL);
	expect_error("invalid MAC", "run", "-k", "k", "--net", "tap=a,mac=02:zz:00:00:00:01", NULL);
	expect_error("multicast", "run", "-k", "k", "--net", "tap=a,mac=03:00:00:00:00:01", NULL);
	expect_error("prefix", "run", "-k", "k", "--net", "tap=a,host-ip=10.0.0.1/40", NULL);
	expect_error("cannot be used together", "run", "-k", "k", "--net",
		     "tap=a,host-ip=10.0.0.1/24,bridge=br0", NULL);
	expect_error("unknown key 'speed'", "run", "-k", "k", "--net", "tap=a,speed=10", NULL);
	expect_error("too many --net", "run", "-k", "k", "--net", "tap=a", "--net", "tap=b",
		     "--net", "tap=c", "--net", "tap=d", "--net", "tap=e", NULL);
}

static void test_size_parser(void **state)
{
	uint64_t b;

	assert_int_equal(util__parse_size_mib("512", &b), 0);
	assert_int_equal(b, 512 * MiB);
	assert_int_equal(util__parse_size_mib("4G", &b), 0);
	assert_int_equal(b, 4 * GiB);
	assert_int_equal(util__parse_size_mib("65536K", &b), 0);
	assert_int_equal(b, 64 * MiB);
	assert_int_equal(util__parse_size_mib("1GiB", &b), 0);
	assert_int_equal(b, GiB);
	assert_int_equal(util__parse_size_mib("1T", &b), -1);
	assert_int_equal(util__parse_size_mib("", &b), -1);
	assert_int_equal(util__parse_size_mib("G", &b), -1);
	assert_int_equal(util__parse_size_mib("2GG", &b), -1);
}

static void test_disks(void **state)
{
	struct vm_config c;
	enum cli_verb v;

	/* No --kernel: a disk boot. */
	assert_int_equal(parse(&c, &v, "run", "--disk", "/img/a.qcow2", "--disk",
			       "file=b.raw,format=raw,ro,serial=SN-1", "--disk", "c,format=qcow2,ro=off",
			       "--root-password", "changeme", "--ssh-key", "k.pub", "--cloud-init", "ud",
			       NULL), 0);
	assert_null(c.kernel);
	assert_int_equal(c.nr_disks, 3);
	assert_string_equal(c.disk[0].path, "/img/a.qcow2");
	assert_int_equal(c.disk[0].format, DISK_FORMAT_AUTO);
	assert_false(c.disk[0].read_only);
	assert_string_equal(c.disk[0].serial, "");
	assert_string_equal(c.disk[1].path, "b.raw");
	assert_int_equal(c.disk[1].format, DISK_FORMAT_RAW);
	assert_true(c.disk[1].read_only);
	assert_string_equal(c.disk[1].serial, "SN-1");
	assert_int_equal(c.disk[2].format, DISK_FORMAT_QCOW2);
	assert_false(c.disk[2].read_only);
	assert_string_equal(c.root_password, "changeme");
	assert_string_equal(c.ssh_key, "k.pub");
	assert_string_equal(c.cloud_init, "ud");
}

static void test_disk_errors(void **state)
{
	expect_error("--disk: unknown format 'vmdk'", "run", "--disk", "a,format=vmdk", NULL);
	expect_error("--disk: unknown key 'cache'", "run", "--disk", "a,cache=none", NULL);
	expect_error("no image file given", "run", "--disk", "format=raw", NULL);
	expect_error("serial= takes 1 to 20", "run", "--disk", "a,serial=123456789012345678901", NULL);
	expect_error("printable ASCII", "run", "--disk", "a,serial=a b", NULL);
	expect_error("too many --disk", "run", "--disk", "a", "--disk", "b", "--disk", "c", "--disk",
		     "d", "--disk", "e", NULL);
	expect_error("--initrd needs --kernel", "run", "--disk", "a", "--initrd", "i", NULL);
	expect_error("--root-password: the password is empty", "run", "--disk", "a",
		     "--root-password", "", NULL);
}

/* stderr into a file while parsing: the warning lines. */
static int saved_stderr;
static FILE *captured;

static void capture(void)
{
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	captured = tmpfile();
	assert_non_null(captured);
	dup2(fileno(captured), STDERR_FILENO);
}

static const char *captured_text(void)
{
	static char out[2048];
	size_t n;

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	rewind(captured);
	n = fread(out, 1, sizeof(out) - 1, captured);
	out[n] = '\0';
	fclose(captured);
	return out;
}

/* --root-password still works, with one warning however often it is
 * given, and the argv string no longer shows the password. */
static void test_root_password_argv(void **state)
{
	struct vm_config c;
	enum cli_verb v;
	const char *log;
	int r;

	capture();
	r = parse(&c, &v, "run", "--disk", "a", "--root-password", "s3cret!", "--root-password=2nd",
		  NULL);
	log = captured_text();
	assert_int_equal(r, 0);
	assert_string_equal(c.root_password, "2nd");
	assert_string_equal(argv_seen[5], "xxxxxxx");           /* scrubbed in place */
	assert_string_equal(argv_seen[6], "--root-password=xxx");
	assert_non_null(strstr(log, "--root-password-file"));
	assert_ptr_equal(strchr(log, '\n'), log + strlen(log) - 1);     /* one line */
	/* none given: none set */
	assert_int_equal(parse(&c, &v, "run", "--disk", "a", NULL), 0);
	assert_string_equal(c.root_password, "");
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_root_password_file(void **state)
{
	char path[] = "/tmp/vmm-test-pw.XXXXXX", rest[16] = "";
	struct vm_config c;
	enum cli_verb v;
	int fd = mkstemp(path), p[2], in;
	char longpw[400];

	assert_true(fd >= 0);
	close(fd);
	write_file(path, "from file\r\nsecond line\n");
	assert_int_equal(parse(&c, &v, "run", "--disk", "a", "--root-password-file", path, NULL), 0);
	assert_string_equal(c.root_password, "from file");
	write_file(path, "no newline");
	assert_int_equal(parse(&c, &v, "run", "--disk", "a", "--root-password-file", path, NULL), 0);
	assert_string_equal(c.root_password, "no newline");
	/* "-": standard input, its first line only (the rest is the console's) */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "piped pw\nrest", 13), 13);
	close(p[1]);
	in = dup(STDIN_FILENO);
	dup2(p[0], STDIN_FILENO);
	close(p[0]);
	assert_int_equal(parse(&c, &v, "run", "--disk", "a", "--root-password-file", "-", NULL), 0);
	assert_int_equal(read(STDIN_FILENO, rest, sizeof(rest) - 1), 4);
	dup2(in, STDIN_FILENO);
	close(in);
	assert_string_equal(c.root_password, "piped pw");
	assert_string_equal(rest, "rest");
	/* errors, one line each */
	write_file(path, "\n");
	expect_error("--root-password-file", "run", "--disk", "a", "--root-password-file", path, NULL);
	assert_non_null(strstr(err, "the password is empty"));
	memset(longpw, 'p', sizeof(longpw) - 1);
	longpw[sizeof(longpw) - 1] = '\0';
	write_file(path, longpw);
	expect_error("is longer than 256 bytes", "run", "--disk", "a", "--root-password-file", path,
		     NULL);
	expect_error("longer than 256 bytes", "run", "--disk", "a", "--root-password", longpw, NULL);
	expect_error("--root-password-file /nonexistent/pw: No such file or directory", "run",
		     "--disk", "a", "--root-password-file", "/nonexistent/pw", NULL);
	write_file(path, "pw\n");
	expect_error("not both", "run", "--disk", "a", "--root-password-file", path,
		     "--root-password", "x", NULL);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_stop_options),
		cmocka_unit_test(test_list_stat),
		cmocka_unit_test(test_verb_help),
		cmocka_unit_test(test_long_options),
		cmocka_unit_test(test_short_options),
		cmocka_unit_test(test_disk_boot_sizes),
		cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_size_parser),
		cmocka_unit_test(test_net_and_vhost),
		cmocka_unit_test(test_net_errors),
		cmocka_unit_test(test_disks),
		cmocka_unit_test(test_disk_errors),
		cmocka_unit_test(test_root_password_argv),
		cmocka_unit_test(test_root_password_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
