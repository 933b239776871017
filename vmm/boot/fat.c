/* fat.c — a FAT12 filesystem writer: lays out a boot sector with BPB, two
 * FATs, a root directory (volume label, VFAT long names, generated short
 * names) and the file data in one memory buffer. See vmm/boot/fat.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/boot/fat.h"
#include "vmm/util.h"

#define SECTOR			512u
#define RESERVED_SECTORS	1u
#define NUM_FATS		2u
#define DIRENT			32u
#define MIN_ROOT_ENTRIES	512u
#define MAX_ROOT_ENTRIES	65520u		/* a whole number of sectors, fits the u16 field */
/* Stay clear of the FAT12/FAT16 boundary (4085 clusters) that every
 * reader uses to pick the FAT type. */
#define FAT12_MAX_CLUSTERS	(4084u - 16u)
#define MAX_SECTORS_PER_CLUSTER	64u
#define ALIGN_SECTORS		2048u		/* 1 MiB */
#define MEDIA			0xf8
#define LFN_CHARS		13u

#define ATTR_VOLUME_ID		0x08
#define ATTR_ARCHIVE		0x20
#define ATTR_LFN		0x0f
#define LFN_LAST		0x40

/* 2020-01-01 00:00:00 in FAT date/time encoding. */
#define FIXED_DATE		((uint16_t)(((2020 - 1980) << 9) | (1 << 5) | 1))
#define FIXED_TIME		((uint16_t)0)

struct plan {
	uint8_t sfn[11];	/* short name, space padded, no dot */
	bool lossless;		/* the short name is the long name upper-cased */
	bool need_lfn;		/* long-name entries are needed */
	bool named;		/* sfn assigned */
	unsigned lfn_entries;
	uint32_t first_cluster;	/* 0 for an empty file */
};

