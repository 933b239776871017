/* grubcfg.c — a small interpreter for grub-mkconfig's grub.cfg (see
 * grubcfg.h for the language subset and why).
 *
 * Two passes over one token array: the lexer keeps every word raw
 * (quotes and $references intact) because a word's value depends on the
 * variables at the moment it runs; the runner walks the tokens once for
 * the top level, registering menu entries as token ranges, and then
 * once more over the chosen entry's body. Nothing loops, so the work is
 * linear in the file's size, which is capped. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/boot/bls.h"
#include "vmm/boot/grubcfg_priv.h"
#include "vmm/strbuf.h"
#include "vmm/util.h"

/* ---- conditions ----------------------------------------------------- */

static bool is_grubenv(const char *path)
{
	size_t n = strlen(path);

	return n >= 8 && !strcmp(path + n - 8, "/grubenv");
}

/* `[ ... ]` / `test ...` with the arguments between; -1: undecidable. */
static int test_expr(const struct ctx *c, char **v, size_t n)
{
	if (n >= 1 && !strcmp(v[0], "!")) {
		int r = test_expr(c, v + 1, n - 1);

		return r < 0 ? r : !r;
	}
	if (n == 0)
		return 0;
	if (n == 1)
		return v[0][0] != '\0';
	if (n == 2 && !strcmp(v[0], "-n"))
		return v[1][0] != '\0';
	if (n == 2 && !strcmp(v[0], "-z"))
		return v[1][0] == '\0';
	if (n == 2 && (!strcmp(v[0], "-s") || !strcmp(v[0], "-e") || !strcmp(v[0], "-f")))
		return is_grubenv(v[1]) ? c->env != NULL : -1;
	if (n == 3 && (!strcmp(v[1], "=") || !strcmp(v[1], "==")))
		return !strcmp(v[0], v[2]);
	if (n == 3 && !strcmp(v[1], "!="))
		return strcmp(v[0], v[2]) != 0;
	return -1;
}

static bool condition(struct ctx *c, struct args *a)
{
	size_t n = a->n;
	int r = -1;

	if (n == 0)
		return false;
	if (!strcmp(a->v[0], "!") && n > 1) {
		struct args rest = { .n = n - 1 };
		bool v;

		memcpy(rest.v, a->v + 1, (n - 1) * sizeof(rest.v[0]));
		v = !condition(c, &rest);
		return v;
	}
	if (!strcmp(a->v[0], "[") && n >= 2 && !strcmp(a->v[n - 1], "]"))
		r = test_expr(c, a->v + 1, n - 2);
	else if (!strcmp(a->v[0], "test"))
		r = test_expr(c, a->v + 1, n - 1);
	else if (!strcmp(a->v[0], "true") || !strcmp(a->v[0], "false"))
		r = !strcmp(a->v[0], "true");
	if (r >= 0)
		return r;
	/* `if loadfont ...`, `if [ -f /some/file ]`: unknown, false */
	grubcfg__ignore(c, !strcmp(a->v[0], "[") || !strcmp(a->v[0], "test") ? "if-test" : a->v[0]);
	return false;
}

/* ---- commands ------------------------------------------------------- */

static void add_initrds(struct ctx *c, struct args *a)
{
	struct grubcfg_boot *o = c->out;

	for (size_t i = 1; i < a->n; i++) {
		char **nv;

		if (o->n_initrd == GRUBCFG_MAX_INITRDS)
			return grubcfg__fail(c, "grub.cfg: more than %d initrds", GRUBCFG_MAX_INITRDS);
		nv = realloc(o->initrd, (o->n_initrd + 1) * sizeof(*nv));
		if (!nv)
			return grubcfg__fail(c, "out of memory");
		o->initrd = nv;
		o->initrd[o->n_initrd++] = a->v[i];
		a->v[i] = NULL;
	}
}

