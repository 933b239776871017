/* grubcfg.h — the default entry of a grub.cfg written by grub-mkconfig
 * (Debian's and Ubuntu's update-grub), for images that have no Boot
 * Loader Specification entries.
 *
 * The text is run by a small interpreter of GRUB's script language, the
 * part such files use: `set NAME=VALUE` and `NAME=VALUE`, `export`,
 * `unset`, `load_env` (from the grubenv next to grub.cfg), `if`/`elif`/
 * `else`/`fi` with `[ ... ]` / `test` conditions (-n, -z, a lone string,
 * = == !=, and -s/-e/-f on $prefix/grubenv), `menuentry` and `submenu`
 * blocks (title, --id), quoting ('', "", \), $name and ${name}. GRUB's
 * own variables are set as GRUB 2.06+ on a PC sets them (grub_platform=pc,
 * feature_*=y). Everything else — insmod, search, loadfont, terminal_*,
 * functions, loops, conditions it cannot decide (taken as false) — is
 * skipped and counted, so the caller can say what was ignored.
 *
 * `default` is resolved like GRUB: a number, an id or a title per menu
 * level ("1>2", "gnulinux-advanced-UUID>gnulinux-6.1.0-…"), "saved"
 * meaning $saved_entry; anything that matches nothing falls back to
 * entry 0. The chosen entry's body then runs, and its `linux` (linux16,
 * linuxefi) and `initrd` lines are what boots.
 *
 * The input comes from a guest-writable disk: sizes, nesting, variables
 * and every expansion are bounded; a file beyond a bound is refused.
 */
#ifndef VMM_GRUBCFG_H
#define VMM_GRUBCFG_H

#include <stddef.h>

struct grubenv;

#define GRUBCFG_MAX_BYTES   (1u << 20)   /* grub.cfg size accepted */
#define GRUBCFG_MAX_INITRDS 32

struct grubcfg_boot {
	char *title;       /* the entry's title; "SUBMENU>TITLE" inside a submenu */
	char *kernel;      /* the linux path as written (expanded) */
	char *args;        /* the linux line's arguments, joined by spaces */
	char **initrd;     /* every initrd path, in order */
	size_t n_initrd;
	char *how;         /* why this entry: "default=0", "saved_entry=...", ... */
	char *ignored;     /* "insmod x12, search x3, ..." or "" */
};

/* Interpret 'len' bytes of grub.cfg. 'env' is the grubenv beside it
 * (NULL when there is none) for load_env. 0, or -1 with one line in err
 * (no menuentry at all, the default entry has no linux line, a bound
 * passed, out of memory). */
int grubcfg__parse(const char *text, size_t len, const struct grubenv *env,
		   struct grubcfg_boot *out, char *err, size_t errlen);
void grubcfg__free(struct grubcfg_boot *b);

#endif
