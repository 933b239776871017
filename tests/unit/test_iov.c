/* test_iov.c — vmm/iov.c and the full read/write loops of vmm/util.c.
 *
 * The copies, zeroing and slices are checked against a flat model for
 * every offset and length around one awkward segment layout (zero-length
 * segments first, in the middle and last; one-byte segments), with
 * canaries between the segments and around the flat buffer: nothing
 * outside what the contract names may change. The positional transfers
 * run against a real temporary file: end of file in the middle of a
 * segment (a short count, then zeroes), writes with holes before them, a
 * write cut short by RLIMIT_FSIZE (what *done reports when it fails
 * half-way). The plain loops run against pipes: partial reads and writes,
 * a signal without SA_RESTART interrupting a blocked read or write
 * (EINTR, retried), end of file, errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/iov.h"
#include "vmm/util.h"

/* ---- copies, zeroing, slices against a model -------------------------- */

static const size_t seg_len[] = { 0, 3, 0, 5, 1, 0, 7, 1, 0 };
#define NSEG    ((int)(sizeof(seg_len) / sizeof(seg_len[0])))
#define TOTAL   17u          /* sum of seg_len */
#define GAP     8u           /* canary bytes before and after each segment */
#define CANARY  0xcc

struct layout {
	uint8_t arena[NSEG * (GAP + 8) + GAP];
	struct iovec iov[NSEG];
};

/* Every segment at its own place in the arena, canaries around it; the
 * segments' bytes, laid end to end, are flat[0, TOTAL). */
static void layout_init(struct layout *l, const uint8_t *flat)
{
	size_t at = GAP, k = 0;

	memset(l->arena, CANARY, sizeof(l->arena));
	for (int i = 0; i < NSEG; i++) {
		l->iov[i] = (struct iovec){ .iov_base = l->arena + at, .iov_len = seg_len[i] };
		memcpy(l->arena + at, flat + k, seg_len[i]);
		k += seg_len[i];
		at += seg_len[i] + GAP;
	}
	assert_int_equal(k, TOTAL);
	assert_true(at <= sizeof(l->arena));
}

/* The segments hold exactly flat[0, TOTAL) and every other byte of the
 * arena is still the canary. */
static void layout_check(const struct layout *l, const uint8_t *flat)
{
	uint8_t want[sizeof(l->arena)];
	size_t at = GAP, k = 0;

	memset(want, CANARY, sizeof(want));
	for (int i = 0; i < NSEG; i++) {
		memcpy(want + at, flat + k, seg_len[i]);
		k += seg_len[i];
		at += seg_len[i] + GAP;
	}
	assert_memory_equal(l->arena, want, sizeof(want));
}

static size_t expect_n(size_t off, size_t len)
{
	return off >= TOTAL ? 0 : (len < TOTAL - off ? len : TOTAL - off);
}

static void pattern(uint8_t *p, size_t n, uint8_t base)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(base + i);
}

static void test_len(void **state)
{
	struct layout l;
	uint8_t flat[TOTAL];

	pattern(flat, TOTAL, 1);
	layout_init(&l, flat);
	assert_int_equal(iov__len(l.iov, NSEG), TOTAL);
	assert_int_equal(iov__len(l.iov, 0), 0);
	assert_int_equal(iov__len(l.iov, -1), 0);
	assert_int_equal(iov__len(l.iov, 2), 3);
}

/* Every (off, len), past the end included: the right bytes, the right
 * count, nothing written past buf[got). */
static void test_to_buf(void **state)
{
	struct layout l;
	uint8_t flat[TOTAL], out[TOTAL + 12], want[TOTAL + 12];

	pattern(flat, TOTAL, 1);
	layout_init(&l, flat);
	for (size_t off = 0; off <= TOTAL + 2; off++) {
		for (size_t len = 0; len <= TOTAL + 2; len++) {
			size_t n = expect_n(off, len);

			memset(out, 0xee, sizeof(out));
			memset(want, 0xee, sizeof(want));
			memcpy(want + 4, flat + (off < TOTAL ? off : 0), n);
			assert_int_equal(iov__to_buf(l.iov, NSEG, off, out + 4, len), n);
			assert_memory_equal(out, want, sizeof(out));
		}
	}
	layout_check(&l, flat);    /* reading changed nothing */
	assert_int_equal(iov__to_buf(l.iov, 0, 0, out, 4), 0);
	assert_int_equal(iov__to_buf(l.iov, -3, 0, out, 4), 0);
}

