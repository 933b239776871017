/* seccomp_priv.h — between seccomp.c (loading, the violation handler) and
 * seccomp_rules.c (the allow lists). */
#ifndef VMM_SECCOMP_PRIV_H
#define VMM_SECCOMP_PRIV_H

#include <seccomp.h>
#include <sys/types.h>

#include "vmm/seccomp.h"

/* What the rules need to know about this process. */
struct seccomp_rules_env {
	pid_t pid;          /* tgkill: signals to this process only */
	int tty_fd;         /* the console's terminal, or -1 */
	int result_fd;      /* the parser's socket to its parent, or -1 */
};

/* Add kind's allow rules to ctx (default action: trap). 0 or -errno. */
int seccomp_rules__add(scmp_filter_ctx ctx, enum seccomp_kind kind,
		       const struct seccomp_rules_env *env);

#endif
