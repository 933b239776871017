/* cidata.h — the cloud-init NoCloud seed behind --root-password,
 * --ssh-key and --cloud-init: a small read-only FAT disk labelled CIDATA
 * holding 'meta-data' and 'user-data', which cloud-init's NoCloud
 * datasource finds and applies on first boot (the job virt-sysprep did).
 *
 * user-data:
 *  - --root-password and/or --ssh-key only: a generated #cloud-config
 *    (root's password set, not expiring, password ssh logins allowed; the
 *    keys authorised for root and the image's default user);
 *  - --cloud-init FILE only: FILE verbatim;
 *  - both: a MIME multipart/mixed document, the generated #cloud-config
 *    first and FILE second, which cloud-init merges (FILE wins on clashes).
 * meta-data: "instance-id: ID\nlocal-hostname: NAME\n" (the hostname line
 * only when a hostname is given). The default instance id is "vmm-" and
 * 16 hex digits of a hash of the hostname and user-data: the same
 * configuration keeps its id, a changed one makes cloud-init run its
 * first-boot modules again.
 */
#ifndef DEVICES_CIDATA_H
#define DEVICES_CIDATA_H

#include <stddef.h>

struct disk;

struct cidata_config {
	const char *instance_id;	/* NULL: derived from the content */
	const char *hostname;		/* NULL: no local-hostname */
	const char *root_password;	/* --root-password, or NULL */
	const char *ssh_key_path;	/* --ssh-key (an OpenSSH .pub / authorized_keys file), or NULL */
	const char *user_data_path;	/* --cloud-init, or NULL */
};

/* The user-data text (malloc'd, NUL-terminated; a --cloud-init file that
 * holds NUL bytes is cut at the first one here, cidata__create() keeps it
 * whole). NULL on failure with one line in err. */
char *cidata__user_data(const struct cidata_config *cfg, char *err, size_t errlen);

/* The meta-data text (malloc'd). NULL on failure with one line in err. */
char *cidata__meta_data(const struct cidata_config *cfg, char *err, size_t errlen);

/* The read-only seed disk (a FAT image in memory, label CIDATA, serial
 * "cidata"). NULL on failure with one line in err, e.g.
 * "--ssh-key /x: No such file or directory". */
struct disk *cidata__create(const struct cidata_config *cfg, char *err, size_t errlen);

#endif
