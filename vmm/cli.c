/* cli.c — `vmm` verbs and the options of `vmm run`.
 *
 * Long options follow QEMU/Firecracker habits, short ones kvmtool's:
 * -k/--kernel -i/--initrd -p/--params -m/--mem -c/--cpus.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/arch.h"
#include "vmm/cli.h"
#include "vmm/log.h"
#include "vmm/util.h"

/* Two %s: the platform's console device and its default command line. */
static const char usage_fmt[] =
"usage: vmm run -k KERNEL [options]\n"
"       vmm run -d -k KERNEL [options]   the same in the background\n"
"       vmm run --disk IMAGE [options]   boot the image's own kernel\n"
"       vmm list [--json]        running VMs: name, pid, vCPUs, memory, NICs\n"
"       vmm stat NAME [--json]   uptime; counters: exits, kicks, interrupts,\n"
"                                packets, CPU\n"
"       vmm stop [--timeout S] NAME\n"
"                                press the ACPI power button, wait up to S s\n"
"                                (default 60) for the guest to power off,\n"
"                                then end the VM if it has not\n"
"       vmm stop --force NAME    end a VM at once (also: vmm kill NAME); its\n"
"                                tap and socket go too\n"
"       vmm console NAME         attach this terminal to a running VM's\n"
"                                serial console (Ctrl-] detaches)\n"
"       vmm set NAME --vhost on|off [--nic N]\n"
"                                move a running NIC's queues to vhost-net or\n"
"                                back to vmm, live (no reset, no link flap)\n"
"       vmm VERB --help          one verb's own usage\n"
"       vmm --help | --version\n"
"\n"
"vmm run: boot a Linux kernel in a KVM virtual machine with the guest's\n"
"serial console (%s) on this terminal. Ctrl-A x quits, Ctrl-A Ctrl-A\n"
"sends Ctrl-A. The VM ends when the guest reboots or powers off.\n"
"With -d it runs in the background instead: vmm console NAME attaches.\n"
"\n"
"  -k, --kernel FILE    bzImage or ELF vmlinux to boot (without it: the\n"
"                       first --disk's default boot entry, /boot/loader)\n"
"  -i, --initrd FILE    initial ramdisk\n"
"  -p, --params TEXT    kernel command line (default: \"%s\";\n"
"                       booting a disk: appended to the entry's options)\n"
"  -m, --mem SIZE       guest RAM, MiB or with K/M/G suffix (default 512;\n"
"                       booting a disk: 1024)\n"
"  -c, --cpus N         number of vCPUs, 1-64 (default 1; booting a disk: 2)\n"
"  -n, --name NAME      a name for this VM (default vmm-PID)\n"
"      --net tap=IF[,mac=MAC][,host-ip=A.B.C.D/N | ,bridge=BR]\n"
"                       a virtio-net NIC on host tap IF (created if missing,\n"
"                       removed at exit if vmm created it); host-ip puts an\n"
"                       address on the tap, bridge attaches it to BR; repeat\n"
"                       for more NICs (up to 4); vhost=on|off|auto per NIC;\n"
"                       queues=N gives it N queue pairs (multiqueue, 1-16,\n"
"                       at most --cpus; default 1); tx=uring (default)\n"
"                       writes each batch of guest frames to the tap with\n"
"                       one io_uring call, tx=writev one writev() each\n"
"      --disk FILE[,format=raw|qcow2][,ro][,serial=S][,backing=off]\n"
"                       a virtio-blk disk (raw or qcow2, format probed if\n"
"                       not given; a probed raw disk refuses guest writes\n"
"                       that would make it probe as qcow2); backing=off\n"
"                       refuses an image naming a backing file; repeat\n"
"                       for more (up to 4: vda, vdb...)\n"
"      --root-password-file FILE  set root's password on first boot\n"
"                       (cloud-init) to FILE's first line; - reads it from\n"
"                       standard input\n"
"      --root-password PW  the same from the command line, where other\n"
"                       local users can read it (ps): prefer the file\n"
"      --ssh-key FILE   authorize this OpenSSH public key for root\n"
"      --cloud-init FILE  cloud-init user-data to pass to the guest\n"
"                       (these attach a NoCloud seed disk, CIDATA)\n"
"      --vhost on|off|auto  move the NICs' packets in the host kernel's\n"
"                       vhost-net (on), in vmm's I/O thread (off), or vhost\n"
"                       when /dev/vhost-net can be opened (auto, default)\n"
"      --boot-markers   at exit, print the time of each byte the guest wrote\n"
"                       to the boot-marker port (0x80 on x86)\n"
"      --no-console     do not read this terminal; guest output still shown\n"
"  -d, --detach         run in the background: return once the guest runs,\n"
"                       saying its name and pid; vmm's own messages go to\n"
"                       NAME.log in the runtime directory (where the\n"
"                       control socket is), guest output to the console\n"
"                       log; vmm console NAME attaches, vmm stop NAME ends\n"
"      --console-log FILE  guest serial output to FILE as well (truncated\n"
"                       at start; default with -d: NAME.console in the\n"
"                       runtime directory)\n"
"      --no-rng         leave out the virtio-rng device (the guest's\n"
"                       /dev/hwrng, fed from the host's getrandom at up to\n"
"                       1 MiB/s), which is there by default\n"
"      --user USER      once set up (KVM, taps, images), run as USER (a name\n"
"                       or UID[:GID]); needs root; the control socket is\n"
"                       then USER's (vmm list as USER)\n"
"      --seccomp on|off system call filters on every thread and on the\n"
"                       disk-boot parser (default on; off is for debugging)\n"
"  -v, --verbose        more messages (repeat for debug)\n"
"  -h, --help           this text\n";

