/* aml.h — a small builder for ACPI Machine Language (ACPI 6.x, chapter 20)
 * and resource descriptors (chapter 6.4): enough to describe a PCI root
 * bridge and \_S5 in a DSDT.
 *
 * The builder writes into a caller's buffer and never allocates. Every
 * call is bounds-checked: running out of room or passing a bad argument
 * sets 'error' (reported once with pr_err) and turns every later call
 * into a no-op, so a sequence of calls is checked once at the end with
 * aml__finish().
 *
 * Objects holding a PkgLength (Scope, Device, Method, Package, Buffer)
 * are written between a *_begin call, which returns a mark, and the
 * matching end call with that mark; they nest in LIFO order. The end call
 * moves the contents up to make room for the PkgLength (1 to 4 bytes),
 * so no size has to be known in advance.
 *
 * Names are ASL-style paths: an optional root prefix '\' or parent
 * prefixes '^', then NameSegs of 1 to 4 characters [A-Z0-9_] (not
 * starting with a digit) separated by '.', padded with '_' to 4 bytes:
 * "\\_SB.PCI0", "_S5", "^FOO".
 */
#ifndef X86_AML_H
#define X86_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_PKGLENGTH_MAX	0x0fffffffu	/* 28 bits */

/* Memory attribute (_MEM) of a DWord/QWord memory descriptor. */
#define AML_MEM_NONCACHEABLE	0
#define AML_MEM_CACHEABLE	1
#define AML_MEM_WRITE_COMBINING	2
#define AML_MEM_PREFETCHABLE	3

struct aml {
	uint8_t *buf;
	size_t size;		/* capacity of buf */
	size_t len;		/* bytes written so far */
	bool error;		/* out of room or bad argument: len is stale */
};

void aml__init(struct aml *a, void *buf, size_t size);
/* The number of bytes written, or -1 if anything failed. */
long aml__finish(const struct aml *a);

/* --- pure encoders ------------------------------------------------------ */

/* Encode a PkgLength whose value is 'length' (it counts the PkgLength
 * bytes themselves and everything after them in the object) into 'out'.
 * Returns the number of bytes (1..4); 0 if 'length' cannot be encoded in
 * as many bytes as its value implies. */
int aml__pkglength_encode(uint8_t out[4], size_t length);
/* The PkgLength of an object whose contents after the PkgLength are
 * 'content' bytes: the number of bytes (1..4) the encoding takes, with
 * the encoded value in *length; 0 if too large. */
int aml__pkglength_for(size_t content, size_t *length);
/* The 32-bit value EisaId("ABC1234") compiles to (the compressed ID,
 * stored as a big-endian dword). -1 if 'id' is not three letters A..Z
 * and four hexadecimal digits. */
int aml__eisaid_value(const char *id, uint32_t *value);

/* --- data and names ------------------------------------------------------ */

void aml__bytes(struct aml *a, const void *p, size_t n);
void aml__byte(struct aml *a, uint8_t b);
/* NameString from an ASL-style path (see above). */
void aml__name_string(struct aml *a, const char *path);
/* The shortest encoding: Zero, One, Ones (all 64 bits set), or a
 * Byte/Word/DWord/QWord constant. */
void aml__integer(struct aml *a, uint64_t v);
/* A DWord constant whatever the value (as ASL writes 0x0001FFFF). */
void aml__dword(struct aml *a, uint32_t v);
/* String: ASCII 0x01..0x7f, NUL-terminated in AML. */
void aml__string(struct aml *a, const char *s);
/* EisaId("PNP0A03"): a DWord constant. */
void aml__eisaid(struct aml *a, const char *id);

/* --- named objects and control ---------------------------------------- */

/* Name (path, ...): the caller writes exactly one data object next. */
void aml__name(struct aml *a, const char *path);
/* Return (...): the caller writes the returned object next. */
void aml__return(struct aml *a);

size_t aml__scope_begin(struct aml *a, const char *path);
size_t aml__device_begin(struct aml *a, const char *path);
/* Method (path, nargs, serialized ? Serialized : NotSerialized), sync
 * level 0; nargs 0..7. */
size_t aml__method_begin(struct aml *a, const char *path, unsigned nargs,
			 bool serialized);
/* Package () with 'nelems' elements (0..255), which the caller writes. */
size_t aml__package_begin(struct aml *a, unsigned nelems);
/* Close a Scope, Device, Method or Package. */
void aml__end(struct aml *a, size_t mark);

/* Buffer () { bytes }: the size is the number of bytes written. */
size_t aml__buffer_begin(struct aml *a);
void aml__buffer_end(struct aml *a, size_t mark);

/* --- resource templates ---------------------------------------------- */

/* ResourceTemplate () { ... }: a Buffer ending with an End Tag whose
 * checksum byte is 0 ("the checksum is correct"). */
size_t aml__resource_template_begin(struct aml *a);
void aml__resource_template_end(struct aml *a, size_t mark);

/* IO (Decode16, min, max, align, len): I/O Port Descriptor. */
void aml__res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align,
		 uint8_t len);
/* Address space descriptors for the windows a bridge decodes:
 * ResourceProducer, MinFixed, MaxFixed, PosDecode, granularity 0, no
 * translation, length max - min + 1 (which must fit the field). */
void aml__res_word_bus_number(struct aml *a, uint16_t min, uint16_t max);
/* WordIO (..., EntireRange, ...) */
void aml__res_word_io(struct aml *a, uint16_t min, uint16_t max);
/* DWordMemory / QWordMemory (..., mem, ReadWrite, ...,
 * AddressRangeMemory, TypeStatic); mem is one of AML_MEM_*. */
void aml__res_dword_memory(struct aml *a, uint32_t min, uint32_t max,
			   unsigned mem);
void aml__res_qword_memory(struct aml *a, uint64_t min, uint64_t max,
			   unsigned mem);

#endif
