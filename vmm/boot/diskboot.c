/* diskboot.c — direct boot from a disk image: partition table ->
 * filesystems (ext2/3/4, btrfs; vmm/boot/bootfs.h) -> Boot Loader
 * Specification entries + grubenv, or else grub.cfg's default menuentry
 * -> kernel and initrd copied into sealed memfds.
 *
 * The search covers the layouts cloud images use:
 *   Fedora 40-43   ext4 /boot partition: /loader/entries, /grub2/grubenv
 *   Fedora 44+     one btrfs, flat subvolumes root, boot, home, var:
 *                  /boot/loader/entries seen from the top level
 *   older / other  /boot inside the root filesystem or subvolume
 *   Debian, Ubuntu no BLS: /boot/grub/grub.cfg on the root filesystem,
 *                  or /grub/grub.cfg on a separate /boot (vmm/boot/grubcfg.c)
 * Pass 1 looks for BLS entries on every filesystem, and on btrfs under
 * every root (the top level, the default subvolume, each top-level
 * subvolume); only when there are none anywhere does pass 2 take the
 * first grub.cfg. Other partitions (vfat ESP, BIOS boot, swap, LVM,
 * ...) are named in the error when nothing boots.
 *
 * Paths in an entry are relative to the filesystem (or root) holding
 * the entries, and resolved as grub does for the layouts above: as
 * written, under /boot when the entries are in a root filesystem, without
 * the /boot prefix when they are on a separate /boot, and on btrfs from
 * the top level as well. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/block/disk.h"
#include "vmm/boot/partition.h"
#include "vmm/boot/bls.h"
#include "vmm/boot/bootfs.h"
#include "vmm/boot/diskboot.h"
#include "vmm/boot/grubcfg.h"
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

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
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

/* One filesystem of the disk, and what the search found there. */
struct part {
	char name[16];               /* "vda3" */
	struct bootfs *fs;           /* NULL: not a filesystem vmm reads */
	const char *kind;            /* "ext4", "btrfs", or what else it is */
	char **roots;
	size_t nroots;
	size_t invalid;              /* BLS entries that did not parse */
	bool cannot_open;
	char grub_note[256];         /* a grub.cfg found but not usable */
};

/* Where boot files are looked up: a root of a filesystem, and whether
 * the entries (or grub.cfg) lie in a root filesystem's /boot. */
struct place {
	struct disk *d;
	struct part *p;
	const char *root;
	bool in_root;
	char where[256];             /* "vda3 (btrfs subvolume boot)" */
};

/* "vda3 (ext4 /boot)", "vda3 (btrfs subvolume boot)", "vda3 (btrfs
 * subvolume root, /boot)": the filesystem, the subvolume holding 'dir'
 * (the directory with loader/ or grub/ in it) and, outside a subvolume,
 * whether that is a root filesystem or a separate /boot. */
static void where_text(struct place *pl, const char *dir, const char *extra)
{
	const struct part *p = pl->p;
	const char *sub = NULL, *rest = dir;
	size_t best = 0;

	for (size_t i = 1; i < p->nroots; i++) {
		size_t n = strlen(p->roots[i]);

		if (n > best && starts_with(dir, p->roots[i]) && (dir[n] == '/' || !dir[n])) {
			best = n;
			sub = p->roots[i] + 1;
			rest = dir + n;
		}
	}
	if (sub)
		snprintf(pl->where, sizeof(pl->where), "%s (%s subvolume %s%s%s%s)", p->name, p->kind,
			 sub, *rest ? ", " : "", rest, extra);
	else
		snprintf(pl->where, sizeof(pl->where), "%s (%s %s%s)", p->name, p->kind,
			 pl->in_root ? "/" : "/boot", extra);
}

/* Parse every NAME.conf in 'dir'. Bad entries are warned about and
 * counted, not fatal. -1 only when out of memory. */
static int load_entries(struct bootfs *fs, const char *dir, const char *where,
			struct entries *es, char *err, size_t errlen)
{
	char **names = NULL, path[PATH_LEN], why[256];
	size_t count = 0;
	bool truncated = false;

