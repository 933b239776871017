/* test_btrfs.c — the read-only btrfs reader (vmm/boot/btrfs*.c) on real
 * images made here by mkfs.btrfs --rootdir: a Fedora-44-like layout
 * (top-level subvolumes root, boot, home, var; BLS entries in boot) with
 * zstd, lzo, zlib and no compression; files of many sizes read back
 * byte for byte through read_file and read_to_fd; symbolic links
 * (relative, absolute, chains, loops, across subvolumes); two names with
 * the same name hash (found by search) in one DIR_ITEM; 5000 entries
 * in one directory with 4 KiB nodes (a three-level tree); the default
 * subvolume (top level, "root", nested); label and uuid against blkid;
 * the image through qcow2 and at a partition offset; holes and prealloc
 * extents, which mkfs.btrfs --rootdir does not make (it writes holes out
 * as data), patched into a leaf by hand; the backup superblock; DUP
 * metadata with every first copy destroyed. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <dirent.h>
#include <cmocka.h>

#include "vmm/boot/btrfs.h"
#include "devices/block/disk.h"
#include "tests/unit/btrfs_img.h"

#define UUID "3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
#define MANY 5000
#define BLS "title Fedora Linux (6.8.0) 44\nversion 6.8.0\nlinux /vmlinuz-6.8.0\n" \
	    "initrd /initramfs-6.8.0.img\noptions root=UUID=" UUID " rootflags=subvol=root\n"

static const size_t sizes[] = { 0, 1, 100, 2047, 2048, 2049, 3000, 4095, 4096, 4097, 8192,
				65536, 131072, 131073, 300000, 1000000, 3000000 };
static char err[1024];

/* ---- helpers ------------------------------------------------------ */

static void assert_one_line(const char *e)
{
	assert_true(e[0] != '\0');
	assert_null(strchr(e, '\n'));
}

struct img {
	struct disk *d;
	struct btrfs *fs;
};

static struct img open_at(const char *rel, uint64_t offset, uint64_t size)
{
	struct img m;

	m.d = disk__open(tpath(rel), DISK_FORMAT_AUTO, true, err, sizeof(err));
	if (!m.d)
		fail_msg("%s", err);
	m.fs = btrfs__open(m.d, offset, size ? size : m.d->size - offset, err, sizeof(err));
	if (!m.fs)
		fail_msg("%s", err);
	return m;
}

static struct img open_img(const char *rel)
{
	return open_at(rel, 0, 0);
}

static void close_img(struct img *m)
{
	btrfs__close(m->fs);
	disk__close(m->d);
}

/* 'path' in the image holds exactly want[0..len), read both ways. */
static void assert_file(struct btrfs *fs, const char *path, const uint8_t *want, size_t len)
{
	uint8_t *buf;
	size_t got;
	uint64_t flen;
	int fd = memfd_create("btrfs-test", 0);
	struct stat st;
	uint8_t *back;

	if (btrfs__read_file(fs, path, 1 << 30, &buf, &got, err, sizeof(err)) < 0)
		fail_msg("read_file %s: %s", path, err);
	assert_int_equal(got, len);
	assert_memory_equal(buf, want, len);
	assert_int_equal(buf[len], 0);
	free(buf);
	assert_true(fd >= 0);
	if (btrfs__read_to_fd(fs, path, 1 << 30, fd, &flen, err, sizeof(err)) < 0)
		fail_msg("read_to_fd %s: %s", path, err);
	assert_int_equal(flen, len);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, len);
	back = malloc(len + 1);
	assert_int_equal(pread(fd, back, len, 0), (ssize_t)len);
	assert_memory_equal(back, want, len);
	free(back);
	close(fd);
}

/* Compare every regular file and directory listing under src/ with the
 * image (nftw has no user pointer, hence the file-level state). */
static struct btrfs *cmp_fs;
static size_t cmp_files, cmp_dirs;