static void set_linux(struct ctx *c, struct args *a)
{
	struct strbuf b = { .max = MAX_VALUE };
	struct grubcfg_boot *o = c->out;

	if (a->n < 2)
		return grubcfg__fail(c, "grub.cfg: a linux line without a kernel");
	free(o->kernel);
	free(o->args);
	o->kernel = a->v[1];
	a->v[1] = NULL;
	for (size_t i = 2; i < a->n; i++) {
		if (b.len)
			strbuf__addc(&b, ' ');
		strbuf__adds(&b, a->v[i]);
	}
	o->args = strbuf__take(&b);
	if (!o->args)
		grubcfg__fail(c, "grub.cfg: the linux line is longer than %u KiB", MAX_VALUE >> 10);
}

static bool is_assignment(const char *s)
{
	const char *eq = strchr(s, '=');

	if (!eq || eq == s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (const char *p = s; p < eq; p++)
		if (!grubcfg__is_name_char(*p))
			return false;
	return true;
}

static void assign(struct ctx *c, char *s)
{
	char *eq = strchr(s, '=');

	*eq = '\0';
	grubcfg__var_set(c, s, eq + 1);
}

static void load_env(struct ctx *c, struct args *a)
{
	size_t named = 0;

	if (!c->env)
		return;
	for (size_t i = 1; i < a->n; i++)
		named += a->v[i][0] != '-';
	for (size_t k = 0; k < c->env->n && !c->failed; k++) {
		bool want = !named;

		for (size_t i = 1; i < a->n && !want; i++)
			want = !strcmp(a->v[i], c->env->keys[k]);
		if (want)
			grubcfg__var_set(c, c->env->keys[k], c->env->vals[k]);
	}
}

static void command(struct ctx *c, struct args *a)
{
	const char *cmd = a->v[0];

	if (is_assignment(cmd) && a->n == 1) {
		assign(c, a->v[0]);
	} else if (!strcmp(cmd, "set")) {
		for (size_t i = 1; i < a->n; i++)
			if (is_assignment(a->v[i]))
				assign(c, a->v[i]);
	} else if (!strcmp(cmd, "unset")) {
		for (size_t i = 1; i < a->n; i++)
			grubcfg__var_unset(c, a->v[i]);
	} else if (!strcmp(cmd, "load_env")) {
		load_env(c, a);
	} else if (!strcmp(cmd, "export") || !strcmp(cmd, "echo") || !strcmp(cmd, "true")) {
		/* nothing to do, nothing lost */
	} else if (c->in_entry && (!strcmp(cmd, "linux") || !strcmp(cmd, "linux16") ||
				   !strcmp(cmd, "linuxefi"))) {
		set_linux(c, a);
	} else if (c->in_entry && (!strcmp(cmd, "initrd") || !strcmp(cmd, "initrd16") ||
				   !strcmp(cmd, "initrdefi"))) {
		add_initrds(c, a);
	} else {
		grubcfg__ignore(c, cmd);
	}
}

/* ---- blocks --------------------------------------------------------- */

/* c->pos is just after a '{': move past its matching '}'. */
static void skip_braces(struct ctx *c)
{
	unsigned depth = 1;

	for (; c->pos < c->nt; c->pos++) {
		if (c->t[c->pos].kind == TK_LBRACE)
			depth++;
		else if (c->t[c->pos].kind == TK_RBRACE && --depth == 0) {
			c->pos++;
			return;
		}
	}
	grubcfg__fail(c, "grub.cfg: a '{' that is never closed");
}

static size_t run_list(struct ctx *c, bool run, struct menu *menu, const char *const *stop);

static bool expect_word(struct ctx *c, const char *want)
{
	char buf[8];

	while (c->pos < c->nt && c->t[c->pos].kind == TK_SEP)
		c->pos++;
	if (strcmp(grubcfg__literal(c, c->pos, buf, sizeof(buf)), want)) {
		grubcfg__fail(c, "grub.cfg: '%s' expected", want);
		return false;
	}
	c->pos++;
	return true;
}

static void run_if(struct ctx *c, bool run, struct menu *menu)
{
	static const char *const stop[] = { "elif", "else", "fi", NULL };
	static const char *const stop_fi[] = { "fi", NULL };
	bool done = false;
	size_t which;

	c->pos++;                    /* "if" */
	for (;;) {
		struct args a;
		bool cond = false;

		grubcfg__read_args(c, &a, run && !done && !c->scan_only);
		if (run && !done && !c->scan_only)
			cond = condition(c, &a);
		grubcfg__args_free(&a);
		if (!expect_word(c, "then"))
			return;
		which = run_list(c, run && !done && (cond || c->scan_only), menu, stop);
		done = done || cond;
		if (c->failed)
			return;
		if (which == 2)                  /* fi */
			return;
		if (which == 1) {                /* else */
			if (run_list(c, run && !done, menu, stop_fi) != 0 && !c->failed)
				grubcfg__fail(c, "grub.cfg: 'if' without 'fi'");
			return;
		}
		if (which != 0) {                /* not elif */
			grubcfg__fail(c, "grub.cfg: 'if' without 'fi'");
			return;
		}
	}
}

static int add_item(struct ctx *c, struct menu *menu, struct args *a, size_t body, bool sub)
{
	struct item *it, *nv;
	const char *title = NULL, *id = NULL;

	/* the keyword is already consumed: the title and options */
	for (size_t i = 0; i < a->n; i++) {
		if (!strcmp(a->v[i], "--id") && i + 1 < a->n)
			id = a->v[++i];
		else if ((!strcmp(a->v[i], "--class") || !strcmp(a->v[i], "--users") ||
			  !strcmp(a->v[i], "--hotkey") || !strcmp(a->v[i], "--source")) && i + 1 < a->n)
			i++;
		else if (a->v[i][0] == '-' && a->v[i][1] == '-')
			;
		else if (!title)
			title = a->v[i];
	}
	if (c->items++ == MAX_ITEMS) {
		grubcfg__fail(c, "grub.cfg: more than %d menu entries", MAX_ITEMS);
		return -1;
	}
	nv = realloc(menu->v, (menu->n + 1) * sizeof(*nv));
	if (!nv) {
		grubcfg__fail(c, "out of memory");
		return -1;
	}
	menu->v = nv;
	it = &menu->v[menu->n];
	memset(it, 0, sizeof(*it));
	it->title = strdup(title ? title : "");
	it->id = strdup(id ? id : "");
	it->body = body;
	if (sub)
		it->sub = calloc(1, sizeof(*it->sub));
	menu->n++;
	if (!it->title || !it->id || (sub && !it->sub)) {
		grubcfg__fail(c, "out of memory");
		return -1;
	}
	return 0;
}

static void run_entry_def(struct ctx *c, bool run, struct menu *menu, bool sub)
{
	struct args a;
	size_t body;

	grubcfg__read_args(c, &a, run);
	if (c->pos >= c->nt || c->t[c->pos].kind != TK_LBRACE) {
		grubcfg__args_free(&a);
		return grubcfg__fail(c, "grub.cfg: %s without '{' on its line", sub ? "submenu" : "menuentry");
	}
	body = ++c->pos;
	if (run && !c->failed && add_item(c, menu, &a, body, sub) == 0 && sub) {
		bool was = c->scan_only;

		/* register the submenu's entries; its commands run only
		 * when it is opened, which here means never */
		c->scan_only = true;
		run_list(c, true, menu->v[menu->n - 1].sub, NULL);
		c->scan_only = was;
		if (!c->failed && (c->pos >= c->nt || c->t[c->pos].kind != TK_RBRACE))
			grubcfg__fail(c, "grub.cfg: a submenu that is never closed");
		c->pos++;
	} else {
		skip_braces(c);
	}
	grubcfg__args_free(&a);
}

/* Skip for/while/until ... done (never run: generated files use none
 * that matter for booting). */
static void skip_loop(struct ctx *c)
{
	unsigned depth = 0;
	char buf[8];

	for (; c->pos < c->nt; c->pos++) {
		bool start = c->pos == 0 || c->t[c->pos - 1].kind != TK_WORD;
		const char *w = grubcfg__literal(c, c->pos, buf, sizeof(buf));

		if (!start)
			continue;
		if (!strcmp(w, "for") || !strcmp(w, "while") || !strcmp(w, "until"))
			depth++;
		else if (!strcmp(w, "done") && --depth == 0) {
			c->pos++;
			return;
		}
	}
	grubcfg__fail(c, "grub.cfg: a loop without 'done'");
}

/* Run commands until a '}' (not consumed) or the end, or until the first
 * word of a command is one of 'stop' (consumed; its index returned).
 * SIZE_MAX for '}' or the end. */
static size_t run_list(struct ctx *c, bool run, struct menu *menu, const char *const *stop)
{
	char buf[16];

	if (++c->depth > MAX_DEPTH) {
		grubcfg__fail(c, "grub.cfg: blocks nested more than %d deep", MAX_DEPTH);
		c->depth--;
		return SIZE_MAX;
	}
	while (c->pos < c->nt && !c->failed) {
		const struct tok *t = &c->t[c->pos];
		const char *w;

		if (t->kind == TK_SEP) {
			c->pos++;
			continue;
		}
		if (t->kind == TK_RBRACE)
			break;
		if (t->kind == TK_LBRACE) {
			c->pos++;
			skip_braces(c);
			continue;
		}
		w = grubcfg__literal(c, c->pos, buf, sizeof(buf));
		for (size_t i = 0; stop && stop[i]; i++) {
			if (!strcmp(w, stop[i])) {
				c->pos++;
				c->depth--;
				return i;
			}
		}
		if (!strcmp(w, "if")) {
			run_if(c, run, menu);
		} else if (!strcmp(w, "menuentry") || !strcmp(w, "submenu")) {
			c->pos++;
			run_entry_def(c, run && !c->in_entry, menu, w[0] == 's');
		} else if (!strcmp(w, "function")) {
			c->pos += 2;
			if (c->pos > c->nt || c->pos == c->nt || c->t[c->pos].kind != TK_LBRACE) {
				grubcfg__fail(c, "grub.cfg: function without '{'");
				break;
			}
			c->pos++;
			skip_braces(c);
		} else if (!strcmp(w, "for") || !strcmp(w, "while") || !strcmp(w, "until")) {
			if (run && !c->scan_only)
				grubcfg__ignore(c, w);
			skip_loop(c);
		} else if (!strcmp(w, "then") || !strcmp(w, "elif") || !strcmp(w, "else") ||
			   !strcmp(w, "fi") || !strcmp(w, "do") || !strcmp(w, "done")) {
			grubcfg__fail(c, "grub.cfg: '%s' out of place", w);
		} else {
			struct args a;
			bool doit = run && !c->scan_only;

			grubcfg__read_args(c, &a, doit);
			if (doit && a.n && !c->failed)
				command(c, &a);
			grubcfg__args_free(&a);
		}
	}
	c->depth--;
	return SIZE_MAX;
}

/* ---- the default entry ---------------------------------------------- */

static void menu_free(struct menu *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].title);
		free(m->v[i].id);
		if (m->v[i].sub) {
			menu_free(m->v[i].sub);
			free(m->v[i].sub);
		}
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

