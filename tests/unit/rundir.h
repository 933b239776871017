/* rundir.h — a private runtime directory (VMM_RUNTIME_DIR) for the
 * tests that run control sockets: made by the group's setup, removed
 * with everything in it by its teardown. Include once per test program. */
#ifndef TESTS_UNIT_RUNDIR_H
#define TESTS_UNIT_RUNDIR_H

#include <stdio.h>
#include <stdlib.h>

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/vmmtest-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	setenv("VMM_RUNTIME_DIR", dir, 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

#endif
