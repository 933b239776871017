/* aml.c — ACPI Machine Language builder (see aml.h). Encodings follow the
 * ACPI 6.x specification: chapter 20 (AML grammar) and section 6.4
 * (resource data types). */
#include <string.h>

#include "arch/x86/aml.h"
#include "vmm/log.h"

#define AML_ZERO_OP		0x00
#define AML_ONE_OP		0x01
#define AML_NAME_OP		0x08
#define AML_BYTE_PREFIX		0x0a
#define AML_WORD_PREFIX		0x0b
#define AML_DWORD_PREFIX	0x0c
#define AML_STRING_PREFIX	0x0d
#define AML_QWORD_PREFIX	0x0e
#define AML_SCOPE_OP		0x10
#define AML_BUFFER_OP		0x11
#define AML_PACKAGE_OP		0x12
#define AML_METHOD_OP		0x14
#define AML_DUAL_NAME_PREFIX	0x2e
#define AML_MULTI_NAME_PREFIX	0x2f
#define AML_EXT_OP_PREFIX	0x5b
#define AML_ROOT_CHAR		0x5c	/* '\' */
#define AML_PARENT_PREFIX	0x5e	/* '^' */
#define AML_DEVICE_OP		0x82	/* after AML_EXT_OP_PREFIX */
#define AML_RETURN_OP		0xa4
#define AML_ONES_OP		0xff

#define NAME_SEG_LEN		4
#define MAX_NAME_SEGS		255	/* MultiNamePrefix SegCount is a byte */
#define MAX_PARENT_PREFIXES	255

/* Resource descriptors (6.4.2 small, 6.4.3 large). */
#define RES_IO_PORT		0x47	/* small item 0x08, length 7 */
#define RES_IO_DECODE16		0x01
#define RES_END_TAG		0x79	/* small item 0x0f, length 1 */
#define RES_DWORD_ADDRESS	0x87
#define RES_WORD_ADDRESS	0x88
#define RES_QWORD_ADDRESS	0x8a
#define RES_TYPE_MEMORY		0
#define RES_TYPE_IO		1
#define RES_TYPE_BUS		2
/* General flags: _MAF | _MIF, positive decode, producer (bit 0 clear). */
#define RES_FIXED_WINDOW	0x0c
#define RES_IO_ENTIRE_RANGE	0x03	/* _RNG */
#define RES_MEM_READ_WRITE	0x01	/* _RW */

static void fail(struct aml *a, const char *why)
{
	if (!a->error)
		pr_err("aml: %s", why);
	a->error = true;
}

/* Room for n more bytes, or NULL (error set). */
static uint8_t *room(struct aml *a, size_t n)
{
	uint8_t *p;

	if (a->error)
		return NULL;
	if (n > a->size - a->len) {
		fail(a, "out of room for the AML");
		return NULL;
	}
	p = a->buf + a->len;
	a->len += n;
	return p;
}

/* Insert n bytes at offset 'at', moving what follows up. */
static void insert(struct aml *a, size_t at, const uint8_t *bytes, size_t n)
{
	if (a->error)
		return;
	if (at > a->len) {
		fail(a, "mark past the end of the AML");
		return;
	}
	if (!room(a, n))
		return;
	memmove(a->buf + at + n, a->buf + at, a->len - n - at);
	memcpy(a->buf + at, bytes, n);
}

