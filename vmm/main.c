/* main.c — `vmm`: parse the command line, build the VM, run it. */
#include <stdio.h>
#include <unistd.h>

#include "vmm/cli.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#ifndef VMM_VERSION
#define VMM_VERSION "0.1"
#endif

int main(int argc, char **argv)
{
	struct vm_config cfg;
	enum cli_verb verb;
	struct vm vm;
	char err[256];
	int status;

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
	case CLI_VERB_RUN:
		break;
	}
	log__verbosity = LOG_INFO + cfg.verbose;
	if (vm__init(&vm, &cfg) < 0) {
		vm__destroy(&vm);
		return 1;
	}
	status = vm__run(&vm);
	vm__destroy(&vm);
	return status;
}
