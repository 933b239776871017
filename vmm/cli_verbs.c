/* cli_verbs.c — the verbs that talk to a running VM by name (list, stat,
 * stop, kill, set, console): their options and their own `--help` texts. `vmm run`
 * and the overall usage are cli.c's.
 *
 * Every verb answers -h/--help, wherever it stands among the arguments,
 * with its own usage (exit 0): asking how is never an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cli.h"
#include "vmm/control.h"
#include "vmm/util.h"

#define fail util__fail

struct verb_usage {
	const char *verb;
	const char *text;
};

static const struct verb_usage usages[] = {
	{ "list",
"usage: vmm list [--json]\n"
"\n"
"The VMs running as this user (a control socket each in the runtime\n"
"directory): name, pid, state, vCPUs, memory, disks, NICs and their\n"
"datapath. A socket left by a vmm that crashed is removed.\n"
"\n"
"  --json    one JSON array: per VM the object vmm stat --json prints\n" },
	{ "stat",
"usage: vmm stat NAME [--json]\n"
"\n"
"One VM's uptime and counters: exits by reason per vCPU (KVM's and vmm's\n"
"view), NIC packets and bytes (per datapath), kicks and interrupts, disk\n"
"requests, bytes and errors, CPU per thread, refused guest actions.\n"
"\n"
"  --json    the same as one JSON object\n" },
	{ "stop",
"usage: vmm stop [--timeout S] NAME\n"
"       vmm stop --force NAME\n"
"\n"
"Press the VM's ACPI power button and wait up to S seconds for the guest\n"
"to power off; if it has not by then, end the VM. Returns once the VM is\n"
"gone, with one line saying which it was. The guest needs something that\n"
"handles the button (systemd-logind, acpid); one without ignores it and\n"
"is ended at the timeout.\n"
"\n"
"  -t, --timeout S  seconds to wait for the guest (1-86400, default 60)\n"
"  -f, --force      end the VM at once, without asking the guest (vmm\n"
"                   kill): what the guest had not written to its disks\n"
"                   is lost, as when the power is pulled\n" },
	{ "kill",
"usage: vmm kill NAME\n"
"\n"
"End the VM at once, without asking the guest (vmm stop --force): vmm\n"
"still closes its disk images cleanly and removes its tap and control\n"
"socket, but what the guest had not written to its disks is lost.\n" },
	{ "console",
"usage: vmm console NAME\n"
"\n"
"Attach this terminal to the VM's serial console: the guest's recent\n"
"output (the last 64 KiB) first, then live; what you type goes to the\n"
"guest. Ctrl-] detaches and leaves the VM running (end of input does\n"
"too). One client at a time: a second is refused. vmm stat shows\n"
"whether one is attached.\n" },
	{ "set",
"usage: vmm set NAME --vhost on|off [--nic N]\n"
"\n"
"Move a running NIC's queues to the host kernel's vhost-net (on) or to\n"
"vmm's own datapath (off), live: no reset, no reboot, no link flap.\n"
"Returns once the NIC runs on the new datapath. Needs /dev/vhost-net\n"
"opened at start (vmm run --vhost auto or on).\n"
"\n"
"  --nic N   only ethN (0-3; default: every NIC)\n" },
};

const char *cli_verbs__usage(const char *verb)
{
	for (size_t i = 0; i < ARRAY_SIZE(usages); i++)
		if (!strcmp(usages[i].verb, verb))
			return usages[i].text;
	return NULL;
}

static bool is_help(const char *a)
{
	return !strcmp(a, "-h") || !strcmp(a, "--help");
}

static int take_name(const char *verb, const char *a, struct vm_config *cfg, char *err,
		     unsigned errlen)
{
	if (cfg->name)
		return fail(err, errlen, "vmm %s takes one VM name", verb);
	if (!control__valid_name(a))
		return fail(err, errlen, "invalid VM name '%s'", a);
	cfg->name = a;
	return 0;
}

/* S of --timeout S: whole seconds, 1 to VMM_STOP_TIMEOUT_MAX_S. */
static int parse_timeout(const char *v, struct vm_config *cfg, char *err, unsigned errlen)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (*v < '0' || *v > '9' || *end || n < 1 || n > VMM_STOP_TIMEOUT_MAX_S)
		return fail(err, errlen, "vmm stop: invalid --timeout '%s': give seconds from 1 "
			    "to %d", v, VMM_STOP_TIMEOUT_MAX_S);
	cfg->timeout_s = (int)n;
	return 0;
}

