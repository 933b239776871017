/* parse_child.h — find a disk's boot entry in a throw-away child.
 *
 * The partition tables, ext2/3/4 and btrfs, BLS entries, grubenv and
 * grub.cfg that diskboot__find() parses all belong to the guest, and the
 * parsers are large. So they run in a forked child that holds nothing
 * worth taking: it re-opens the disks read-only, becomes --user (or
 * nobody), gets the strict "parser" seccomp filter (read the open disks,
 * memory, sealed memfds, one socket back: no open, no exec, no network)
 * and then parses. It sends back only the sealed kernel and initramfs
 * memfds (SCM_RIGHTS), the command line and the description; the parent
 * checks the seals and sizes before using them. A child that is not done
 * within the time limit is killed; a crash is one error line.
 */
#ifndef VMM_PARSE_CHILD_H
#define VMM_PARSE_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "vmm/boot/diskboot.h"

#define PARSE_CHILD_TIMEOUT_MS 60000
#define PARSE_CHILD_CMDLINE_MAX (64u << 10)   /* BLS expansion is capped there too */
#define PARSE_CHILD_TEXT_MAX    4096          /* description, error */

struct disk;

struct parse_child_opts {
	bool seccomp;           /* load the parser filter (--seccomp on) */
	bool switch_ids;        /* become uid/gid first (only as root) */
	uid_t uid;
	gid_t gid;
	unsigned timeout_ms;    /* 0: PARSE_CHILD_TIMEOUT_MS */
	/* What the child runs; NULL: diskboot__find. (Tests hang or crash
	 * here.) */
	int (*find)(struct disk *d, struct diskboot *out, char *err, size_t errlen);
};

/* diskboot__find(d, out, ...) in a child as above. Same contract: 0 with
 * *out filled (its memfds are the parent's own), or -1 with one line in
 * err (the parser's own message, or what became of the child). */
int parse_child__find(struct disk *d, struct diskboot *out, const struct parse_child_opts *o,
		      char *err, size_t errlen);

#endif
