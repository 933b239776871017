/* fuzz_util.h — what the libFuzzer targets share: a reader that turns
 * the fuzzer's input into numbers and byte runs (running dry reads
 * zeroes, so every input is a valid program), a writer for building seed
 * inputs, splitting an input into parts, and the seed mode.
 *
 * Seed mode: a target whose input is a script of operations (virtio,
 * PCI, legacy ports, ...) cannot get seeds from mkfs or qemu-img, so it
 * writes its own from a driver written in its own script language, when
 * run as  FUZZ_WRITE_SEEDS=DIR fuzz_NAME  (tests/fuzz/corpus-NAME.sh
 * does that). LLVMFuzzerInitialize() calls fuzz__seed_mode(), which
 * writes them and exits before libFuzzer starts. */
#ifndef TESTS_FUZZ_FUZZ_UTIL_H
#define TESTS_FUZZ_FUZZ_UTIL_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- reading the input --------------------------------------------- */

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fin_u8(struct fuzz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint64_t fin_le(struct fuzz_in *in, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)fin_u8(in) << (8 * i);
	return v;
}

static inline uint16_t fin_u16(struct fuzz_in *in) { return (uint16_t)fin_le(in, 2); }
static inline uint32_t fin_u32(struct fuzz_in *in) { return (uint32_t)fin_le(in, 4); }
static inline uint64_t fin_u64(struct fuzz_in *in) { return fin_le(in, 8); }

/* Up to 'want' bytes of the input, in place; how many there were. */
static inline size_t fin_bytes(struct fuzz_in *in, const uint8_t **out, size_t want)
{
	size_t n = want < in->n ? want : in->n;

	*out = in->p;
	if (!n)
		return 0;   /* in->p may be NULL: no arithmetic on it */
	in->p += n;
	in->n -= n;
	return n;
}

/* The next part of a multi-part input, parts separated by 'sep' (a
 * string the seeds use between files). false once nothing is left. */
static inline bool fuzz__split(const uint8_t **data, size_t *size, const char *sep,
			       const uint8_t **part, size_t *len)
{
	size_t sl = strlen(sep);
	const uint8_t *hit;

	if (!*data)
		return false;
	hit = *size >= sl ? memmem(*data, *size, sep, sl) : NULL;
	*part = *data;
	if (!hit) {
		*len = *size;
		*data = NULL;     /* the last part */
		*size = 0;
		return true;
	}
	*len = (size_t)(hit - *data);
	*size -= *len + sl;
	*data = hit + sl;
	return true;
}

/* A NUL-terminated copy (the text parsers take C strings or need the
 * terminator past the end for ASan to catch over-reads). */
static inline char *fuzz__strndup(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* Set by a target that must clean up (temporary files) before a failed
 * check aborts; sanitizer reports go through __sanitizer_set_death_callback. */
static void (*fuzz__on_failure)(void) __attribute__((unused));

/* Abort with a message: a broken invariant is a finding like a crash. */
#define FUZZ_CHECK(cond, ...)                                                   \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "fuzz check failed: %s (%s:%d): ", #cond, \
				__FILE__, __LINE__);                            \
			fprintf(stderr, __VA_ARGS__);                           \
			fputc('\n', stderr);                                    \
			if (fuzz__on_failure)                                   \
				fuzz__on_failure();                             \
			abort();                                                \
		}                                                               \
	} while (0)

/* ---- writing seeds ---------------------------------------------------- */

struct fuzz_out {
	uint8_t buf[1 << 20];
	size_t n;
};

static inline void fout_u8(struct fuzz_out *o, uint8_t v)
{
	if (o->n < sizeof(o->buf))
		o->buf[o->n++] = v;
}

static inline void fout_le(struct fuzz_out *o, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		fout_u8(o, (uint8_t)(v >> (8 * i)));
}

static inline void fout_bytes(struct fuzz_out *o, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fout_u8(o, ((const uint8_t *)p)[i]);
}

/* Write o into DIR/name and start o afresh. */
static inline void fout_save(struct fuzz_out *o, const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(o->buf, 1, o->n, f) != o->n || fclose(f)) {
		fprintf(stderr, "cannot write seed %s\n", path);
		exit(1);
	}
	o->n = 0;
}

/* In seed mode, call write(dir) and exit; otherwise return. */
static inline void fuzz__seed_mode(void (*write)(const char *dir))
{
	const char *dir = getenv("FUZZ_WRITE_SEEDS");

	if (!dir || !*dir)
		return;
	write(dir);
	exit(0);
}

#endif