static int cmp_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	const char *rel = path + strlen(tpath("src"));
	size_t len;

	if (flag == FTW_F && S_ISREG(st->st_mode)) {
		uint8_t *want = slurp(path, &len);

		assert_non_null(want);
		assert_file(cmp_fs, rel, want, len);
		free(want);
		cmp_files++;
	} else if (flag == FTW_D && !strstr(rel, "many")) {
		char **names;
		size_t count, n = 0;
		bool truncated;
		DIR *d = opendir(path);
		struct dirent *e;

		if (btrfs__list_dir(cmp_fs, *rel ? rel : "/", 100000, &names, &count, &truncated,
				    err, sizeof(err)) < 0)
			fail_msg("list %s: %s", rel, err);
		assert_false(truncated);
		while ((e = readdir(d))) {
			bool found = false;

			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			for (size_t i = 0; i < count && !found; i++)
				found = !strcmp(names[i], e->d_name);
			if (!found)
				fail_msg("%s: %s not listed", rel, e->d_name);
			n++;
		}
		closedir(d);
		assert_int_equal(n, count);
		btrfs__free_names(names, count);
		cmp_dirs++;
	}
	return 0;
}

static void compare_tree(struct btrfs *fs)
{
	cmp_fs = fs;
	cmp_files = cmp_dirs = 0;
	assert_int_equal(nftw(tpath("src"), cmp_cb, 16, FTW_PHYS), 0);
	assert_true(cmp_files > 2 * ARRAY_SIZE(sizes));
}

