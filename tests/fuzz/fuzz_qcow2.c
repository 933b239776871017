/* fuzz_qcow2.c — libFuzzer target for devices/block/qcow2*.c (and disk.c's
 * open, probe and describe): the input is the image file, opened
 * read-write, read, written, discarded, zeroed and flushed as a guest's
 * virtio-blk requests would, closed (metadata written back) and, on
 * request, opened again.
 *
 * Input: image [IMG image [IMG image]] [OPS script]. The images become
 * the files a, b and c in a directory of this process's own,
 * $TMPDIR/vmm-fuzz-PID (made at start, emptied for every input, removed
 * at exit and after a crash or failed check; one left by a process that
 * was killed is removed by the next run), so a qcow2 naming "b" or "c" as its backing file gets the
 * next image; a file the input does not give is absent. qcow2 follows a
 * backing name as written (an absolute one anywhere on the host), so
 * before the open the target reads every image's backing name itself,
 * as read_header() does, and opens with backing=off unless each name is
 * a plain file name (no '/': inside the directory, or a directory and
 * refused). No file outside the directory is ever opened.
 *
 * Script: one flags byte (bit 0 read-only, bit 1 backing=off, bits 2-3
 * the format: qcow2, probe, raw, qcow2), then operations; without a
 * script, a fixed set of reads and writes runs. A write is read back at
 * once: when both succeed the data must match. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sanitizer/common_interface_defs.h>

#include "devices/block/disk.h"
#include "devices/block/qcow2.h"
#include "tests/fuzz/fuzz_util.h"
#include "vmm/log.h"

#define SEP_IMG  "\n--vmm-fuzz-image--\n"
#define SEP_OPS  "\n--vmm-fuzz-ops--\n"
#define MAX_IO   (256u << 10)
#define MAX_OPS  64

static char dir[256];
static const char *const names[] = { "a", "b", "c" };
static uint8_t *wbuf, *rbuf;

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void remove_dir(const char *d)
{
	char p[300];

	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", d, names[i]);
		unlink(p);
	}
	rmdir(d);
}

static void cleanup(void)
{
	remove_dir(dir);
}

/* Directories of fuzz_qcow2 processes that are gone (killed by a timeout
 * or out of memory, which skip the handlers): only the files this target
 * makes are removed, and rmdir() leaves anything else alone. */
static void remove_stale(const char *tmp)
{
	DIR *dp = opendir(tmp);
	struct dirent *e;
	char p[300];
	int pid;

	if (!dp)
		return;
	while ((e = readdir(dp))) {
		if (sscanf(e->d_name, "vmm-fuzz-%d", &pid) != 1 || pid <= 0 ||
		    kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmp, e->d_name);
		remove_dir(p);
	}
	closedir(dp);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	log__verbosity = LOG_ERR;   /* "bad table entry" lines for every image */
	if (!tmp || !*tmp)
		tmp = "/tmp";
	remove_stale(tmp);
	snprintf(dir, sizeof(dir), "%s/vmm-fuzz-%d", tmp, (int)getpid());
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		perror(dir);
		abort();
	}
	atexit(cleanup);
	__sanitizer_set_death_callback(cleanup);   /* a sanitizer report */
	fuzz__on_failure = cleanup;                /* a failed check */
	wbuf = malloc(MAX_IO);
	rbuf = malloc(MAX_IO);
	return !wbuf || !rbuf;
}

static uint64_t be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* The backing name read_header() would take from this image: true when
 * there is none or it is a plain name inside the directory. A name
 * outside the image bytes (zeroes in the file) is refused by qcow2
 * already, but it is refused here too rather than reasoned about. */
static bool backing_name_safe(const uint8_t *img, size_t len)
{
	uint64_t off, n;

	if (len < 20)
		return true;
	off = be(img + 8, 8);
	n = be(img + 16, 4);
	if (!off)
		return true;
	if (off > len || n > len - off)
		return false;
	return !memchr(img + off, '/', n);
}

