/* test_btrfs_corrupt.c — untrusted btrfs images: copies of good images
 * (mkfs.btrfs, 4 KiB nodes, DUP metadata, zstd/lzo/zlib) with fields of
 * the superblock, the sys_chunk_array and every tree block patched —
 * header, item table, keys, node pointers (children pointing at their
 * ancestors included), chunk, root, inode, directory and extent items,
 * compression types, decompressed sizes — and the checksum recomputed
 * after each patch, so the structural checks are what is exercised (all
 * copies of a DUP block are patched alike). Compressed extent data is
 * garbled too. Each case opens the image and reads, stats and lists a
 * set of paths: it must be refused or fail with one line (or read, with
 * other bytes where file data was hit), never crash, hang (an alarm
 * guards each case) or trip ASan/UBSan. The case count is printed. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <cmocka.h>

#include "vmm/boot/btrfs.h"
#include "devices/block/disk.h"
#include "tests/unit/btrfs_img.h"

#define SB_OFF  BTRFS_SUPER_OFFSET
#define HDR     sizeof(struct btrfs_header_disk)
#define ITEM    sizeof(struct btrfs_item_disk)
#define PTR     sizeof(struct btrfs_key_ptr_disk)
#define LIMIT   (64u << 20)

enum { SET, ADD, XOR };

/* One change: 'width' bytes (1, 2, 4, 8; little-endian) at 'off'. */
struct mut {
	uint32_t off;
	uint8_t width, op;
	uint64_t val;
};

struct stats {
	unsigned int cases, refused, failed, fine;
};

static struct stats st;
static int memfd = -1;

static const char *const files[] = {
	"boot/loader/entries/a.conf", "boot/vmlinuz", "boot/initrd", "boot/link",
	"root/small", "root/mid", "root/etc/dir/name-42", "home/x", "root/etc/dir/name-299",
};

static void check_err(int r, const char *err)
{
	if (r < 0 && (!err[0] || strchr(err, '\n')))
		fail_msg("error %d with a bad message: \"%s\"", r, err);
	if (r < 0 && getenv("BTRFS_CORRUPT_VERBOSE"))
		fprintf(stderr, "  %d %s\n", r, err);
}

/* Open and use the image; count how it went. */
static void battery(const char *img)
{
	char err[512] = "", path[256];
	struct disk *d;
	struct btrfs *fs;
	bool bad = false;

	alarm(30);
	if (++st.cases % 500 == 0 && getenv("BTRFS_CORRUPT_VERBOSE"))
		fprintf(stderr, "%u cases, %ld s\n", st.cases, (long)time(NULL));
	d = disk__open(tpath(img), DISK_FORMAT_RAW, true, err, sizeof(err));
	assert_non_null(d);
	fs = btrfs__open(d, 0, d->size, err, sizeof(err));
	if (!fs) {
		check_err(-1, err);
		st.refused++;
		disk__close(d);
		alarm(0);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		enum btrfs_type type;
		uint64_t size, len;
		uint8_t *buf;
		size_t blen;
		int r;

		r = btrfs__stat(fs, files[i], &type, &size, err, sizeof(err));
		check_err(r, err);
		bad |= r < 0;
		r = btrfs__read_file(fs, files[i], LIMIT, &buf, &blen, err, sizeof(err));
		check_err(r, err);
		bad |= r < 0;
		if (!r)
			free(buf);
		assert_int_equal(ftruncate(memfd, 0), 0);
		assert_int_equal(lseek(memfd, 0, SEEK_SET), 0);
		r = btrfs__read_to_fd(fs, files[i], LIMIT, memfd, &len, err, sizeof(err));
		check_err(r, err);
	}
	for (int i = 0; i < 4; i++) {
		static const char *const dirs[] = { "/", "boot/loader/entries", "root/etc/dir", "home" };
		char **names;
		size_t count;
		bool truncated;
		int r = btrfs__list_dir(fs, dirs[i], 1000, &names, &count, &truncated, err, sizeof(err));

		check_err(r, err);
		bad |= r < 0;
		if (!r)
			btrfs__free_names(names, count);
	}
	{
		char **names;
		size_t count;
		int r = btrfs__list_subvolumes(fs, &names, &count, err, sizeof(err));

		check_err(r, err);
		if (!r)
			btrfs__free_names(names, count);
		r = btrfs__default_subvolume(fs, path, sizeof(path), err, sizeof(err));
		check_err(r, err);
		bad |= r < 0;
	}
	btrfs__close(fs);
	disk__close(d);
	if (bad)
		st.failed++;
	else
		st.fine++;
	alarm(0);
}

