/* cli.h — the command line: verbs and `vmm run` options. */
#ifndef VMM_CLI_H
#define VMM_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/diskcfg.h"
#include "devices/net/netcfg.h"

#define VMM_MAX_CPUS 64
#define VMM_MAX_NICS 4
#define VMM_MAX_DISKS 4
#define VMM_MAX_PASSWORD 256    /* bytes of a --root-password(-file) */

struct vm_config {
	const char *name;        /* --name; default "vmm-PID" */
	const char *kernel;      /* -k/--kernel: bzImage or ELF vmlinux; NULL: boot
	                          * the first disk's default BLS entry */
	const char *initrd;      /* -i/--initrd */
	const char *params;      /* -p/--params: kernel command line (appended to
	                          * the entry's options when booting a disk) */
	uint64_t mem_bytes;      /* -m/--mem (MiB, or with K/M/G suffix) */
	int nr_cpus;             /* -c/--cpus */
	bool sized_for_disk;     /* booting a disk with no --mem/--cpus: the
	                          * DISK_BOOT_* sizes were taken (said at boot) */
	bool boot_markers;       /* --boot-markers: print guest boot markers at exit */
	bool no_console;         /* --no-console: guest console to stdout, stdin ignored */
	bool no_rng;             /* --no-rng: no virtio-rng device (default: one) */
	bool detach;             /* -d/--detach: run in the background once the
	                          * vCPUs run (vmm/detach.c) */
	const char *console_log; /* --console-log FILE: guest output to FILE too;
	                          * NULL: with --detach RUNDIR/NAME.console */
	int verbose;             /* -v: more messages */
	bool json;               /* vmm stat/list --json */
	int set_vhost;           /* vmm set --vhost: 1 on, 0 off */
	int set_nic;             /* vmm set --nic N; -1: every NIC */
	bool force;              /* vmm stop --force, vmm kill: end the VM at once */
	int timeout_s;           /* vmm stop --timeout S: wait for the guest's
	                          * poweroff (default VMM_STOP_TIMEOUT_S) */
	const char *help_verb;   /* CLI_VERB_HELP: the verb asked about (vmm stop
	                          * --help); NULL: everything (vmm --help) */
	enum net_vhost vhost;    /* --vhost: default for NICs without vhost= */
	struct net_config nic[VMM_MAX_NICS];  /* --net, in order */
	int nr_nics;
	struct disk_config disk[VMM_MAX_DISKS];  /* --disk, in order: vda, vdb... */
	int nr_disks;
	/* First-boot configuration: a cloud-init NoCloud seed disk. */
	char root_password[VMM_MAX_PASSWORD + 1];  /* --root-password(-file); "" = none.
	                             * A copy: the argv string is overwritten. */
	const char *ssh_key;        /* --ssh-key FILE */
	const char *cloud_init;     /* --cloud-init USER-DATA */
	/* Least privilege (README, "Privileges and sandbox"). */
	const char *user;           /* --user: become this user once set up */
	bool seccomp;               /* --seccomp on (the default for `vmm run`;
	                             * false for library callers that leave it) */
};

/* vmm kill NAME is CLI_VERB_STOP with force. */
enum cli_verb { CLI_VERB_RUN, CLI_VERB_HELP, CLI_VERB_VERSION, CLI_VERB_LIST, CLI_VERB_STOP,
	       CLI_VERB_STAT, CLI_VERB_SET, CLI_VERB_CONSOLE };

/* vmm stop: how long the guest gets to power off after the button. */
#define VMM_STOP_TIMEOUT_S     60
#define VMM_STOP_TIMEOUT_MAX_S 86400

/* A cloud image booted with nothing but --disk runs systemd and
 * cloud-init: 512 MiB and one vCPU (the kernel-boot defaults) are too
 * little for them. Either one given on the command line wins. */
#define VMM_DISK_BOOT_MEM  (1024ULL << 20)
#define VMM_DISK_BOOT_CPUS 2

/* Parse argv (argv[0] is the program). On a user error, writes one line to
 * 'err' and returns -1; otherwise fills *verb and *cfg and returns 0. */
int cli__parse(int argc, char **argv, enum cli_verb *verb, struct vm_config *cfg,
	       char *err, unsigned errlen);
const char *cli__usage(void);
/* The usage of one verb ("run", "stop", ...; vmm VERB --help), or NULL
 * for a word that is no verb. */
const char *cli__verb_usage(const char *verb);

/* cli_verbs.c: the verbs that talk to a running VM (list, stat, stop,
 * kill, set), argv as for cli__parse. 1: argv[1] is none of them; else
 * as cli__parse. */
int cli_verbs__parse(int argc, char **argv, enum cli_verb *verb, struct vm_config *cfg,
		     char *err, unsigned errlen);
/* Their usage texts: verb's, or NULL if it is not one of them. */
const char *cli_verbs__usage(const char *verb);

#endif
