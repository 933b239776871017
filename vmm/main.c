/* main.c — `vmm`: parse the command line, then run a VM or talk to one. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/cli.h"
#include "vmm/client.h"
#include "vmm/console_client.h"
#include "vmm/detach.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#ifndef VMM_VERSION
#define VMM_VERSION "0.1"
#endif

int main(int argc, char **argv)
{
	struct vm_config cfg;
	enum cli_verb verb;
	static struct vm vm;
	static char default_name[32];
	struct sigaction ign = { .sa_handler = SIG_IGN };
	char err[256];
	int status, ready_fd = -1;

	/* A closed stdout or stderr pipe must not kill vmm mid-write: writes
	 * fail with EPIPE instead, and a VM still ends cleanly (qcow2
	 * metadata written back, tap removed). */
	sigaction(SIGPIPE, &ign, NULL);
	if (cli__parse(argc, argv, &verb, &cfg, err, sizeof(err)) < 0) {
		pr_err("%s", err);
		return 2;
	}
	switch (verb) {
	case CLI_VERB_HELP:
		fputs(cfg.help_verb ? cli__verb_usage(cfg.help_verb) : cli__usage(), stdout);
		return 0;
	case CLI_VERB_VERSION:
		printf("vmm %s\n", VMM_VERSION);
		return 0;
	case CLI_VERB_LIST:
		return client__list(stdout, cfg.json);
	case CLI_VERB_STAT:
		return client__stat(stdout, cfg.name, cfg.json);
	case CLI_VERB_STOP:
		return client__stop(stdout, cfg.name, cfg.force, cfg.timeout_s);
	case CLI_VERB_SET:
		return client__set(stdout, cfg.name, cfg.set_vhost == 1, cfg.set_nic);
	case CLI_VERB_CONSOLE:
		return console_client__run(cfg.name);
	case CLI_VERB_RUN:
		break;
	}
	log__verbosity = LOG_INFO + cfg.verbose;
	if (cfg.detach) {
		pid_t child = 0;
		int r = detach__fork(&ready_fd, &child);

		if (r < 0)
			return 1;
		if (r > 0) {    /* the vmm the user started: the VMM's pid names it */
			if (!cfg.name) {
				snprintf(default_name, sizeof(default_name), "vmm-%d", (int)child);
				cfg.name = default_name;
			}
			return detach__wait(cfg.name, child, ready_fd);
		}
	}
	if (!cfg.name) {
		snprintf(default_name, sizeof(default_name), "vmm-%d", (int)getpid());
		cfg.name = default_name;
	}
	if (vm__init(&vm, &cfg) < 0) {
		vm__destroy(&vm);
		return 1;
	}
	vm.files.ready_fd = ready_fd;   /* vm__init left it -1 */
	status = vm__run(&vm);
	vm__destroy(&vm);
	log__flush_suppressed();        /* counts of rate-limited guest messages */
	return status;
}
