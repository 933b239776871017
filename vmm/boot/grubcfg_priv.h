/* grubcfg_priv.h — what the two halves of the grub.cfg interpreter
 * share: the token array, the variables, the menu tree and what was
 * ignored (grubcfg_words.c: lexing, variables, word expansion;
 * grubcfg.c: conditions, commands, blocks, the default entry). */
#ifndef VMM_GRUBCFG_PRIV_H
#define VMM_GRUBCFG_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/boot/grubcfg.h"

#define MAX_TOKENS   (256u << 10)
#define MAX_DEPTH    32           /* nested if/submenu/menuentry blocks */
#define MAX_VARS     512
#define MAX_VALUE    (64u << 10)  /* one expanded word or variable */
#define MAX_ARGS     512          /* words in one command */
#define MAX_ITEMS    1024         /* menu entries and submenus in all */
#define MAX_IGNORED  24

enum tok_kind { TK_WORD, TK_SEP, TK_LBRACE, TK_RBRACE };

struct tok {
	enum tok_kind kind;
	size_t off, len;
};

struct menu;

struct item {
	char *title, *id;
	size_t body;                 /* first token of the body */
	struct menu *sub;            /* submenu: its entries; NULL for a menuentry */
};

struct menu {
	struct item *v;
	size_t n;
};

struct ignored {
	char name[24];
	unsigned count;
};

struct ctx {
	const char *text;
	size_t len;
	struct tok *t;
	size_t nt, pos;
	char *names[MAX_VARS], *values[MAX_VARS];
	size_t nvars;
	const struct grubenv *env;
	unsigned depth;
	size_t items;
	bool in_entry;               /* running the chosen entry: take linux/initrd */
	bool scan_only;              /* a submenu's body: entries only, no commands */
	struct grubcfg_boot *out;
	struct ignored ign[MAX_IGNORED];
	size_t nign;
	bool more_ignored;
	char *err;
	size_t errlen;
	bool failed;
};

struct args {
	char *v[MAX_ARGS];
	size_t n;
};

__attribute__((format(printf, 2, 3)))
void grubcfg__fail(struct ctx *c, const char *fmt, ...);
const char *grubcfg__var_get(const struct ctx *c, const char *name, size_t n);
void grubcfg__var_set(struct ctx *c, const char *name, const char *value);
void grubcfg__var_unset(struct ctx *c, const char *name);
/* Count a command (or construct) that was skipped, by name. */
void grubcfg__ignore(struct ctx *c, const char *what);
bool grubcfg__is_name_char(char ch);
/* Split c->text into c->t. */
void grubcfg__lex(struct ctx *c);
/* The word at token k when it is a plain literal (a keyword can only be
 * that), else "". */
const char *grubcfg__literal(const struct ctx *c, size_t k, char *buf, size_t len);
/* Expand the words from c->pos up to a separator or a brace (only
 * stepping over them when !expand). */
void grubcfg__read_args(struct ctx *c, struct args *a, bool expand);
void grubcfg__args_free(struct args *a);

#endif
