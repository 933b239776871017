/* strbuf.h — a growing, NUL-terminated string with a size cap, for text
 * built from image-controlled input (BLS options, grub.cfg words): a
 * variable that expands to itself many times stops at the cap instead
 * of eating host memory.
 *
 * Errors are sticky: once an append fails (out of memory, or the cap
 * would be passed) later appends do nothing and strbuf__take returns
 * NULL; ->over says which.
 */
#ifndef VMM_STRBUF_H
#define VMM_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *p;
	size_t len, cap;
	size_t max;        /* largest length allowed; 0: STRBUF_DEFAULT_MAX */
	bool oom, over;
};

#define STRBUF_DEFAULT_MAX (1u << 20)

void strbuf__add(struct strbuf *b, const char *s, size_t n);
void strbuf__addc(struct strbuf *b, char c);
void strbuf__adds(struct strbuf *b, const char *s);
/* The finished string ("" when nothing was added) to be free()d by the
 * caller, or NULL after an error (the buffer is freed either way). */
char *strbuf__take(struct strbuf *b);
void strbuf__free(struct strbuf *b);
bool strbuf__failed(const struct strbuf *b);

#endif
