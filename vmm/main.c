/* main.c — `vmm`: parse the command line, then run a VM or talk to one. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/cli.h"
#include "vmm/control.h"
#include "vmm/log.h"
#include "vmm/stats.h"
#include "vmm/vm.h"

#ifndef VMM_VERSION
#define VMM_VERSION "0.1"
#endif

static int list_row(void *opaque, const struct vm_snapshot *s)
{
	int *n = opaque;

	stats__print_list_row(stdout, s);
	(*n)++;
	return 0;
}

static int do_list(void)
{
	char err[256];
	int n = 0;

	stats__print_list_header(stdout);
	if (control__list(list_row, &n, true, err, sizeof(err)) < 0) {
		pr_err("%s", err);
		return 1;
	}
	return 0;
}

/* vmm stop NAME / vmm stat NAME [--json] */
static int do_request(const struct vm_config *cfg, enum cli_verb verb)
{
	char *reply = malloc(CONTROL_REPLY_MAX), err[256];
	struct vm_snapshot *s = NULL;
	bool stale = false;
	int status = 1;

	if (!reply)
		return 1;
	if (control__request(cfg->name, verb == CLI_VERB_STOP ? "stop" : "stat", reply,
			     CONTROL_REPLY_MAX, &stale, err, sizeof(err)) < 0) {
		pr_err("%s", err);
		goto out;
	}
	if (verb == CLI_VERB_STOP) {
		pr_info("asked VM '%s' to stop", cfg->name);
		status = 0;
	} else if (cfg->json) {
		fputs(reply, stdout);
		status = 0;
	} else if ((s = malloc(sizeof(*s))) && stats__from_json(reply, s) == 0) {
		stats__print_human(stdout, s);
		status = 0;
	} else {
		pr_err("VM '%s' sent a reply vmm cannot read", cfg->name);
	}
out:
	free(s);
	free(reply);
	return status;
}

/* vmm set NAME --vhost on|off [--nic N]: returns once the switch is
 * done, saying which datapath each NIC now runs. */
static int do_set(const struct vm_config *cfg)
{
	char request[64], reply[1024], err[600];
	const char *m;

	if (cfg->set_nic >= 0)
		snprintf(request, sizeof(request), "set vhost %s nic %d",
			 cfg->set_vhost ? "on" : "off", cfg->set_nic);
	else
		snprintf(request, sizeof(request), "set vhost %s", cfg->set_vhost ? "on" : "off");
	if (control__request(cfg->name, request, reply, sizeof(reply), NULL, err,
			     sizeof(err)) < 0) {
		pr_err("%s", err);
		return 1;
	}
	m = strstr(reply, "\"message\":\"");
	if (m) {
		m += 11;
		printf("%.*s\n", (int)strcspn(m, "\""), m);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct vm_config cfg;
	enum cli_verb verb;
	static struct vm vm;
	static char default_name[32];
	struct sigaction ign = { .sa_handler = SIG_IGN };
	char err[256];
	int status;

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
		fputs(cli__usage(), stdout);
		return 0;
	case CLI_VERB_VERSION:
		printf("vmm %s\n", VMM_VERSION);
		return 0;
	case CLI_VERB_LIST:
		return do_list();
	case CLI_VERB_STOP:
	case CLI_VERB_STAT:
		return do_request(&cfg, verb);
	case CLI_VERB_SET:
		return do_set(&cfg);
	case CLI_VERB_RUN:
		break;
	}
	log__verbosity = LOG_INFO + cfg.verbose;
	if (!cfg.name) {
		snprintf(default_name, sizeof(default_name), "vmm-%d", (int)getpid());
		cfg.name = default_name;
	}
	if (vm__init(&vm, &cfg) < 0) {
		vm__destroy(&vm);
		return 1;
	}
	status = vm__run(&vm);
	vm__destroy(&vm);
	log__flush_suppressed();        /* counts of rate-limited guest messages */
	return status;
}