struct layout {
	uint32_t spc;		/* sectors per cluster */
	uint32_t root_entries;
	uint32_t root_sectors;
	uint32_t fat_sectors;
	uint32_t total_sectors;
	uint32_t clusters;	/* data clusters */
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

/* Characters allowed in a short (8.3) name, after upper-casing. */
static bool sfn_char_ok(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'()-@^_`{}~", c));
}

static bool lfn_char_ok(char c)
{
	return c >= 0x20 && c < 0x7f && !strchr("\"*/:<>?\\|", c);
}

static int check_name(const char *name, char *err, size_t errlen)
{
	size_t len;

	if (!name || !*name)
		return util__fail(err, errlen, "FAT image: empty file name");
	len = strlen(name);
	if (len > FAT_NAME_MAX)
		return util__fail(err, errlen, "FAT image: file name '%.40s...' is longer than %u characters",
				  name, FAT_NAME_MAX);
	for (size_t i = 0; i < len; i++)
		if (!lfn_char_ok(name[i]))
			return util__fail(err, errlen, "FAT image: file name '%s' has a character not allowed in FAT names (0x%02x)",
					  name, (unsigned char)name[i]);
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return util__fail(err, errlen, "FAT image: '%s' is not a file name", name);
	if (name[len - 1] == '.' || name[len - 1] == ' ')
		return util__fail(err, errlen, "FAT image: file name '%s' ends in '%c'", name, name[len - 1]);
	return 0;
}

static int check_label(const char *label, uint8_t out[11], char *err, size_t errlen)
{
	size_t len = strlen(label);

	if (!len || len > FAT_LABEL_MAX)
		return util__fail(err, errlen, "FAT image: volume label '%s' must be 1 to %u characters",
				  label, FAT_LABEL_MAX);
	for (size_t i = 0; i < len; i++)
		if (!sfn_char_ok(label[i]) && label[i] != ' ')
			return util__fail(err, errlen, "FAT image: volume label '%s' has a character not allowed in labels ('%c')",
					  label, label[i]);
	if (label[0] == ' ')
		return util__fail(err, errlen, "FAT image: volume label '%s' starts with a space", label);
	memset(out, ' ', 11);
	memcpy(out, label, len);
	return 0;
}

/* The basis short name of a long name (base up to 8 chars, extension up
 * to 3, upper-cased, bad characters as '_'); true when nothing but case
 * was lost on the way. */
static bool basis_name(const char *name, char base[9], char ext[4])
{
	const char *p = name, *dot;
	bool lossless = true;
	size_t nb = 0, ne = 0;

	while (*p == '.') {
		p++;
		lossless = false;
	}
	dot = strrchr(p, '.');
	for (const char *q = p; *q; q++) {
		char c = (char)toupper((unsigned char)*q);

		if (q == dot)
			continue;
		if (c == ' ' || c == '.') {
			lossless = false;
			continue;
		}
		if (!sfn_char_ok(c)) {
			c = '_';
			lossless = false;
		}
		if (dot && q > dot) {
			if (ne < 3)
				ext[ne++] = c;
			else
				lossless = false;
		} else {
			if (nb < 8)
				base[nb++] = c;
			else
				lossless = false;
		}
	}
	if (dot && !ne)
		lossless = false;
	if (!nb) {
		base[nb++] = '_';
		lossless = false;
	}
	base[nb] = '\0';
	ext[ne] = '\0';
	return lossless;
}

static void pack_sfn(uint8_t sfn[11], const char *base, const char *ext)
{
	memset(sfn, ' ', 11);
	memcpy(sfn, base, strlen(base));
	memcpy(sfn + 8, ext, strlen(ext));
}

static bool sfn_taken(const struct plan *plans, size_t n, const uint8_t *label,
		      const uint8_t sfn[11])
{
	if (label && !memcmp(label, sfn, 11))
		return true;
	for (size_t i = 0; i < n; i++)
		if (plans[i].named && !memcmp(plans[i].sfn, sfn, 11))
			return true;
	return false;
}

/* Give every file its short name: lossless names take their basis first,
 * then the others get the first free numeric tail ("BASE~N"). */
static int plan_names(const struct fat_file *files, size_t nfiles, struct plan *plans,
		      const uint8_t *label, char *err, size_t errlen)
{
	char base[9], ext[4];

	for (size_t i = 0; i < nfiles; i++) {
		size_t len = strlen(files[i].name);

		for (size_t j = 0; j < i; j++)
			if (!strcasecmp(files[i].name, files[j].name))
				return util__fail(err, errlen, "FAT image: file name '%s' given twice (FAT names ignore case)",
						  files[i].name);
		plans[i].lossless = basis_name(files[i].name, base, ext);
		plans[i].need_lfn = !plans[i].lossless;
		for (size_t k = 0; k < len && !plans[i].need_lfn; k++)
			if (islower((unsigned char)files[i].name[k]))
				plans[i].need_lfn = true;
		plans[i].lfn_entries = plans[i].need_lfn ? (unsigned)((len + LFN_CHARS - 1) / LFN_CHARS) : 0;
	}
	for (size_t i = 0; i < nfiles; i++) {
		if (!plans[i].lossless)
			continue;
		basis_name(files[i].name, base, ext);
		pack_sfn(plans[i].sfn, base, ext);
		if (sfn_taken(plans, nfiles, label, plans[i].sfn))
			return util__fail(err, errlen, "FAT image: file name '%s' clashes with the volume label",
					  files[i].name);
		plans[i].named = true;
	}
	for (size_t i = 0; i < nfiles; i++) {
		uint32_t n;

		if (plans[i].lossless)
			continue;
		basis_name(files[i].name, base, ext);
		for (n = 1; n <= 999999; n++) {
			char tail[9];
			int tl = snprintf(tail, sizeof(tail), "~%u", n);
			size_t keep = MIN(strlen(base), 8 - (size_t)tl);

			pack_sfn(plans[i].sfn, "", ext);
			memcpy(plans[i].sfn, base, keep);
			memcpy(plans[i].sfn + keep, tail, (size_t)tl);
			if (!sfn_taken(plans, nfiles, label, plans[i].sfn))
				break;
		}
		if (n > 999999)
			return util__fail(err, errlen, "FAT image: no free short name for '%s'", files[i].name);
		plans[i].named = true;
	}
	return 0;
}

static uint32_t clusters_for(size_t len, uint32_t cluster_bytes)
{
	return (uint32_t)(len / cluster_bytes) + (len % cluster_bytes != 0);
}

/* FAT sectors for 'entries' 12-bit entries. */
static uint32_t fat12_sectors(uint32_t entries)
{
	return (uint32_t)(((uint64_t)entries * 3 + 1) / 2 + SECTOR - 1) / SECTOR;
}

/* Pick the smallest cluster size whose FAT12 layout, rounded up to a whole
 * MiB, fits 'need(spc)' clusters. */
static int plan_layout(const struct fat_file *files, size_t nfiles, uint32_t root_entries,
		       struct layout *lo, char *err, size_t errlen)
{
	uint64_t total_bytes = 0;