/* vmm stop [--timeout S | --force] NAME, vmm kill NAME */
static int parse_stop(int argc, char **argv, struct vm_config *cfg, char *err, unsigned errlen)
{
	bool kill = !strcmp(argv[1], "kill"), timeout = false;

	cfg->force = kill;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (!kill && (!strcmp(a, "--force") || !strcmp(a, "-f"))) {
			cfg->force = true;
		} else if (!kill && (!strcmp(a, "--timeout") || !strcmp(a, "-t"))) {
			if (i + 1 >= argc)
				return fail(err, errlen, "vmm stop: %s needs a value", a);
			if (parse_timeout(argv[++i], cfg, err, errlen) < 0)
				return -1;
			timeout = true;
		} else if (!kill && !strncmp(a, "--timeout=", 10)) {
			if (parse_timeout(a + 10, cfg, err, errlen) < 0)
				return -1;
			timeout = true;
		} else if (a[0] == '-') {
			return fail(err, errlen, "unknown option '%s' for vmm %s", a, argv[1]);
		} else if (take_name(argv[1], a, cfg, err, errlen) < 0) {
			return -1;
		}
	}
	if (!kill && cfg->force && timeout)
		return fail(err, errlen, "vmm stop: give --force or --timeout, not both "
			    "(--force does not wait for the guest)");
	return 0;
}

/* vmm set NAME --vhost on|off [--nic N] */
static int parse_set(int argc, char **argv, struct vm_config *cfg, char *err, unsigned errlen)
{
	cfg->set_vhost = -1;
	cfg->set_nic = -1;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--vhost") || !strcmp(a, "--nic")) {
			if (i + 1 >= argc)
				return fail(err, errlen, "vmm set: %s needs a value", a);
			i++;
			if (!strcmp(a, "--nic")) {
				char *end;
				long n = strtol(argv[i], &end, 10);

				if (*end || end == argv[i] || n < 0 || n >= VMM_MAX_NICS)
					return fail(err, errlen, "vmm set: invalid --nic '%s' (0..%d)",
						    argv[i], VMM_MAX_NICS - 1);
				cfg->set_nic = (int)n;
			} else if (!strcmp(argv[i], "on") || !strcmp(argv[i], "off")) {
				cfg->set_vhost = !strcmp(argv[i], "on");
			} else {
				return fail(err, errlen, "vmm set: invalid --vhost '%s': use on or off",
					    argv[i]);
			}
		} else if (a[0] == '-') {
			return fail(err, errlen, "unknown option '%s' for vmm set", a);
		} else if (take_name("set", a, cfg, err, errlen) < 0) {
			return -1;
		}
	}
	if (!cfg->name)
		return fail(err, errlen, "vmm set needs a VM name (see vmm list)");
	if (cfg->set_vhost < 0)
		return fail(err, errlen, "vmm set needs --vhost on|off");
	return 0;
}

int cli_verbs__parse(int argc, char **argv, enum cli_verb *verb, struct vm_config *cfg,
		     char *err, unsigned errlen)
{
	const char *v = argv[1];
	bool stat = !strcmp(v, "stat");

	if (!cli_verbs__usage(v))
		return 1;
	for (int i = 2; i < argc; i++) {
		if (is_help(argv[i])) {
			*verb = CLI_VERB_HELP;
			cfg->help_verb = v;
			return 0;
		}
	}
	if (!strcmp(v, "set")) {
		*verb = CLI_VERB_SET;
		return parse_set(argc, argv, cfg, err, errlen);
	}
	if (!strcmp(v, "console")) {
		*verb = CLI_VERB_CONSOLE;
		for (int i = 2; i < argc; i++) {
			if (argv[i][0] == '-')
				return fail(err, errlen, "unknown option '%s' for vmm console", argv[i]);
			if (take_name(v, argv[i], cfg, err, errlen) < 0)
				return -1;
		}
	} else if (!strcmp(v, "stop") || !strcmp(v, "kill")) {
		*verb = CLI_VERB_STOP;
		if (parse_stop(argc, argv, cfg, err, errlen) < 0)
			return -1;
	} else {
		/* list [--json], stat NAME [--json] */
		*verb = stat ? CLI_VERB_STAT : CLI_VERB_LIST;
		for (int i = 2; i < argc; i++) {
			if (!strcmp(argv[i], "--json"))
				cfg->json = true;
			else if (argv[i][0] == '-')
				return fail(err, errlen, "unknown option '%s' for vmm %s", argv[i], v);
			else if (!stat)
				return fail(err, errlen, "vmm list takes no VM name");
			else if (take_name(v, argv[i], cfg, err, errlen) < 0)
				return -1;
		}
		if (!stat)
			return 0;
	}
	if (!cfg->name)
		return fail(err, errlen, "vmm %s needs a VM name (see vmm list)", v);
	return 0;
}
