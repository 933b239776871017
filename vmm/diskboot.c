/* diskboot.c — direct boot from a disk image: partition table ->
 * ext2/3/4 filesystems -> loader/entries/NAME.conf (BLS) + grubenv ->
 * default entry -> kernel and initrd copied into memfds.
 *
 * Search order: every partition (or the whole disk when there is no
 * table) whose first bytes carry an ext2/3/4 superblock, in partition
 * order; others (vfat ESP, BIOS boot, btrfs, swap...) are skipped and
 * named in the error when nothing boots. In each filesystem
 * loader/entries (a separate /boot: grubenv at grub2/grubenv) and then
 * boot/loader/entries (/boot inside the root filesystem: grubenv at
 * boot/grub2/grubenv). Entry paths are relative to the filesystem that
 * holds the entries; when that is the root filesystem and a path is not
 * found as written, it is looked up under /boot as grub would. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/disk.h"
#include "devices/extfs.h"
#include "devices/partition.h"
#include "vmm/bls.h"
#include "vmm/diskboot.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define PATH_LEN 1024

/* One line of what was looked at, for the "nothing found" error. */
struct searched {
	char text[1536];
};

static void searched_add(struct searched *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void searched_add(struct searched *s, const char *fmt, ...)
{
	size_t used = strlen(s->text);
	va_list ap;

	if (used + 8 >= sizeof(s->text))
		return;
	if (used) {
		memcpy(s->text + used, ", ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(s->text + used, sizeof(s->text) - used, fmt, ap);
	va_end(ap);
}

static void part_name(const struct partition *p, char *buf, size_t len)
{
	if (p->index)
		snprintf(buf, len, "vda%u", p->index);
	else
		snprintf(buf, len, "vda");
}

static bool has_at(struct disk *d, const struct partition *p, uint64_t off,
		   const char *magic, size_t n)
{
	char buf[16];

	if (n > sizeof(buf) || off > p->size || n > p->size - off)
		return false;
	if (disk__pread(d, buf, n, p->offset + off) != (ssize_t)n)
		return false;
	return !memcmp(buf, magic, n);
}

/* Name what a non-ext partition holds, for the search report. */
static const char *probe_other(struct disk *d, const struct partition *p)
{
	if (!strcmp(p->type, GPT_TYPE_BIOS_BOOT))
		return "BIOS boot";
	if (has_at(d, p, 54, "FAT", 3) || has_at(d, p, 82, "FAT32", 5))
		return "vfat";
	if (has_at(d, p, 65536 + 64, "_BHRfS_M", 8))
		return "btrfs";
	if (has_at(d, p, 0, "XFSB", 4))
		return "xfs";
	if (has_at(d, p, 4086, "SWAPSPACE2", 10))
		return "swap";
	if (has_at(d, p, 0, "LUKS\xba\xbe", 6))
		return "LUKS";
	if (has_at(d, p, 512, "LABELONE", 8))
		return "LVM";
	if (!strcmp(p->type, GPT_TYPE_ESP))
		return "EFI system";
	return "unknown";
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !memcmp(s + n - m, suffix, m);
}

struct entries {
	struct bls_entry *v;
	size_t n, invalid;
};

static void entries_free(struct entries *es)
{
	for (size_t i = 0; i < es->n; i++)
		bls__entry_free(&es->v[i]);
	free(es->v);
	memset(es, 0, sizeof(*es));
}

/* Parse every NAME.conf in 'dir'. Bad entries are warned about and
 * counted, not fatal. -1 only when out of memory. */
static int load_entries(struct extfs *fs, const char *dir, const char *where,
			struct entries *es, char *err, size_t errlen)
{
	char **names = NULL, path[PATH_LEN], why[256];
	size_t count = 0;
	bool truncated = false;

	if (extfs__list_dir(fs, dir, DISKBOOT_ENTRIES_MAX, &names, &count, &truncated,
			    why, sizeof(why)) < 0) {
		pr_warn("%s: cannot list %s: %s", where, dir, why);
		return 0;
	}
	if (truncated)
		pr_warn("%s: more than %d names in %s: only the first %d examined",
			where, DISKBOOT_ENTRIES_MAX, dir, DISKBOOT_ENTRIES_MAX);
	es->v = calloc(count ? count : 1, sizeof(*es->v));
	if (!es->v) {
		extfs__free_names(names, count);
		return util__fail(err, errlen, "out of memory");
	}
	for (size_t i = 0; i < count; i++) {
		const char *name = names[i];
		char *id;
		uint8_t *text = NULL;
		size_t len = 0;
		int r;

		if (name[0] == '.' || strlen(name) <= 5 || !ends_with(name, ".conf"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (extfs__read_file(fs, path, DISKBOOT_ENTRY_MAX, &text, &len, why, sizeof(why)) < 0) {
			pr_warn("%s: %s", where, why);
			es->invalid++;
			continue;
		}
		id = strndup(name, strlen(name) - 5);
		if (!id)
			snprintf(why, sizeof(why), "out of memory");
		r = id ? bls__parse_entry(id, (const char *)text, len, &es->v[es->n],
					  why, sizeof(why)) : -1;
		free(text);
		free(id);
		if (r < 0) {
			pr_warn("%s: %s: %s", where, path, why);
			es->invalid++;
			continue;
		}
		es->n++;
	}
	extfs__free_names(names, count);
	return 0;
}

/* The path of an entry's file inside fs: as written, or (when the
 * entries live in the root filesystem's /boot) under /boot, or (when
 * they live on a separate /boot and name "/boot/x") as "/x". */
static int find_file(struct extfs *fs, bool in_root, const char *want, char *out, size_t outlen,
		     char *why, size_t whylen)
{
	const char *slash = want[0] == '/' ? "" : "/";
	enum extfs_type type;
	int r;

	snprintf(out, outlen, "%s%s", slash, want);
	r = extfs__stat(fs, out, &type, NULL, why, whylen);
	if (r != -ENOENT)
		return r;
	if (in_root && strncmp(want, "/boot/", 6))
		snprintf(out, outlen, "/boot%s%s", slash, want);
	else if (!in_root && !strncmp(want, "/boot/", 6))
		snprintf(out, outlen, "%s", want + 5);   /* "/boot/x" on /boot itself */
	else
		return r;
	r = extfs__stat(fs, out, &type, NULL, why, whylen);
	if (r == -ENOENT)
		snprintf(out, outlen, "%s%s", slash, want);
	return r;
}

static int new_memfd(const char *name, char *err, size_t errlen)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return util__fail(err, errlen, "memfd_create: %s", strerror(errno));
	return fd;
}

/* Make the copy immutable so what was checked is what boots. */
static int seal(int fd, char *err, size_t errlen)
{
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		return util__fail(err, errlen, "sealing the memfd: %s", strerror(errno));
	return 0;
}

/* Copy the entry's files (kernel, or the initrds concatenated with each
 * padded to 4 bytes as the kernel's initramfs unpacker wants) into a
 * new memfd. -1 with err. */
static int load_files(struct disk *d, struct extfs *fs, bool in_root, const char *id,
		      const char *what, char **paths, size_t n, uint64_t cap, int *fdp,
		      char *used, size_t usedlen, char *err, size_t errlen)
{
	static const uint8_t zero[4];
	char path[PATH_LEN], why[256];
	uint64_t total = 0, len;
	int fd = new_memfd(what, err, errlen);

	if (fd < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int r = find_file(fs, in_root, paths[i], path, sizeof(path), why, sizeof(why));

		if (r == -ENOENT) {
			util__fail(err, errlen, "%s: entry '%s' names %s which does not exist",
				   d->path, id, paths[i]);
			goto fail;
		}
		if (r == 0)
			r = extfs__read_to_fd(fs, path, total < cap ? cap - total : 0, fd, &len,
					      why, sizeof(why));
		if (r < 0) {
			if (r == -EFBIG)
				util__fail(err, errlen, "%s: entry '%s': %s %s is larger than %llu MiB",
					   d->path, id, what, paths[i], (unsigned long long)(cap >> 20));
			else
				util__fail(err, errlen, "%s: entry '%s': %s", d->path, id, why);
			goto fail;
		}
		total += len;
		if (i + 1 < n && total % 4) {
			if (util__write_all(fd, zero, 4 - total % 4) < 0) {
				util__fail(err, errlen, "%s: writing the memfd failed", d->path);
				goto fail;
			}
			total = ALIGN_UP(total, 4);
		}
		if (i == 0 && used)
			snprintf(used, usedlen, "%s", path);
	}
	if (seal(fd, err, errlen) < 0)
		goto fail;
	*fdp = fd;
	return 0;
fail:
	close(fd);
	return -1;
}

/* Boot the chosen entry from 'fs'. */
static int boot_entry(struct disk *d, struct extfs *fs, bool in_root, const char *where,
		      const struct bls_entry *e, const struct grubenv *env,
		      struct diskboot *out, char *err, size_t errlen)
{
	struct bls_boot b;
	char kpath[PATH_LEN], why[256];
	char *kernel[1];
	const char *title;
	int r = -1;

	if (bls__resolve(e, env, &b, why, sizeof(why)) < 0)
		return util__fail(err, errlen, "%s: %s", d->path, why);
	kernel[0] = b.kernel;
	if (load_files(d, fs, in_root, e->id, "kernel", kernel, 1, DISKBOOT_KERNEL_MAX,
		       &out->kernel_fd, kpath, sizeof(kpath), err, errlen) < 0)
		goto out;
	if (b.n_initrd &&
	    load_files(d, fs, in_root, e->id, "initrd", b.initrd, b.n_initrd, DISKBOOT_INITRD_MAX,
		       &out->initrd_fd, NULL, 0, err, errlen) < 0)
		goto out;
	title = e->title ? e->title : e->version ? e->version : e->id;
	if (asprintf(&out->description, "booting '%s' from %s: %s", title, where, kpath) < 0) {
		out->description = NULL;
		util__fail(err, errlen, "out of memory");
		goto out;
	}
	out->cmdline = b.cmdline;
	b.cmdline = NULL;
	r = 0;
out:
	bls__boot_free(&b);
	return r;
}

/* Look for entries in one filesystem. 1: booted (out filled), 0: none
 * here (said so in 's'), -1: a hard error in err. */
static int try_fs(struct disk *d, struct extfs *fs, const char *pname,
		  struct searched *s, struct diskboot *out, char *err, size_t errlen)
{
	static const struct { const char *entries, *grubenv, *mount; bool in_root; } layouts[] = {
		{ "/loader/entries", "/grub2/grubenv", "/boot", false },
		{ "/boot/loader/entries", "/boot/grub2/grubenv", "/", true },
	};
	size_t invalid = 0;

	for (size_t l = 0; l < ARRAY_SIZE(layouts); l++) {
		struct entries es = { 0 };
		struct grubenv env = { 0 };
		enum extfs_type type;
		char where[128], why[256];
		const char *reason;
		uint8_t *text;
		size_t len, idx;
		int r;

		if (extfs__stat(fs, layouts[l].entries, &type, NULL, why, sizeof(why)) < 0 ||
		    type != EXTFS_DIR)
			continue;
		snprintf(where, sizeof(where), "%s (%s %s)", pname, extfs__kind(fs), layouts[l].mount);
		if (load_entries(fs, layouts[l].entries, where, &es, err, errlen) < 0)
			return -1;
		invalid += es.invalid;
		if (!es.n) {
			entries_free(&es);
			continue;
		}
		r = extfs__read_file(fs, layouts[l].grubenv, DISKBOOT_ENTRY_MAX, &text, &len,
				     why, sizeof(why));
		if (r == 0) {
			if (bls__parse_grubenv((const char *)text, len, &env, why, sizeof(why)) < 0)
				pr_warn("%s: %s: %s", where, layouts[l].grubenv, why);
			free(text);
		} else if (r != -ENOENT) {
			pr_warn("%s: grubenv not used: %s", where, why);
		}
		bls__sort(es.v, es.n);
		idx = bls__choose_default(es.v, es.n, &env, &reason);
		pr_debug("%s: %zu entries, default '%s' (%s)", where, es.n, es.v[idx].id, reason);
		r = boot_entry(d, fs, layouts[l].in_root, where, &es.v[idx], &env, out, err, errlen);
		bls__grubenv_free(&env);
		entries_free(&es);
		return r < 0 ? -1 : 1;
	}
	if (invalid)
		searched_add(s, "%s (%s: %zu entries, none valid)", pname, extfs__kind(fs), invalid);
	else
		searched_add(s, "%s (%s: no loader/entries)", pname, extfs__kind(fs));
	return 0;
}

/* Titles and paths come from the image: keep control characters (a
 * terminal escape, a carriage return) out of what the user sees. */
static void sanitize(char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int find(struct disk *d, struct diskboot *out, char *err, size_t errlen)
{
	struct partition_table pt;
	struct searched s = { .text = "" };
	int r = 0;

	memset(out, 0, sizeof(*out));
	out->kernel_fd = out->initrd_fd = -1;
	if (partition__scan(d, &pt, err, errlen) < 0)
		return -1;
	if (pt.notes[0])
		pr_warn("%s: partition table: %s", d->path, pt.notes);
	for (size_t i = 0; i < pt.count && r == 0; i++) {
		const struct partition *p = &pt.parts[i];
		char pname[16], why[256];
		struct extfs *fs;

		part_name(p, pname, sizeof(pname));
		if (strcmp(p->type, GPT_TYPE_BIOS_BOOT) && extfs__probe(d, p->offset, p->size)) {
			fs = extfs__open(d, p->offset, p->size, why, sizeof(why));
			if (!fs) {
				pr_warn("%s: %s", pname, why);
				searched_add(&s, "%s (ext2/3/4: cannot be opened)", pname);
				continue;
			}
			r = try_fs(d, fs, pname, &s, out, err, errlen);
			extfs__close(fs);
		} else {
			searched_add(&s, "%s (%s: skipped)", pname, probe_other(d, p));
		}
	}
	partition__free(&pt);
	if (r > 0)
		return 0;
	diskboot__free(out);
	if (r < 0)
		return -1;
	return util__fail(err, errlen, "no bootable entry found in %s (searched: %s)", d->path,
			  s.text[0] ? s.text : "an empty partition table");
}

int diskboot__find(struct disk *d, struct diskboot *out, char *err, size_t errlen)
{
	int r = find(d, out, err, errlen);

	if (r < 0 && errlen)
		sanitize(err);
	else if (r == 0)
		sanitize(out->description);
	return r;
}

void diskboot__free(struct diskboot *b)
{
	if (b->kernel_fd >= 0)
		close(b->kernel_fd);
	if (b->initrd_fd >= 0)
		close(b->initrd_fd);
	free(b->cmdline);
	free(b->description);
	memset(b, 0, sizeof(*b));
	b->kernel_fd = b->initrd_fd = -1;
}

void diskboot__fd_path(int fd, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}
