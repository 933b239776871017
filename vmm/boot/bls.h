/* bls.h — Boot Loader Specification entries (loader/entries/NAME.conf) and
 * GRUB's environment block (grubenv), as grub2's blscfg reads them: pure
 * text parsing, no I/O.
 *
 * An entry file is "key value" lines ('#' comments, blank lines, spaces
 * or tabs between key and value). Single-valued keys keep their first
 * occurrence; "options" lines are joined with spaces; every "initrd"
 * line (each may name several files) is kept in order; unknown keys and
 * grub_users/grub_arg/grub_class are ignored. An entry without a
 * "linux" line is invalid.
 *
 * $name and ${name} in linux/initrd/options are replaced from the
 * grubenv variables ($kernelopts, $tuned_params, ...); unknown names
 * expand to nothing, as in grub. The default entry is grubenv's
 * saved_entry when it names an existing entry, else the newest one:
 * entries sort like blscfg — by version (rpmvercmp) newest first, then
 * by file name.
 */
#ifndef VMM_BLS_H
#define VMM_BLS_H

#include <stddef.h>

#define BLS_MAX_INITRDS 32
/* Longest result of one $variable expansion; Linux takes at most a few
 * KiB of command line anyway. */
#define BLS_EXPAND_MAX  (64u << 10)

struct bls_entry {
	char *id;          /* the file name without ".conf" */
	char *title;       /* NULL when absent (likewise below) */
	char *version;
	char *machine_id;
	char *kernel;      /* the "linux" line as written, variables not yet expanded */
	char *options;     /* every options line, joined with spaces */
	char **initrd;     /* every initrd path, in order, unexpanded */
	size_t n_initrd;
};

struct grubenv {
	char **keys;
	char **vals;
	size_t n;
};

/* What to boot once variables are expanded. */
struct bls_boot {
	char *kernel;      /* the "linux" path */
	char **initrd;
	size_t n_initrd;
	char *cmdline;     /* never NULL ("" when the entry has no options) */
};

/* Parse one entry file of 'len' bytes. 0, or -1 with one line in err
 * (no linux line, NUL bytes, too many initrds, out of memory). */
int bls__parse_entry(const char *id, const char *text, size_t len, struct bls_entry *e,
		     char *err, size_t errlen);
void bls__entry_free(struct bls_entry *e);

/* Parse a grubenv block ("# GRUB Environment Block" then key=value lines,
 * '#' padding). 0, or -1 with err when the signature is missing. */
int bls__parse_grubenv(const char *text, size_t len, struct grubenv *env,
		       char *err, size_t errlen);
const char *bls__grubenv_get(const struct grubenv *env, const char *key);
void bls__grubenv_free(struct grubenv *env);

/* 's' with $name / ${name} replaced from env (may be NULL: everything
 * expands to nothing), runs of blanks outside double quotes squeezed to
 * one space, trimmed. malloc()ed, NULL when out of memory or when the
 * result would be longer than BLS_EXPAND_MAX. */
char *bls__expand(const char *s, const struct grubenv *env);

/* Expand an entry's kernel, initrd and options. 0 or -1 (out of memory,
 * or the kernel path expands to nothing) with err. */
int bls__resolve(const struct bls_entry *e, const struct grubenv *env, struct bls_boot *out,
		 char *err, size_t errlen);
void bls__boot_free(struct bls_boot *b);

/* rpmvercmp(): 1 when a is newer, -1 when b is newer, 0 when equal. */
int bls__vercmp(const char *a, const char *b);

/* Sort entries the way grub's blscfg lists them: newest first. */
void bls__sort(struct bls_entry *entries, size_t n);

/* Index of the default among 'n' (> 0) sorted entries: saved_entry's
 * match (by id, then title, then as a number), else 0. *why (may be
 * NULL) gets a short static reason for the user. */
size_t bls__choose_default(const struct bls_entry *entries, size_t n,
			   const struct grubenv *env, const char **why);

#endif
