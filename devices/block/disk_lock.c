/* disk_lock.c — flock() for vmm against vmm, QEMU's byte-range locks for
 * vmm against QEMU, qemu-img and qemu-io (see disk_lock.h for the
 * protocol). Only what QEMU documents in its own code is taken: locks
 * are F_OFD_SETLK read locks, one byte each, and the test for another
 * user is F_OFD_GETLK with a write lock, which our own description's
 * locks never fail. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "devices/block/disk_lock.h"

#define NR_PERMS 4

static const char *const perm_name[NR_PERMS] = {
	"consistent read", "write", "write unchanged", "resize",
};

/* F_OFD_SETLK (shared) or F_OFD_GETLK (as exclusive) on one byte.
 * SETLK: 0 or -errno. GETLK: 1 if another description holds a lock
 * there, 0 if not, -errno. */
static int ofd_byte(int fd, int byte, bool test)
{
	struct flock fl = {
		.l_type = test ? F_WRLCK : F_RDLCK,
		.l_whence = SEEK_SET,
		.l_start = byte,
		.l_len = 1,
	};

	if (fcntl(fd, test ? F_OFD_GETLK : F_OFD_SETLK, &fl) < 0)
		return -errno;
	return test ? fl.l_type != F_UNLCK : 0;
}

/* Byte-range locks this file system cannot do: QEMU then goes without
 * them too (locking=auto), and so do we. */
static bool unsupported(int e)
{
	return e == EINVAL || e == ENOLCK || e == EOPNOTSUPP || e == ENOSYS;
}

static int take_qemu_locks(int fd, const char *path, bool write, char *err, size_t errlen)
{
	const unsigned perm = write ? DISK_PERM_ALL : DISK_PERM_CONSISTENT_READ;
	const unsigned shared = DISK_PERM_CONSISTENT_READ | DISK_PERM_WRITE_UNCHANGED;
	int r;

	/* Announce ourselves first, then look: of two users starting at
	 * once, at least one sees the other (as QEMU does it). */
	for (int i = 0; i < NR_PERMS; i++) {
		r = 0;
		if (perm & (1u << i))
			r = ofd_byte(fd, DISK_LOCK_PERM_BASE + i, false);
		if (r == 0 && !(shared & (1u << i)))
			r = ofd_byte(fd, DISK_LOCK_SHARED_BASE + i, false);
		if (r < 0 && unsupported(-r))
			return 0;
		if (r < 0)
			goto busy;
	}
	for (int i = 0; i < NR_PERMS; i++) {
		if (!(perm & (1u << i)))
			continue;
		r = ofd_byte(fd, DISK_LOCK_SHARED_BASE + i, true);
		if (r > 0) {
			snprintf(err, errlen, "disk image %s is in use by another program that does "
				 "not share its \"%s\" permission (a QEMU, qemu-img or qemu-io?)",
				 path, perm_name[i]);
			return -1;
		}
		if (r < 0)
			goto busy;
	}
	for (int i = 0; i < NR_PERMS; i++) {
		if (shared & (1u << i))
			continue;
		r = ofd_byte(fd, DISK_LOCK_PERM_BASE + i, true);
		if (r > 0) {
			snprintf(err, errlen, "disk image %s is in use by another program that holds "
				 "its \"%s\" permission (a QEMU, qemu-img or qemu-io?)",
				 path, perm_name[i]);
			return -1;
		}
		if (r < 0)
			goto busy;
	}
	return 0;
busy:
	if (r == -EAGAIN || r == -EACCES)
		snprintf(err, errlen, "disk image %s is locked by another program", path);
	else
		snprintf(err, errlen, "disk image %s: cannot lock it: %s", path, strerror(-r));
	return -1;
}

int disk_lock__take(int fd, const char *path, bool write, char *err, size_t errlen)
{
	/* vmm against vmm first, for the message that names it. */
	if (flock(fd, (write ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errlen, "disk image %s is in use by another vmm%s", path,
				 write ? "" : " that writes it");
		else
			snprintf(err, errlen, "disk image %s: cannot lock it: %s", path, strerror(errno));
		return -1;
	}
	return take_qemu_locks(fd, path, write, err, errlen);
}
