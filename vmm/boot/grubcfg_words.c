/* grubcfg_words.c — the lexical half of the grub.cfg interpreter:
 * tokens, variables and the expansion of one word ($name, ${name},
 * '...', "...", backslashes), each bounded (see grubcfg.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/boot/grubcfg_priv.h"
#include "vmm/strbuf.h"
#include "vmm/util.h"

/* ---- errors, variables, what was ignored ---------------------------- */

void grubcfg__fail(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->failed)
		return;
	c->failed = true;
	if (c->err && c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
}

static const char *const predefined[][2] = {
	/* what GRUB 2.06+ sets on a PC (BIOS) before reading grub.cfg */
	{ "grub_platform", "pc" },
	{ "grub_cpu", "i386" },
	{ "prefix", "(hd0)/boot/grub" },
	{ "feature_200_final", "y" },
	{ "feature_all_video_module", "y" },
	{ "feature_chainloader_bpb", "y" },
	{ "feature_default_font_path", "y" },
	{ "feature_menuentry_id", "y" },
	{ "feature_menuentry_options", "y" },
	{ "feature_nativedisk_cmd", "y" },
	{ "feature_ntldr", "y" },
	{ "feature_platform_search_hint", "y" },
	{ "feature_timeout_style", "y" },
};

const char *grubcfg__var_get(const struct ctx *c, const char *name, size_t n)
{
	for (size_t i = 0; i < c->nvars; i++)
		if (strlen(c->names[i]) == n && !memcmp(c->names[i], name, n))
			return c->values[i];
	for (size_t i = 0; i < ARRAY_SIZE(predefined); i++)
		if (strlen(predefined[i][0]) == n && !memcmp(predefined[i][0], name, n))
			return predefined[i][1];
	return "";
}

void grubcfg__var_set(struct ctx *c, const char *name, const char *value)
{
	char *v;

	if (strlen(value) > MAX_VALUE)
		return grubcfg__fail(c, "grub.cfg: variable %.32s is longer than %u KiB", name, MAX_VALUE >> 10);
	for (size_t i = 0; i < c->nvars; i++) {
		if (strcmp(c->names[i], name))
			continue;
		v = strdup(value);
		if (!v)
			return grubcfg__fail(c, "out of memory");
		free(c->values[i]);
		c->values[i] = v;
		return;
	}
	if (c->nvars == MAX_VARS)
		return grubcfg__fail(c, "grub.cfg: more than %d variables", MAX_VARS);
	c->names[c->nvars] = strdup(name);
	c->values[c->nvars] = strdup(value);
	if (!c->names[c->nvars] || !c->values[c->nvars]) {
		free(c->names[c->nvars]);
		free(c->values[c->nvars]);
		return grubcfg__fail(c, "out of memory");
	}
	c->nvars++;
}

void grubcfg__var_unset(struct ctx *c, const char *name)
{
	for (size_t i = 0; i < c->nvars; i++) {
		if (strcmp(c->names[i], name))
			continue;
		free(c->names[i]);
		free(c->values[i]);
		c->nvars--;
		c->names[i] = c->names[c->nvars];
		c->values[i] = c->values[c->nvars];
		return;
	}
}

void grubcfg__ignore(struct ctx *c, const char *what)
{
	char name[sizeof(c->ign[0].name)];
	size_t i;

	/* from the image: printable characters only */
	for (i = 0; what[i] && i + 1 < sizeof(name); i++)
		name[i] = (what[i] > 0x20 && what[i] < 0x7f) ? what[i] : '?';
	name[i] = '\0';
	for (i = 0; i < c->nign; i++) {
		if (!strcmp(c->ign[i].name, name)) {
			c->ign[i].count++;
			return;
		}
	}
	if (c->nign == MAX_IGNORED) {
		c->more_ignored = true;
		return;
	}
	memcpy(c->ign[c->nign].name, name, sizeof(name));
	c->ign[c->nign++].count = 1;
}

/* ---- lexer ---------------------------------------------------------- */

static bool is_delim(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == ';';
}

bool grubcfg__is_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_';
}

static void push(struct ctx *c, enum tok_kind kind, size_t off, size_t len)
{
	if (c->nt == MAX_TOKENS)
		return grubcfg__fail(c, "grub.cfg: more than %u words", MAX_TOKENS);
	c->t[c->nt++] = (struct tok){ kind, off, len };
}

/* End of the quoted text that starts at text[i] (the quote), or 0. */
static size_t quote_end(const struct ctx *c, size_t i)
{
	char q = c->text[i];

	for (i++; i < c->len; i++) {
		if (q == '"' && c->text[i] == '\\' && i + 1 < c->len)
			i++;
		else if (c->text[i] == q)
			return i + 1;
	}
	return 0;
}

