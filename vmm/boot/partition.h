/* partition.h — read the partition table of a disk image: MBR (with the
 * extended/logical chain) or GPT (header and entry-array CRCs checked,
 * the backup header at the last LBA used when the primary is bad).
 *
 * The disk is untrusted: every entry is checked against the disk size and
 * entries that do not fit are left out (and said so in 'notes'); a GPT
 * whose primary and backup headers are both bad is an error, never read
 * half-way. A disk with no recognisable table is one "whole disk"
 * partition (index 0) so that a bare filesystem image can still boot.
 */
#ifndef DEVICES_PARTITION_H
#define DEVICES_PARTITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct disk;

enum partition_scheme { PARTITION_NONE, PARTITION_MBR, PARTITION_GPT };

#define PARTITION_MAX        256   /* partitions returned at most */
#define PARTITION_NAME_MAX   109   /* 36 UTF-16 units as UTF-8, + NUL */

struct partition {
	unsigned index;          /* 1-based like Linux vdaN; 0 = the whole disk */
	uint64_t offset;         /* first byte */
	uint64_t size;           /* bytes */
	char type[37];           /* MBR: "0x83"; GPT: type GUID, upper case */
	char name[PARTITION_NAME_MAX]; /* GPT partition name (UTF-8), else "" */
	uint8_t mbr_type;        /* MBR type byte, 0 for GPT / whole disk */
	bool logical;            /* MBR logical partition (inside an extended one) */
};

struct partition_table {
	enum partition_scheme scheme;
	unsigned sector_size;    /* 512 (or 4096 for a 4K-sector GPT) */
	bool gpt_backup_used;    /* the primary GPT was bad, the backup was read */
	size_t count;
	struct partition *parts; /* malloc'd, 'count' entries, by index */
	char notes[512];         /* what was left out or repaired, "" if nothing */
};

/* Well-known GPT type GUIDs (text as in struct partition.type). */
#define GPT_TYPE_BIOS_BOOT  "21686148-6449-6E6F-744E-656564454649"
#define GPT_TYPE_ESP        "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
#define GPT_TYPE_LINUX_FS   "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
#define GPT_TYPE_XBOOTLDR   "BC13C2FF-59E6-4262-A352-B275FD6F7172"

/* Read the table of 'd'. 0 with 'out' filled (free with partition__free),
 * or -1 with one line in err (unreadable disk, corrupt GPT). */
int partition__scan(struct disk *d, struct partition_table *out, char *err, size_t errlen);
void partition__free(struct partition_table *t);

/* "21686148-6449-6E6F-744E-656564454649" from the 16 on-disk bytes of a
 * GPT GUID (first three fields little-endian). buf: 37 bytes. */
void partition__guid_text(const uint8_t g[16], char buf[37]);

#endif
