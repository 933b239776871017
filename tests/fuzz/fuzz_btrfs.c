/* fuzz_btrfs.c — libFuzzer target for vmm/boot/btrfs*.c: the input is a
 * disk image (raw or sparse, see fuzz_image.h) holding a btrfs
 * filesystem at byte 0; open it and use it the way direct boot does. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "vmm/boot/btrfs.h"
#include "devices/block/disk.h"
#include "tests/fuzz/fuzz_image.h"
#include "vmm/log.h"

static int devnull = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log__verbosity = LOG_ERR;       /* backup-superblock warnings */
	devnull = open("/dev/null", O_WRONLY);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {
		"boot/loader/entries/a.conf", "boot/vmlinuz", "boot/link", "root/small",
		"home/x", "boot/../root/mid", "/",
	};
	struct disk *d = fuzz_image__disk(data, size);
	char err[256], def[256], **names;
	struct btrfs *fs;
	size_t count;
	bool truncated;

	if (!d)
		return 0;
	/* open even without the primary magic: the backups may be good */
	btrfs__probe(d, 0, d->size);
	fs = btrfs__open(d, 0, d->size, err, sizeof(err));
	if (fs) {
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			enum btrfs_type type;
			uint64_t fsize, len;
			uint8_t *buf;
			size_t blen;

			btrfs__stat(fs, paths[i], &type, &fsize, err, sizeof(err));
			if (!btrfs__read_file(fs, paths[i], 256 << 10, &buf, &blen, err, sizeof(err)))
				free(buf);
			btrfs__read_to_fd(fs, paths[i], 256 << 10, devnull, &len, err, sizeof(err));
		}
		if (!btrfs__list_dir(fs, "/", 64, &names, &count, &truncated, err, sizeof(err)))
			btrfs__free_names(names, count);
		if (!btrfs__list_dir(fs, "boot/loader/entries", 64, &names, &count, &truncated,
				     err, sizeof(err)))
			btrfs__free_names(names, count);
		if (!btrfs__list_subvolumes(fs, &names, &count, err, sizeof(err)))
			btrfs__free_names(names, count);
		btrfs__default_subvolume(fs, def, sizeof(def), err, sizeof(err));
		btrfs__close(fs);
	}
	disk__close(d);
	return 0;
}