void grubcfg__lex(struct ctx *c)
{
	size_t i = 0, line = 1;

	while (i < c->len && !c->failed) {
		char ch = c->text[i];
		size_t start = i;

		if (ch == '\n')
			line++;
		if (ch == ' ' || ch == '\t' || ch == '\r') {
			i++;
		} else if (ch == '\n' || ch == ';') {
			push(c, TK_SEP, i++, 1);
		} else if (ch == '#') {
			while (i < c->len && c->text[i] != '\n')
				i++;
		} else if ((ch == '{' || ch == '}') && (i + 1 == c->len || is_delim(c->text[i + 1]))) {
			push(c, ch == '{' ? TK_LBRACE : TK_RBRACE, i++, 1);
		} else {
			while (i < c->len && !is_delim(c->text[i]) && !c->failed) {
				ch = c->text[i];
				if (ch == '\\') {
					i += 2;
				} else if (ch == '\'' || ch == '"') {
					size_t e = quote_end(c, i);

					if (!e)
						grubcfg__fail(c, "grub.cfg line %zu: a quote that never closes", line);
					for (; i < e; i++)
						line += c->text[i] == '\n';
				} else {
					i++;
				}
			}
			i = MIN(i, c->len);
			push(c, TK_WORD, start, i - start);
		}
	}
}

/* ---- words ---------------------------------------------------------- */

/* Append $name / ${name} at s[*i] (the '$'); false when it is no reference. */
static bool expand_ref(struct ctx *c, const char *s, size_t n, size_t *i, struct strbuf *b)
{
	size_t j = *i + 1, start;

	if (j < n && s[j] == '{') {
		start = ++j;
		while (j < n && s[j] != '}')
			j++;
		if (j == n || j == start)
			return false;
		strbuf__adds(b, grubcfg__var_get(c, s + start, j - start));
		*i = j + 1;
		return true;
	}
	start = j;
	while (j < n && grubcfg__is_name_char(s[j]))
		j++;
	if (j == start)
		return false;
	strbuf__adds(b, grubcfg__var_get(c, s + start, j - start));
	*i = j;
	return true;
}

/* The value of a raw word. *quoted: the word had quotes (an empty value
 * is still an argument then; an unquoted one that expands to nothing is
 * dropped, as GRUB does with "$menuentry_id_option" left empty). */
static char *word(struct ctx *c, const struct tok *t, bool *quoted)
{
	struct strbuf b = { .max = MAX_VALUE };
	const char *s = c->text + t->off;
	size_t n = t->len, i = 0;
	char *v;

	*quoted = false;
	while (i < n) {
		char ch = s[i];

		if (ch == '\\') {
			if (i + 1 < n && s[i + 1] != '\n')
				strbuf__addc(&b, s[i + 1]);
			i += 2;
		} else if (ch == '\'') {
			size_t e = i + 1;

			while (e < n && s[e] != '\'')
				e++;
			strbuf__add(&b, s + i + 1, e - i - 1);
			i = e + 1;
			*quoted = true;
		} else if (ch == '"') {
			*quoted = true;
			for (i++; i < n && s[i] != '"';) {
				if (s[i] == '\\' && i + 1 < n && strchr("$\"\\\n", s[i + 1])) {
					if (s[i + 1] != '\n')
						strbuf__addc(&b, s[i + 1]);
					i += 2;
				} else if (s[i] == '$' && expand_ref(c, s, n, &i, &b)) {
					continue;
				} else {
					strbuf__addc(&b, s[i++]);
				}
			}
			i++;
		} else if (ch == '$' && expand_ref(c, s, n, &i, &b)) {
			continue;
		} else {
			strbuf__addc(&b, ch);
			i++;
		}
	}
	if (b.over)
		grubcfg__fail(c, "grub.cfg: a word expands to more than %u KiB", MAX_VALUE >> 10);
	v = strbuf__take(&b);
	if (!v)
		grubcfg__fail(c, "out of memory");
	return v;
}

/* The word's text when it is a plain literal (a keyword can only be
 * that), else "". */
const char *grubcfg__literal(const struct ctx *c, size_t k, char *buf, size_t len)
{
	const struct tok *t = &c->t[k];

	buf[0] = '\0';
	if (k >= c->nt || t->kind != TK_WORD || t->len >= len)
		return buf;
	for (size_t i = 0; i < t->len; i++)
		if (strchr("'\"\\$", c->text[t->off + i]))
			return buf;
	memcpy(buf, c->text + t->off, t->len);
	buf[t->len] = '\0';
	return buf;
}


void grubcfg__args_free(struct args *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	a->n = 0;
}

/* Expand the words from c->pos up to a separator or a brace. */
void grubcfg__read_args(struct ctx *c, struct args *a, bool expand)
{
	a->n = 0;
	for (; c->pos < c->nt && c->t[c->pos].kind == TK_WORD && !c->failed; c->pos++) {
		bool quoted;
		char *v;

		if (!expand)
			continue;
		if (a->n == MAX_ARGS) {
			grubcfg__fail(c, "grub.cfg: a command with more than %d words", MAX_ARGS);
			break;
		}
		v = word(c, &c->t[c->pos], &quoted);
		if (v && !*v && !quoted)
			free(v);
		else if (v)
			a->v[a->n++] = v;
	}
}
