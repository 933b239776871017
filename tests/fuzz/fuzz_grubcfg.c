/* fuzz_grubcfg.c — libFuzzer target for vmm/boot/grubcfg.c: the input is a
 * grub.cfg (as update-grub writes it on a Debian or Ubuntu disk the
 * guest owns), optionally followed by SEP and the grubenv beside it,
 * which load_env and "default=saved" read (vmm/boot/bls.c parses it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_util.h"
#include "vmm/boot/bls.h"
#include "vmm/boot/grubcfg.h"

#define SEP "\n#--grubenv--\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *cfg = NULL, *envp = NULL;
	size_t cfg_len = 0, env_len = 0;
	struct grubenv env = { 0 };
	struct grubcfg_boot b;
	bool have_env = false;
	char err[256];
	char *text;

	fuzz__split(&data, &size, SEP, &cfg, &cfg_len);
	if (fuzz__split(&data, &size, SEP, &envp, &env_len))
		have_env = bls__parse_grubenv((const char *)envp, env_len, &env, err,
					      sizeof(err)) == 0;
	/* grub.cfg is read into a NUL-terminated buffer by the caller
	 * (vmm/boot/diskboot.c): keep that, and let ASan see the end */
	text = fuzz__strndup(cfg, cfg_len);
	if (!text)
		return 0;
	if (grubcfg__parse(text, cfg_len, have_env ? &env : NULL, &b, err, sizeof(err)) == 0) {
		/* what the caller does with the result */
		FUZZ_CHECK(b.kernel && b.args && b.title && b.how && b.ignored, "NULL field");
		FUZZ_CHECK(b.n_initrd <= GRUBCFG_MAX_INITRDS, "%zu initrds", b.n_initrd);
		for (size_t i = 0; i < b.n_initrd; i++)
			FUZZ_CHECK(b.initrd[i] != NULL, "initrd %zu is NULL", i);
		grubcfg__free(&b);
	} else {
		FUZZ_CHECK(err[0], "failure without a reason");
	}
	free(text);
	bls__grubenv_free(&env);
	return 0;
}
