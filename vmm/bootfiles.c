/* bootfiles.c — read the kernel and initrd a user names (vmm/bootfiles.h).
 * Shared by every arch's arch__prepare so that a missing, unreadable or
 * oversized file reads the same on x86 and arm64. */
#include <errno.h>
#include <string.h>

#include "vmm/bootfiles.h"
#include "vmm/cli.h"
#include "vmm/log.h"
#include "vmm/util.h"

/* The initrd is copied into guest RAM whole; 4 GiB bounds the read before
 * the RAM check below says the real limit. */
#define INITRD_MAX_SIZE (4 * GiB)

int bootfiles__read(const char *what, const char *path, size_t limit, uint8_t **buf, size_t *len)
{
	int err = util__read_file(path, buf, len, limit);

	if (err == -EFBIG)
		pr_err("%s '%s' is too large (limit %zu MiB)", what, path, (size_t)(limit / MiB));
	else if (err)
		pr_err("cannot read %s '%s': %s", what, path, strerror(-err));
	return err ? -1 : 0;
}

int bootfiles__read_initrd(const struct vm_config *cfg, uint8_t **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	if (!cfg->initrd)
		return 0;
	if (bootfiles__read("initrd", cfg->initrd, INITRD_MAX_SIZE, buf, len) < 0)
		return -1;
	if (*len >= cfg->mem_bytes) {
		pr_err("initrd '%s' (%zu MiB) is larger than guest RAM (%llu MiB): raise --mem",
		       cfg->initrd, *len / (size_t)MiB, (unsigned long long)(cfg->mem_bytes / MiB));
		return -1;
	}
	return 0;
}
