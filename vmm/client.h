/* client.h — `vmm list/stat/set/stop`: the CLI's side of the control
 * socket (vmm/client.c). Each returns the exit status for main(). */
#ifndef VMM_CLIENT_H
#define VMM_CLIENT_H

#include <stdbool.h>
#include <stdio.h>

/* After "stop" (vmm stop --force, or the timeout): how long the VMM may
 * take to tear down (join its threads, write qcow2 metadata back, remove
 * its tap) before vmm stop says it still runs. */
#define CLIENT_END_WAIT_MS 30000

/* vmm list [--json]: a table, or one JSON array of the VMs' snapshots. */
int client__list(FILE *out, bool json);
/* vmm stat NAME [--json] */
int client__stat(FILE *out, const char *name, bool json);
/* vmm set NAME --vhost on|off [--nic N] (nic -1: every NIC) */
int client__set(FILE *out, const char *name, bool vhost_on, int nic);
/* vmm stop [--timeout S] NAME: press the power button and wait up to
 * timeout_s for the VMM to exit, then end it; with force (vmm stop
 * --force, vmm kill) end it at once. Either way returns once the VMM has
 * exited, saying in one line on 'out' how: "the guest powered off after
 * N s", "did not power off within S s; ended it" or "stopped". */
int client__stop(FILE *out, const char *name, bool force, int timeout_s);

#endif