static void apply(uint8_t *b, const struct mut *m)
{
	uint64_t v = 0;

	memcpy(&v, b + m->off, m->width);
	v = le64toh(v);
	v = m->op == SET ? m->val : m->op == ADD ? v + m->val : v ^ m->val;
	v = htole64(v);
	memcpy(b + m->off, &v, m->width);
}

static uint64_t get(const uint8_t *b, uint32_t off, int width)
{
	uint64_t v = 0;

	memcpy(&v, b + off, (size_t)width);
	return le64toh(v);
}

static void pwrite_all(const char *img, const void *b, size_t len, uint64_t off)
{
	int fd = open(tpath(img), O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, b, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* ---- images ------------------------------------------------------- */

static int group_setup(void **state)
{
	int r = 0;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_btrfsc-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	memfd = memfd_create("btrfs-corrupt", 0);
	r |= write_file("src/boot/loader/entries/a.conf", "title A\nlinux /vmlinuz\n", 22);
	r |= put_data("src/boot/vmlinuz", 300000, 1, true);
	r |= put_data("src/boot/initrd", 50000, 2, false);
	r |= put_data("src/root/small", 100, 3, true);
	r |= put_data("src/root/mid", 3000, 4, true);
	r |= put_data("src/home/x", 9000, 5, true);
	r |= sh("ln -s loader/entries/a.conf src/boot/link && mkdir -p src/root/etc/dir && "
		"for i in $(seq 0 299); do echo $i > src/root/etc/dir/name-$i; done");
	for (int i = 0; i < 3; i++) {
		static const char *const algo[] = { "zstd", "lzo", "zlib" };

		r |= sh("mkfs.btrfs -q -f -b 128M -n 4096 --rootdir src --subvol default:root "
			"--subvol rw:boot --subvol rw:home --compress %s %s.img", algo[i], algo[i]);
	}
	return r ? -1 : 0;
}

static int rm_cb(const char *path, const struct stat *s, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int group_teardown(void **state)
{
	close(memfd);
	printf("btrfs: %u corruption cases (%u refused at open, %u failed later, %u read through)\n",
	       st.cases, st.refused, st.failed, st.fine);
	return nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- superblock ----------------------------------------------------- */

/* Patch the primary superblock (checksum recomputed), run, restore.
 * 'what': a text the open error must hold, "" for "must open", NULL
 * for "either". */
static void sb_case(const char *img, const struct mut *m, size_t n, const char *what)
{
	uint8_t orig[BTRFS_SUPER_SIZE], b[BTRFS_SUPER_SIZE];
	char err[512] = "";
	int fd = open(tpath(img), O_RDONLY);
	struct disk *d;
	struct btrfs *fs;
	uint32_t c;

	assert_int_equal(pread(fd, orig, sizeof(orig), SB_OFF), sizeof(orig));
	close(fd);
	memcpy(b, orig, sizeof(b));
	for (size_t i = 0; i < n; i++)
		apply(b, &m[i]);
	c = htole32(crc32c__crc(b + BTRFS_CSUM_SIZE, sizeof(b) - BTRFS_CSUM_SIZE));
	memcpy(b, &c, 4);
	pwrite_all(img, b, sizeof(b), SB_OFF);
	if (what) {
		d = disk__open(tpath(img), DISK_FORMAT_RAW, true, err, sizeof(err));
		fs = btrfs__open(d, 0, d->size, err, sizeof(err));
		if (*what && fs)
			fail_msg("superblock +%#x: opened, expected \"%s\"", m[0].off, what);
		if (!*what && !fs)
			fail_msg("superblock +%#x: %s", m[0].off, err);
		if (*what && !strstr(err, what))
			fail_msg("superblock +%#x: \"%s\" lacks \"%s\"", m[0].off, err, what);
		btrfs__close(fs);
		disk__close(d);
	}
	battery(img);
	pwrite_all(img, orig, sizeof(orig), SB_OFF);
}

static void test_superblock_fields(void **state)
{
	static const struct { struct mut m; const char *what; } cases[] = {
		{ { 0xc4, 2, SET, 1 }, "checksum type 1 (xxhash64)" },
		{ { 0xc4, 2, SET, 2 }, "sha256" },
		{ { 0xc4, 2, SET, 3 }, "blake2b" },
		{ { 0xc4, 2, SET, 77 }, "checksum type 77" },
		{ { 0x90, 4, SET, 0 }, "sectorsize" },
		{ { 0x90, 4, SET, 512 }, "sectorsize" },
		{ { 0x90, 4, SET, 6000 }, "sectorsize" },
		{ { 0x90, 4, SET, 1 << 17 }, "sectorsize" },
		{ { 0x94, 4, SET, 0 }, "nodesize" },
		{ { 0x94, 4, SET, 2048 }, "nodesize" },
		{ { 0x94, 4, SET, 12288 }, "nodesize" },
		{ { 0x94, 4, SET, 1 << 17 }, "nodesize" },
		{ { 0x94, 4, SET, 16384 }, "tree block" },
		{ { 0x88, 8, SET, 0 }, "devices" },
		{ { 0x88, 8, SET, 2 }, "over 2 devices" },
		{ { 0x50, 8, SET, 0 }, "tree block 0" },
		{ { 0x50, 8, ADD, 4096 }, "tree block" },
		{ { 0x50, 8, ADD, 1 }, "tree block" },
		{ { 0x50, 8, SET, UINT64_MAX }, "tree block" },
		{ { 0x58, 8, SET, 0 }, "tree block" },
		{ { 0x58, 8, ADD, 4096 }, "tree block" },
		{ { 0x58, 8, SET, 1ull << 40 }, "tree block" },
		{ { 0xc6, 1, SET, 8 }, "levels" },
		{ { 0xc6, 1, ADD, 1 }, "level" },
		{ { 0xc7, 1, SET, 255 }, "levels" },
		{ { 0xc7, 1, ADD, 1 }, "level" },
		{ { 0xa0, 4, SET, 0 }, "sys_chunk_array_size" },
		{ { 0xa0, 4, SET, 2049 }, "sys_chunk_array_size" },
		{ { 0xa0, 4, SET, 0xffffffff }, "sys_chunk_array_size" },
		{ { 0xa0, 4, ADD, 1 }, "sys_chunk_array" },
		{ { 0xa0, 4, ADD, (uint64_t)-1 }, "sys_chunk_array" },
		{ { 0xbc, 8, XOR, 1 << 12 }, "incompatible feature bit 12" },
		{ { 0xbc, 8, XOR, 1 << 13 }, "incompatible feature bit 13" },
		{ { 0xbc, 8, XOR, 1ull << 40 }, "incompatible feature bit 40" },
		{ { 0xbc, 8, XOR, 1 << 10 }, "another filesystem" },   /* metadata_uuid: zeros */
		{ { 0x48, 8, ADD, 1 }, "generation" },
		{ { 0xa4, 8, ADD, 1 }, "generation" },
		{ { 0x30, 8, ADD, 4096 }, "" },                 /* says elsewhere: backup used */
		{ { 0x40, 1, XOR, 1 }, "" },                    /* bad magic: backup used */
		{ { 0xc9, 8, SET, 2 }, "not this one" },        /* dev_item.devid */
		{ { 0x20, 1, XOR, 0x80 }, "another filesystem" },
		{ { 0x80, 8, SET, 0 }, NULL },                  /* root_dir_objectid */
		{ { 0x80, 8, SET, UINT64_MAX }, NULL },
		{ { 0x12b, 8, SET, 0x4141414141414141ull }, "" },       /* label */
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		sb_case("zstd.img", &cases[i].m, 1, cases[i].what);
	/* a bad checksum alone, not recomputed: the backup copy is used */
	{
		uint8_t x = 0;
		int fd = open(tpath("zstd.img"), O_RDWR);

		assert_int_equal(pread(fd, &x, 1, SB_OFF + 0x100), 1);
		x ^= 1;
		assert_int_equal(pwrite(fd, &x, 1, SB_OFF + 0x100), 1);
		battery("zstd.img");
		x ^= 1;
		assert_int_equal(pwrite(fd, &x, 1, SB_OFF + 0x100), 1);
		close(fd);
	}
}

static void test_sys_chunk_array(void **state)
{
	const uint32_t a = 0x32b + 17;          /* the first chunk, after its key */
	static const struct { int off; int width; uint8_t op; uint64_t val; const char *what; } cases[] = {
		{ 0, 8, SET, 0, "bad length" },
		{ 0, 8, SET, 4095, "bad length" },
		{ 0, 8, SET, UINT64_MAX & ~4095ull, "bad length" },
		{ 24, 8, XOR, BTRFS_BLOCK_GROUP_RAID0, "RAID0 profile" },
		{ 24, 8, SET, BTRFS_BLOCK_GROUP_SYSTEM | BTRFS_BLOCK_GROUP_RAID1, "RAID1 profile" },
		{ 24, 8, SET, BTRFS_BLOCK_GROUP_SYSTEM | BTRFS_BLOCK_GROUP_RAID10, "RAID10" },
		{ 24, 8, SET, BTRFS_BLOCK_GROUP_SYSTEM | BTRFS_BLOCK_GROUP_RAID5, "RAID5" },
		{ 24, 8, SET, BTRFS_BLOCK_GROUP_SYSTEM | BTRFS_BLOCK_GROUP_RAID6, "RAID6" },
		{ 24, 8, SET, BTRFS_BLOCK_GROUP_SYSTEM | BTRFS_BLOCK_GROUP_RAID1C3, "RAID1C3" },
		{ 24, 8, SET, BTRFS_BLOCK_GROUP_SYSTEM | BTRFS_BLOCK_GROUP_RAID1C4, "RAID1C4" },
		{ 24, 8, SET, BTRFS_BLOCK_GROUP_SYSTEM, "stripes" },    /* SINGLE with 2 */
		{ 44, 2, SET, 0, "too short" },
		{ 44, 2, SET, 1, "stripes" },
		{ 44, 2, SET, 3, "overruns" },
		{ 44, 2, SET, 0xffff, "overruns" },
		{ 48, 8, SET, 2, "not this one" },
		{ 56, 8, SET, 1ull << 40, "beyond the partition" },
		{ 56, 8, ADD, 4096, NULL },         /* copy 0 moved: copy 1 used */
		{ -17 + 8, 1, SET, BTRFS_DEV_ITEM_KEY, "not a chunk" },
		{ -17 + 9, 8, ADD, 4096, NULL },
		{ -17 + 9, 8, ADD, 1, "bad length" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct mut m = { (uint32_t)((int)a + cases[i].off), (uint8_t)cases[i].width, cases[i].op, cases[i].val };

		sb_case("zstd.img", &m, 1, cases[i].what);
	}
	/* every byte of the array and its size, two ways */
	for (uint32_t off = 0x32b; off < 0x32b + 129; off++) {
		struct mut m1 = { off, 1, XOR, 0xff }, m2 = { off, 1, SET, 0 };

		sb_case("zstd.img", &m1, 1, NULL);
		sb_case("zstd.img", &m2, 1, NULL);
	}
}

/* ---- tree blocks ---------------------------------------------------- */

struct blocks {
	const char *img;
	struct tscan s;
	uint64_t *logical;              /* unique logical addresses */
	size_t n;
	uint64_t root_tree;
	bool full;                      /* every kind of change, or file extents only */
};

static void blocks_load(struct blocks *bl, const char *img)
{
	memset(bl, 0, sizeof(*bl));
	bl->img = img;
	assert_int_equal(tscan(tpath(img), 0, &bl->s), 0);
	bl->logical = calloc(bl->s.n, sizeof(*bl->logical));
	for (size_t i = 0; i < bl->s.n; i++) {
		bool seen = false;

		for (size_t j = 0; j < bl->n && !seen; j++)
			seen = bl->logical[j] == bl->s.v[i].logical;
		if (!seen)
			bl->logical[bl->n++] = bl->s.v[i].logical;
	}
	{
		int fd = open(tpath(img), O_RDONLY);

		assert_int_equal(pread(fd, &bl->root_tree, 8, SB_OFF + 0x50), 8);
		bl->root_tree = le64toh(bl->root_tree);
		close(fd);
	}
}

/* Apply m[0..n) to every copy of the block at 'logical' (only = -1) or
 * to copy number 'only', the checksum recomputed unless raw; run the
 * battery; put the original bytes back. */
static void block_case(struct blocks *bl, uint64_t logical, const struct mut *m, size_t n,
		       bool raw, int only)
{
	uint8_t *orig[4] = { NULL }, *b = malloc(bl->s.nodesize);
	size_t at[4];
	int copies = 0;

	for (size_t i = 0; i < bl->s.n && copies < 4; i++) {
		if (bl->s.v[i].logical != logical)
			continue;
		at[copies] = i;
		orig[copies] = malloc(bl->s.nodesize);
		assert_int_equal(tblock_read(tpath(bl->img), &bl->s, bl->s.v[i].phys, orig[copies]), 0);
		if (only < 0 || only == copies) {
			memcpy(b, orig[copies], bl->s.nodesize);
			for (size_t j = 0; j < n; j++)
				apply(b, &m[j]);
			assert_int_equal(tblock_write(tpath(bl->img), &bl->s, bl->s.v[i].phys, b, !raw), 0);
		}
		copies++;
	}
	battery(bl->img);
	for (int c = 0; c < copies; c++) {
		assert_int_equal(tblock_write(tpath(bl->img), &bl->s, bl->s.v[at[c]].phys, orig[c], false), 0);
		free(orig[c]);
	}
	free(b);
}

static void one(struct blocks *bl, uint64_t logical, uint32_t off, int width, uint8_t op, uint64_t val)
{
	struct mut m = { off, (uint8_t)width, op, val };

	block_case(bl, logical, &m, 1, false, -1);
}

/* A change inside an item of 'size' bytes at d (skipped when the item
 * is too short for that field). */
static void field(struct blocks *bl, uint64_t lg, uint32_t d, uint32_t size, uint32_t rel,
		  int width, uint8_t op, uint64_t val)
{
	if (rel + (uint32_t)width <= size)
		one(bl, lg, d + rel, width, op, val);
}

/* Changes that make sense for an item of this type, at data offset d. */
static void item_data_cases(struct blocks *bl, uint64_t lg, const uint8_t *b, uint32_t d,
			    uint32_t size, uint8_t type)
{
	switch (type) {
	case BTRFS_EXTENT_DATA_KEY:
		field(bl, lg, d, size, 16, 1, SET, 1);                 /* compression */
		field(bl, lg, d, size, 16, 1, SET, 2);
		field(bl, lg, d, size, 16, 1, SET, 3);
		field(bl, lg, d, size, 16, 1, SET, 4);
		field(bl, lg, d, size, 16, 1, SET, 0);
		field(bl, lg, d, size, 17, 1, SET, 1);                 /* encryption */
		field(bl, lg, d, size, 20, 1, SET, 0);                 /* type */
		field(bl, lg, d, size, 20, 1, SET, 2);
		field(bl, lg, d, size, 20, 1, SET, 3);
		field(bl, lg, d, size, 8, 8, SET, 0);                  /* ram_bytes */
		field(bl, lg, d, size, 8, 8, SET, 1);
		field(bl, lg, d, size, 8, 8, SET, 1ull << 40);
		field(bl, lg, d, size, 8, 8, ADD, 4096);
		field(bl, lg, d, size, 8, 8, ADD, (uint64_t)-4096);
		if (size >= sizeof(struct btrfs_file_extent_item) && b[d + 20] != 0) {
			field(bl, lg, d, size, 21, 8, SET, 0);         /* disk_bytenr */
			field(bl, lg, d, size, 21, 8, ADD, 4096);
			field(bl, lg, d, size, 21, 8, ADD, 1);
			field(bl, lg, d, size, 21, 8, SET, 1ull << 50);
			field(bl, lg, d, size, 29, 8, SET, 0);         /* disk_num_bytes */
			field(bl, lg, d, size, 29, 8, SET, 1ull << 40);
			field(bl, lg, d, size, 29, 8, ADD, 4096);
			field(bl, lg, d, size, 37, 8, SET, 4096);      /* offset */
			field(bl, lg, d, size, 37, 8, SET, UINT64_MAX & ~4095ull);
			field(bl, lg, d, size, 45, 8, SET, 0);         /* num_bytes */
			field(bl, lg, d, size, 45, 8, SET, UINT64_MAX & ~4095ull);
			field(bl, lg, d, size, 45, 8, ADD, 4096);
		} else if (size > 21) {
			/* inline data: its first bytes (lzo's lengths), middle, end */
			field(bl, lg, d, size, 21, 4, SET, 0xffffffff);
			field(bl, lg, d, size, 21, 4, SET, 0);
			field(bl, lg, d, size, 25, 4, SET, 0x7fffffff);
			field(bl, lg, d, size, 21 + (size - 21) / 2, 1, XOR, 0x5a);
			field(bl, lg, d, size, size - 1, 1, XOR, 0xff);
		}
		break;
	case BTRFS_DIR_ITEM_KEY:
	case BTRFS_DIR_INDEX_KEY:
	case BTRFS_XATTR_ITEM_KEY:
		field(bl, lg, d, size, 27, 2, SET, 0);                 /* name_len */
		field(bl, lg, d, size, 27, 2, SET, 255);
		field(bl, lg, d, size, 27, 2, SET, 0xffff);
		field(bl, lg, d, size, 25, 2, SET, 0xffff);            /* data_len */
		field(bl, lg, d, size, 25, 2, SET, 1);
		field(bl, lg, d, size, 8, 1, SET, BTRFS_ROOT_ITEM_KEY);        /* location type */
		field(bl, lg, d, size, 8, 1, SET, BTRFS_EXTENT_DATA_KEY);
		field(bl, lg, d, size, 0, 8, SET, 5);                  /* location objectid */
		field(bl, lg, d, size, 0, 8, SET, 256);
		field(bl, lg, d, size, 0, 8, SET, 2);
		field(bl, lg, d, size, 0, 8, SET, UINT64_MAX);
		field(bl, lg, d, size, 30, 1, SET, '/');               /* name */
		field(bl, lg, d, size, 30, 1, SET, 0);
		break;
	case BTRFS_INODE_ITEM_KEY:
		field(bl, lg, d, size, 52, 4, SET, S_IFLNK | 0777);    /* mode */
		field(bl, lg, d, size, 52, 4, SET, S_IFDIR | 0755);
		field(bl, lg, d, size, 52, 4, SET, S_IFREG | 0644);
		field(bl, lg, d, size, 52, 4, SET, 0);
		field(bl, lg, d, size, 16, 8, SET, 0);                 /* size */
		field(bl, lg, d, size, 16, 8, SET, 1ull << 62);
		field(bl, lg, d, size, 16, 8, ADD, 1);
		field(bl, lg, d, size, 16, 8, SET, 40 << 20);
		break;
	case BTRFS_ROOT_ITEM_KEY:
		field(bl, lg, d, size, 176, 8, SET, 0);                /* bytenr */
		field(bl, lg, d, size, 176, 8, ADD, 4096);
		field(bl, lg, d, size, 176, 8, SET, bl->root_tree);    /* the root tree as an fs tree */
		field(bl, lg, d, size, 238, 1, SET, 8);                /* level */
		field(bl, lg, d, size, 238, 1, ADD, 1);
		field(bl, lg, d, size, 168, 8, SET, 0);                /* root_dirid */
		field(bl, lg, d, size, 168, 8, SET, 5);
		field(bl, lg, d, size, 168, 8, SET, UINT64_MAX);
		field(bl, lg, d, size, 160, 8, ADD, 1);                /* generation */
		break;
	case BTRFS_ROOT_REF_KEY:
	case BTRFS_ROOT_BACKREF_KEY:
	case BTRFS_INODE_REF_KEY:
		field(bl, lg, d, size, type == BTRFS_INODE_REF_KEY ? 8 : 16, 2, SET, 0);
		field(bl, lg, d, size, type == BTRFS_INODE_REF_KEY ? 8 : 16, 2, SET, 0xffff);
		field(bl, lg, d, size, type == BTRFS_INODE_REF_KEY ? 8 : 16, 2, ADD, 1);
		field(bl, lg, d, size, 0, 8, SET, 5);
		field(bl, lg, d, size, 0, 8, ADD, 1);
		break;
	case BTRFS_CHUNK_ITEM_KEY:
		field(bl, lg, d, size, 44, 2, SET, 3);                 /* num_stripes */
		field(bl, lg, d, size, 44, 2, SET, 0);
		field(bl, lg, d, size, 24, 8, XOR, BTRFS_BLOCK_GROUP_RAID6);
		field(bl, lg, d, size, 0, 8, SET, 0);                  /* length */
		field(bl, lg, d, size, 0, 8, SET, 1ull << 40);
		field(bl, lg, d, size, 56, 8, SET, 1ull << 40);        /* stripe offset */
		field(bl, lg, d, size, 56, 8, ADD, 1 << 20);
		break;
	}
	/* and blindly: first, middle and last byte */
	field(bl, lg, d, size, 0, 1, XOR, 0xa5);
	if (size > 2) {
		field(bl, lg, d, size, size / 2, 1, XOR, 0xa5);
		field(bl, lg, d, size, size - 1, 1, XOR, 0xa5);
	}
}

static void leaf_cases(struct blocks *bl, uint64_t lg, const uint8_t *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t h = HDR + i * ITEM;
		uint32_t d = HDR + (uint32_t)get(b, h + 17, 4), size = (uint32_t)get(b, h + 21, 4);
		uint8_t type = b[h + 8];

		/* all items of small leaves, a sample of big ones */
		if (n > 8 && i > 2 && i + 2 < n && i % 10)
			continue;
		if (!bl->full) {
			if (type == BTRFS_EXTENT_DATA_KEY && d + size <= bl->s.nodesize)
				item_data_cases(bl, lg, b, d, size, type);
			continue;
		}
		one(bl, lg, h + 0, 8, ADD, 1);                  /* key objectid */
		one(bl, lg, h + 0, 8, SET, 0);
		one(bl, lg, h + 8, 1, ADD, 1);                  /* key type */
		one(bl, lg, h + 9, 8, SET, UINT64_MAX);         /* key offset */
		if (type == BTRFS_ROOT_BACKREF_KEY)             /* its own parent */
			one(bl, lg, h + 9, 8, SET, get(b, h, 8));
		one(bl, lg, h + 17, 4, SET, 0);                 /* data offset */
		one(bl, lg, h + 17, 4, ADD, 1);
		one(bl, lg, h + 17, 4, ADD, (uint64_t)-1);
		one(bl, lg, h + 17, 4, SET, 0xffffffff);
		one(bl, lg, h + 21, 4, SET, 0);                 /* data size */
		one(bl, lg, h + 21, 4, ADD, 1);
		one(bl, lg, h + 21, 4, ADD, (uint64_t)-1);
		one(bl, lg, h + 21, 4, SET, 0xffffffff);
		if (d + size <= bl->s.nodesize)
			item_data_cases(bl, lg, b, d, size, type);
	}
}

static void node_cases(struct blocks *bl, uint64_t lg, const uint8_t *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t p = HDR + i * PTR;

		one(bl, lg, p + 17, 8, SET, 0);                 /* blockptr */
		one(bl, lg, p + 17, 8, SET, lg);                /* itself: a loop */
		one(bl, lg, p + 17, 8, SET, bl->root_tree);     /* an ancestor, maybe */
		one(bl, lg, p + 17, 8, ADD, bl->s.nodesize);
		one(bl, lg, p + 17, 8, ADD, 1);
		one(bl, lg, p + 17, 8, SET, bl->logical[i % bl->n]);
		one(bl, lg, p + 25, 8, ADD, 1);                 /* generation */
		one(bl, lg, p + 0, 8, ADD, 1);                  /* key */
		one(bl, lg, p + 9, 8, SET, UINT64_MAX);
		if (i + 1 < n) {                                /* two children swapped */
			struct mut m[2] = { { p + 17, 8, SET, get(b, p + PTR + 17, 8) },
					    { p + PTR + 17, 8, SET, get(b, p + 17, 8) } };

			block_case(bl, lg, m, 2, false, -1);
		}
	}
}

static void tree_sweep(const char *img, bool full)
{
	struct blocks bl;
	uint8_t *b;

	blocks_load(&bl, img);
	bl.full = full;
	b = malloc(bl.s.nodesize);
	for (size_t i = 0; i < bl.n; i++) {
		uint64_t lg = bl.logical[i];
		size_t k = 0;
		uint32_t n;

		while (bl.s.v[k].logical != lg)
			k++;
		assert_int_equal(tblock_read(tpath(img), &bl.s, bl.s.v[k].phys, b), 0);
		n = (uint32_t)get(b, 96, 4);
		if (!full) {
			if (!b[100])
				leaf_cases(&bl, lg, b, n);
			continue;
		}
		one(&bl, lg, 48, 8, ADD, bl.s.nodesize);        /* header bytenr */
		one(&bl, lg, 100, 1, ADD, 1);                   /* level */
		one(&bl, lg, 100, 1, SET, 8);
		one(&bl, lg, 96, 4, SET, 0);                    /* nritems */
		one(&bl, lg, 96, 4, ADD, 1);
		one(&bl, lg, 96, 4, SET, 0xffffffff);
		one(&bl, lg, 32, 1, XOR, 1);                    /* fsid */
		one(&bl, lg, 80, 8, ADD, 1);                    /* generation */
		one(&bl, lg, 88, 8, SET, 12345);                /* owner: harmless */
		if (b[100])
			node_cases(&bl, lg, b, n);
		else
			leaf_cases(&bl, lg, b, n);
	}
	free(b);
	free(bl.s.v);
	free(bl.logical);
}

static void test_trees_zstd(void **state)
{
	tree_sweep("zstd.img", true);
}

static void test_trees_lzo(void **state)
{
	tree_sweep("lzo.img", false);
}

static void test_trees_zlib(void **state)
{
	tree_sweep("zlib.img", false);
}

/* Checksums not recomputed: one bad copy of a DUP block is survived,
 * both bad is an error. */
static void test_bad_checksums(void **state)
{
	struct blocks bl;
	unsigned int bad = st.failed + st.refused;

	blocks_load(&bl, "zstd.img");
	for (size_t i = 0; i < bl.n; i++) {
		struct mut m = { 2000, 1, XOR, 0x10 };
		unsigned int fine = st.fine;

		/* a bad first copy alone is survived (all metadata is DUP) */
		block_case(&bl, bl.logical[i], &m, 1, true, 0);
		assert_int_equal(st.fine, fine + 1);
		block_case(&bl, bl.logical[i], &m, 1, true, -1);
	}
	/* both bad: an error wherever the block is needed */
	assert_true(st.failed + st.refused - bad >= 10);
	free(bl.s.v);
	free(bl.logical);
}

/* ---- compressed extent data --------------------------------------- */

struct ext {
	uint64_t bytenr, disk;
};

struct exts {
	struct ext v[256];
	size_t n;
};

static int collect_ext(struct btrfs_op *op, const struct btrfs_key *key, const uint8_t *data,
		       uint32_t len, void *priv)
{
	const struct btrfs_file_extent_item *fe = (const void *)data;
	struct exts *e = priv;

	if (key->type == BTRFS_EXTENT_DATA_KEY && len == sizeof(*fe) && fe->compression &&
	    fe->type == BTRFS_FILE_EXTENT_REG && e->n < ARRAY_SIZE(e->v))
		e->v[e->n++] = (struct ext){ le64toh(fe->disk_bytenr), le64toh(fe->disk_num_bytes) };
	return 0;
}

static void data_sweep(const char *img)
{
	static const struct btrfs_key min = { 0, 0, 0 }, max = { UINT64_MAX, 255, UINT64_MAX };
	char err[256];
	struct disk *d = disk__open(tpath(img), DISK_FORMAT_RAW, true, err, sizeof(err));
	struct btrfs *fs = btrfs__open(d, 0, d->size, err, sizeof(err));
	struct btrfs_op op = btrfs__op(fs, NULL, err, sizeof(err));
	struct exts e = { .n = 0 };
	struct btrfs_inode boot;
	uint64_t phys[256];

	assert_non_null(fs);
	assert_int_equal(btrfs__resolve(&op, "boot", &boot), 0);
	assert_int_equal(btrfs__tree_search(&op, &boot.root, &min, &max, collect_ext, &e), 0);
	assert_true(e.n >= 2);
	for (size_t i = 0; i < e.n; i++) {
		const struct btrfs_chunk_map *m = btrfs__chunk_find(fs, e.v[i].bytenr);

		assert_non_null(m);
		phys[i] = m->phys[0] + (e.v[i].bytenr - m->logical);
	}
	btrfs__close(fs);
	disk__close(d);
	for (size_t i = 0; i < e.n; i++) {
		uint64_t at[] = { 0, 1, 2, 3, 4, 5, 8, 12, e.v[i].disk / 2, e.v[i].disk - 1 };

		for (size_t j = 0; j < ARRAY_SIZE(at); j++)
			for (int v = 0; v < 3; v++) {
				static const uint8_t vals[] = { 0x00, 0xff, 0x41 };
				int fd = open(tpath(img), O_RDWR);
				uint8_t orig;

				assert_int_equal(pread(fd, &orig, 1, (off_t)(phys[i] + at[j])), 1);
				assert_int_equal(pwrite(fd, &vals[v], 1, (off_t)(phys[i] + at[j])), 1);
				battery(img);
				assert_int_equal(pwrite(fd, &orig, 1, (off_t)(phys[i] + at[j])), 1);
				close(fd);
			}
	}
}

static void test_data_zstd(void **state)
{
	data_sweep("zstd.img");
}

static void test_data_lzo(void **state)
{
	data_sweep("lzo.img");
}

static void test_data_zlib(void **state)
{
	data_sweep("zlib.img");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_superblock_fields),
		cmocka_unit_test(test_sys_chunk_array),
		cmocka_unit_test(test_trees_zstd),
		cmocka_unit_test(test_trees_lzo),
		cmocka_unit_test(test_trees_zlib),
		cmocka_unit_test(test_bad_checksums),
		cmocka_unit_test(test_data_zstd),
		cmocka_unit_test(test_data_lzo),
		cmocka_unit_test(test_data_zlib),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