const char *cli__usage(void)
{
	static char usage[sizeof(usage_fmt) + 256];

	snprintf(usage, sizeof(usage), usage_fmt, arch__console_name(), arch__default_params());
	return usage;
}

const char *cli__verb_usage(const char *verb)
{
	if (!strcmp(verb, "run"))
		return cli__usage();    /* it is mostly run's options */
	return cli_verbs__usage(verb);
}

#define fail util__fail

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') ||
		      ('0' <= *s && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

enum { OPT_BOOT_MARKERS = 256, OPT_NO_CONSOLE, OPT_NET, OPT_VHOST, OPT_DISK, OPT_ROOT_PW,
       OPT_ROOT_PW_FILE, OPT_SSH_KEY, OPT_CLOUD_INIT, OPT_USER, OPT_SECCOMP, OPT_NO_RNG,
       OPT_CONSOLE_LOG };

/* --root-password PW: copy it, then overwrite the argv string, which
 * /proc/PID/cmdline shows to every local user (it was visible from exec
 * until now: hence the warning, and --root-password-file). */
static int take_password_arg(char *arg, struct vm_config *cfg, char *err, unsigned errlen)
{
	size_t n = strlen(arg);

	if (!n)
		return fail(err, errlen, "--root-password: the password is empty");
	if (n > VMM_MAX_PASSWORD)
		return fail(err, errlen, "--root-password: longer than %d bytes", VMM_MAX_PASSWORD);
	memcpy(cfg->root_password, arg, n + 1);
	memset(arg, 'x', n);
	return 0;
}

/* --root-password-file FILE ("-": standard input): its first line. Read
 * a byte at a time so standard input, the console later, loses nothing
 * after that line. */
static int read_password_file(const char *path, struct vm_config *cfg, char *err,
			      unsigned errlen)
{
	bool is_stdin = !strcmp(path, "-");
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	const char *name = is_stdin ? "standard input" : path;
	size_t n = 0;
	char c;

	if (fd < 0)
		return fail(err, errlen, "--root-password-file %s: %s", path, strerror(errno));
	for (;;) {
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			if (!is_stdin)
				close(fd);
			return fail(err, errlen, "--root-password-file %s: %s", name, strerror(e));
		}
		if (r == 0 || c == '\n')
			break;
		if (n == VMM_MAX_PASSWORD) {
			if (!is_stdin)
				close(fd);
			return fail(err, errlen, "--root-password-file %s: the password is longer than %d bytes",
				    name, VMM_MAX_PASSWORD);
		}
		cfg->root_password[n++] = c;
	}
	if (!is_stdin)
		close(fd);
	if (n && cfg->root_password[n - 1] == '\r')
		n--;
	cfg->root_password[n] = '\0';
	if (!n)
		return fail(err, errlen, "--root-password-file %s: the password is empty", name);
	return 0;
}

