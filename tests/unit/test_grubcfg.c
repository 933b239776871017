/* test_grubcfg.c — the default entry of grub-mkconfig output (vmm/boot/grubcfg.c):
 * Debian 12 genericcloud's and Ubuntu 24.04 cloudimg's grub.cfg as
 * update-grub writes them (tests/unit/data/), defaults by number, id,
 * title and submenu path, grubenv's next_entry and saved_entry, the
 * script constructs those files use, and hostile input: every bound,
 * and random mutations of a real file, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/boot/bls.h"
#include "vmm/boot/grubcfg.h"
#include "vmm/util.h"

#define DEBIAN "tests/unit/data/grub-debian12-genericcloud.cfg"
#define UBUNTU "tests/unit/data/grub-ubuntu2404-cloudimg.cfg"
#define DEB_UUID "6f8bb4e0-9c0f-4d0b-9a2b-3c1f5a7d2e11"

static char err[256];

static char *slurp(const char *path, size_t *len)
{
	uint8_t *buf = NULL;

	assert_int_equal(util__read_file(path, &buf, len, 1 << 20), 0);
	return (char *)buf;
}

static int parse_env(const char *text, size_t len, const char *env_text, struct grubcfg_boot *b)
{
	struct grubenv env = { 0 };
	int r;

	if (env_text)
		assert_int_equal(bls__parse_grubenv(env_text, strlen(env_text), &env, err, sizeof(err)), 0);
	err[0] = '\0';
	r = grubcfg__parse(text, len, env_text ? &env : NULL, b, err, sizeof(err));
	bls__grubenv_free(&env);
	return r;
}

static int parse(const char *text, struct grubcfg_boot *b)
{
	return parse_env(text, strlen(text), NULL, b);
}

static void test_debian12(void **state)
{
	struct grubcfg_boot b;
	size_t len;
	char *t = slurp(DEBIAN, &len);

	assert_int_equal(parse_env(t, len, NULL, &b), 0);
	assert_string_equal(b.title, "Debian GNU/Linux");
	assert_string_equal(b.kernel, "/boot/vmlinuz-6.1.0-28-cloud-amd64");
	assert_string_equal(b.args, "root=PARTUUID=2b8f6c1e-5a3d-4f8e-9b1c-7d2e4a6f8b10 ro "
			    "console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200 consoleblank=0");
	assert_int_equal(b.n_initrd, 1);
	assert_string_equal(b.initrd[0], "/boot/initrd.img-6.1.0-28-cloud-amd64");
	assert_string_equal(b.how, "default=0");
	/* what was skipped is named, with counts */
	assert_non_null(strstr(b.ignored, "insmod x"));
	assert_non_null(strstr(b.ignored, "search x"));
	assert_non_null(strstr(b.ignored, "loadfont"));
	assert_non_null(strstr(b.ignored, "terminal_output"));
	assert_non_null(strstr(b.ignored, "load_video"));
	assert_null(strstr(b.ignored, "linux"));
	assert_null(strstr(b.ignored, "echo"));
	grubcfg__free(&b);
	free(t);
}

/* grub-reboot writes next_entry; the script turns it into default. */
static void test_debian12_next_entry_submenu(void **state)
{
	struct grubcfg_boot b;
	size_t len;
	char *t = slurp(DEBIAN, &len);
	const char *env =
		"# GRUB Environment Block\n"
		"next_entry=gnulinux-advanced-" DEB_UUID ">gnulinux-6.1.0-27-cloud-amd64-advanced-" DEB_UUID "\n"
		"####################";

	assert_int_equal(parse_env(t, len, env, &b), 0);
	assert_string_equal(b.title, "Advanced options for Debian GNU/Linux>"
			    "Debian GNU/Linux, with Linux 6.1.0-27-cloud-amd64");
	assert_string_equal(b.kernel, "/boot/vmlinuz-6.1.0-27-cloud-amd64");
	assert_string_equal(b.initrd[0], "/boot/initrd.img-6.1.0-27-cloud-amd64");
	assert_non_null(strstr(b.how, "default=gnulinux-advanced-"));
	grubcfg__free(&b);
	free(t);
}

/* Without a grubenv, `[ -s $prefix/grubenv ]` is false and load_env
 * never runs: a stray next_entry cannot come from anywhere. */