static struct item *find_item(struct menu *m, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		;
	if (n && i == n) {
		size_t idx = n > 6 ? SIZE_MAX : strtoul(s, NULL, 10);

		return idx < m->n ? &m->v[idx] : NULL;
	}
	for (i = 0; i < m->n; i++)
		if (strlen(m->v[i].id) == n && !memcmp(m->v[i].id, s, n))
			return &m->v[i];
	for (i = 0; i < m->n; i++)
		if (strlen(m->v[i].title) == n && !memcmp(m->v[i].title, s, n))
			return &m->v[i];
	return NULL;
}

/* Descend into submenus to their first entry, appending titles. */
static struct item *first_entry(struct item *it, struct strbuf *title)
{
	while (it && it->sub) {
		it = it->sub->n ? &it->sub->v[0] : NULL;
		if (it) {
			strbuf__addc(title, '>');
			strbuf__adds(title, it->title);
		}
	}
	return it;
}

/* The entry 'default' names, else the first one (GRUB's fallback). */
static struct item *choose(struct ctx *c, struct menu *top, struct strbuf *title,
			   struct strbuf *how)
{
	const char *def = grubcfg__var_get(c, "default", 7);
	struct menu *m = top;
	struct item *it = NULL;

	if (!strcmp(def, "saved")) {
		def = grubcfg__var_get(c, "saved_entry", 11);
		strbuf__adds(how, "saved_entry=");
	} else {
		strbuf__adds(how, "default=");
	}
	if (!*def)
		def = "0";
	strbuf__adds(how, def);
	for (const char *p = def; m;) {
		const char *gt = strchr(p, '>');
		size_t n = gt ? (size_t)(gt - p) : strlen(p);

		it = find_item(m, p, n);
		if (!it)
			break;
		if (title->len)
			strbuf__addc(title, '>');
		strbuf__adds(title, it->title);
		if (!gt)
			break;
		m = it->sub;
		p = gt + 1;
		if (!m)
			it = NULL;
	}
	if (!it) {
		strbuf__free(title);
		strbuf__adds(how, " matches no entry: the first one");
		it = &top->v[0];
		strbuf__adds(title, it->title);
	} else if (it->sub) {
		strbuf__adds(how, " is a submenu: its first entry");
	}
	return first_entry(it, title);
}