	for (size_t i = 0; i < nfiles; i++)
		total_bytes += files[i].len;
	lo->root_entries = root_entries;
	lo->root_sectors = root_entries * DIRENT / SECTOR;
	for (uint32_t spc = 1; spc <= MAX_SECTORS_PER_CLUSTER; spc *= 2) {
		uint32_t need = 0, meta, total;
		bool fits = true;

		for (size_t i = 0; i < nfiles && fits; i++) {
			uint32_t c = clusters_for(files[i].len, spc * SECTOR);

			if (c > FAT12_MAX_CLUSTERS || need + c > FAT12_MAX_CLUSTERS)
				fits = false;
			need += c;
		}
		if (!fits)
			continue;
		meta = RESERVED_SECTORS + lo->root_sectors + NUM_FATS * fat12_sectors(need + 2);
		total = ALIGN_UP(MAX(meta + need * spc, ALIGN_SECTORS), ALIGN_SECTORS);
		for (;;) {
			uint32_t fat = fat12_sectors((total - RESERVED_SECTORS - lo->root_sectors) / spc + 2);
			uint32_t clusters = (total - RESERVED_SECTORS - lo->root_sectors - NUM_FATS * fat) / spc;

			if (clusters > FAT12_MAX_CLUSTERS)
				break;	/* try a bigger cluster */
			if (clusters >= need) {
				lo->spc = spc;
				lo->fat_sectors = fat;
				lo->total_sectors = total;
				lo->clusters = clusters;
				return 0;
			}
			total += ALIGN_SECTORS;
		}
	}
	return util__fail(err, errlen, "FAT image: %llu bytes in %zu files do not fit a FAT12 image",
			  (unsigned long long)total_bytes, nfiles);
}

static void fat12_set(uint8_t *fat, uint32_t n, uint16_t v)
{
	uint8_t *p = fat + n + n / 2;

	if (n & 1) {
		p[0] = (uint8_t)((p[0] & 0x0f) | (v << 4));
		p[1] = (uint8_t)(v >> 4);
	} else {
		p[0] = (uint8_t)v;
		p[1] = (uint8_t)((p[1] & 0xf0) | ((v >> 8) & 0x0f));
	}
}

static void write_boot_sector(uint8_t *b, const struct layout *lo, const uint8_t label[11],
			      uint32_t serial)
{
	/* Not bootable: int 18h (boot the next device), else halt forever. */
	static const uint8_t code[] = { 0xcd, 0x18, 0xfa, 0xf4, 0xeb, 0xfd };

	b[0] = 0xeb;
	b[1] = 0x3c;
	b[2] = 0x90;
	memcpy(b + 3, "MSWIN4.1", 8);
	put16(b + 11, SECTOR);
	b[13] = (uint8_t)lo->spc;
	put16(b + 14, RESERVED_SECTORS);
	b[16] = NUM_FATS;
	put16(b + 17, (uint16_t)lo->root_entries);
	if (lo->total_sectors < 0x10000)
		put16(b + 19, (uint16_t)lo->total_sectors);
	else
		put32(b + 32, lo->total_sectors);
	b[21] = MEDIA;
	put16(b + 22, (uint16_t)lo->fat_sectors);
	put16(b + 24, 32);		/* sectors per track */
	put16(b + 26, 64);		/* heads */
	put32(b + 28, 0);		/* hidden sectors */
	b[36] = 0x80;			/* drive number */
	b[38] = 0x29;			/* extended boot signature */
	put32(b + 39, serial);
	memcpy(b + 43, label, 11);
	memcpy(b + 54, "FAT12   ", 8);
	memcpy(b + 62, code, sizeof(code));
	b[510] = 0x55;
	b[511] = 0xaa;
}

static uint8_t *put_dirent(uint8_t *e, const uint8_t name[11], uint8_t attr,
			   uint32_t cluster, uint32_t size)
{
	memcpy(e, name, 11);
	e[11] = attr;
	put16(e + 14, FIXED_TIME);	/* creation */
	put16(e + 16, FIXED_DATE);
	put16(e + 18, FIXED_DATE);	/* last access */
	put16(e + 20, (uint16_t)(cluster >> 16));
	put16(e + 22, FIXED_TIME);	/* last write */
	put16(e + 24, FIXED_DATE);
	put16(e + 26, (uint16_t)cluster);
	put32(e + 28, size);
	return e + DIRENT;
}

static uint8_t sfn_checksum(const uint8_t sfn[11])
{
	uint8_t sum = 0;

	for (int i = 0; i < 11; i++)
		sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + sfn[i]);
	return sum;
}

/* Long-name entries, last part first, each 13 UCS-2 characters with a
 * NUL after the name and 0xFFFF padding. */