	if (bootfs__list_dir(fs, dir, DISKBOOT_ENTRIES_MAX, &names, &count, &truncated,
			     why, sizeof(why)) < 0) {
		pr_warn("%s: cannot list %s: %s", where, dir, why);
		return 0;
	}
	if (truncated)
		pr_warn("%s: more than %d names in %s: only the first %d examined",
			where, DISKBOOT_ENTRIES_MAX, dir, DISKBOOT_ENTRIES_MAX);
	es->v = calloc(count ? count : 1, sizeof(*es->v));
	if (!es->v) {
		bootfs__free_names(fs, names, count);
		return util__fail(err, errlen, "out of memory");
	}
	for (size_t i = 0; i < count; i++) {
		const char *name = names[i];
		char *id;
		uint8_t *text = NULL;
		size_t len = 0;
		int r;

		if (name[0] == '.' || strlen(name) <= 5 || !ends_with(name, ".conf") ||
		    snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
			continue;
		if (bootfs__read_file(fs, path, DISKBOOT_ENTRY_MAX, &text, &len, why, sizeof(why)) < 0) {
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
	bootfs__free_names(fs, names, count);
	return 0;
}

/* The path of a file an entry names: as written (from the place's
 * root), under /boot when the entries are in a root filesystem, without
 * the /boot prefix when they are on a separate /boot, and, below a
 * btrfs subvolume, from the top level (GRUB's view of btrfs). 0 with
 * the path in 'out', -ENOENT with the first candidate there, or another
 * error from the reader. */
static int find_file(const struct place *pl, const char *want, char *out, size_t outlen,
		     char *why, size_t whylen)
{
	char cand[3][PATH_LEN];
	const char *slash = want[0] == '/' ? "" : "/";
	size_t n = 0;
	int r = -ENOENT, k;

	k = snprintf(cand[n++], PATH_LEN, "%s%s%s", pl->root, slash, want);
	if (pl->in_root && !starts_with(want, "/boot/"))
		k |= snprintf(cand[n++], PATH_LEN, "%s/boot%s%s", pl->root, slash, want);
	else if (!pl->in_root && starts_with(want, "/boot/"))
		k |= snprintf(cand[n++], PATH_LEN, "%s%s", pl->root, want + 5);
	if (pl->root[0])
		k |= snprintf(cand[n++], PATH_LEN, "%s%s", slash, want);
	if (k >= PATH_LEN || (size_t)snprintf(out, outlen, "%s", cand[0]) >= outlen) {
		snprintf(why, whylen, "path %.64s... is too long", want);
		return -ENAMETOOLONG;
	}
	for (size_t i = 0; i < n; i++) {
		enum bootfs_type type;

		r = bootfs__stat(pl->p->fs, cand[i], &type, NULL, why, whylen);
		if (r == 0)
			return snprintf(out, outlen, "%s", cand[i]) < 0 ? -EIO : 0;
		if (r != -ENOENT && r != -ENOTDIR)
			return r;
	}
	return -ENOENT;
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

/* Copy an entry's files (the kernel, or the initrds concatenated with
 * each padded to 4 bytes as the kernel's initramfs unpacker wants) into
 * a new memfd. -1 with err. */
static int load_files(const struct place *pl, const char *id, const char *what,
		      char **paths, size_t n, uint64_t cap, int *fdp,
		      char *used, size_t usedlen, char *err, size_t errlen)
{
	static const uint8_t zero[4];
	const char *img = pl->d->path;
	char path[PATH_LEN], why[256];
	uint64_t total = 0, len;
	int fd = new_memfd(what, err, errlen);

	if (fd < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int r = find_file(pl, paths[i], path, sizeof(path), why, sizeof(why));

		if (r == -ENOENT) {
			util__fail(err, errlen, "%s: entry '%s' names %s which does not exist",
				   img, id, paths[i]);
			goto fail;
		}
		if (r == 0)
			r = bootfs__read_to_fd(pl->p->fs, path, total < cap ? cap - total : 0, fd,
					       &len, why, sizeof(why));
		if (r < 0) {
			if (r == -EFBIG)
				util__fail(err, errlen, "%s: entry '%s': %s %s is larger than %llu MiB",
					   img, id, what, paths[i], (unsigned long long)(cap >> 20));
			else
				util__fail(err, errlen, "%s: entry '%s': %s", img, id, why);
			goto fail;
		}
		total += len;
		if (i + 1 < n && total % 4) {
			if (util__write_all(fd, zero, 4 - total % 4) < 0) {
				util__fail(err, errlen, "%s: writing the memfd failed", img);
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

/* Load what boots (kernel, initrds) and say what it is. */
static int boot_files(const struct place *pl, const char *id, const char *title,
		      char *kernel, char **initrd, size_t n_initrd,
		      struct diskboot *out, char *err, size_t errlen)
{
	/* The caller's budget for kernel + initrds (half the guest's RAM):
	 * the image decides how big they claim to be. */
	uint64_t budget = pl->d->boot_files_max, kmax = DISKBOOT_KERNEL_MAX;
	uint64_t imax = DISKBOOT_INITRD_MAX;
	char kpath[PATH_LEN];
	bool by_ram = budget && budget < kmax;
	off_t klen;

	if (by_ram)
		kmax = budget;
	if (load_files(pl, id, "kernel", &kernel, 1, kmax, &out->kernel_fd,
		       kpath, sizeof(kpath), err, errlen) < 0)
		goto fail;
	klen = lseek(out->kernel_fd, 0, SEEK_END);      /* loaded by path: offset unused */
	if (budget && klen >= 0 && budget - MIN(budget, (uint64_t)klen) < imax) {
		imax = budget - MIN(budget, (uint64_t)klen);
		by_ram = true;
	} else {
		by_ram = false;
	}
	if (n_initrd && load_files(pl, id, "initrd", initrd, n_initrd, imax,
				   &out->initrd_fd, NULL, 0, err, errlen) < 0)
		goto fail;
	if (asprintf(&out->description, "booting '%s' from %s: %s", title, pl->where, kpath) < 0) {
		out->description = NULL;
		return util__fail(err, errlen, "out of memory");
	}
	return 0;
fail:
	if (by_ram && strstr(err, " is larger than ")) {
		size_t used = strlen(err);

		snprintf(err + used, errlen - used, " (kernel and initrd may take half of the "
			 "guest's %llu MiB; --mem raises it)", (unsigned long long)(budget >> 19));
	}
	return -1;
}

/* Boot the chosen BLS entry. */
static int boot_entry(const struct place *pl, const struct bls_entry *e,
		      const struct grubenv *env, struct diskboot *out, char *err, size_t errlen)
{
	struct bls_boot b;
	char why[256];
	int r;

	if (bls__resolve(e, env, &b, why, sizeof(why)) < 0)
		return util__fail(err, errlen, "%s: %s", pl->d->path, why);
	r = boot_files(pl, e->id, e->title ? e->title : e->version ? e->version : e->id,
		       b.kernel, b.initrd, b.n_initrd, out, err, errlen);
	if (r == 0) {
		out->cmdline = b.cmdline;
		b.cmdline = NULL;
	}
	bls__boot_free(&b);
	return r;
}

/* Read an optional grubenv; a bad one is warned about and left out. */
static bool read_grubenv(struct bootfs *fs, const char *path, const char *where,
			 struct grubenv *env)
{
	char why[256];
	uint8_t *text;
	size_t len;
	int r = bootfs__read_file(fs, path, DISKBOOT_ENTRY_MAX, &text, &len, why, sizeof(why));

	memset(env, 0, sizeof(*env));
	if (r == 0) {
		r = bls__parse_grubenv((const char *)text, len, env, why, sizeof(why));
		free(text);
		if (r == 0)
			return true;
		pr_warn("%s: %s: %s", where, path, why);
	} else if (r != -ENOENT) {
		pr_warn("%s: grubenv not used: %s", where, why);
	}
	return false;
}

/* BLS entries under one root of one filesystem. 1: booted (out
 * filled), 0: none here, -1: a hard error in err. */
static int try_bls(struct disk *d, struct part *p, const char *root, struct diskboot *out,
		   char *err, size_t errlen)
{
	static const struct { const char *dir; bool in_root; } layouts[] = {
		{ "", false },           /* a separate /boot: loader/ at its top */
		{ "/boot", true },       /* /boot inside a root filesystem */
	};

	for (size_t l = 0; l < ARRAY_SIZE(layouts); l++) {
		struct place pl = { .d = d, .p = p, .root = root, .in_root = layouts[l].in_root };
		struct entries es = { 0 };
		struct grubenv env;
		enum bootfs_type type;
		char dir[PATH_LEN / 2], path[PATH_LEN], why[256];
		const char *reason;
		size_t idx;
		int r;

		snprintf(dir, sizeof(dir), "%s%s", root, layouts[l].dir);
		snprintf(path, sizeof(path), "%s/loader/entries", dir);
		if (bootfs__stat(p->fs, path, &type, NULL, why, sizeof(why)) < 0 ||
		    type != BOOTFS_DIR)
			continue;
		where_text(&pl, dir, "");
		if (load_entries(p->fs, path, pl.where, &es, err, errlen) < 0)
			return -1;
		p->invalid += es.invalid;
		if (!es.n) {
			entries_free(&es);
			continue;
		}
		snprintf(path, sizeof(path), "%s/grub2/grubenv", dir);
		read_grubenv(p->fs, path, pl.where, &env);
		bls__sort(es.v, es.n);
		idx = bls__choose_default(es.v, es.n, &env, &reason);
		pr_debug("%s: %zu entries, default '%s' (%s)", pl.where, es.n, es.v[idx].id, reason);
		r = boot_entry(&pl, &es.v[idx], &env, out, err, errlen);
		bls__grubenv_free(&env);
		entries_free(&es);
		return r < 0 ? -1 : 1;
	}
	return 0;
}

/* The default menuentry of a grub.cfg under one root (Debian, Ubuntu).
 * 1: booted, 0: none here (a broken one noted in p->grub_note), -1: a
 * hard error. */
static int try_grubcfg(struct disk *d, struct part *p, const char *root, struct diskboot *out,
		       char *err, size_t errlen)
{
	static const struct { const char *dir; bool in_root; } layouts[] = {
		{ "/boot/grub", true }, { "/grub", false },
		{ "/boot/grub2", true }, { "/grub2", false },
	};

	for (size_t l = 0; l < ARRAY_SIZE(layouts); l++) {
		struct place pl = { .d = d, .p = p, .root = root, .in_root = layouts[l].in_root };
		struct grubcfg_boot gb;
		struct grubenv env;
		bool have_env;
		char path[PATH_LEN], why[256], extra[96];
		uint8_t *text;
		size_t len;
		int r;

		snprintf(path, sizeof(path), "%s%s/grub.cfg", root, layouts[l].dir);
		r = bootfs__read_file(p->fs, path, GRUBCFG_MAX_BYTES, &text, &len, why, sizeof(why));
		if (r == -ENOENT || r == -ENOTDIR)
			continue;
		if (r < 0) {
			snprintf(p->grub_note, sizeof(p->grub_note), "%s", why);
			continue;
		}
		snprintf(path, sizeof(path), "%s%s/grubenv", root, layouts[l].dir);
		have_env = read_grubenv(p->fs, path, p->name, &env);
		r = grubcfg__parse((const char *)text, len, have_env ? &env : NULL, &gb,
				   why, sizeof(why));
		free(text);
		bls__grubenv_free(&env);
		if (r < 0) {
			snprintf(p->grub_note, sizeof(p->grub_note), "%s", why);
			continue;
		}
		snprintf(extra, sizeof(extra), ", grub.cfg %s", gb.how);
		snprintf(path, sizeof(path), "%s%s", root, layouts[l].in_root ? "" : "/boot");
		where_text(&pl, path, extra);
		if (gb.ignored[0])
			pr_info("%s: grub.cfg: ignored (not needed for a direct boot): %s",
				p->name, gb.ignored);
		r = boot_files(&pl, gb.title, gb.title, gb.kernel, gb.initrd, gb.n_initrd,
			       out, err, errlen);
		if (r == 0) {
			out->cmdline = gb.args;
			gb.args = NULL;
		}
		grubcfg__free(&gb);
		return r < 0 ? -1 : 1;
	}
	return 0;
}

/* What was searched on one partition, for the "nothing found" error. */
static void report(struct searched *s, const struct part *p)
{
	char subs[160] = "";

	if (!p->fs) {
		searched_add(s, "%s (%s: %s)", p->name, p->kind,
			     p->cannot_open ? "cannot be opened" : "skipped");
		return;
	}
	for (size_t i = 1; i < p->nroots; i++) {
		size_t used = strlen(subs);

		snprintf(subs + used, sizeof(subs) - used, "%s%s", i > 1 ? ", " : " subvolumes ",
			 p->roots[i] + 1);
	}
	if (p->invalid)
		searched_add(s, "%s (%s%s: %zu entries, none valid, %s)", p->name, p->kind, subs,
			     p->invalid, p->grub_note[0] ? p->grub_note : "no grub.cfg");
	else
		searched_add(s, "%s (%s%s: no loader/entries, %s)", p->name, p->kind, subs,
			     p->grub_note[0] ? p->grub_note : "no grub.cfg");
}

static void open_part(struct disk *d, const struct partition *pp, struct part *p)
{
	char why[256];

	part_name(pp, p->name, sizeof(p->name));
	p->kind = NULL;
	if (strcmp(pp->type, GPT_TYPE_BIOS_BOOT))
		p->fs = bootfs__open(d, pp->offset, pp->size, &p->kind, why, sizeof(why));
	if (!p->fs && p->kind) {
		pr_warn("%s: %s", p->name, why);
		p->cannot_open = true;
		return;
	}
	if (!p->fs) {
		p->kind = probe_other(d, pp);
		return;
	}
	if (bootfs__roots(p->fs, &p->roots, &p->nroots, why, sizeof(why)) < 0) {
		pr_warn("%s: %s", p->name, why);
		bootfs__close(p->fs);
		p->fs = NULL;
		p->cannot_open = true;
	}
}

static int find(struct disk *d, struct diskboot *out, char *err, size_t errlen)
{
	struct partition_table pt;
	struct searched s = { .text = "" };
	struct part *parts;
	int r = 0;

	memset(out, 0, sizeof(*out));
	out->kernel_fd = out->initrd_fd = -1;
	if (partition__scan(d, &pt, err, errlen) < 0)
		return -1;
	if (pt.notes[0])
		pr_warn("%s: partition table: %s", d->path, pt.notes);
	parts = calloc(pt.count ? pt.count : 1, sizeof(*parts));
	if (!parts) {
		partition__free(&pt);
		return util__fail(err, errlen, "out of memory");
	}
	/* BLS anywhere wins over grub.cfg anywhere, as on Fedora, whose
	 * grub.cfg only says "blscfg". Partitions after the one that boots
	 * are never opened. */
	for (size_t i = 0; i < pt.count && r == 0; i++) {
		open_part(d, &pt.parts[i], &parts[i]);
		for (size_t k = 0; parts[i].fs && k < parts[i].nroots && r == 0; k++)
			r = try_bls(d, &parts[i], parts[i].roots[k], out, err, errlen);
	}
	for (size_t i = 0; i < pt.count && r == 0; i++)
		for (size_t k = 0; parts[i].fs && k < parts[i].nroots && r == 0; k++)
			r = try_grubcfg(d, &parts[i], parts[i].roots[k], out, err, errlen);
	for (size_t i = 0; i < pt.count; i++) {
		if (r == 0)
			report(&s, &parts[i]);
		bootfs__free_roots(parts[i].roots, parts[i].nroots);
		bootfs__close(parts[i].fs);
	}
	free(parts);
	partition__free(&pt);
	if (r > 0)
		return 0;
	diskboot__free(out);
	if (r < 0)
		return -1;
	return util__fail(err, errlen, "no bootable entry found in %s (searched: %s)", d->path,
			  s.text[0] ? s.text : "an empty partition table");
}

/* Titles and paths come from the image: keep control characters (a
 * terminal escape, a carriage return) out of what the user sees. */
static void sanitize(char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
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