/* util.h — small helpers shared by every module. */
#ifndef VMM_UTIL_H
#define VMM_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define KiB (1024ULL)
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)

/* Monotonic clock in nanoseconds. */
uint64_t util__now_ns(void);

/* Read a whole file into a malloc()ed buffer. Returns 0 or -errno;
 * 'limit' bounds the size (-EFBIG beyond it). */
int util__read_file(const char *path, uint8_t **buf, size_t *len, size_t limit);

/* read()/write() exactly len bytes, again after EINTR and after short
 * counts (a pipe, socket or terminal moves what it has; a signal may
 * stop a transfer early). 0 when all of it moved, else -errno of the
 * failing call, part of the buffer maybe moved. util__read_all: end of
 * file before len bytes is -EIO (what was read stays in buf). A
 * non-blocking fd with nothing ready fails with -EAGAIN: nothing here
 * waits for it. The positional, vectored kind for disk images is
 * iov__preadv_all/iov__pwritev_all (vmm/iov.h). */
int util__read_all(int fd, void *buf, size_t len);
int util__write_all(int fd, const void *buf, size_t len);

/* printf a one-line reason into err (which may be NULL or zero-sized) and
 * return -1, for functions that report errors to their caller as text. */
int util__fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The byte that makes the 8-bit sum of [p, p+len) plus itself zero (the
 * checksum of MP and ACPI tables). */
uint8_t util__checksum8(const void *p, size_t len);

/* Parse "1024", "512M", "2G" (default unit MiB) into bytes; -1 if bad. */
int util__parse_size_mib(const char *s, uint64_t *bytes);

#endif
