/* privs.h — least privilege: `vmm run --user USER`.
 *
 * Everything that needs root is done before the guest runs: /dev/kvm,
 * taps (creating one needs CAP_NET_ADMIN), /dev/vhost-net, their host
 * configuration over netlink, the disk images and the kernel. Then
 * privs__drop() leaves root for good (supplementary groups, gid, uid; the
 * capabilities go with uid 0), and the guest only ever meets a process
 * of USER. What needs root again at exit is avoided: a tap vmm created is
 * not persistent, so the kernel removes it, with its address and bridge
 * port, when the last fd closes; on a tap it reused, vmm refuses to make
 * host changes it could not undo (virtio/net_tap.c).
 *
 * The control socket lives in USER's runtime directory, created with
 * USER's effective ids (privs__as_user), so USER's `vmm list/stat/stop`
 * find it and vmm can remove it at exit.
 */
#ifndef VMM_PRIVS_H
#define VMM_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PRIVS_NOBODY_UID 65534   /* when /etc/passwd has no "nobody" */

struct privs {
	bool drop;          /* switch to uid/gid once set up (root with --user) */
	uid_t uid;
	gid_t gid;
	char name[64];      /* as given, for messages */
};

/* "NAME" (from /etc/passwd) or "UID[:GID]"; NULL or "" means no --user.
 * Without root, --user may only name the current user (nothing to do).
 * 0, or -1 with one line in err. */
int privs__resolve(const char *spec, struct privs *p, char *err, size_t errlen);

/* Look NAME up in /etc/passwd. 0, or -1 when absent. */
int privs__lookup(const char *name, uid_t *uid, gid_t *gid);

/* Root with --user: run what follows with USER's effective ids (and
 * USER's runtime directory: a root XDG_RUNTIME_DIR is forgotten), then
 * come back with privs__as_root(). No-ops otherwise. 0 or -1 with err. */
int privs__as_user(const struct privs *p, char *err, size_t errlen);
int privs__as_root(const struct privs *p, char *err, size_t errlen);

/* Become uid/gid for good: no supplementary groups but gid, real,
 * effective and saved ids all changed (so no capability is left), and
 * checked by trying to get root back. Not dumpable afterwards: fds root
 * opened stay out of reach of USER's ptrace and /proc/PID/fd. Only as
 * root. 0 or -1 with err. */
int privs__switch(uid_t uid, gid_t gid, char *err, size_t errlen);

/* privs__switch to p's user when p->drop; 0 when there is nothing to do. */
int privs__drop(const struct privs *p, char *err, size_t errlen);

/* Who runs the boot-entry parser child: --user, else nobody when root.
 * false when the child keeps the caller's ids (not root). */
bool privs__parser_ids(const struct privs *p, uid_t *uid, gid_t *gid);

#endif
