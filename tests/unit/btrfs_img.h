/* btrfs_img.h — helpers shared by test_btrfs.c and test_btrfs_corrupt.c:
 * shell commands in a temporary directory, deterministic file contents,
 * and a small tree-block scanner that finds every copy of every tree
 * block in an image file (by fsid and checksum) so tests can patch leaf
 * items and node pointers and recompute the checksum afterwards. */
#ifndef TESTS_UNIT_BTRFS_IMG_H
#define TESTS_UNIT_BTRFS_IMG_H

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/boot/btrfs_priv.h"
#include "vmm/boot/crc32c.h"
#include "vmm/util.h"

/* Not every test file uses every helper. */
#define HELPER static __attribute__((unused))

static char tmpdir[64];

HELPER uint32_t le32_at(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
HELPER int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int n, rc;

	n = snprintf(cmd, sizeof(cmd), "PATH=\"$PATH:/usr/sbin:/sbin\"; cd '%s' && ( ", tmpdir);
	va_start(ap, fmt);
	n += vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	snprintf(cmd + n, sizeof(cmd) - (size_t)n, " ) >/dev/null 2>sh.err");
	rc = system(cmd);
	if (rc)
		fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
	return rc;
}

HELPER const char *tpath(const char *rel)
{
	static char path[4][640];
	static unsigned int next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", tmpdir, rel);
	return p;
}

/* n bytes that compress well (text lines) or not at all, by seed. */
HELPER uint8_t *make_data(size_t n, unsigned int seed, bool text)
{
	uint8_t *b = malloc(n + 1);
	size_t i = 0;

	if (!b)
		abort();
	while (text && i < n) {
		char line[64];
		int l = snprintf(line, sizeof(line), "line %zu of file %u, some words\n", i, seed);

		memcpy(b + i, line, MIN((size_t)l, n - i));
		i += (size_t)l;
	}
	for (; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (uint8_t)(seed >> 16);
	}
	return b;
}

HELPER int write_file(const char *rel, const void *data, size_t len)
{
	char dir[640];
	const char *path = tpath(rel);
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	if (sh("mkdir -p '%s'", dir))
		return -1;
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len)
		return -1;
	return fclose(f);
}

HELPER int put_data(const char *rel, size_t n, unsigned int seed, bool text)
{
	uint8_t *b = make_data(n, seed, text);
	int r = write_file(rel, b, n);

	free(b);
	return r;
}

/* Read a whole file of the host (NULL when missing). */
HELPER uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		b = malloc((size_t)n + 1);
		if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
			free(b);
			b = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return b;
}

/* ---- tree blocks in an image file --------------------------------- */

struct tblock {
	uint64_t phys;                  /* byte offset in the image file */
	uint64_t logical;
	uint8_t level;
};

struct tscan {
	uint32_t nodesize;
	uint8_t fsid[16];
	struct tblock *v;
	size_t n;
};

HELPER uint32_t block_csum(const uint8_t *b, uint32_t nodesize)
{
	return crc32c__crc(b + BTRFS_CSUM_SIZE, nodesize - BTRFS_CSUM_SIZE);
}

HELPER void block_fix_csum(uint8_t *b, uint32_t nodesize)
{
	uint32_t c = htole32(block_csum(b, nodesize));

	memset(b, 0, BTRFS_CSUM_SIZE);
	memcpy(b, &c, 4);
}

/* Every copy of every tree block of the filesystem at byte 'base' of
 * 'path' (the filesystem is assumed to lie at its start otherwise). */
HELPER int tscan(const char *path, uint64_t base, struct tscan *s)
{
	struct btrfs_sb_disk sb;
	int fd = open(path, O_RDONLY);
	off_t end;
	uint8_t *b;

	memset(s, 0, sizeof(*s));
	if (fd < 0 || pread(fd, &sb, sizeof(sb), (off_t)(base + BTRFS_SUPER_OFFSET)) != sizeof(sb))
		return -1;
	s->nodesize = le32toh(sb.nodesize);
	memcpy(s->fsid, sb.fsid, 16);
	end = lseek(fd, 0, SEEK_END);
	b = malloc(s->nodesize);
	for (uint64_t off = base; b && off + s->nodesize <= (uint64_t)end; off += s->nodesize) {
		const struct btrfs_header_disk *h = (const void *)b;
		off_t data = lseek(fd, (off_t)off, SEEK_DATA);

		/* skip the holes of a sparse image quickly */
		if (data < 0)
			break;
		if ((uint64_t)data >= off + s->nodesize) {
			off = ((uint64_t)data - base) / s->nodesize * s->nodesize + base - s->nodesize;
			continue;
		}
		if (pread(fd, b, s->nodesize, (off_t)off) != (ssize_t)s->nodesize)
			break;
		if (memcmp(h->fsid, s->fsid, 16) || le32_at(h->csum) != block_csum(b, s->nodesize))
			continue;
		/* a superblock copy looks like a 4 KiB tree block */
		if (!memcmp(b + BTRFS_MAGIC_OFFSET, BTRFS_MAGIC_TEXT, 8))
			continue;
		s->v = realloc(s->v, (s->n + 1) * sizeof(*s->v));
		s->v[s->n++] = (struct tblock){ off, le64toh(h->bytenr), h->level };
	}
	free(b);
	close(fd);
	return s->n ? 0 : -1;
}

/* Read / write back one block copy (checksum recomputed on write). */
HELPER int tblock_read(const char *path, const struct tscan *s, uint64_t phys, uint8_t *b)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : pread(fd, b, s->nodesize, (off_t)phys);

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)s->nodesize ? 0 : -1;
}

HELPER int tblock_write(const char *path, const struct tscan *s, uint64_t phys, uint8_t *b,
			bool fix_csum)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fix_csum)
		block_fix_csum(b, s->nodesize);
	n = fd < 0 ? -1 : pwrite(fd, b, s->nodesize, (off_t)phys);
	if (fd >= 0)
		close(fd);
	return n == (ssize_t)s->nodesize ? 0 : -1;
}

HELPER struct btrfs_item_disk *leaf_items(uint8_t *b)
{
	return (struct btrfs_item_disk *)(b + sizeof(struct btrfs_header_disk));
}

HELPER uint8_t *item_data(uint8_t *b, const struct btrfs_item_disk *it)
{
	return b + sizeof(struct btrfs_header_disk) + le32toh(it->offset);
}

/* Call fn on every leaf copy holding an item with exactly this key (it
 * gets the block and the item index) and write the block back with a
 * fresh checksum. Returns how many copies were changed. */
typedef void (*item_patch_fn)(uint8_t *block, uint32_t slot, void *priv);

HELPER int patch_item(const char *path, const struct tscan *s, const struct btrfs_key *key,
		      item_patch_fn fn, void *priv)
{
	uint8_t *b = malloc(s->nodesize);
	int changed = 0;

	for (size_t i = 0; b && i < s->n; i++) {
		const struct btrfs_header_disk *h = (const void *)b;
		uint32_t n;

		if (s->v[i].level || tblock_read(path, s, s->v[i].phys, b))
			continue;
		n = le32toh(h->nritems);
		for (uint32_t j = 0; j < n; j++) {
			struct btrfs_key k;

			btrfs__key_from_disk(&k, &leaf_items(b)[j].key);
			if (btrfs__key_cmp(&k, key))
				continue;
			fn(b, j, priv);
			if (!tblock_write(path, s, s->v[i].phys, b, true))
				changed++;
			break;
		}
	}
	free(b);
	return changed;
}

#endif