static void put_le(uint8_t *p, uint64_t v, size_t bytes)
{
	for (size_t i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void aml__init(struct aml *a, void *buf, size_t size)
{
	a->buf = buf;
	a->size = buf ? size : 0;
	a->len = 0;
	a->error = false;
}

long aml__finish(const struct aml *a)
{
	return a->error ? -1 : (long)a->len;
}

/* --- pure encoders ------------------------------------------------------ */

/* Largest value a PkgLength of 1..4 bytes holds: 6, 12, 20, 28 bits. */
static const size_t pkglength_max[5] = { 0, 0x3f, 0xfff, 0xfffff, AML_PKGLENGTH_MAX };

int aml__pkglength_encode(uint8_t out[4], size_t length)
{
	int n;

	for (n = 1; n <= 4; n++)
		if (length <= pkglength_max[n])
			break;
	if (n > 4)
		return 0;
	if (n == 1) {
		out[0] = (uint8_t)length;
		return 1;
	}
	/* Byte 0: the count of following bytes in bits 7-6, the low nibble
	 * in bits 3-0; then the rest, least significant byte first. */
	out[0] = (uint8_t)((n - 1) << 6 | (length & 0xf));
	for (int i = 1; i < n; i++)
		out[i] = (uint8_t)(length >> (4 + 8 * (i - 1)));
	return n;
}

int aml__pkglength_for(size_t content, size_t *length)
{
	for (int n = 1; n <= 4; n++) {
		if (content <= pkglength_max[n] - (size_t)n) {
			*length = content + (size_t)n;
			return n;
		}
	}
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int aml__eisaid_value(const char *id, uint32_t *value)
{
	uint32_t v = 0;

	if (!id || strlen(id) != 7)
		return -1;
	/* Three letters, 5 bits each ('A' = 1), in bits 30..16. */
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return -1;
		v = v << 5 | (uint32_t)(id[i] - '@');
	}
	for (int i = 3; i < 7; i++) {
		int d = hex_digit(id[i]);

		if (d < 0)
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	/* Stored most significant byte first. */
	*value = __builtin_bswap32(v);
	return 0;
}

/* Shortest integer encoding into out (up to 9 bytes); returns its size. */
static size_t encode_integer(uint8_t out[9], uint64_t v)
{
	if (v == 0) {
		out[0] = AML_ZERO_OP;
		return 1;
	}
	if (v == 1) {
		out[0] = AML_ONE_OP;
		return 1;
	}
	if (v == UINT64_MAX) {
		out[0] = AML_ONES_OP;
		return 1;
	}
	if (v <= UINT8_MAX) {
		out[0] = AML_BYTE_PREFIX;
		put_le(out + 1, v, 1);
		return 2;
	}
	if (v <= UINT16_MAX) {
		out[0] = AML_WORD_PREFIX;
		put_le(out + 1, v, 2);
		return 3;
	}
	if (v <= UINT32_MAX) {
		out[0] = AML_DWORD_PREFIX;
		put_le(out + 1, v, 4);
		return 5;
	}
	out[0] = AML_QWORD_PREFIX;
	put_le(out + 1, v, 8);
	return 9;
}

/* --- data and names ------------------------------------------------------ */

void aml__bytes(struct aml *a, const void *p, size_t n)
{
	uint8_t *dst = room(a, n);

	if (dst && n)
		memcpy(dst, p, n);
}

void aml__byte(struct aml *a, uint8_t b)
{
	aml__bytes(a, &b, 1);
}

static bool seg_char(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

/* Check the segments of 'path' (after its prefix); count them. */
static bool parse_segs(const char *s, unsigned *nsegs)
{
	unsigned n = 0;

	if (!*s) {
		*nsegs = 0;
		return true;
	}
	for (;;) {
		size_t len = 0;

		while (s[len] && s[len] != '.') {
			if (len == NAME_SEG_LEN || !seg_char(s[len], len == 0))
				return false;
			len++;
		}
		if (len == 0 || ++n > MAX_NAME_SEGS)
			return false;
		if (!s[len])
			break;
		s += len + 1;
	}
	*nsegs = n;
	return true;
}

void aml__name_string(struct aml *a, const char *path)
{
	const char *s = path;
	unsigned prefixes = 0, nsegs;
	uint8_t *p;

	if (a->error)
		return;
	if (!path) {
		fail(a, "no name");
		return;
	}
	if (*s == '\\') {
		s++;
		prefixes = 1;
	} else {
		while (*s == '^' && prefixes < MAX_PARENT_PREFIXES) {
			s++;
			prefixes++;
		}
	}
	/* A bare prefix names the root or a parent scope (NullName); an
	 * empty path names nothing. */
	if (!parse_segs(s, &nsegs) || (nsegs == 0 && prefixes == 0)) {
		fail(a, "bad name");
		return;
	}
	p = room(a, prefixes + (nsegs > 2) + (nsegs >= 2) + (nsegs ? 0 : 1) +
		    (size_t)nsegs * NAME_SEG_LEN);
	if (!p)
		return;
	for (unsigned i = 0; i < prefixes; i++)
		*p++ = path[0] == '\\' ? AML_ROOT_CHAR : AML_PARENT_PREFIX;
	if (nsegs == 0) {
		*p = 0;			/* NullName */
		return;
	}
	if (nsegs == 2) {
		*p++ = AML_DUAL_NAME_PREFIX;
	} else if (nsegs > 2) {
		*p++ = AML_MULTI_NAME_PREFIX;
		*p++ = (uint8_t)nsegs;
	}
	for (unsigned i = 0; i < nsegs; i++) {
		size_t len = strcspn(s, ".");

		memcpy(p, s, len);
		memset(p + len, '_', NAME_SEG_LEN - len);
		p += NAME_SEG_LEN;
		s += len + (s[len] == '.');
	}
}

void aml__integer(struct aml *a, uint64_t v)
{
	uint8_t enc[9];

	aml__bytes(a, enc, encode_integer(enc, v));
}

void aml__dword(struct aml *a, uint32_t v)
{
	uint8_t *p = room(a, 5);

	if (p) {
		p[0] = AML_DWORD_PREFIX;
		put_le(p + 1, v, 4);
	}
}

void aml__string(struct aml *a, const char *s)
{
	size_t len;

	if (a->error)
		return;
	if (!s) {
		fail(a, "no string");
		return;
	}
	len = strlen(s);
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] > 0x7f) {
			fail(a, "string is not ASCII");
			return;
		}
	}
	aml__byte(a, AML_STRING_PREFIX);
	aml__bytes(a, s, len + 1);
}

void aml__eisaid(struct aml *a, const char *id)
{
	uint32_t v;

	if (a->error)
		return;
	if (aml__eisaid_value(id, &v) < 0) {
		fail(a, "bad EISA ID");
		return;
	}
	aml__dword(a, v);
}

/* --- named objects and control ---------------------------------------- */

void aml__name(struct aml *a, const char *path)
{
	aml__byte(a, AML_NAME_OP);
	aml__name_string(a, path);
}

void aml__return(struct aml *a)
{
	aml__byte(a, AML_RETURN_OP);
}

size_t aml__scope_begin(struct aml *a, const char *path)
{
	size_t mark;

	aml__byte(a, AML_SCOPE_OP);
	mark = a->len;
	aml__name_string(a, path);
	return mark;
}

size_t aml__device_begin(struct aml *a, const char *path)
{
	static const uint8_t op[] = { AML_EXT_OP_PREFIX, AML_DEVICE_OP };
	size_t mark;

	aml__bytes(a, op, sizeof(op));
	mark = a->len;
	aml__name_string(a, path);
	return mark;
}

size_t aml__method_begin(struct aml *a, const char *path, unsigned nargs,
			 bool serialized)
{
	size_t mark;

	if (nargs > 7) {
		fail(a, "a method takes at most 7 arguments");
		return 0;
	}
	aml__byte(a, AML_METHOD_OP);
	mark = a->len;
	aml__name_string(a, path);
	/* MethodFlags: ArgCount in bits 2-0, SerializeFlag in bit 3,
	 * SyncLevel 0. */
	aml__byte(a, (uint8_t)(nargs | (serialized ? 1u << 3 : 0)));
	return mark;
}

size_t aml__package_begin(struct aml *a, unsigned nelems)
{
	size_t mark;

	if (nelems > UINT8_MAX) {
		fail(a, "a package holds at most 255 elements");
		return 0;
	}
	aml__byte(a, AML_PACKAGE_OP);
	mark = a->len;
	aml__byte(a, (uint8_t)nelems);	/* NumElements */
	return mark;
}

/* Insert 'prefix' (n bytes) and, in front of it, the PkgLength covering
 * the prefix and everything from 'mark' to the end. */
static void close_pkg(struct aml *a, size_t mark, const uint8_t *prefix, size_t n)
{
	uint8_t head[4 + 9];
	size_t length;
	int pl;

	if (a->error)
		return;
	if (mark > a->len) {
		fail(a, "mark past the end of the AML");
		return;
	}
	pl = aml__pkglength_for(a->len - mark + n, &length);
	if (!pl) {
		fail(a, "object too large for a PkgLength");
		return;
	}
	aml__pkglength_encode(head, length);
	if (n)
		memcpy(head + pl, prefix, n);
	insert(a, mark, head, (size_t)pl + n);
}

void aml__end(struct aml *a, size_t mark)
{
	close_pkg(a, mark, NULL, 0);
}

size_t aml__buffer_begin(struct aml *a)
{
	aml__byte(a, AML_BUFFER_OP);
	return a->len;
}

void aml__buffer_end(struct aml *a, size_t mark)
{
	uint8_t size[9];

	if (a->error)
		return;
	if (mark > a->len) {
		fail(a, "mark past the end of the AML");
		return;
	}
	/* BufferSize: the bytes written since the mark. */
	close_pkg(a, mark, size, encode_integer(size, a->len - mark));
}

/* --- resource templates ---------------------------------------------- */

size_t aml__resource_template_begin(struct aml *a)
{
	return aml__buffer_begin(a);
}

void aml__resource_template_end(struct aml *a, size_t mark)
{
	static const uint8_t end_tag[] = { RES_END_TAG, 0 };

	aml__bytes(a, end_tag, sizeof(end_tag));
	aml__buffer_end(a, mark);
}

void aml__res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align,
		 uint8_t len)
{
	uint8_t *p;

	if (a->error)
		return;
	if (min > max) {
		fail(a, "IO descriptor: minimum above maximum");
		return;
	}
	p = room(a, 8);
	if (!p)
		return;
	p[0] = RES_IO_PORT;
	p[1] = RES_IO_DECODE16;
	put_le(p + 2, min, 2);
	put_le(p + 4, max, 2);
	p[6] = align;
	p[7] = len;
}

