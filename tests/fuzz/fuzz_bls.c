/* fuzz_bls.c — libFuzzer target for vmm/boot/bls.c: Boot Loader
 * Specification entries and the grubenv block, as a guest-owned /boot
 * holds them. The input is parts separated by SEP: the grubenv block
 * first, then up to MAX_ENTRIES entry files, each as its file name (the
 * entry id) on the first line and the file's text after it. The target
 * parses them all, sorts them like blscfg, picks the default and expands
 * every entry the way direct boot does (vmm/boot/diskboot.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_util.h"
#include "vmm/boot/bls.h"

#define SEP         "\n#--next--\n"
#define MAX_ENTRIES 16

static int sign(int v) { return (v > 0) - (v < 0); }

/* rpmvercmp's contract that sorting relies on: equal to itself,
 * antisymmetric. */
static void check_vercmp(const char *a, const char *b)
{
	if (!a || !b)
		return;
	FUZZ_CHECK(bls__vercmp(a, a) == 0, "vercmp(\"%s\", itself) != 0", a);
	FUZZ_CHECK(sign(bls__vercmp(a, b)) == -sign(bls__vercmp(b, a)),
		   "vercmp(\"%s\", \"%s\") is not antisymmetric", a, b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bls_entry e[MAX_ENTRIES];
	struct grubenv env = { 0 };
	const uint8_t *part;
	size_t len, n = 0;
	bool have_env = false;
	const char *why;
	char err[256];

	if (fuzz__split(&data, &size, SEP, &part, &len))
		have_env = bls__parse_grubenv((const char *)part, len, &env, err, sizeof(err)) == 0;
	while (n < MAX_ENTRIES && fuzz__split(&data, &size, SEP, &part, &len)) {
		const uint8_t *nl = memchr(part, '\n', len);
		size_t idlen = nl ? (size_t)(nl - part) : len;
		char *id = fuzz__strndup(part, idlen);

		if (!id)
			break;
		part += nl ? idlen + 1 : idlen;
		len -= nl ? idlen + 1 : idlen;
		/* the caller passes the file's bytes with their length */
		if (bls__parse_entry(id, (const char *)part, len, &e[n], err, sizeof(err)) == 0) {
			FUZZ_CHECK(e[n].kernel && e[n].id, "entry without kernel or id");
			n++;
		}
		free(id);
	}
	for (size_t i = 0; i + 1 < n; i++) {
		check_vercmp(e[i].version, e[i + 1].version);
		check_vercmp(e[i].id, e[i + 1].id);
	}
	bls__sort(e, n);
	if (n) {
		size_t def = bls__choose_default(e, n, have_env ? &env : NULL, &why);

		FUZZ_CHECK(def < n, "default %zu of %zu entries", def, n);
	}
	for (size_t i = 0; i < n; i++) {
		struct bls_boot b;
		char *x;

		if (bls__resolve(&e[i], have_env ? &env : NULL, &b, err, sizeof(err)) == 0) {
			FUZZ_CHECK(b.kernel && b.cmdline, "resolved entry without kernel or cmdline");
			FUZZ_CHECK(strlen(b.cmdline) <= BLS_EXPAND_MAX, "cmdline too long");
			bls__boot_free(&b);
		}
		if (e[i].options && (x = bls__expand(e[i].options, NULL)))
			free(x);
		bls__entry_free(&e[i]);
	}
	bls__grubenv_free(&env);
	return 0;
}