static void test_numeric_paths(void **state)
{
	static const struct { const char *def, *kernel, *args_has, *how_has; } cases[] = {
		{ "1>1", "/boot/vmlinuz-6.1.0-28-cloud-amd64", " single ", "default=1>1" },
		{ "1>2", "/boot/vmlinuz-6.1.0-27-cloud-amd64", "ro console", "default=1>2" },
		{ "1", "/boot/vmlinuz-6.1.0-28-cloud-amd64", "ro console", "is a submenu" },
		{ "7", "/boot/vmlinuz-6.1.0-28-cloud-amd64", "ro console", "matches no entry" },
		{ "Debian GNU/Linux", "/boot/vmlinuz-6.1.0-28-cloud-amd64", "ro console", "default=Debian" },
		{ "1>9", "/boot/vmlinuz-6.1.0-28-cloud-amd64", "ro console", "matches no entry" },
		{ "0>0", "/boot/vmlinuz-6.1.0-28-cloud-amd64", "ro console", "matches no entry" },
	};
	size_t len;
	char *t = slurp(DEBIAN, &len);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct grubcfg_boot b;
		char *text;

		/* the generated `set default="0"` replaced by the case's */
		assert_true(asprintf(&text, "%.*s\nset default=\"%s\"\n", (int)len, t, cases[i].def) > 0);
		/* a set after the menu still counts: GRUB reads default at the end */
		assert_int_equal(parse(text, &b), 0);
		assert_string_equal(b.kernel, cases[i].kernel);
		assert_non_null(strstr(b.args, cases[i].args_has));
		assert_non_null(strstr(b.how, cases[i].how_has));
		grubcfg__free(&b);
		free(text);
	}
	free(t);
}

static void test_ubuntu2404(void **state)
{
	struct grubcfg_boot b;
	size_t len;
	char *t = slurp(UBUNTU, &len);
	const char *failed_once = "# GRUB Environment Block\ninitrdfail=1\n";

	assert_int_equal(parse_env(t, len, NULL, &b), 0);
	assert_string_equal(b.title, "Ubuntu");
	assert_string_equal(b.kernel, "/vmlinuz-6.8.0-51-generic");
	assert_string_equal(b.args, "root=LABEL=cloudimg-rootfs ro console=tty1 console=ttyS0 panic=-1");
	assert_int_equal(b.n_initrd, 1);
	assert_string_equal(b.initrd[0], "/initrd.img-6.8.0-51-generic");
	assert_non_null(strstr(b.ignored, "recordfail"));
	grubcfg__free(&b);

	/* the entry's own if: its other branch after a failed initrd */
	assert_int_equal(parse_env(t, len, failed_once, &b), 0);
	assert_string_equal(b.args, "root=LABEL=cloudimg-rootfs ro console=tty1 console=ttyS0");
	grubcfg__free(&b);
	free(t);
}

static void test_saved_entry(void **state)
{
	const char *cfg =
		"load_env\n"
		"set default=saved\n"
		"menuentry 'one' { linux /one }\n"
		"menuentry 'two' --id two-id { linux /two a=1; initrd /i1 /i2\n initrd /i3 }\n";
	struct grubcfg_boot b;

	assert_int_equal(parse_env(cfg, strlen(cfg), "# GRUB Environment Block\nsaved_entry=two-id\n", &b), 0);
	assert_string_equal(b.kernel, "/two");
	assert_string_equal(b.args, "a=1");
	assert_int_equal(b.n_initrd, 3);
	assert_string_equal(b.initrd[2], "/i3");
	assert_string_equal(b.how, "saved_entry=two-id");
	grubcfg__free(&b);
	/* by title too */
	assert_int_equal(parse_env(cfg, strlen(cfg), "# GRUB Environment Block\nsaved_entry=two\n", &b), 0);
	assert_string_equal(b.kernel, "/two");
	grubcfg__free(&b);
}

static void test_quoting(void **state)
{
	const char *cfg =
		"v=\"x y\"\n"
		"set w='$v'\n"
		"menuentry \"quoted \\\"title\\\"\" {\n"
		"  linux \"/boot/vm linuz\" 'a b' c\\ d \"v=$v\" ${v}z $w \\\n"
		"     e=1 \"\" f=\"${undefined}\"\n"
		"  initrd $undefined /i\n"
		"}\n";
	struct grubcfg_boot b;

	assert_int_equal(parse(cfg, &b), 0);
	assert_string_equal(b.title, "quoted \"title\"");
	assert_string_equal(b.kernel, "/boot/vm linuz");
	/* an unquoted empty expansion is no argument; "" is one */
	assert_string_equal(b.args, "a b c d v=x y x yz $v e=1  f=");
	assert_int_equal(b.n_initrd, 1);
	assert_string_equal(b.initrd[0], "/i");
	grubcfg__free(&b);
}