static void test_from_buf(void **state)
{
	uint8_t zero[TOTAL] = { 0 }, src[TOTAL + 2], flat[TOTAL];
	struct layout l;

	pattern(src, sizeof(src), 0x80);
	for (size_t off = 0; off <= TOTAL + 2; off++) {
		for (size_t len = 0; len <= TOTAL + 2; len++) {
			size_t n = expect_n(off, len);

			layout_init(&l, zero);
			memset(flat, 0, sizeof(flat));
			if (n)
				memcpy(flat + off, src, n);
			assert_int_equal(iov__from_buf(l.iov, NSEG, off, src, len), n);
			layout_check(&l, flat);
		}
	}
}

static void test_zero(void **state)
{
	uint8_t full[TOTAL], flat[TOTAL];
	struct layout l;

	memset(full, 0x55, sizeof(full));
	for (size_t off = 0; off <= TOTAL + 2; off++) {
		for (size_t len = 0; len <= TOTAL + 2; len++) {
			size_t n = expect_n(off, len);

			layout_init(&l, full);
			memcpy(flat, full, sizeof(flat));
			if (n)
				memset(flat + off, 0, n);
			assert_int_equal(iov__zero(l.iov, NSEG, off, len), n);
			layout_check(&l, flat);
		}
	}
}

/* A slice points into the same bytes, has no empty segments, never more
 * than the original, and leaves the rest of dst alone. */
static void check_slice(const struct layout *l, const uint8_t *flat, size_t off, size_t len)
{
	struct iovec dst[NSEG + 1];
	uint8_t got[TOTAL];
	size_t n = expect_n(off, len), at = 0;
	int cnt;

	memset(dst, 0xab, sizeof(dst));
	cnt = iov__slice(l->iov, NSEG, off, len, dst);
	assert_true(cnt >= 0 && cnt <= NSEG);
	for (int i = 0; i < cnt; i++) {
		const uint8_t *b = dst[i].iov_base;

		assert_true(dst[i].iov_len > 0);
		assert_true(b > l->arena && b + dst[i].iov_len < l->arena + sizeof(l->arena));
		assert_true(at + dst[i].iov_len <= n);
		memcpy(got + at, b, dst[i].iov_len);
		at += dst[i].iov_len;
	}
	assert_int_equal(at, n);
	if (n)
		assert_memory_equal(got, flat + off, n);
	for (int i = cnt; i < NSEG + 1; i++)
		assert_int_equal(dst[i].iov_len, (size_t)0xababababababababULL);
	/* the layout has 5 non-empty segments */
	assert_true(cnt <= 5);
}

static void test_slice(void **state)
{
	uint8_t flat[TOTAL];
	struct layout l;

	pattern(flat, TOTAL, 1);
	layout_init(&l, flat);
	for (size_t off = 0; off <= TOTAL + 2; off++) {
		for (size_t len = 0; len <= TOTAL + 2; len++)
			check_slice(&l, flat, off, len);
		check_slice(&l, flat, off, SIZE_MAX);
	}
	/* virtio-blk's cases: after a 3-byte header, and all but the last byte */
	{
		struct iovec dst[NSEG];

		assert_int_equal(iov__slice(l.iov, NSEG, 3, SIZE_MAX, dst), 4);
		assert_ptr_equal(dst[0].iov_base, l.iov[3].iov_base);
		assert_int_equal(dst[0].iov_len, 5);
		assert_int_equal(iov__slice(l.iov, NSEG, 0, TOTAL - 1, dst), 4);
		assert_int_equal(dst[3].iov_len, 7);
		assert_int_equal(iov__slice(l.iov, 0, 0, SIZE_MAX, dst), 0);
	}
	layout_check(&l, flat);
}

/* ---- positional transfers against a file ------------------------------ */

static int tmp_fd(void)
{
	char path[] = "/tmp/vmm-test-iov-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

/* The file holds 100 bytes; reads run into its end half-way through a
 * segment: a short count, then end of file, the rest zeroes. */
static void test_preadv_all_eof(void **state)
{
	uint8_t data[100], buf[150], want[150];
	int fd = tmp_fd();

	pattern(data, sizeof(data), 7);
	assert_int_equal(pwrite(fd, data, sizeof(data), 0), (ssize_t)sizeof(data));
	for (uint64_t off = 0; off <= 120; off += 40) {
		struct iovec iov[] = {
			{ buf, 0 }, { buf, 30 }, { buf + 30, 0 }, { buf + 30, 45 }, { buf + 75, 75 },
		};
		size_t have = off < sizeof(data) ? sizeof(data) - (size_t)off : 0;

		memset(buf, 0xee, sizeof(buf));
		memset(want, 0, sizeof(want));
		memcpy(want, data + (have ? off : 0), have);
		assert_int_equal(iov__preadv_all(fd, iov, 5, off), 0);
		assert_memory_equal(buf, want, sizeof(buf));
	}
	assert_int_equal(iov__preadv_all(fd, NULL, 0, 0), 0);
	close(fd);
}

static void test_pwritev_all(void **state)
{
	uint8_t src[17], back[22], want[22] = { 0 };
	struct iovec iov[] = {
		{ src, 0 }, { src, 7 }, { src + 7, 0 }, { src + 7, 9 }, { src + 16, 1 },
	};
	struct iovec again = { src, sizeof(src) };
	int fd = tmp_fd(), ro;
	char path[64];
	size_t done = 99;

	pattern(src, sizeof(src), 0x40);
	assert_int_equal(iov__pwritev_all(fd, iov, 5, 5, &done), 0);
	assert_int_equal(done, sizeof(src));
	memcpy(want + 5, src, sizeof(src));
	assert_int_equal(pread(fd, back, sizeof(back), 0), (ssize_t)sizeof(back));
	assert_memory_equal(back, want, sizeof(want));   /* a hole, then the data */

	/* an error: -errno, nothing moved */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY);
	assert_true(ro >= 0);
	assert_int_equal(iov__pwritev_all(ro, &again, 1, 0, &done), -EBADF);
	assert_int_equal(done, 0);
	assert_int_equal(iov__pwritev_all(ro, &again, 1, 0, NULL), -EBADF);
	close(ro);
	close(fd);
}

