/* partition.c — MBR (primary + extended/logical chain) and GPT (UEFI 2.x
 * chapter 5: header CRC, entry-array CRC, backup header at the last LBA)
 * partition-table reader. Everything read from the image is untrusted:
 * sizes are bounded before use, entries outside the disk are left out,
 * the logical-partition chain is bounded and loop-checked. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "devices/block/disk.h"
#include "vmm/boot/partition.h"

#define MBR_SECTOR        512
#define MBR_TABLE_OFF     446
#define MBR_TYPE_GPT      0xee
#define LOGICAL_MAX       128          /* EBRs followed at most */
#define GPT_SIG           "EFI PART"
#define GPT_HDR_MIN       92
#define GPT_ENTRY_MIN     128
#define GPT_ARRAY_MAX     (4u << 20)   /* entry array bytes read at most */
#define GPT_NAME_OFF      56
#define GPT_NAME_UNITS    36

struct scan {
	struct disk *d;
	struct partition_table *t;
	size_t cap;
};

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* Append one remark to t->notes ("; " between remarks, truncated). */
static void note(struct partition_table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note(struct partition_table *t, const char *fmt, ...)
{
	size_t used = strlen(t->notes);
	va_list ap;

	if (used && used + 2 < sizeof(t->notes)) {
		memcpy(t->notes + used, "; ", 3);
		used += 2;
	}
	if (used + 1 >= sizeof(t->notes))
		return;
	va_start(ap, fmt);
	vsnprintf(t->notes + used, sizeof(t->notes) - used, fmt, ap);
	va_end(ap);
}

static int rd(struct scan *s, void *buf, size_t len, uint64_t off)
{
	ssize_t n = disk__pread(s->d, buf, len, off);

	return n == (ssize_t)len ? 0 : (n < 0 ? (int)n : -EIO);
}

static int add(struct scan *s, const struct partition *p)
{
	struct partition_table *t = s->t;

	if (t->count >= PARTITION_MAX) {
		if (t->count == PARTITION_MAX)
			note(t, "more than %d partitions: the rest left out", PARTITION_MAX);
		return 0;
	}
	if (t->count == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 8;
		struct partition *np = realloc(t->parts, ncap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		t->parts = np;
		s->cap = ncap;
	}
	t->parts[t->count++] = *p;
	return 0;
}

void partition__guid_text(const uint8_t g[16], char buf[37])
{
	snprintf(buf, 37, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X",
		 le32(g), le16(g + 4), le16(g + 6), g[8], g[9],
		 g[10], g[11], g[12], g[13], g[14], g[15]);
}

/* UTF-16LE (up to 'units', stops at NUL) to UTF-8; bad surrogates -> '?'. */
static void utf16_to_utf8(const uint8_t *in, size_t units, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < units; i++) {
		uint32_t c = le16(in + 2 * i);
		char tmp[4];
		size_t n;

		if (!c)
			break;
		if (c >= 0xd800 && c < 0xdc00 && i + 1 < units &&
		    le16(in + 2 * i + 2) >= 0xdc00 && le16(in + 2 * i + 2) < 0xe000) {
			c = 0x10000 + ((c - 0xd800) << 10) + (le16(in + 2 * i + 2) - 0xdc00);
			i++;
		} else if (c >= 0xd800 && c < 0xe000) {
			c = '?';
		}
		if (c < 0x80) {
			tmp[0] = (char)c;
			n = 1;
		} else if (c < 0x800) {
			tmp[0] = (char)(0xc0 | c >> 6);
			tmp[1] = (char)(0x80 | (c & 0x3f));
			n = 2;
		} else if (c < 0x10000) {
			tmp[0] = (char)(0xe0 | c >> 12);
			tmp[1] = (char)(0x80 | ((c >> 6) & 0x3f));
			tmp[2] = (char)(0x80 | (c & 0x3f));
			n = 3;
		} else {
			tmp[0] = (char)(0xf0 | c >> 18);
			tmp[1] = (char)(0x80 | ((c >> 12) & 0x3f));
			tmp[2] = (char)(0x80 | ((c >> 6) & 0x3f));
			tmp[3] = (char)(0x80 | (c & 0x3f));
			n = 4;
		}
		if (o + n >= outlen)
			break;
		memcpy(out + o, tmp, n);
		o += n;
	}
	out[o] = '\0';
}

/* ---- MBR ------------------------------------------------------------ */

static bool mbr_is_extended(uint8_t type)
{
	return type == 0x05 || type == 0x0f || type == 0x85;
}

/* A sector that is an MBR/EBR: 55 AA and sane boot flags. */
static bool mbr_sane(const uint8_t *sec)
{
	if (sec[510] != 0x55 || sec[511] != 0xaa)
		return false;
	for (int i = 0; i < 4; i++) {
		uint8_t flag = sec[MBR_TABLE_OFF + 16 * i];

		if (flag != 0x00 && flag != 0x80)
			return false;
	}
	return true;
}

static bool mbr_has_entries(const uint8_t *sec)
{
	for (int i = 0; i < 4; i++) {
		const uint8_t *e = sec + MBR_TABLE_OFF + 16 * i;

		if (e[4] && le32(e + 12))
			return true;
	}
	return false;
}

/* Add an MBR partition of 'count' sectors at sector 'lba' if it fits. */
static int mbr_add(struct scan *s, unsigned index, uint8_t type, uint64_t lba,
		   uint64_t count, bool logical)
{
	struct partition p = { .index = index, .mbr_type = type, .logical = logical };
	uint64_t off = lba * MBR_SECTOR, size = count * MBR_SECTOR;

	if (!count || !disk__range_ok(s->d, off, size)) {
		note(s->t, "partition %u (type 0x%02x, sectors %llu+%llu) lies beyond the end of the disk: left out",
		     index, type, (unsigned long long)lba, (unsigned long long)count);
		return 0;
	}
	p.offset = off;
	p.size = size;
	snprintf(p.type, sizeof(p.type), "0x%02x", type);
	return add(s, &p);
}

/* Walk the EBR chain of the extended partition at [start, start+count).
 * Logical partitions are numbered from *next (5 upwards). */
static int mbr_logicals(struct scan *s, uint64_t start, uint64_t count, unsigned *next)
{
	uint64_t seen[LOGICAL_MAX];
	uint64_t cur = start;
	uint8_t sec[MBR_SECTOR];
	int r;

	for (unsigned n = 0;; n++) {
		const uint8_t *e0 = sec + MBR_TABLE_OFF, *e1 = e0 + 16;

		if (n == LOGICAL_MAX) {
			note(s->t, "more than %d logical partitions: the rest left out", LOGICAL_MAX);
			return 0;
		}
		for (unsigned i = 0; i < n; i++) {
			if (seen[i] == cur) {
				note(s->t, "extended partition chain loops back to sector %llu: stopped",
				     (unsigned long long)cur);
				return 0;
			}
		}
		seen[n] = cur;
		if (cur < start || cur >= start + count ||
		    !disk__range_ok(s->d, cur * MBR_SECTOR, MBR_SECTOR)) {
			note(s->t, "extended boot record at sector %llu lies outside the extended partition: stopped",
			     (unsigned long long)cur);
			return 0;
		}
		r = rd(s, sec, sizeof(sec), cur * MBR_SECTOR);
		if (r < 0)
			return r;
		if (sec[510] != 0x55 || sec[511] != 0xaa) {
			note(s->t, "no extended boot record at sector %llu: chain stopped",
			     (unsigned long long)cur);
			return 0;
		}
		if (e0[4] && le32(e0 + 12)) {
			uint64_t lba = cur + le32(e0 + 8), cnt = le32(e0 + 12);

			if (!le32(e0 + 8) || lba + cnt > start + count) {
				note(s->t, "logical partition %u (sectors %llu+%llu) lies outside the extended partition: left out",
				     *next, (unsigned long long)lba, (unsigned long long)cnt);
				(*next)++;
			} else {
				r = mbr_add(s, (*next)++, e0[4], lba, cnt, true);
				if (r < 0)
					return r;
			}
		}
		if (!mbr_is_extended(e1[4]) || !le32(e1 + 12))
			return 0;
		cur = start + le32(e1 + 8);
	}
}

static int mbr_scan(struct scan *s, const uint8_t *sec)
{
	unsigned next_logical = 5;
	int r;

	s->t->scheme = PARTITION_MBR;
	s->t->sector_size = MBR_SECTOR;
	for (unsigned i = 0; i < 4; i++) {
		const uint8_t *e = sec + MBR_TABLE_OFF + 16 * i;
		uint8_t type = e[4];
		uint64_t lba = le32(e + 8), cnt = le32(e + 12);

		if (!type || !cnt)
			continue;
		if (mbr_is_extended(type)) {
			if (!disk__range_ok(s->d, lba * MBR_SECTOR, cnt * MBR_SECTOR)) {
				note(s->t, "extended partition %u lies beyond the end of the disk: left out", i + 1);
				continue;
			}
			r = mbr_logicals(s, lba, cnt, &next_logical);
		} else {
			r = mbr_add(s, i + 1, type, lba, cnt, false);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- GPT ------------------------------------------------------------ */

struct gpt {
	uint64_t first_usable, last_usable, entries_lba;
	uint32_t num_entries, entry_size;
	uint8_t *array;                  /* num_entries * entry_size bytes */
};

/* Read and check the header at 'lba' and its entry array. 0, or -1 with
 * the reason in 'why' (a negative errno for an I/O error). */
static int gpt_read(struct scan *s, unsigned ss, uint64_t lba, struct gpt *g,
		    char *why, size_t whylen)
{
	uint64_t nsect = s->d->size / ss, bytes;
	uint32_t hsize, crc;
	uint8_t *h;
	int r;

	if (lba >= nsect) {
		snprintf(why, whylen, "the disk is too small to hold it");
		return -1;
	}
	h = malloc(ss);
	if (!h)
		return -ENOMEM;
	r = rd(s, h, ss, lba * ss);
	if (r < 0)
		goto out;
	r = -1;
	if (memcmp(h, GPT_SIG, 8)) {
		snprintf(why, whylen, "no \"EFI PART\" signature at LBA %llu", (unsigned long long)lba);
		goto out;
	}
	hsize = le32(h + 12);
	if (hsize < GPT_HDR_MIN || hsize > ss) {
		snprintf(why, whylen, "header size %u out of range", hsize);
		goto out;
	}
	crc = le32(h + 16);
	memset(h + 16, 0, 4);
	if (crc32(0, h, hsize) != crc) {
		snprintf(why, whylen, "header CRC mismatch at LBA %llu", (unsigned long long)lba);
		goto out;
	}
	if (le64(h + 24) != lba) {
		snprintf(why, whylen, "header at LBA %llu says it is at LBA %llu",
			 (unsigned long long)lba, (unsigned long long)le64(h + 24));
		goto out;
	}
	g->first_usable = le64(h + 40);
	g->last_usable = le64(h + 48);
	g->entries_lba = le64(h + 72);
	g->num_entries = le32(h + 80);
	g->entry_size = le32(h + 84);
	if (g->first_usable > g->last_usable || g->last_usable >= nsect) {
		snprintf(why, whylen, "usable area LBA %llu-%llu does not fit the disk (%llu sectors)",
			 (unsigned long long)g->first_usable, (unsigned long long)g->last_usable,
			 (unsigned long long)nsect);
		goto out;
	}
	bytes = (uint64_t)g->num_entries * g->entry_size;
	if (g->entry_size < GPT_ENTRY_MIN || g->entry_size % 8 || bytes > GPT_ARRAY_MAX) {
		snprintf(why, whylen, "entry array of %u entries of %u bytes out of range",
			 g->num_entries, g->entry_size);
		goto out;
	}
	if (g->entries_lba > nsect || !disk__range_ok(s->d, g->entries_lba * ss, bytes) ||
	    (g->entries_lba <= lba && lba < g->entries_lba + (bytes + ss - 1) / ss)) {
		snprintf(why, whylen, "entry array at LBA %llu does not fit the disk",
			 (unsigned long long)g->entries_lba);
		goto out;
	}
	g->array = malloc(bytes ? bytes : 1);
	if (!g->array) {
		r = -ENOMEM;
		goto out;
	}
	r = rd(s, g->array, bytes, g->entries_lba * ss);
	if (r < 0)
		goto out;
	if (crc32(0, g->array, (uInt)bytes) != le32(h + 88)) {
		snprintf(why, whylen, "entry array CRC mismatch (header at LBA %llu)",
			 (unsigned long long)lba);
		r = -1;
		goto out;
	}
	r = 0;
out:
	if (r < 0) {
		if (r != -1)
			snprintf(why, whylen, "cannot read: %s", strerror(-r));
		free(g->array);
		g->array = NULL;
	}
	free(h);
	return r;
}

static int gpt_entries(struct scan *s, unsigned ss, const struct gpt *g)
{
	static const uint8_t zero[16];
	uint64_t nsect = s->d->size / ss;

	for (uint32_t i = 0; i < g->num_entries; i++) {
		const uint8_t *e = g->array + (size_t)i * g->entry_size;
		uint64_t first = le64(e + 32), last = le64(e + 40);
		struct partition p = { .index = i + 1 };
		int r;

		if (!memcmp(e, zero, 16))
			continue;
		if (first > last) {
			note(s->t, "partition %u (LBA %llu-%llu) ends before it starts: left out",
			     i + 1, (unsigned long long)first, (unsigned long long)last);
			continue;
		}
		if (last >= nsect) {
			note(s->t, "partition %u (LBA %llu-%llu) lies beyond the end of the disk: left out",
			     i + 1, (unsigned long long)first, (unsigned long long)last);
			continue;
		}
		if (first < g->first_usable || last > g->last_usable) {
			note(s->t, "partition %u (LBA %llu-%llu) lies outside the usable area: left out",
			     i + 1, (unsigned long long)first, (unsigned long long)last);
			continue;
		}
		p.offset = first * ss;
		p.size = (last - first + 1) * ss;
		partition__guid_text(e, p.type);
		utf16_to_utf8(e + GPT_NAME_OFF, GPT_NAME_UNITS, p.name, sizeof(p.name));
		r = add(s, &p);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Primary header at LBA 1, else the backup at the last LBA. */
static int gpt_scan(struct scan *s, unsigned ss, char *err, size_t errlen)
{
	char why1[160] = "", why2[160] = "";
	uint64_t last = s->d->size / ss - 1;
	struct gpt g = { 0 };
	int r;

	r = gpt_read(s, ss, 1, &g, why1, sizeof(why1));
	if (r < -1)
		return r;
	if (r < 0) {
		r = gpt_read(s, ss, last, &g, why2, sizeof(why2));
		if (r < -1)
			return r;
		if (r < 0)
			return snprintf(err, errlen, "%s: corrupt GPT: primary header: %s; backup header: %s",
					s->d->path, why1, why2), -1;
		s->t->gpt_backup_used = true;
		note(s->t, "primary GPT header is bad (%s): using the backup header at LBA %llu",
		     why1, (unsigned long long)last);
	}
	s->t->scheme = PARTITION_GPT;
	s->t->sector_size = ss;
	r = gpt_entries(s, ss, &g);
	free(g.array);
	return r;
}

/* ---- entry point ---------------------------------------------------- */

int partition__scan(struct disk *d, struct partition_table *out, char *err, size_t errlen)
{
	struct scan s = { .d = d, .t = out };
	uint8_t sec[MBR_SECTOR], lba1[MBR_SECTOR];
	bool pmbr = false, mbr;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (d->size < 2 * MBR_SECTOR) {
		r = 0;
		goto whole;
	}
	r = rd(&s, sec, sizeof(sec), 0);
	if (!r)
		r = rd(&s, lba1, sizeof(lba1), MBR_SECTOR);
	if (r < 0)
		goto ioerr;
	mbr = mbr_sane(sec) && mbr_has_entries(sec);
	for (int i = 0; mbr && i < 4; i++)
		pmbr |= sec[MBR_TABLE_OFF + 16 * i + 4] == MBR_TYPE_GPT;
	if (pmbr || (!mbr && !memcmp(lba1, GPT_SIG, 8))) {
		char err4k[256];

		r = gpt_scan(&s, MBR_SECTOR, err, errlen);
		/* A 4K-sector disk keeps its GPT header at byte 4096. */
		if (r == -1 && d->size >= 2 * 4096 &&
		    gpt_scan(&s, 4096, err4k, sizeof(err4k)) == 0)
			r = 0;
		if (r == -1) {
			partition__free(out);
			return -1;
		}
		if (r < 0)
			goto ioerr;
		if (!pmbr)
			note(out, "GPT without a protective MBR");
	} else if (mbr) {
		r = mbr_scan(&s, sec);
		if (r < 0)
			goto ioerr;
	} else {
whole:
		out->scheme = PARTITION_NONE;
		out->sector_size = MBR_SECTOR;
		r = add(&s, &(struct partition){ .index = 0, .offset = 0, .size = d->size });
		if (r < 0)
			goto ioerr;
	}
	return 0;
ioerr:
	partition__free(out);
	snprintf(err, errlen, "%s: cannot read the partition table: %s", d->path, strerror(-r));
	return -1;
}

void partition__free(struct partition_table *t)
{
	free(t->parts);
	t->parts = NULL;
	t->count = 0;
}
