/* fuzz_diskboot.c — libFuzzer target for the whole direct-boot search
 * (vmm/boot/diskboot.c: diskboot__find): partition table, every ext2/3/4 and
 * btrfs filesystem on it (subvolumes as roots), BLS entries and grubenv,
 * else grub.cfg, then the kernel and initrds copied into sealed memfds.
 * The input is the disk image (raw, or sparse as fuzz_image.h
 * describes). Boot files are capped at 8 MiB together (boot_files_max,
 * as vmm/disks.c caps them at half the guest's RAM). Besides crashes it
 * checks the result and that every fd the search opened is closed. */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/block/disk.h"
#include "tests/fuzz/fuzz_image.h"
#include "tests/fuzz/fuzz_util.h"
#include "vmm/boot/diskboot.h"
#include "vmm/log.h"

#define BOOT_FILES_MAX (8u << 20)

static int devnull = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log__verbosity = LOG_ERR;   /* notes about tables and superblocks */
	devnull = open("/dev/null", O_RDONLY);
	return devnull < 0;
}

/* The lowest fd not in use: taken before and after each run, it grows if
 * the run leaked one (libFuzzer may hold others between runs). */
static int free_fd(void)
{
	int fd = dup(devnull);

	close(fd);
	return fd;
}

static off_t fd_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? -1 : st.st_size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct disk *d = fuzz_image__disk(data, size);
	struct diskboot b;
	char err[1024];
	int lowest_free_fd = free_fd();

	if (!d)
		return 0;
	d->boot_files_max = BOOT_FILES_MAX;
	if (diskboot__find(d, &b, err, sizeof(err)) == 0) {
		off_t k = fd_size(b.kernel_fd), i = b.initrd_fd >= 0 ? fd_size(b.initrd_fd) : 0;

		FUZZ_CHECK(k >= 0 && i >= 0, "kernel fd %d, initrd fd %d", b.kernel_fd, b.initrd_fd);
		FUZZ_CHECK((uint64_t)k + (uint64_t)i <= BOOT_FILES_MAX,
			   "%lld + %lld bytes of boot files", (long long)k, (long long)i);
		FUZZ_CHECK(b.cmdline && b.description, "no cmdline or description");
		diskboot__free(&b);
	} else {
		FUZZ_CHECK(err[0], "failure without a reason");
	}
	disk__close(d);
	FUZZ_CHECK(free_fd() == lowest_free_fd, "an fd leaked (lowest free %d, was %d)",
		   free_fd(), lowest_free_fd);
	return 0;
}