/* RLIMIT_FSIZE cuts a write short (a short count), then refuses the rest
 * (EFBIG): the error comes back, *done counts what reached the file. */
static void test_pwritev_all_fails_half_way(void **state)
{
	uint8_t src[300], back[300];
	struct iovec iov[] = { { src, 50 }, { src + 50, 0 }, { src + 50, 250 } };
	struct rlimit old, lim;
	void (*old_xfsz)(int) = signal(SIGXFSZ, SIG_IGN);
	size_t done = 0;
	int fd = tmp_fd(), r;

	pattern(src, sizeof(src), 3);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 120;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	r = iov__pwritev_all(fd, iov, 3, 20, &done);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_xfsz);
	assert_int_equal(r, -EFBIG);
	assert_int_equal(done, 100);
	assert_int_equal(pread(fd, back, sizeof(back), 20), 100);
	assert_memory_equal(back, src, 100);
	close(fd);
}

static void test_positional_on_a_pipe(void **state)
{
	uint8_t b[4];
	struct iovec iov = { b, sizeof(b) };
	size_t done = 1;
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(iov__preadv_all(p[0], &iov, 1, 0), -ESPIPE);
	assert_int_equal(iov__pwritev_all(p[1], &iov, 1, 0, &done), -ESPIPE);
	assert_int_equal(done, 0);
	close(p[0]);
	close(p[1]);
}

/* ---- util__read_all / util__write_all on pipes ------------------------ */

static int sig_hits;

static void on_sig(int sig)
{
	__atomic_fetch_add(&sig_hits, 1, __ATOMIC_RELAXED);
}

/* SIGUSR1 without SA_RESTART: a blocked read or write returns EINTR (or
 * a short count) instead of being restarted by the kernel. */
static void catch_sigusr1(struct sigaction *old)
{
	struct sigaction sa = { .sa_handler = on_sig };

	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, old), 0);
	__atomic_store_n(&sig_hits, 0, __ATOMIC_RELAXED);
}

struct io_thread {
	pthread_t thread;
	int fd;
	uint8_t *buf;
	size_t len;
	bool write;
	int tid;        /* atomic; 0 until the thread runs */
	int rc;
};

static void *io_main(void *arg)
{
	struct io_thread *t = arg;

	__atomic_store_n(&t->tid, (int)gettid(), __ATOMIC_RELEASE);
	t->rc = t->write ? util__write_all(t->fd, t->buf, t->len)
			 : util__read_all(t->fd, t->buf, t->len);
	return NULL;
}

/* The thread is asleep: after it started, the only place it sleeps is
 * the pipe read or write. Bounded: 10 s. */
static void wait_asleep(struct io_thread *t)
{
	char path[64], buf[256], *p;
	int tid;

	for (int i = 0; i < 10000; i++) {
		ssize_t n;
		int fd;

		tid = __atomic_load_n(&t->tid, __ATOMIC_ACQUIRE);
		if (!tid) {
			usleep(1000);
			continue;
		}
		snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			fail_msg("the I/O thread returned (%d) instead of waiting", t->rc);
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		assert_true(n > 0);
		buf[n] = '\0';
		p = strrchr(buf, ')');
		if (p && p[1] == ' ' && p[2] == 'S')
			return;
		usleep(1000);
	}
	fail_msg("the I/O thread never blocked");
}

/* Signal the blocked thread and wait until its handler has run. */
static void interrupt(struct io_thread *t)
{
	int before = __atomic_load_n(&sig_hits, __ATOMIC_RELAXED);

	wait_asleep(t);
	assert_int_equal(pthread_kill(t->thread, SIGUSR1), 0);
	for (int i = 0; i < 10000 && __atomic_load_n(&sig_hits, __ATOMIC_RELAXED) == before; i++)
		usleep(1000);
	assert_true(__atomic_load_n(&sig_hits, __ATOMIC_RELAXED) > before);
}