/* Address space descriptor with fields of 'width' bytes (2, 4 or 8):
 * granularity, minimum, maximum, translation offset, length. */
static void address_space(struct aml *a, uint8_t tag, uint8_t type,
			  uint8_t type_flags, size_t width, uint64_t min,
			  uint64_t max)
{
	const uint64_t field_max = width == 8 ? UINT64_MAX : (1ull << (8 * width)) - 1;
	uint8_t *p;

	if (a->error)
		return;
	if (min > max || max > field_max || (min == 0 && max == field_max)) {
		fail(a, "address space descriptor: bad range");
		return;
	}
	p = room(a, 3 + 3 + 5 * width);
	if (!p)
		return;
	p[0] = tag;
	put_le(p + 1, 3 + 5 * width, 2);	/* length after this header */
	p[3] = type;
	p[4] = RES_FIXED_WINDOW;
	p[5] = type_flags;
	p += 6;
	put_le(p, 0, width);			/* granularity */
	put_le(p + width, min, width);
	put_le(p + 2 * width, max, width);
	put_le(p + 3 * width, 0, width);	/* translation offset */
	put_le(p + 4 * width, max - min + 1, width);
}

void aml__res_word_bus_number(struct aml *a, uint16_t min, uint16_t max)
{
	address_space(a, RES_WORD_ADDRESS, RES_TYPE_BUS, 0, 2, min, max);
}

