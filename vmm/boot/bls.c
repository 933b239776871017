/* bls.c — Boot Loader Specification entry files, the grubenv block,
 * $variable expansion, rpm version comparison and default-entry choice,
 * following grub2's blscfg. Text only: the caller reads the files. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/boot/bls.h"
#include "vmm/strbuf.h"
#include "vmm/util.h"

#define GRUBENV_SIG "# GRUB Environment Block\n"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* ---- entry files -------------------------------------------------- */

static int set_once(char **field, const char *v, size_t n)
{
	if (*field)
		return 0;
	*field = strndup(v, n);
	return *field ? 0 : -1;
}

static int add_initrds(struct bls_entry *e, const char *v, size_t n, char *err, size_t errlen)
{
	size_t i = 0;

	while (i < n) {
		size_t start;

		while (i < n && is_blank(v[i]))
			i++;
		if (i == n)
			break;
		start = i;
		while (i < n && !is_blank(v[i]))
			i++;
		if (e->n_initrd == BLS_MAX_INITRDS)
			return util__fail(err, errlen, "entry '%s' names more than %d initrds",
					  e->id, BLS_MAX_INITRDS);
		if (!e->initrd) {
			e->initrd = calloc(BLS_MAX_INITRDS, sizeof(*e->initrd));
			if (!e->initrd)
				return util__fail(err, errlen, "out of memory");
		}
		e->initrd[e->n_initrd] = strndup(v + start, i - start);
		if (!e->initrd[e->n_initrd])
			return util__fail(err, errlen, "out of memory");
		e->n_initrd++;
	}
	return 0;
}

static int add_options(struct bls_entry *e, const char *v, size_t n)
{
	size_t old = e->options ? strlen(e->options) : 0;
	char *p = realloc(e->options, old + (old ? 1 : 0) + n + 1);

	if (!p)
		return -1;
	if (old)
		p[old++] = ' ';
	memcpy(p + old, v, n);
	p[old + n] = '\0';
	e->options = p;
	return 0;
}

static int entry_line(struct bls_entry *e, const char *line, size_t n, char *err, size_t errlen)
{
	size_t i = 0, klen, vstart;
	const char *key;
	int r = 0;

	while (i < n && is_blank(line[i]))
		i++;
	if (i == n || line[i] == '#')
		return 0;
	key = line + i;
	while (i < n && !is_blank(line[i]))
		i++;
	klen = (size_t)(line + i - key);
	while (i < n && is_blank(line[i]))
		i++;
	vstart = i;
	while (n > vstart && is_blank(line[n - 1]))
		n--;
	if (n == vstart)
		return 0;       /* a key without a value says nothing */
#define KEY(s) (klen == sizeof(s) - 1 && !memcmp(key, s, klen))
	if (KEY("title"))
		r = set_once(&e->title, line + vstart, n - vstart);
	else if (KEY("version"))
		r = set_once(&e->version, line + vstart, n - vstart);
	else if (KEY("machine-id"))
		r = set_once(&e->machine_id, line + vstart, n - vstart);
	else if (KEY("linux"))
		r = set_once(&e->kernel, line + vstart, n - vstart);
	else if (KEY("options"))
		r = add_options(e, line + vstart, n - vstart);
	else if (KEY("initrd"))
		return add_initrds(e, line + vstart, n - vstart, err, errlen);
#undef KEY
	/* grub_users, grub_arg, grub_class, efi, devicetree, sort-key,
	 * architecture and unknown keys: not needed to boot. */
	if (r < 0)
		return util__fail(err, errlen, "out of memory");
	return 0;
}

int bls__parse_entry(const char *id, const char *text, size_t len, struct bls_entry *e,
		     char *err, size_t errlen)
{
	size_t pos = 0;

	memset(e, 0, sizeof(*e));
	if (memchr(text, '\0', len))
		return util__fail(err, errlen, "entry '%s' is not a text file (NUL byte)", id);
	e->id = strdup(id);
	if (!e->id)
		return util__fail(err, errlen, "out of memory");
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;

		if (entry_line(e, text + pos, end - pos, err, errlen) < 0)
			goto fail;
		pos = end + 1;
	}
	if (!e->kernel) {
		util__fail(err, errlen, "entry '%s' has no linux line", id);
		goto fail;
	}
	return 0;
fail:
	bls__entry_free(e);
	return -1;
}

void bls__entry_free(struct bls_entry *e)
{
	free(e->id);
	free(e->title);
	free(e->version);
	free(e->machine_id);
	free(e->kernel);
	free(e->options);
	for (size_t i = 0; i < e->n_initrd; i++)
		free(e->initrd[i]);
	free(e->initrd);
	memset(e, 0, sizeof(*e));
}

/* ---- grubenv ------------------------------------------------------ */

