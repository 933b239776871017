/* fuzz_extfs.c — libFuzzer target for vmm/boot/extfs.c (over libext2fs):
 * the input is a disk image (raw, or sparse as fuzz_image.h describes)
 * holding an ext2/3/4 filesystem at byte 0, opened and read the way
 * direct boot does: stat, whole files into memory and into an fd,
 * directory listings, symbolic links (relative, absolute, loops).
 * libext2fs itself is Debian's build (no coverage feedback inside it,
 * but ASan still sees what it does to the heap). */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "devices/block/disk.h"
#include "vmm/boot/extfs.h"
#include "tests/fuzz/fuzz_image.h"
#include "tests/fuzz/fuzz_util.h"

#define CAP (256u << 10)

static int devnull = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	devnull = open("/dev/null", O_WRONLY);
	return 0;
}

static void list(struct extfs *fs, const char *path)
{
	char err[256], **names;
	size_t count;
	bool truncated;

	if (extfs__list_dir(fs, path, 64, &names, &count, &truncated, err, sizeof(err)))
		return;
	FUZZ_CHECK(count <= 64, "%zu names", count);
	for (size_t i = 0; i < count; i++)
		FUZZ_CHECK(names[i] && strcmp(names[i], ".") && strcmp(names[i], ".."),
			   "name %zu", i);
	extfs__free_names(names, count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {
		"boot/loader/entries/a.conf", "boot/vmlinuz", "boot/grub2/grubenv",
		"boot/link", "/abs", "loop1", "big", "inline", "boot/../big", "/",
	};
	struct disk *d = fuzz_image__disk(data, size);
	struct extfs *fs;
	char err[256];

	if (!d)
		return 0;
	extfs__probe(d, 0, d->size);
	fs = extfs__open(d, 0, d->size, err, sizeof(err));
	if (fs) {
		FUZZ_CHECK(extfs__kind(fs) && extfs__label(fs), "no kind or label");
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			enum extfs_type type;
			uint64_t fsize, len;
			uint8_t *buf;
			size_t blen;

			extfs__stat(fs, paths[i], &type, &fsize, err, sizeof(err));
			if (!extfs__read_file(fs, paths[i], CAP, &buf, &blen, err, sizeof(err))) {
				FUZZ_CHECK(blen <= CAP && buf[blen] == 0, "%zu bytes read", blen);
				free(buf);
			}
			if (!extfs__read_to_fd(fs, paths[i], CAP, devnull, &len, err, sizeof(err)))
				FUZZ_CHECK(len <= CAP, "%llu bytes copied", (unsigned long long)len);
		}
		list(fs, "/");
		list(fs, "boot/loader/entries");
		list(fs, "many");
		extfs__close(fs);
	}
	disk__close(d);
	return 0;
}