void aml__res_word_io(struct aml *a, uint16_t min, uint16_t max)
{
	address_space(a, RES_WORD_ADDRESS, RES_TYPE_IO, RES_IO_ENTIRE_RANGE, 2,
		      min, max);
}

static bool mem_flags(struct aml *a, unsigned mem, uint8_t *flags)
{
	if (mem > AML_MEM_PREFETCHABLE) {
		fail(a, "memory descriptor: bad memory attribute");
		return false;
	}
	/* _MEM in bits 2-1, _RW in bit 0; _MTP AddressRangeMemory and
	 * _TTP TypeStatic are 0. */
	*flags = (uint8_t)(mem << 1 | RES_MEM_READ_WRITE);
	return true;
}

void aml__res_dword_memory(struct aml *a, uint32_t min, uint32_t max,
			   unsigned mem)
{
	uint8_t flags;

	if (mem_flags(a, mem, &flags))
		address_space(a, RES_DWORD_ADDRESS, RES_TYPE_MEMORY, flags, 4,
			      min, max);
}

void aml__res_qword_memory(struct aml *a, uint64_t min, uint64_t max,
			   unsigned mem)
{
	uint8_t flags;

	if (mem_flags(a, mem, &flags))
		address_space(a, RES_QWORD_ADDRESS, RES_TYPE_MEMORY, flags, 8,
			      min, max);
}