static int parse_run(int argc, char **argv, struct vm_config *cfg, char *err, unsigned errlen)
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "params", required_argument, NULL, 'p' },
		{ "mem", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "boot-markers", no_argument, NULL, OPT_BOOT_MARKERS },
		{ "no-console", no_argument, NULL, OPT_NO_CONSOLE },
		{ "no-rng", no_argument, NULL, OPT_NO_RNG },
		{ "detach", no_argument, NULL, 'd' },
		{ "console-log", required_argument, NULL, OPT_CONSOLE_LOG },
		{ "net", required_argument, NULL, OPT_NET },
		{ "vhost", required_argument, NULL, OPT_VHOST },
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "root-password", required_argument, NULL, OPT_ROOT_PW },
		{ "root-password-file", required_argument, NULL, OPT_ROOT_PW_FILE },
		{ "ssh-key", required_argument, NULL, OPT_SSH_KEY },
		{ "cloud-init", required_argument, NULL, OPT_CLOUD_INIT },
		{ "user", required_argument, NULL, OPT_USER },
		{ "seccomp", required_argument, NULL, OPT_SECCOMP },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool mem_set = false, cpus_set = false, pw_arg = false, pw_file = false;
	char *end;
	long n;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":k:i:p:m:c:n:dvh", opts, NULL)) != -1) {
		switch (c) {
		case 'k': cfg->kernel = optarg; break;
		case 'i': cfg->initrd = optarg; break;
		case 'p': cfg->params = optarg; break;
		case 'n':
			if (!valid_name(optarg))
				return fail(err, errlen, "invalid --name '%s': use 1-64 letters, digits, '-', '_' or '.'", optarg);
			cfg->name = optarg;
			break;
		case 'm':
			if (util__parse_size_mib(optarg, &cfg->mem_bytes) < 0 ||
			    cfg->mem_bytes < 16 * MiB || cfg->mem_bytes > 1024 * GiB)
				return fail(err, errlen, "invalid --mem '%s': give MiB (16 to 1048576) or a size like 2G", optarg);
			if (cfg->mem_bytes % (2 * MiB))
				return fail(err, errlen, "invalid --mem '%s': must be a multiple of 2 MiB", optarg);
			mem_set = true;
			break;
		case 'c':
			n = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || n < 1 || n > VMM_MAX_CPUS)
				return fail(err, errlen, "invalid --cpus '%s': give a number from 1 to %d", optarg, VMM_MAX_CPUS);
			cfg->nr_cpus = (int)n;
			cpus_set = true;
			break;
		case OPT_BOOT_MARKERS: cfg->boot_markers = true; break;
		case OPT_NO_CONSOLE: cfg->no_console = true; break;
		case OPT_NO_RNG: cfg->no_rng = true; break;
		case 'd': cfg->detach = true; break;
		case OPT_CONSOLE_LOG:
			if (!*optarg)
				return fail(err, errlen, "--console-log needs a file name");
			cfg->console_log = optarg;
			break;
		case OPT_VHOST: {
			int v = netcfg__parse_vhost(optarg);

			if (v < 0)
				return fail(err, errlen, "invalid --vhost '%s': use on, off or auto", optarg);
			cfg->vhost = (enum net_vhost)v;
			break;
		}
		case OPT_NET: {
			char why[200];

			if (cfg->nr_nics == VMM_MAX_NICS)
				return fail(err, errlen, "too many --net options (at most %d)", VMM_MAX_NICS);
			if (netcfg__parse(optarg, &cfg->nic[cfg->nr_nics], why, sizeof(why)) < 0)
				return fail(err, errlen, "%s", why);
			cfg->nr_nics++;
			break;
		}
		case OPT_DISK: {
			char why[200];

			if (cfg->nr_disks == VMM_MAX_DISKS)
				return fail(err, errlen, "too many --disk options (at most %d)", VMM_MAX_DISKS);
			if (diskcfg__parse(optarg, &cfg->disk[cfg->nr_disks], why, sizeof(why)) < 0)
				return fail(err, errlen, "%s", why);
			cfg->nr_disks++;
			break;
		}
		case OPT_ROOT_PW:
			if (pw_file)
				return fail(err, errlen, "give --root-password or --root-password-file, not both");
			if (take_password_arg(optarg, cfg, err, errlen) < 0)
				return -1;
			if (!pw_arg)
				pr_warn("--root-password shows the password to every local user (ps, "
					"/proc/PID/cmdline) until vmm has started; use "
					"--root-password-file FILE (- for standard input)");
			pw_arg = true;
			break;
		case OPT_ROOT_PW_FILE:
			if (pw_arg)
				return fail(err, errlen, "give --root-password or --root-password-file, not both");
			if (read_password_file(optarg, cfg, err, errlen) < 0)
				return -1;
			pw_file = true;
			break;
		case OPT_SSH_KEY: cfg->ssh_key = optarg; break;
		case OPT_CLOUD_INIT: cfg->cloud_init = optarg; break;
		case OPT_USER:
			if (!*optarg)
				return fail(err, errlen, "--user needs a user name or UID");
			cfg->user = optarg;
			break;
		case OPT_SECCOMP:
			if (!strcmp(optarg, "on"))
				cfg->seccomp = true;
			else if (!strcmp(optarg, "off"))
				cfg->seccomp = false;
			else
				return fail(err, errlen, "invalid --seccomp '%s': use on or off", optarg);
			break;
		case 'v': cfg->verbose++; break;
		case 'h': return 1;
		case ':':
			return fail(err, errlen, "option '%s' needs a value", argv[optind - 1]);
		default:
			return fail(err, errlen, "unknown option '%s' (see vmm --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return fail(err, errlen, "unexpected argument '%s' (see vmm --help)", argv[optind]);
	if (!cfg->kernel && !cfg->nr_disks)
		return fail(err, errlen, "nothing to boot: give --kernel FILE or --disk IMAGE (see vmm --help)");
	if (!cfg->kernel && cfg->initrd)
		return fail(err, errlen, "--initrd needs --kernel (a disk boot takes the entry's initramfs)");
	if (!cfg->kernel && (!mem_set || !cpus_set)) {
		if (!mem_set)
			cfg->mem_bytes = VMM_DISK_BOOT_MEM;
		if (!cpus_set)
			cfg->nr_cpus = VMM_DISK_BOOT_CPUS;
		cfg->sized_for_disk = true;
	}
	/* NICs without their own vhost= follow --vhost (default auto). */
	if (cfg->vhost == NET_VHOST_DEFAULT)
		cfg->vhost = NET_VHOST_AUTO;
	for (int i = 0; i < cfg->nr_nics; i++)
		if (cfg->nic[i].vhost == NET_VHOST_DEFAULT)
			cfg->nic[i].vhost = cfg->vhost;
	return 0;
}

int cli__parse(int argc, char **argv, enum cli_verb *verb, struct vm_config *cfg,
	       char *err, unsigned errlen)
{
	int r;

	memset(cfg, 0, sizeof(*cfg));
	cfg->params = arch__default_params();
	cfg->mem_bytes = 512 * MiB;
	cfg->nr_cpus = 1;
	cfg->seccomp = true;
	cfg->timeout_s = VMM_STOP_TIMEOUT_S;
	err[0] = '\0';

	if (argc < 2)
		return fail(err, errlen, "no command given (try vmm --help)");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    (!strcmp(argv[1], "help") && argc == 2)) {
		*verb = CLI_VERB_HELP;
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		*verb = CLI_VERB_VERSION;
		return 0;
	}
	if (!strcmp(argv[1], "help")) {         /* vmm help stop */
		if (argc > 3 || !cli__verb_usage(argv[2]))
			return fail(err, errlen, "no help for '%s' (try vmm --help)", argv[2]);
		*verb = CLI_VERB_HELP;
		cfg->help_verb = argv[2];
		return 0;
	}
	r = cli_verbs__parse(argc, argv, verb, cfg, err, errlen);
	if (r <= 0)
		return r;
	/* A reboot would need vmm to reset the VM in place; it ends a VM
	 * whose guest resets instead (docs/running.md). */
	if (!strcmp(argv[1], "reboot"))
		return fail(err, errlen, "vmm reboot is not supported: ACPI has no reboot button, "
			    "and a guest that reboots ends its vmm; stop the VM (vmm stop NAME) and "
			    "run it again");
	if (strcmp(argv[1], "run"))
		return fail(err, errlen, "unknown command '%s' (try vmm --help)", argv[1]);
	*verb = CLI_VERB_RUN;
	r = parse_run(argc - 1, argv + 1, cfg, err, errlen);
	if (r == 1) {
		*verb = CLI_VERB_HELP;
		cfg->help_verb = "run";
		return 0;
	}
	return r;
}
