/* privs.c — resolve --user, take a user's effective ids for a while, and
 * drop root for good (see privs.h). */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/privs.h"
#include "vmm/util.h"

#define fail util__fail

/* /etc/passwd read by hand: a static vmm has no NSS modules to load, and
 * a user vmm should switch to is a local one. */
int privs__lookup(const char *name, uid_t *uid, gid_t *gid)
{
	FILE *f = fopen("/etc/passwd", "re");
	char line[1024];
	int r = -1;

	if (!f)
		return -1;
	while (r < 0 && fgets(line, sizeof(line), f)) {
		char *save, *n = strtok_r(line, ":", &save), *pw, *u, *g, *end;
		unsigned long vu, vg;

		if (!n || strcmp(n, name))
			continue;
		pw = strtok_r(NULL, ":", &save);
		u = strtok_r(NULL, ":", &save);
		g = strtok_r(NULL, ":", &save);
		if (!pw || !u || !g)
			continue;
		errno = 0;
		vu = strtoul(u, &end, 10);
		if (errno || *end || !*u)
			continue;
		vg = strtoul(g, &end, 10);
		if (errno || *end || !*g || vu > 0x7fffffffUL || vg > 0x7fffffffUL)
			continue;
		*uid = (uid_t)vu;
		*gid = (gid_t)vg;
		r = 0;
	}
	fclose(f);
	return r;
}

static int parse_id(const char *s, unsigned long *v)
{
	char *end;

	if (!*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno || *end || *v > 0x7fffffffUL ? -1 : 0;
}

int privs__resolve(const char *spec, struct privs *p, char *err, size_t errlen)
{
	unsigned long u, g;
	char buf[64], *colon;

	memset(p, 0, sizeof(*p));
	if (!spec || !*spec)
		return 0;
	if (strlen(spec) >= sizeof(p->name))
		return fail(err, errlen, "--user '%.40s...': too long", spec);
	snprintf(p->name, sizeof(p->name), "%s", spec);
	snprintf(buf, sizeof(buf), "%s", spec);
	colon = strchr(buf, ':');
	if (colon)
		*colon = '\0';
	if (parse_id(buf, &u) == 0) {
		g = u;   /* UID alone: the group of the same number */
		if (colon && parse_id(colon + 1, &g) < 0)
			return fail(err, errlen, "--user '%s': give NAME or UID[:GID]", spec);
		p->uid = (uid_t)u;
		p->gid = (gid_t)g;
	} else {
		uid_t lu;
		gid_t lg;

		if (colon)
			return fail(err, errlen, "--user '%s': give NAME or UID[:GID]", spec);
		if (privs__lookup(buf, &lu, &lg) < 0)
			return fail(err, errlen, "--user '%s': no such user in /etc/passwd", spec);
		p->uid = lu;
		p->gid = lg;
	}
	if (p->uid == 0)
		return fail(err, errlen, "--user '%s': that is root; name the user vmm should become", spec);
	if (geteuid() != 0) {
		if (p->uid != geteuid() || p->gid != getegid())
			return fail(err, errlen, "--user '%s': only root can switch users (vmm runs as "
				    "uid %u)", spec, (unsigned)geteuid());
		return 0;   /* already that user */
	}
	p->drop = true;
	return 0;
}

int privs__as_user(const struct privs *p, char *err, size_t errlen)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;

	if (!p->drop)
		return 0;
	/* root's own runtime directory is not the user's. */
	if (xdg && (stat(xdg, &st) < 0 || st.st_uid != p->uid))
		unsetenv("XDG_RUNTIME_DIR");
	if (setresgid((gid_t)-1, p->gid, (gid_t)-1) < 0 ||
	    setresuid((uid_t)-1, p->uid, (uid_t)-1) < 0)
		return fail(err, errlen, "--user %s: cannot take its ids: %s", p->name,
			    strerror(errno));
	return 0;
}

int privs__as_root(const struct privs *p, char *err, size_t errlen)
{
	if (!p->drop)
		return 0;
	if (setresuid((uid_t)-1, 0, (uid_t)-1) < 0 || setresgid((gid_t)-1, 0, (gid_t)-1) < 0)
		return fail(err, errlen, "--user %s: cannot return to root: %s", p->name,
			    strerror(errno));
	return 0;
}

int privs__switch(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	/* Groups first: only root may change them, and setresuid ends that. */
	if (setgroups(1, &gid) < 0)
		return fail(err, errlen, "setgroups(%u): %s", (unsigned)gid, strerror(errno));
	if (setresgid(gid, gid, gid) < 0)
		return fail(err, errlen, "setresgid(%u): %s", (unsigned)gid, strerror(errno));
	if (setresuid(uid, uid, uid) < 0)
		return fail(err, errlen, "setresuid(%u): %s", (unsigned)uid, strerror(errno));
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 ||
	    ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid)
		return fail(err, errlen, "the user and group ids did not all change");
	/* Never trust the drop without trying to undo it. */
	if (uid != 0 && (setresuid(0, 0, 0) == 0 || setegid(0) == 0))
		return fail(err, errlen, "root could be taken back after switching to uid %u",
			    (unsigned)uid);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return fail(err, errlen, "PR_SET_DUMPABLE: %s", strerror(errno));
	return 0;
}

int privs__drop(const struct privs *p, char *err, size_t errlen)
{
	char why[200];

	if (!p->drop)
		return 0;
	if (privs__switch(p->uid, p->gid, why, sizeof(why)) < 0)
		return fail(err, errlen, "--user %s: %s", p->name, why);
	return 0;
}

bool privs__parser_ids(const struct privs *p, uid_t *uid, gid_t *gid)
{
	if (p && p->drop) {
		*uid = p->uid;
		*gid = p->gid;
		return true;
	}
	if (geteuid() != 0)
		return false;
	if (privs__lookup("nobody", uid, gid) < 0 || *uid == 0) {
		*uid = PRIVS_NOBODY_UID;
		*gid = PRIVS_NOBODY_UID;
	}
	return true;
}
