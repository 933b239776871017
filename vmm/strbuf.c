/* strbuf.c — a growing string with a cap (see strbuf.h). */
#include <stdlib.h>
#include <string.h>

#include "vmm/strbuf.h"
#include "vmm/util.h"

void strbuf__add(struct strbuf *b, const char *s, size_t n)
{
	size_t max = b->max ? b->max : STRBUF_DEFAULT_MAX;

	if (b->oom || b->over)
		return;
	if (n > max || b->len > max - n) {
		b->over = true;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t ncap = MAX(MAX(b->cap * 2, b->len + n + 1), (size_t)32);
		char *np;

		ncap = MIN(ncap, max + 1);
		np = realloc(b->p, ncap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void strbuf__addc(struct strbuf *b, char c)
{
	strbuf__add(b, &c, 1);
}

void strbuf__adds(struct strbuf *b, const char *s)
{
	strbuf__add(b, s, strlen(s));
}

bool strbuf__failed(const struct strbuf *b)
{
	return b->oom || b->over;
}

char *strbuf__take(struct strbuf *b)
{
	char *p;

	if (!strbuf__failed(b) && !b->p)
		strbuf__add(b, "", 0);
	if (strbuf__failed(b)) {
		strbuf__free(b);
		return NULL;
	}
	p = b->p;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void strbuf__free(struct strbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