static char *ignored_text(const struct ctx *c)
{
	struct strbuf b = { 0 };

	for (size_t i = 0; i < c->nign; i++) {
		char n[16];

		if (i)
			strbuf__adds(&b, ", ");
		strbuf__adds(&b, c->ign[i].name);
		if (c->ign[i].count > 1) {
			snprintf(n, sizeof(n), " x%u", c->ign[i].count);
			strbuf__adds(&b, n);
		}
	}
	if (c->more_ignored)
		strbuf__adds(&b, ", ...");
	return strbuf__take(&b);
}

int grubcfg__parse(const char *text, size_t len, const struct grubenv *env,
		   struct grubcfg_boot *out, char *err, size_t errlen)
{
	struct strbuf title = { .max = MAX_VALUE }, how = { .max = MAX_VALUE };
	struct menu top = { 0 };
	struct item *it = NULL;
	struct ctx *c;
	int r = -1;

	memset(out, 0, sizeof(*out));
	if (len > GRUBCFG_MAX_BYTES)
		return util__fail(err, errlen, "grub.cfg is larger than %u KiB", GRUBCFG_MAX_BYTES >> 10);
	if (memchr(text, '\0', len))
		return util__fail(err, errlen, "grub.cfg holds NUL bytes: not a text file");
	c = calloc(1, sizeof(*c));
	if (c)
		c->t = calloc(MIN(len + 1, (size_t)MAX_TOKENS), sizeof(*c->t));
	if (!c || !c->t) {
		free(c);
		return util__fail(err, errlen, "out of memory");
	}
	c->text = text;
	c->len = len;
	c->env = env;
	c->out = out;
	c->err = err;
	c->errlen = errlen;