static bool put_file(const char *name, const uint8_t *p, size_t n)
{
	char path[300];
	int fd;
	bool ok;

	path_of(path, sizeof(path), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	ok = write(fd, p, n) == (ssize_t)n;
	close(fd);
	return ok;
}

/* Open the top image. 'must': it was open for writing before, so it
 * passed the writable-open check then, and what this driver wrote since
 * must pass it again. */
static struct disk *open_top(const struct disk_open_opts *o, bool must)
{
	char path[300], err[1024], chain[1024];
	struct disk *d;

	path_of(path, sizeof(path), names[0]);
	d = disk__open_opts(path, o, err, sizeof(err));
	if (!d) {
		FUZZ_CHECK(err[0], "failure without a reason");
		FUZZ_CHECK(!must, "reopening what we wrote: %s", err);
		return NULL;
	}
	disk__describe(d, chain, sizeof(chain));
	for (const struct disk *x = d->backing; x; x = x->backing)
		FUZZ_CHECK(!strncmp(x->path, dir, strlen(dir)), "opened %s", x->path);
	return d;
}

/* [off, off + len) in up to three iovecs cut at input-chosen points. */
static int split(struct iovec *v, uint8_t *buf, size_t len, uint8_t cut)
{
	size_t a = len * (cut & 15) / 16, b = a + (len - a) * (cut >> 4) / 16;

	v[0] = (struct iovec){ buf, a };
	v[1] = (struct iovec){ buf + a, b - a };
	v[2] = (struct iovec){ buf + b, len - b };
	return 3;
}

static void do_read(struct disk *d, uint64_t off, size_t len, uint8_t cut)
{
	struct iovec v[3];

	d->ops->preadv(d, v, split(v, rbuf, len, cut), off);
}

static void do_write(struct disk *d, uint64_t off, size_t len, uint8_t cut, uint8_t fill)
{
	struct iovec v[3];
	ssize_t w;

	for (size_t i = 0; i < len; i++)
		wbuf[i] = (uint8_t)(fill + i * 7 + i / 512);
	w = d->ops->pwritev(d, v, split(v, wbuf, len, cut), off);
	if (w < 0)
		return;
	FUZZ_CHECK((size_t)w == len, "wrote %zd of %zu bytes", w, len);
	if (d->ops->preadv(d, v, split(v, rbuf, len, cut ^ 0x5a), off) == (ssize_t)len)
		FUZZ_CHECK(!memcmp(wbuf, rbuf, len), "%zu bytes written at %llu read back differently",
			   len, (unsigned long long)off);
}

static void default_ops(struct disk *d)
{
	uint64_t s = d->size, l = s < MAX_IO ? s : 65536;

	do_read(d, 0, l, 0x48);
	do_read(d, s / 2 - l / 2, l, 0x11);
	do_read(d, s - l, l, 0);
	if (d->read_only)
		return;
	do_write(d, 0, l < 4096 ? l : 4096, 0x80, 1);
	do_write(d, s / 3 & ~511ULL, l, 0x37, 2);
	if (d->ops->discard)
		d->ops->discard(d, 0, l);
	if (d->ops->write_zeroes)
		d->ops->write_zeroes(d, s / 2 & ~511ULL, l / 2, true);
	d->ops->flush(d);
	do_read(d, 0, l, 0x22);
}

static void script_ops(struct disk **dp, struct fuzz_in *in, const struct disk_open_opts *o)
{
	for (int i = 0; i < MAX_OPS && in->n && *dp; i++) {
		struct disk *d = *dp;
		uint8_t op = fin_u8(in), cut = fin_u8(in);
		uint64_t off = fin_u32(in) % (d->size + 1), len = fin_u32(in) % (MAX_IO + 1);

		if (!(op & 0x80)) {         /* sector-aligned, as virtio-blk sends */
			off &= ~511ULL;
			len &= ~511ULL;
		}
		if (len > d->size - off)
			len = d->size - off;
		switch (op & 7) {
		case 0: do_read(d, off, len, cut); break;
		case 1: do_write(d, off, len, cut, op); break;
		case 2: if (d->ops->discard) d->ops->discard(d, off, len); break;
		case 3: if (d->ops->write_zeroes) d->ops->write_zeroes(d, off, len, cut & 1); break;
		case 4: d->ops->flush(d); break;
		case 5: {                     /* close (metadata written back), open again */
			bool was_rw = !d->read_only;

			disk__close(d);
			*dp = open_top(o, was_rw);
			break;
		}
		default:
			do_read(d, off, len, cut);
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *imgs = data, *ops = NULL, *hit, *part;
	size_t imgs_len = size, ops_len = 0, len, n = 0;
	struct disk_open_opts o = { .format = DISK_FORMAT_QCOW2 };
	static const enum disk_format fmt[4] = {
		DISK_FORMAT_QCOW2, DISK_FORMAT_AUTO, DISK_FORMAT_RAW, DISK_FORMAT_QCOW2,
	};
	struct fuzz_in in;
	struct disk *d;
	bool safe = true;
	char path[300];

	hit = memmem(data, size, SEP_OPS, strlen(SEP_OPS));
	if (hit) {
		imgs_len = (size_t)(hit - data);
		ops = hit + strlen(SEP_OPS);
		ops_len = size - imgs_len - strlen(SEP_OPS);
	}
	while (n < 3 && fuzz__split(&imgs, &imgs_len, SEP_IMG, &part, &len)) {
		safe &= backing_name_safe(part, len);
		if (!put_file(names[n++], part, len))
			abort();
	}
	for (size_t i = n; i < 3; i++) {
		path_of(path, sizeof(path), names[i]);
		unlink(path);
	}
	in = (struct fuzz_in){ ops, ops_len };
	if (ops) {
		uint8_t f = fin_u8(&in);

		o = (struct disk_open_opts){ .format = fmt[(f >> 2) & 3], .read_only = f & 1,
					     .no_backing = f & 2 };
	}
	o.no_backing |= !safe;
	d = open_top(&o, false);
	if (!d)
		return 0;
	FUZZ_CHECK(o.no_backing ? !d->backing : true, "a backing file with backing=off");
	if (ops)
		script_ops(&d, &in, &o);
	else
		default_ops(d);
	disk__close(d);
	return 0;
}