static int env_set(struct grubenv *env, char *key, char *val)
{
	char **nk, **nv;

	for (size_t i = 0; i < env->n; i++) {
		if (!strcmp(env->keys[i], key)) {     /* the last assignment wins */
			free(key);
			free(env->vals[i]);
			env->vals[i] = val;
			return 0;
		}
	}
	nk = realloc(env->keys, (env->n + 1) * sizeof(*nk));
	if (!nk)
		return -1;
	env->keys = nk;
	nv = realloc(env->vals, (env->n + 1) * sizeof(*nv));
	if (!nv)
		return -1;
	env->vals = nv;
	env->keys[env->n] = key;
	env->vals[env->n] = val;
	env->n++;
	return 0;
}

/* grub-editenv writes '\\' and newline as a backslash plus the byte; a
 * line ends at an unescaped newline. */
int bls__parse_grubenv(const char *text, size_t len, struct grubenv *env,
		       char *err, size_t errlen)
{
	size_t pos = sizeof(GRUBENV_SIG) - 1;

	memset(env, 0, sizeof(*env));
	if (len < pos || memcmp(text, GRUBENV_SIG, pos))
		return util__fail(err, errlen, "not a GRUB environment block (no \"# GRUB Environment Block\" line)");
	while (pos < len) {
		struct strbuf k = { 0 }, v = { 0 };
		struct strbuf *cur = &k;
		bool has_eq = false;
		char *key, *val;

		if (text[pos] == '#') {         /* comments and the '#' padding */
			const char *nl = memchr(text + pos, '\n', len - pos);

			pos = nl ? (size_t)(nl - text) + 1 : len;
			continue;
		}
		for (; pos < len && text[pos] != '\n'; pos++) {
			char c = text[pos];

			if (c == '\\' && pos + 1 < len)
				c = text[++pos];
			else if (c == '=' && cur == &k) {
				cur = &v;
				has_eq = true;
				continue;
			}
			strbuf__add(cur, &c, 1);
		}
		pos++;
		if (!has_eq || !k.len) {
			free(k.p);
			free(v.p);
			continue;
		}
		key = strbuf__take(&k);
		val = strbuf__take(&v);
		if (!key || !val || env_set(env, key, val) < 0) {
			free(key);
			free(val);
			bls__grubenv_free(env);
			return util__fail(err, errlen, "out of memory");
		}
	}
	return 0;
}

const char *bls__grubenv_get(const struct grubenv *env, const char *key)
{
	for (size_t i = 0; env && i < env->n; i++)
		if (!strcmp(env->keys[i], key))
			return env->vals[i];
	return NULL;
}

void bls__grubenv_free(struct grubenv *env)
{
	for (size_t i = 0; i < env->n; i++) {
		free(env->keys[i]);
		free(env->vals[i]);
	}
	free(env->keys);
	free(env->vals);
	memset(env, 0, sizeof(*env));
}

/* ---- expansion ---------------------------------------------------- */

static void add_var(struct strbuf *b, const struct grubenv *env, const char *name, size_t n)
{
	for (size_t i = 0; env && i < env->n; i++) {
		if (strlen(env->keys[i]) == n && !memcmp(env->keys[i], name, n)) {
			strbuf__add(b, env->vals[i], strlen(env->vals[i]));
			return;
		}
	}
}

/* Squeeze blanks outside double quotes to one space, trim both ends. */
static char *squeeze(char *s)
{
	bool quoted = false, pending = false;
	size_t o = 0;

	for (size_t i = 0; s[i]; i++) {
		if (!quoted && is_blank(s[i])) {
			pending = o > 0;
			continue;
		}
		if (pending)
			s[o++] = ' ';
		pending = false;
		if (s[i] == '"')
			quoted = !quoted;
		s[o++] = s[i];
	}
	s[o] = '\0';
	return s;
}

char *bls__expand(const char *s, const struct grubenv *env)
{
	/* Bounded: an entry can name a variable many times ("$a$a$a..."),
	 * and grubenv lines can be long. */
	struct strbuf b = { .max = BLS_EXPAND_MAX };
	char *out;

	while (*s) {
		const char *name, *end;

		if (*s != '$') {
			strbuf__add(&b, s++, 1);
			continue;
		}
		if (s[1] == '{') {
			name = s + 2;
			for (end = name; is_name_char(*end); end++)
				;
			if (*end == '}' && end > name) {
				add_var(&b, env, name, (size_t)(end - name));
				s = end + 1;
				continue;
			}
		} else if (is_name_char(s[1])) {
			name = s + 1;
			for (end = name; is_name_char(*end); end++)
				;
			add_var(&b, env, name, (size_t)(end - name));
			s = end;
			continue;
		}
		strbuf__add(&b, s++, 1);          /* a lone '$' stays */
	}
	out = strbuf__take(&b);
	return out ? squeeze(out) : NULL;
}