	grubcfg__lex(c);
	if (!c->failed)
		run_list(c, true, &top, NULL);
	if (!c->failed && c->pos < c->nt)
		grubcfg__fail(c, "grub.cfg: a '}' out of place");
	if (!c->failed && !top.n)
		grubcfg__fail(c, "grub.cfg has no menuentry");
	if (!c->failed)
		it = choose(c, &top, &title, &how);
	if (!c->failed && !it)
		grubcfg__fail(c, "grub.cfg: its default is an empty submenu");
	if (!c->failed) {
		/* the entry's own commands, with the top level's variables */
		c->pos = it->body;
		c->in_entry = true;
		run_list(c, true, NULL, NULL);
	}
	if (!c->failed && !out->kernel)
		grubcfg__fail(c, "grub.cfg: entry '%s' has no linux line", title.p ? title.p : "");
	if (!c->failed) {
		out->title = strbuf__take(&title);
		out->how = strbuf__take(&how);
		out->ignored = ignored_text(c);
		if (!out->title || !out->how || !out->ignored)
			grubcfg__fail(c, "out of memory");
	}
	r = c->failed ? -1 : 0;
	if (r < 0)
		grubcfg__free(out);
	strbuf__free(&title);
	strbuf__free(&how);
	menu_free(&top);
	for (size_t i = 0; i < c->nvars; i++) {
		free(c->names[i]);
		free(c->values[i]);
	}
	free(c->t);
	free(c);
	return r;
}

void grubcfg__free(struct grubcfg_boot *b)
{
	free(b->title);
	free(b->kernel);
	free(b->args);
	for (size_t i = 0; i < b->n_initrd; i++)
		free(b->initrd[i]);
	free(b->initrd);
	free(b->how);
	free(b->ignored);
	memset(b, 0, sizeof(*b));
}
