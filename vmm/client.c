/* client.c — the verbs that talk to a running VM over its control socket
 * (vmm/control.h): list, stat, set and stop. Each returns the process's
 * exit status; what the user asked for goes to 'out', a failure is one
 * line on stderr.
 *
 * `vmm stop` is the one that waits: it presses the guest's power button
 * ("powerdown"), then waits on a pidfd of the VMM process for it to exit,
 * which it does when the guest powers off; only if the guest has not
 * within the timeout does it end the VM ("stop"), as `--force` does at
 * once. Nothing here sleeps: every wait is a poll with a deadline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/client.h"
#include "vmm/control.h"
#include "vmm/log.h"
#include "vmm/stats.h"
#include "vmm/util.h"

struct list_state {
	FILE *out;
	bool json;
	int n;
	char *buf;      /* STATS_JSON_MAX, for --json */
};

static int list_row(void *opaque, const struct vm_snapshot *s)
{
	struct list_state *l = opaque;

	if (!l->json) {
		stats__print_list_row(l->out, s);
	} else if (stats__json(s, l->buf, STATS_JSON_MAX) >= 0) {
		fprintf(l->out, "%s\n  %s", l->n ? "," : "", l->buf);
	} else {
		pr_warn("%s: snapshot too large for the list", s->name);
		return 0;
	}
	l->n++;
	return 0;
}

int client__list(FILE *out, bool json)
{
	struct list_state l = { .out = out, .json = json };
	char err[256];
	int r;

	if (json && !(l.buf = malloc(STATS_JSON_MAX)))
		return 1;
	if (json)
		fputs("[", out);
	else
		stats__print_list_header(out);
	r = control__list(list_row, &l, true, err, sizeof(err));
	/* --json: one array, whole even when a VM failed to answer */
	if (json)
		fputs(l.n ? "\n]\n" : "]\n", out);
	free(l.buf);
	if (r < 0) {
		pr_err("%s", err);
		return 1;
	}
	return 0;
}

int client__stat(FILE *out, const char *name, bool json)
{
	char *reply = malloc(CONTROL_REPLY_MAX), err[256];
	struct vm_snapshot *s = NULL;
	int status = 1;

	if (!reply)
		return 1;
	if (control__request(name, "stat", reply, CONTROL_REPLY_MAX, NULL, err,
			     sizeof(err)) < 0) {
		pr_err("%s", err);
	} else if (json) {
		fprintf(out, "%s\n", reply);
		status = 0;
	} else if ((s = malloc(sizeof(*s))) && stats__from_json(reply, s) == 0) {
		stats__print_human(out, s);
		status = 0;
	} else {
		pr_err("VM '%s' sent a reply vmm cannot read", name);
	}
	free(s);
	free(reply);
	return status;
}

int client__set(FILE *out, const char *name, bool vhost_on, int nic)
{
	char request[64], reply[1024], err[600];
	const char *m;

	if (nic >= 0)
		snprintf(request, sizeof(request), "set vhost %s nic %d", vhost_on ? "on" : "off",
			 nic);
	else
		snprintf(request, sizeof(request), "set vhost %s", vhost_on ? "on" : "off");
	if (control__request(name, request, reply, sizeof(reply), NULL, err, sizeof(err)) < 0) {
		pr_err("%s", err);
		return 1;
	}
	m = strstr(reply, "\"message\":\"");
	if (m) {
		m += 11;
		fprintf(out, "%.*s\n", (int)strcspn(m, "\""), m);
	}
	return 0;
}

/* "stop" to NAME, then wait for its VMM to exit. 0: gone; 1: still
 * running after CLIENT_END_WAIT_MS (said on stderr); -1: the request
 * failed, with the reason in err. */
static int end_vm(const char *name, char *err, size_t errlen)
{
	char reply[256];
	int pidfd, gone;

	if (control__request_pidfd(name, "stop", reply, sizeof(reply), &pidfd, err, errlen) < 0)
		return -1;
	gone = control__wait_exit(pidfd, CLIENT_END_WAIT_MS);
	close(pidfd);
	if (!gone)
		pr_err("VM '%s' was asked to stop and still runs after %d s", name,
		       CLIENT_END_WAIT_MS / 1000);
	return gone ? 0 : 1;
}

static void say_powered_off(FILE *out, const char *name, uint64_t t0)
{
	fprintf(out, "VM '%s': the guest powered off after %.1f s\n", name,
		(double)(util__now_ns() - t0) / 1e9);
}

int client__stop(FILE *out, const char *name, bool force, int timeout_s)
{
	char reply[256], err[256];
	uint64_t t0;
	bool listening;
	int pidfd, r;

	if (force) {
		r = end_vm(name, err, sizeof(err));
		if (r < 0)
			pr_err("%s", err);
		else if (r == 0)
			fprintf(out, "VM '%s' stopped\n", name);
		return r ? 1 : 0;
	}
	if (control__request_pidfd(name, "powerdown", reply, sizeof(reply), &pidfd, err,
				   sizeof(err)) < 0) {
		pr_err("%s", err);
		return 1;
	}
	t0 = util__now_ns();
	listening = strstr(reply, "\"listening\":true") != NULL;
	if (control__wait_exit(pidfd, timeout_s * 1000)) {
		close(pidfd);
		say_powered_off(out, name, t0);
		return 0;
	}
	r = end_vm(name, err, sizeof(err));
	if (r < 0 && control__wait_exit(pidfd, CLIENT_END_WAIT_MS)) {
		/* "stop" found no VM, or no answer: the VMM was already on its
		 * way out, so the guest powered off after all. */
		close(pidfd);
		say_powered_off(out, name, t0);
		return 0;
	}
	close(pidfd);
	if (r < 0)
		pr_err("the guest did not power off within %d s, and VM '%s' could not be "
		       "ended: %s", timeout_s, name, err);
	else if (r == 0)
		fprintf(out, "VM '%s': the guest did not power off within %d s%s; ended it\n",
			name, timeout_s, listening ? "" :
			" (it had not enabled the ACPI power button)");
	return r ? 1 : 0;
}