/* A read that gets 10 bytes, then none (blocked, interrupted: EINTR),
 * then 40, then the last 50. */
static void test_read_all_partial_eintr(void **state)
{
	uint8_t src[100], dst[100];
	struct io_thread t = { .buf = dst, .len = sizeof(dst) };
	struct sigaction old;
	int p[2];

	pattern(src, sizeof(src), 9);
	catch_sigusr1(&old);
	assert_int_equal(pipe(p), 0);
	t.fd = p[0];
	assert_int_equal(write(p[1], src, 10), 10);
	assert_int_equal(pthread_create(&t.thread, NULL, io_main, &t), 0);
	interrupt(&t);
	wait_asleep(&t);           /* it went back to read() */
	assert_int_equal(write(p[1], src + 10, 40), 40);
	wait_asleep(&t);
	assert_int_equal(write(p[1], src + 50, 50), 50);
	assert_int_equal(pthread_join(t.thread, NULL), 0);
	assert_int_equal(t.rc, 0);
	assert_memory_equal(dst, src, sizeof(src));
	close(p[0]);
	close(p[1]);
	sigaction(SIGUSR1, &old, NULL);
}

/* A write bigger than the pipe: it blocks when the pipe is full, a signal
 * makes it return what it wrote so far (a short count), and it goes on
 * as the reader drains the pipe. */
static void test_write_all_partial_eintr(void **state)
{
	enum { LEN = 5 * 4096 + 123 };
	uint8_t *src = malloc(LEN), *dst = malloc(LEN);
	struct io_thread t = { .buf = src, .len = LEN, .write = true };
	struct sigaction old;
	size_t got = 0;
	int p[2];

	assert_non_null(src);
	assert_non_null(dst);
	pattern(src, LEN, 1);
	catch_sigusr1(&old);
	assert_int_equal(pipe(p), 0);
	assert_true(fcntl(p[1], F_SETPIPE_SZ, 4096) >= 4096);
	t.fd = p[1];
	assert_int_equal(pthread_create(&t.thread, NULL, io_main, &t), 0);
	interrupt(&t);
	while (got < LEN) {
		ssize_t n = read(p[0], dst + got, LEN - got < 1000 ? LEN - got : 1000);

		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_int_equal(pthread_join(t.thread, NULL), 0);
	assert_int_equal(t.rc, 0);
	assert_memory_equal(dst, src, LEN);
	close(p[0]);
	close(p[1]);
	sigaction(SIGUSR1, &old, NULL);
	free(src);
	free(dst);
}

static void test_read_all_eof_and_errors(void **state)
{
	uint8_t buf[16];
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "0123456789", 10), 10);
	close(p[1]);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(util__read_all(p[0], buf, sizeof(buf)), -EIO);
	assert_memory_equal(buf, "0123456789", 10);     /* what came is kept */
	assert_int_equal(util__read_all(p[0], buf, 0), 0);
	close(p[0]);

	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	assert_int_equal(util__read_all(p[0], buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(util__read_all(p[1], buf, sizeof(buf)), -EBADF);
	close(p[0]);
	assert_int_equal(util__write_all(p[1], buf, sizeof(buf)), -EPIPE);   /* SIGPIPE ignored */
	close(p[1]);
}

/* util__read_file reads through util__read_all: the whole file. */
static void test_read_file(void **state)
{
	char path[] = "/tmp/vmm-test-iov-XXXXXX";
	uint8_t src[3000], *got = NULL;
	size_t len = 0;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	pattern(src, sizeof(src), 5);
	assert_int_equal(util__write_all(fd, src, sizeof(src)), 0);
	close(fd);
	assert_int_equal(util__read_file(path, &got, &len, sizeof(src)), 0);
	assert_int_equal(len, sizeof(src));
	assert_memory_equal(got, src, sizeof(src));
	free(got);
	assert_int_equal(util__read_file(path, &got, &len, sizeof(src) - 1), -EFBIG);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_len),
		cmocka_unit_test(test_to_buf),
		cmocka_unit_test(test_from_buf),
		cmocka_unit_test(test_zero),
		cmocka_unit_test(test_slice),
		cmocka_unit_test(test_preadv_all_eof),
		cmocka_unit_test(test_pwritev_all),
		cmocka_unit_test(test_pwritev_all_fails_half_way),
		cmocka_unit_test(test_positional_on_a_pipe),
		cmocka_unit_test(test_read_all_partial_eintr),
		cmocka_unit_test(test_write_all_partial_eintr),
		cmocka_unit_test(test_read_all_eof_and_errors),
		cmocka_unit_test(test_read_file),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