static void assert_subvols(struct btrfs *fs, const char *const *want, size_t n)
{
	char **names;
	size_t count;

	if (btrfs__list_subvolumes(fs, &names, &count, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(count, n);
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		for (size_t j = 0; j < count; j++)
			found |= !strcmp(names[j], want[i]);
		if (!found)
			fail_msg("subvolume %s missing", want[i]);
	}
	btrfs__free_names(names, count);
}

static void assert_default(struct btrfs *fs, const char *want)
{
	char path[256];

	if (btrfs__default_subvolume(fs, path, sizeof(path), err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(path, want);
}

/* ---- images ------------------------------------------------------- */

/* Two names with the same btrfs name hash. crc32c is linear, so names
 * that differ in a few bytes never collide; random 10-letter names do,
 * about 18 pairs among 400000 (birthday bound). */
static char collide[2][16];

static void random_name(uint32_t i, char *name)
{
	uint32_t s = i * 2654435761u + 7;

	for (int k = 0; k < 10; k++) {
		s = s * 1103515245u + 12345u;
		name[k] = (char)('a' + (s >> 16) % 26);
	}
	name[10] = '\0';
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int find_collision(void)
{
	const uint32_t n = 400000;
	uint64_t *v = malloc(n * sizeof(*v));
	char name[16];
	int r = -1;

	for (uint32_t i = 0; i < n; i++) {
		random_name(i, name);
		v[i] = (uint64_t)crc32c__update(~1u, name, 10) << 32 | i;
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	for (uint32_t i = 1; i < n && r; i++)
		if (v[i] >> 32 == v[i - 1] >> 32 && (uint32_t)v[i] != (uint32_t)v[i - 1]) {
			random_name((uint32_t)v[i - 1], collide[0]);
			random_name((uint32_t)v[i], collide[1]);
			r = strcmp(collide[0], collide[1]) ? 0 : -1;
		}
	free(v);
	return r;
}

static int make_src(void)
{
	static const char *const links[][2] = {
		{ "root/links/rel", "../sizes/t100" },
		{ "root/links/abs", "/boot/loader/entries/fedora-6.8.0.conf" },
		{ "root/links/chain", "chain2" },
		{ "root/links/chain2", "rel" },
		{ "root/links/loop1", "loop2" },
		{ "root/links/loop2", "loop1" },
		{ "root/links/self", "self" },
		{ "root/links/dangling", "nowhere" },
		{ "root/links/cross", "../../boot/vmlinuz-6.8.0" },
		{ "root/links/dirlink", "../sizes" },
		{ "root/links/toplink", "/" },
		{ "boot/kernel", "vmlinuz-6.8.0" },
	};
	char rel[64];
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		snprintf(rel, sizeof(rel), "src/root/sizes/t%zu", sizes[i]);
		r |= put_data(rel, sizes[i], (unsigned int)i, true);
		snprintf(rel, sizeof(rel), "src/root/sizes/r%zu", sizes[i]);
		r |= put_data(rel, sizes[i], (unsigned int)i + 100, false);
	}
	r |= put_data("src/boot/vmlinuz-6.8.0", 2500000, 7, true);
	r |= put_data("src/boot/initramfs-6.8.0.img", 1500000, 8, false);
	r |= write_file("src/boot/loader/entries/fedora-6.8.0.conf", BLS, strlen(BLS));
	r |= put_data("src/boot/grub2/grubenv", 1024, 9, true);
	r |= put_data("src/home/user/notes.txt", 5000, 10, true);
	r |= put_data("src/var/log/messages", 70000, 11, true);
	r |= sh("mkdir -p src/root/links src/root/empty");
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		r |= sh("ln -s '%s' 'src/%s'", links[i][1], links[i][0]);
	/* l1 -> l2 -> ... -> l9 -> the file: 9 links from l1, 8 from l2 */
	for (int i = 1; i <= 8; i++)
		r |= sh("ln -s l%d src/root/links/l%d", i + 1, i);
	r |= sh("ln -s ../sizes/t1 src/root/links/l9");
	r |= find_collision();
	for (int i = 0; i < 2; i++) {
		snprintf(rel, sizeof(rel), "src/root/hash/%s", collide[i]);
		r |= put_data(rel, 10 + (size_t)i, (unsigned int)i + 200, true);
	}
	return r;
}

static int group_setup(void **state)
{
	const char *subvols = "--subvol rw:root --subvol rw:boot --subvol rw:home --subvol rw:var";
	const char *mkfs = "mkfs.btrfs -q -f -b 256M";
	int r = 0;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_btrfs-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	r |= make_src();
	r |= sh("%s -L fedora -U " UUID " --rootdir src --subvol rw:boot --subvol rw:home "
		"--subvol rw:var --subvol default:root --compress zstd:3 zstd.img", mkfs);
	r |= sh("%s --rootdir src %s --compress lzo lzo.img", mkfs, subvols);
	r |= sh("%s --rootdir src %s --compress zlib:6 zlib.img", mkfs, subvols);
	r |= sh("%s -n 4096 --rootdir src %s plain.img", mkfs, subvols);
	r |= sh("mkdir -p srcmany/many && cd srcmany/many && i=0; while [ $i -lt %d ]; do "
		"echo \"entry $i\" > entry-with-a-longer-name-$i; i=$((i+1)); done", MANY);
	r |= sh("%s -n 4096 --rootdir srcmany many.img", mkfs);
	r |= sh("mkdir -p srcnest/a/dir/b/c && echo nested > srcnest/a/dir/b/c/f && "
		"%s --rootdir srcnest --subvol rw:a --subvol default:a/dir/b nest.img", mkfs);
	return r ? -1 : 0;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int group_teardown(void **state)
{
	return nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- tests -------------------------------------------------------- */

static void test_crc32c(void **state)
{
	assert_int_equal(crc32c__crc("123456789", 9), 0xe3069283);
	/* btrfs's name hash of "default" (as btrfs inspect-internal prints
	 * the root tree's DIR_ITEM key) */
	assert_int_equal(crc32c__update(~1u, "default", 7), 2378154706u);
}

static void test_open_label_uuid(void **state)
{
	struct img m = open_img("zstd.img");
	FILE *p;
	char line[128] = "", cmd[800];
	struct disk *d;

	assert_true(btrfs__probe(m.d, 0, m.d->size));
	assert_false(btrfs__probe(m.d, 4096, m.d->size - 4096));
	assert_string_equal(btrfs__label(m.fs), "fedora");
	assert_string_equal(btrfs__uuid(m.fs), UUID);
	snprintf(cmd, sizeof(cmd), "PATH=\"$PATH:/sbin:/usr/sbin\" blkid -o value -s UUID '%s'",
		 tpath("zstd.img"));
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(line, sizeof(line), p));
	pclose(p);
	line[strcspn(line, "\n")] = '\0';
	assert_string_equal(line, btrfs__uuid(m.fs));
	close_img(&m);

	/* not btrfs at all */
	assert_int_equal(sh("truncate -s 1M zeros.img"), 0);
	d = disk__open(tpath("zeros.img"), DISK_FORMAT_RAW, true, err, sizeof(err));
	assert_non_null(d);
	assert_false(btrfs__probe(d, 0, d->size));
	assert_null(btrfs__open(d, 0, d->size, err, sizeof(err)));
	assert_one_line(err);
	assert_non_null(strstr(err, "zeros.img"));
	assert_null(btrfs__open(d, 0, d->size + 1, err, sizeof(err)));
	assert_non_null(strstr(err, "beyond the end of the disk"));
	disk__close(d);
}

static void test_fedora_layout(void **state)
{
	static const char *const fedora[] = { "root", "boot", "home", "var" };
	struct img m = open_img("zstd.img");
	enum btrfs_type type;
	uint64_t size;
	char **names;
	size_t count;
	bool truncated;

	assert_subvols(m.fs, fedora, 4);
	assert_default(m.fs, "root");
	assert_int_equal(btrfs__stat(m.fs, "/boot", &type, &size, err, sizeof(err)), 0);
	assert_int_equal(type, BTRFS_TYPE_DIR);
	assert_int_equal(btrfs__stat(m.fs, "boot/loader/entries/fedora-6.8.0.conf", &type, &size,
				     err, sizeof(err)), 0);
	assert_int_equal(type, BTRFS_TYPE_FILE);
	assert_int_equal(size, strlen(BLS));
	assert_int_equal(btrfs__list_dir(m.fs, "/boot/loader/entries", 10, &names, &count,
					 &truncated, err, sizeof(err)), 0);
	assert_int_equal(count, 1);
	assert_string_equal(names[0], "fedora-6.8.0.conf");
	btrfs__free_names(names, count);
	close_img(&m);

	m = open_img("lzo.img");
	assert_subvols(m.fs, fedora, 4);
	assert_default(m.fs, "");
	assert_string_equal(btrfs__label(m.fs), "");
	close_img(&m);
}

static void test_read_zstd(void **state)
{
	struct img m = open_img("zstd.img");

	compare_tree(m.fs);
	close_img(&m);
}

static void test_read_lzo(void **state)
{
	struct img m = open_img("lzo.img");

	compare_tree(m.fs);
	close_img(&m);
}

static void test_read_zlib(void **state)
{
	struct img m = open_img("zlib.img");

	compare_tree(m.fs);
	close_img(&m);
}

static void test_read_plain_4k_nodes(void **state)
{
	struct img m = open_img("plain.img");

	compare_tree(m.fs);
	close_img(&m);
}

static void assert_link(struct btrfs *fs, const char *path, const char *src_file)
{
	size_t len;
	uint8_t *want = slurp(tpath(src_file), &len);

	assert_non_null(want);
	assert_file(fs, path, want, len);
	free(want);
}

static void assert_fails(int r, int want, const char *what)
{
	if (r != want)
		fail_msg("%s: %d, expected %d (%s)", what, r, want, err);
	assert_one_line(err);
}

static void test_symlinks(void **state)
{
	struct img m = open_img("zstd.img");
	enum btrfs_type type;
	uint64_t size;
	char **names;
	size_t count;
	bool truncated;

	assert_link(m.fs, "root/links/rel", "src/root/sizes/t100");
	assert_link(m.fs, "root/links/abs", "src/boot/loader/entries/fedora-6.8.0.conf");
	assert_link(m.fs, "root/links/chain", "src/root/sizes/t100");
	assert_link(m.fs, "root/links/cross", "src/boot/vmlinuz-6.8.0");
	assert_link(m.fs, "root/links/dirlink/t4097", "src/root/sizes/t4097");
	assert_link(m.fs, "root/links/toplink/boot/kernel", "src/boot/vmlinuz-6.8.0");
	assert_link(m.fs, "root/links/l2", "src/root/sizes/t1");
	/* ".." is lexical and crosses subvolume boundaries; above the top
	 * level it stays there */
	assert_link(m.fs, "root/../boot/loader/entries/../entries/fedora-6.8.0.conf",
		    "src/boot/loader/entries/fedora-6.8.0.conf");
	assert_link(m.fs, "../../boot/./kernel", "src/boot/vmlinuz-6.8.0");
	assert_fails(btrfs__stat(m.fs, "root/links/l1", &type, &size, err, sizeof(err)), -ELOOP, "l1");
	assert_non_null(strstr(err, "root/links/l1"));
	assert_fails(btrfs__stat(m.fs, "root/links/loop1", &type, &size, err, sizeof(err)), -ELOOP,
		     "loop");
	assert_fails(btrfs__stat(m.fs, "root/links/self", &type, &size, err, sizeof(err)), -ELOOP,
		     "self");
	assert_fails(btrfs__stat(m.fs, "root/links/dangling", &type, &size, err, sizeof(err)), -ENOENT,
		     "dangling");
	assert_int_equal(btrfs__stat(m.fs, "root/links/dirlink", &type, &size, err, sizeof(err)), 0);
	assert_int_equal(type, BTRFS_TYPE_DIR);
	assert_int_equal(btrfs__list_dir(m.fs, "root/links/toplink", 10, &names, &count, &truncated,
					 err, sizeof(err)), 0);
	assert_int_equal(count, 4);
	btrfs__free_names(names, count);
	close_img(&m);
}

static void test_errors(void **state)
{
	struct img m = open_img("lzo.img");
	enum btrfs_type type;
	uint64_t size, len;
	uint8_t *buf;
	size_t blen, count;
	char **names, path[8];
	bool truncated;

	assert_fails(btrfs__stat(m.fs, "root/nothing", &type, &size, err, sizeof(err)), -ENOENT, "enoent");
	assert_non_null(strstr(err, "root/nothing"));
	assert_fails(btrfs__stat(m.fs, "root/sizes/t100/x", &type, &size, err, sizeof(err)), -ENOTDIR,
		     "enotdir");
	assert_fails(btrfs__read_file(m.fs, "boot", 100, &buf, &blen, err, sizeof(err)), -EISDIR,
		     "eisdir");
	assert_fails(btrfs__read_file(m.fs, "root/sizes/t4097", 4096, &buf, &blen, err, sizeof(err)),
		     -EFBIG, "efbig");
	assert_fails(btrfs__read_to_fd(m.fs, "root/sizes/t4097", 4096, 1, &len, err, sizeof(err)),
		     -EFBIG, "efbig fd");
	assert_fails(btrfs__list_dir(m.fs, "root/sizes/t1", 10, &names, &count, &truncated, err,
				     sizeof(err)), -ENOTDIR, "list file");
	assert_int_equal(btrfs__list_dir(m.fs, "root/sizes", 3, &names, &count, &truncated, err,
					 sizeof(err)), 0);
	assert_int_equal(count, 3);
	assert_true(truncated);
	btrfs__free_names(names, count);
	assert_int_equal(btrfs__list_dir(m.fs, "root/empty", 3, &names, &count, &truncated, err,
					 sizeof(err)), 0);
	assert_int_equal(count, 0);
	assert_false(truncated);
	btrfs__free_names(names, count);
	assert_int_equal(btrfs__stat(m.fs, "", &type, &size, err, sizeof(err)), 0);
	assert_int_equal(type, BTRFS_TYPE_DIR);
	assert_int_equal(btrfs__stat(m.fs, "root/sizes/t0", &type, &size, err, sizeof(err)), 0);
	assert_int_equal(type, BTRFS_TYPE_FILE);
	assert_int_equal(size, 0);
	close_img(&m);

	m = open_img("nest.img");
	assert_default(m.fs, "a/dir/b");
	assert_fails(btrfs__default_subvolume(m.fs, path, 4, err, sizeof(err)), -ERANGE, "erange");
	assert_link(m.fs, "a/dir/b/c/f", "srcnest/a/dir/b/c/f");
	close_img(&m);
}

/* Both names live in one DIR_ITEM item (same key); each is found. */
static void test_hash_collision(void **state)
{
	struct img m = open_img("zstd.img");
	struct btrfs_op op = btrfs__op(m.fs, "root/hash", err, sizeof(err));
	uint8_t item[512];
	struct btrfs_inode dir;
	struct btrfs_key key;
	uint32_t len;

	assert_int_equal(btrfs__resolve(&op, "root/hash", &dir), 0);
	key = (struct btrfs_key){ dir.ino, BTRFS_DIR_ITEM_KEY,
				  crc32c__update(~1u, collide[0], strlen(collide[0])) };
	assert_int_equal(btrfs__tree_lookup(&op, &dir.root, &key, item, sizeof(item), &len), 0);
	assert_int_equal(len, 2 * sizeof(struct btrfs_dir_item) + strlen(collide[0]) +
			 strlen(collide[1]));
	for (int i = 0; i < 2; i++) {
		char path[64], src[80];

		snprintf(path, sizeof(path), "root/hash/%s", collide[i]);
		snprintf(src, sizeof(src), "src/%s", path);
		assert_link(m.fs, path, src);
	}
	close_img(&m);
}

static void test_many_entries(void **state)
{
	struct img m = open_img("many.img");
	struct tscan s;
	unsigned int maxlevel = 0;
	char **names, path[96], want[32];
	size_t count;
	bool truncated, *seen = calloc(MANY, sizeof(*seen));

	assert_int_equal(tscan(tpath("many.img"), 0, &s), 0);
	for (size_t i = 0; i < s.n; i++)
		maxlevel = MAX(maxlevel, s.v[i].level);
	free(s.v);
	assert_true(maxlevel >= 2);
	assert_int_equal(btrfs__list_dir(m.fs, "many", 100000, &names, &count, &truncated, err,
					 sizeof(err)), 0);
	assert_int_equal(count, MANY);
	for (size_t i = 0; i < count; i++) {
		int n = -1;

		assert_int_equal(sscanf(names[i], "entry-with-a-longer-name-%d", &n), 1);
		assert_true(n >= 0 && n < MANY && !seen[n]);
		seen[n] = true;
	}
	btrfs__free_names(names, count);
	free(seen);
	for (int i = 0; i < MANY; i += 97) {
		snprintf(path, sizeof(path), "many/entry-with-a-longer-name-%d", i);
		snprintf(want, sizeof(want), "entry %d\n", i);
		assert_file(m.fs, path, (const uint8_t *)want, strlen(want));
	}
	close_img(&m);
}

static void test_qcow2(void **state)
{
	struct img m;

	assert_int_equal(sh("qemu-img convert -O qcow2 zstd.img zstd.qcow2"), 0);
	m = open_img("zstd.qcow2");
	assert_string_equal(m.d->format, "qcow2");
	assert_default(m.fs, "root");
	compare_tree(m.fs);
	close_img(&m);
}

static void test_partition_offset(void **state)
{
	struct img m;
	struct stat st;

	assert_int_equal(stat(tpath("lzo.img"), &st), 0);
	assert_int_equal(sh("truncate -s 3M part.img && cat lzo.img >> part.img && "
			    "truncate -s +1M part.img"), 0);
	m = open_at("part.img", 3 << 20, (uint64_t)st.st_size);
	assert_false(btrfs__probe(m.d, 0, m.d->size));
	assert_true(btrfs__probe(m.d, 3 << 20, (uint64_t)st.st_size));
	compare_tree(m.fs);
	close_img(&m);
}

/* ---- holes and prealloc, patched in by hand ----------------------- */

struct ext_patch {
	uint64_t key_offset, disk_bytenr;
	uint8_t type;
	int64_t shift;                  /* move the start of the extent forward */
};

static void patch_extent(uint8_t *b, uint32_t slot, void *priv)
{
	const struct ext_patch *p = priv;
	struct btrfs_item_disk *it = &leaf_items(b)[slot];
	struct btrfs_file_extent_item *fe = (void *)item_data(b, it);

	fe->type = p->type;
	if (p->disk_bytenr != 1)
		fe->disk_bytenr = htole64(p->disk_bytenr);
	if (p->shift) {
		it->key.offset = htole64(le64toh(it->key.offset) + (uint64_t)p->shift);
		fe->offset = htole64(le64toh(fe->offset) + (uint64_t)p->shift);
		fe->num_bytes = htole64(le64toh(fe->num_bytes) - (uint64_t)p->shift);
	}
}

static void grow_inode(uint8_t *b, uint32_t slot, void *priv)
{
	struct btrfs_inode_item *ii = (void *)item_data(b, &leaf_items(b)[slot]);

	ii->size = htole64(le64toh(ii->size) + *(uint64_t *)priv);
}

static void test_holes_prealloc(void **state)
{
	const char *file = "root/sizes/r3000000";
	uint64_t grow = 1 << 20;
	struct ext_patch hole = { 1 << 20, 0, BTRFS_FILE_EXTENT_REG, 0 };
	struct ext_patch prealloc = { 2 << 20, 1, BTRFS_FILE_EXTENT_PREALLOC, 0 };
	struct ext_patch late = { 0, 1, BTRFS_FILE_EXTENT_REG, 512 << 10 };
	struct btrfs_op op;
	struct btrfs_inode ino;
	struct btrfs_key key;
	struct tscan s;
	struct img m;
	uint8_t *want;
	size_t len;

	assert_int_equal(sh("cp --sparse=always plain.img holes.img"), 0);
	m = open_img("holes.img");
	op = btrfs__op(m.fs, file, err, sizeof(err));
	assert_int_equal(btrfs__resolve(&op, file, &ino), 0);
	close_img(&m);
	assert_int_equal(tscan(tpath("holes.img"), 0, &s), 0);
	/* mkfs writes this file as three 1 MiB extents */
	key = (struct btrfs_key){ ino.ino, BTRFS_EXTENT_DATA_KEY, hole.key_offset };
	assert_true(patch_item(tpath("holes.img"), &s, &key, patch_extent, &hole) >= 1);
	key.offset = prealloc.key_offset;
	assert_true(patch_item(tpath("holes.img"), &s, &key, patch_extent, &prealloc) >= 1);
	key.offset = 0;
	assert_true(patch_item(tpath("holes.img"), &s, &key, patch_extent, &late) >= 1);
	key = (struct btrfs_key){ ino.ino, BTRFS_INODE_ITEM_KEY, 0 };
	assert_true(patch_item(tpath("holes.img"), &s, &key, grow_inode, &grow) >= 1);
	free(s.v);

	want = slurp(tpath("src/root/sizes/r3000000"), &len);
	want = realloc(want, len + grow);
	memset(want, 0, 512 << 10);                     /* no item: a hole */
	memset(want + (1 << 20), 0, 2 << 20);           /* disk_bytenr 0, prealloc */
	memset(want + len, 0, grow);                    /* past the last extent */
	m = open_img("holes.img");
	assert_file(m.fs, file, want, len + grow);
	close_img(&m);
	free(want);
}

/* ---- superblock copies and DUP ------------------------------------ */

static void test_backup_superblock(void **state)
{
	struct img m;
	struct disk *d;

	assert_int_equal(sh("cp --sparse=always lzo.img backup.img && "
			    "printf 'XXXXXXXX' | dd of=backup.img bs=1 seek=65600 conv=notrunc status=none"), 0);
	d = disk__open(tpath("backup.img"), DISK_FORMAT_RAW, true, err, sizeof(err));
	assert_false(btrfs__probe(d, 0, d->size));
	disk__close(d);
	m = open_img("backup.img");             /* warns: backup at 64 MiB */
	assert_link(m.fs, "boot/loader/entries/fedora-6.8.0.conf",
		    "src/boot/loader/entries/fedora-6.8.0.conf");
	close_img(&m);
	/* a bad checksum (magic intact) falls back the same way */
	assert_int_equal(sh("cp --sparse=always lzo.img backup.img && "
			    "printf 'Z' | dd of=backup.img bs=1 seek=65800 conv=notrunc status=none"), 0);
	m = open_img("backup.img");
	assert_link(m.fs, "root/sizes/t3000", "src/root/sizes/t3000");
	close_img(&m);
	/* no backup inside a small partition: refused */
	d = disk__open(tpath("backup.img"), DISK_FORMAT_RAW, true, err, sizeof(err));
	assert_null(btrfs__open(d, 0, 64 << 20, err, sizeof(err)));
	assert_one_line(err);
	assert_non_null(strstr(err, "checksum"));
	disk__close(d);
}

static void test_dup_first_copies_bad(void **state)
{
	struct img m = open_img("zstd.img");
	struct btrfs_chunks chunks = { 0 };
	uint8_t *b;
	struct tscan s;
	size_t spoiled = 0;

	/* which physical ranges hold the first copies of DUP chunks */
	chunks.n = m.fs->chunks.n;
	chunks.v = malloc(chunks.n * sizeof(*chunks.v));
	memcpy(chunks.v, m.fs->chunks.v, chunks.n * sizeof(*chunks.v));
	close_img(&m);
	assert_int_equal(sh("cp --sparse=always zstd.img dup.img"), 0);
	assert_int_equal(tscan(tpath("dup.img"), 0, &s), 0);
	b = malloc(s.nodesize);
	for (size_t i = 0; i < s.n; i++)
		for (size_t c = 0; c < chunks.n; c++) {
			const struct btrfs_chunk_map *cm = &chunks.v[c];

			if (cm->copies != 2 || s.v[i].phys < cm->phys[0] ||
			    s.v[i].phys >= cm->phys[0] + cm->length)
				continue;
			assert_int_equal(tblock_read(tpath("dup.img"), &s, s.v[i].phys, b), 0);
			b[200] ^= 0x55;          /* no checksum fix: a bad first copy */
			assert_int_equal(tblock_write(tpath("dup.img"), &s, s.v[i].phys, b, false), 0);
			spoiled++;
		}
	free(b);
	free(s.v);
	free(chunks.v);
	assert_true(spoiled >= 5);
	m = open_img("dup.img");
	assert_default(m.fs, "root");
	compare_tree(m.fs);
	close_img(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_open_label_uuid),
		cmocka_unit_test(test_fedora_layout),
		cmocka_unit_test(test_read_zstd),
		cmocka_unit_test(test_read_lzo),
		cmocka_unit_test(test_read_zlib),
		cmocka_unit_test(test_read_plain_4k_nodes),
		cmocka_unit_test(test_symlinks),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_hash_collision),
		cmocka_unit_test(test_many_entries),
		cmocka_unit_test(test_qcow2),
		cmocka_unit_test(test_partition_offset),
		cmocka_unit_test(test_holes_prealloc),
		cmocka_unit_test(test_backup_superblock),
		cmocka_unit_test(test_dup_first_copies_bad),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