static uint8_t *put_lfn(uint8_t *e, const char *name, const struct plan *pl)
{
	static const uint8_t pos[LFN_CHARS] = { 1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30 };
	size_t len = strlen(name);
	uint8_t sum = sfn_checksum(pl->sfn);

	for (unsigned k = pl->lfn_entries; k >= 1; k--) {
		e[0] = (uint8_t)(k | (k == pl->lfn_entries ? LFN_LAST : 0));
		e[11] = ATTR_LFN;
		e[13] = sum;
		for (unsigned i = 0; i < LFN_CHARS; i++) {
			size_t idx = (size_t)(k - 1) * LFN_CHARS + i;
			uint16_t ch = idx < len ? (uint8_t)name[idx] : idx == len ? 0 : 0xffff;

			put16(e + pos[i], ch);
		}
		e += DIRENT;
	}
	return e;
}

int fat__build(const char *label, uint32_t serial,
	       const struct fat_file *files, size_t nfiles,
	       uint8_t **img, size_t *img_len, char *err, size_t errlen)
{
	uint8_t label_sfn[11], *buf, *fat, *dir, *data;
	struct plan *plans;
	struct layout lo = { 0 };
	uint64_t entries;
	uint32_t next = 2;

	if (label && check_label(label, label_sfn, err, errlen))
		return -1;
	if (!label)
		memcpy(label_sfn, "NO NAME    ", 11);
	entries = label ? 1 : 0;
	for (size_t i = 0; i < nfiles; i++) {
		if (check_name(files[i].name, err, errlen))
			return -1;
		if (files[i].len > UINT32_MAX)
			return util__fail(err, errlen, "FAT image: file '%s' is larger than 4 GiB", files[i].name);
		if (files[i].len && !files[i].data)
			return util__fail(err, errlen, "FAT image: file '%s' has no data", files[i].name);
	}
	plans = calloc(nfiles ? nfiles : 1, sizeof(*plans));
	if (!plans)
		return util__fail(err, errlen, "FAT image: %s", strerror(ENOMEM));
	if (plan_names(files, nfiles, plans, label ? label_sfn : NULL, err, errlen))
		goto fail;
	for (size_t i = 0; i < nfiles; i++)
		entries += 1 + plans[i].lfn_entries;
	if (entries > MAX_ROOT_ENTRIES) {
		util__fail(err, errlen, "FAT image: %zu files need %llu root directory entries, more than %u",
			   nfiles, (unsigned long long)entries, MAX_ROOT_ENTRIES);
		goto fail;
	}
	if (plan_layout(files, nfiles, MAX(MIN_ROOT_ENTRIES, ALIGN_UP((uint32_t)entries, SECTOR / DIRENT)),
			&lo, err, errlen))
		goto fail;

	buf = calloc(lo.total_sectors, SECTOR);
	if (!buf) {
		util__fail(err, errlen, "FAT image: %s (%u MiB)", strerror(ENOMEM),
			   lo.total_sectors / ALIGN_SECTORS);
		goto fail;
	}
	write_boot_sector(buf, &lo, label_sfn, serial);
	fat = buf + RESERVED_SECTORS * SECTOR;
	dir = fat + (size_t)NUM_FATS * lo.fat_sectors * SECTOR;
	data = dir + (size_t)lo.root_sectors * SECTOR;
	fat12_set(fat, 0, 0xf00 | MEDIA);
	fat12_set(fat, 1, 0xfff);
	if (label)
		dir = put_dirent(dir, label_sfn, ATTR_VOLUME_ID, 0, 0);
	for (size_t i = 0; i < nfiles; i++) {
		uint32_t n = clusters_for(files[i].len, lo.spc * SECTOR);

		plans[i].first_cluster = n ? next : 0;
		for (uint32_t c = 0; c < n; c++, next++)
			fat12_set(fat, next, c + 1 < n ? (uint16_t)(next + 1) : 0xfff);
		if (files[i].len)
			memcpy(data + (size_t)(plans[i].first_cluster - 2) * lo.spc * SECTOR,
			       files[i].data, files[i].len);
		if (plans[i].need_lfn)
			dir = put_lfn(dir, files[i].name, &plans[i]);
		dir = put_dirent(dir, plans[i].sfn, ATTR_ARCHIVE, plans[i].first_cluster,
				 (uint32_t)files[i].len);
	}
	for (uint32_t f = 1; f < NUM_FATS; f++)
		memcpy(fat + (size_t)f * lo.fat_sectors * SECTOR, fat, (size_t)lo.fat_sectors * SECTOR);
	free(plans);
	*img = buf;
	*img_len = (size_t)lo.total_sectors * SECTOR;
	return 0;
fail:
	free(plans);
	return -1;
}