int bls__resolve(const struct bls_entry *e, const struct grubenv *env, struct bls_boot *out,
		 char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->kernel = bls__expand(e->kernel, env);
	out->cmdline = bls__expand(e->options ? e->options : "", env);
	if (!out->kernel || !out->cmdline) {
		bls__boot_free(out);
		return util__fail(err, errlen, "entry '%s': its linux or options line expands to "
				  "more than %u KiB (or out of memory)", e->id, BLS_EXPAND_MAX >> 10);
	}
	if (!*out->kernel) {
		bls__boot_free(out);
		return util__fail(err, errlen, "entry '%s': linux line '%s' expands to nothing",
				  e->id, e->kernel);
	}
	for (size_t i = 0; i < e->n_initrd; i++) {
		struct bls_entry tmp = { .id = e->id, .initrd = out->initrd, .n_initrd = out->n_initrd };
		char *v = bls__expand(e->initrd[i], env);
		int r;

		if (!v) {
			bls__boot_free(out);
			return util__fail(err, errlen, "entry '%s': an initrd line expands to more "
					  "than %u KiB (or out of memory)", e->id, BLS_EXPAND_MAX >> 10);
		}
		/* $tuned_initrd may expand to several paths, or none. */
		r = add_initrds(&tmp, v, strlen(v), err, errlen);
		free(v);
		out->initrd = tmp.initrd;
		out->n_initrd = tmp.n_initrd;
		if (r < 0) {
			bls__boot_free(out);
			return -1;
		}
	}
	return 0;
}

void bls__boot_free(struct bls_boot *b)
{
	free(b->kernel);
	free(b->cmdline);
	for (size_t i = 0; i < b->n_initrd; i++)
		free(b->initrd[i]);
	free(b->initrd);
	memset(b, 0, sizeof(*b));
}

/* ---- ordering ----------------------------------------------------- */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* rpm's rpmvercmp: alternate numeric and alphabetic segments, anything
 * else separates; '~' sorts before everything (even the end), '^' after
 * the end but before anything else; numbers beat letters. */
int bls__vercmp(const char *a, const char *b)
{
	if (!a)
		a = "";
	if (!b)
		b = "";
	if (!strcmp(a, b))
		return 0;
	while (*a || *b) {
		const char *ea, *eb;
		size_t la, lb;
		bool num;
		int rc;

		while (*a && !is_digit(*a) && !is_alpha(*a) && *a != '~' && *a != '^')
			a++;
		while (*b && !is_digit(*b) && !is_alpha(*b) && *b != '~' && *b != '^')
			b++;
		if (*a == '~' || *b == '~') {
			if (*a != '~')
				return 1;
			if (*b != '~')
				return -1;
			a++, b++;
			continue;
		}
		if (*a == '^' || *b == '^') {
			if (!*a)
				return -1;
			if (!*b)
				return 1;
			if (*a != '^')
				return 1;
			if (*b != '^')
				return -1;
			a++, b++;
			continue;
		}
		if (!*a || !*b)
			break;
		num = is_digit(*a);
		ea = a;
		eb = b;
		if (num) {
			while (is_digit(*ea))
				ea++;
			while (is_digit(*eb))
				eb++;
		} else {
			while (is_alpha(*ea))
				ea++;
			while (is_alpha(*eb))
				eb++;
		}
		if (eb == b)            /* different kinds of segment */
			return num ? 1 : -1;
		if (num) {
			while (a < ea && *a == '0')
				a++;
			while (b < eb && *b == '0')
				b++;
		}
		la = (size_t)(ea - a);
		lb = (size_t)(eb - b);
		if (num && la != lb)
			return la > lb ? 1 : -1;
		rc = memcmp(a, b, MIN(la, lb));
		if (rc)
			return rc < 0 ? -1 : 1;
		if (la != lb)
			return la > lb ? 1 : -1;
		a = ea;
		b = eb;
	}
	if (!*a && !*b)
		return 0;
	return *a ? 1 : -1;
}

/* Newest first: entries with a version before those without, version
 * descending, then file name descending (blscfg's bls_cmp). */
static int entry_cmp(const void *pa, const void *pb)
{
	const struct bls_entry *a = pa, *b = pb;
	int r;

	if (a->version && !b->version)
		return -1;
	if (!a->version && b->version)
		return 1;
	r = bls__vercmp(a->version, b->version);
	if (!r)
		r = bls__vercmp(a->id, b->id);
	if (!r)
		r = strcmp(a->id, b->id);
	return -r;
}

void bls__sort(struct bls_entry *entries, size_t n)
{
	if (n > 1)
		qsort(entries, n, sizeof(*entries), entry_cmp);
}

size_t bls__choose_default(const struct bls_entry *entries, size_t n,
			   const struct grubenv *env, const char **why)
{
	const char *saved = bls__grubenv_get(env, "saved_entry");
	const char *reason = "the newest entry";
	size_t idx = 0;

	if (saved && *saved) {
		reason = "saved_entry names no entry: the newest one";
		for (size_t i = 0; i < n; i++) {
			if (!strcmp(entries[i].id, saved)) {
				idx = i;
				reason = "saved_entry";
				goto out;
			}
		}
		for (size_t i = 0; i < n; i++) {
			if (entries[i].title && !strcmp(entries[i].title, saved)) {
				idx = i;
				reason = "saved_entry (by title)";
				goto out;
			}
		}
		if (strspn(saved, "0123456789") == strlen(saved) && strlen(saved) < 6 &&
		    (size_t)atoi(saved) < n) {
			idx = (size_t)atoi(saved);
			reason = "saved_entry (by number)";
		}
	}
out:
	if (why)
		*why = reason;
	return idx;
}