static void test_conditions(void **state)
{
	const char *cfg =
		"if [ x$grub_platform = xpc ]; then a=pc; else a=other; fi\n"
		"if [ -n \"$nothing\" ]; then b=1; elif [ -z \"$nothing\" ] ; then b=2; else b=3; fi\n"
		"if ! [ a = b ]; then c=neg; fi\n"
		"if test $a != pc; then d=no; else d=yes; fi\n"
		"if [ -f /etc/whatever ]; then e=1; else e=0; fi\n"
		"if true; then f=t; fi\n"
		"for x in 1 2; do linux /bad; done\n"
		"while false; do set default=9; done\n"
		"menuentry m { linux /k $a $b $c $d $e $f }\n";
	struct grubcfg_boot b;

	assert_int_equal(parse(cfg, &b), 0);
	assert_string_equal(b.args, "pc 2 neg yes 0 t");
	assert_non_null(strstr(b.ignored, "if-test"));
	assert_non_null(strstr(b.ignored, "for"));
	grubcfg__free(&b);
}

static void expect_fail_len(const char *cfg, size_t len, const char *msg)
{
	struct grubcfg_boot b;

	assert_int_equal(parse_env(cfg, len, NULL, &b), -1);
	if (!strstr(err, msg))
		fail_msg("for %.40s...: '%s' does not say '%s'", cfg, err, msg);
	assert_null(b.kernel);
}

static void expect_fail(const char *cfg, const char *msg)
{
	expect_fail_len(cfg, strlen(cfg), msg);
}

static void test_errors(void **state)
{
	char *deep, *big, *bomb;
	size_t n;

	expect_fail("set default=0\n", "no menuentry");
	expect_fail("menuentry 'x' { echo hi }\n", "has no linux line");
	expect_fail("menuentry 'x { linux /k }\n", "never closes");
	expect_fail("menuentry x { linux /k \n", "never closed");
	expect_fail("menuentry x\n{ linux /k }\n", "without '{'");
	expect_fail("fi\nmenuentry x { linux /k }\n", "out of place");
	expect_fail("}\nmenuentry x { linux /k }\n", "out of place");
	expect_fail("if [ a ]; then x=1\nmenuentry x { linux /k }\n", "without 'fi'");
	expect_fail("menuentry x { linux }\n", "without a kernel");
	expect_fail_len("menuentry x { linux /k }\0", 25, "NUL");
	expect_fail("for i in 1; do\nmenuentry x { linux /k }\n", "without 'done'");

	/* 40 nested ifs */
	deep = calloc(1, 4096);
	for (int i = 0; i < 40; i++)
		strcat(deep, "if true; then\n");
	strcat(deep, "menuentry x { linux /k }\n");
	for (int i = 0; i < 40; i++)
		strcat(deep, "fi\n");
	expect_fail(deep, "nested more than");
	free(deep);

	/* over the size cap */
	n = GRUBCFG_MAX_BYTES + 1;
	big = malloc(n);
	memset(big, '#', n);
	expect_fail_len(big, n, "larger than");
	free(big);

	/* an expansion bomb: each line doubles $a; stops at the bound */
	bomb = calloc(1, 8192);
	strcpy(bomb, "a=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
	for (int i = 0; i < 30; i++)
		strcat(bomb, "a=$a$a\n");
	strcat(bomb, "menuentry x { linux /k $a }\n");
	expect_fail(bomb, "more than 64 KiB");
	free(bomb);
}

/* Random byte changes, insertions and cuts of a real grub.cfg: the
 * parser returns 0 or -1 with a message; ASan/UBSan watch the rest. */
static void test_mutations(void **state)
{
	size_t len;
	char *t = slurp(DEBIAN, &len);
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	int ok = 0, bad = 0;

	for (int iter = 0; iter < 3000; iter++) {
		char *m = malloc(len + 64);
		size_t mlen = len;
		struct grubcfg_boot b;

		memcpy(m, t, len);
		for (int k = 0; k < 1 + iter % 8; k++) {
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			size_t pos = (rng >> 33) % mlen;
			static const char pick[] = "{}'\"\\$;\n#x ";

			switch ((rng >> 20) % 3) {
			case 0: m[pos] = pick[(rng >> 8) % (sizeof(pick) - 1)]; break;
			case 1: mlen = pos + 1; break;
			default: m[pos] = (char)(1 + (rng >> 8) % 255); break;
			}
		}
		err[0] = '\0';
		if (grubcfg__parse(m, mlen, NULL, &b, err, sizeof(err)) == 0) {
			assert_non_null(b.kernel);
			grubcfg__free(&b);
			ok++;
		} else {
			assert_true(err[0] != '\0');
			bad++;
		}
		free(m);
	}
	print_message("grubcfg mutations: %d parsed, %d refused\n", ok, bad);
	assert_true(ok > 0 && bad > 0);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debian12),
		cmocka_unit_test(test_debian12_next_entry_submenu),
		cmocka_unit_test(test_numeric_paths),
		cmocka_unit_test(test_ubuntu2404),
		cmocka_unit_test(test_saved_entry),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
