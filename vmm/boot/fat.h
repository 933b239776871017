/* fat.h — build a small FAT12 filesystem image in memory from a list of
 * files, all in the root directory (the cloud-init seed, vmm/boot/cidata.c).
 *
 * The image has 512-byte sectors, one reserved sector (the boot sector),
 * two FATs, a root directory of at least 512 entries and the files stored
 * contiguously, in the order given. Names that are not plain upper-case
 * 8.3 names get VFAT long-name entries and a generated unique short name
 * ("META-D~1"). The image size is a multiple of 1 MiB, at least 1 MiB;
 * the cluster size grows (up to 32 KiB) as the files need, so the largest
 * image holds about 127 MiB of data. Every timestamp is 2020-01-01 00:00
 * so the same input always gives the same bytes.
 */
#ifndef DEVICES_FAT_H
#define DEVICES_FAT_H

#include <stddef.h>
#include <stdint.h>

struct fat_file {
	const char *name;	/* printable ASCII, 1..255 chars, none of "*\/:<>?\| */
	const void *data;	/* may be NULL when len is 0 */
	size_t len;
};

#define FAT_NAME_MAX 255
#define FAT_LABEL_MAX 11

/* Build the image. 'label' is the volume label (1..11 characters valid in
 * an upper-case short name, e.g. "CIDATA") or NULL for none; 'serial' the
 * volume serial number. Names must differ ignoring case. On success
 * returns 0 with a malloc'd image in *img and its size in *img_len; on
 * failure returns -1 with one line in err. */
int fat__build(const char *label, uint32_t serial,
	       const struct fat_file *files, size_t nfiles,
	       uint8_t **img, size_t *img_len, char *err, size_t errlen);

#endif
