/* test_bls.c — Boot Loader Specification entry and grubenv parsing,
 * $variable expansion, rpmvercmp and default-entry choice (vmm/boot/bls.c),
 * all on strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/boot/bls.h"

static char err[256];

static int parse(const char *id, const char *text, struct bls_entry *e)
{
	return bls__parse_entry(id, text, strlen(text), e, err, sizeof(err));
}

static void test_entry_fedora39(void **state)
{
	const char *text =
		"title Fedora Linux (6.5.6-300.fc39.x86_64) 39 (Thirty Nine)\n"
		"version 6.5.6-300.fc39.x86_64\n"
		"linux /vmlinuz-6.5.6-300.fc39.x86_64\n"
		"initrd /initramfs-6.5.6-300.fc39.x86_64.img\n"
		"options root=UUID=1234 ro rootflags=subvol=root rhgb quiet\n"
		"grub_users $grub_users\n"
		"grub_arg --unrestricted\n"
		"grub_class fedora\n";
	struct bls_entry e;

	assert_int_equal(parse("abc-6.5.6-300.fc39.x86_64", text, &e), 0);
	assert_string_equal(e.id, "abc-6.5.6-300.fc39.x86_64");
	assert_string_equal(e.title, "Fedora Linux (6.5.6-300.fc39.x86_64) 39 (Thirty Nine)");
	assert_string_equal(e.version, "6.5.6-300.fc39.x86_64");
	assert_string_equal(e.kernel, "/vmlinuz-6.5.6-300.fc39.x86_64");
	assert_int_equal(e.n_initrd, 1);
	assert_string_equal(e.initrd[0], "/initramfs-6.5.6-300.fc39.x86_64.img");
	assert_string_equal(e.options, "root=UUID=1234 ro rootflags=subvol=root rhgb quiet");
	assert_null(e.machine_id);
	bls__entry_free(&e);
}

static void test_entry_syntax(void **state)
{
	const char *text =
		"# a comment\n"
		"\n"
		"   \t\n"
		"title\tFirst title  \t\r\n"
		"title Second title\n"
		"  # indented comment\n"
		"machine-id 0123456789abcdef\n"
		"unknown-key whatever value\n"
		"options a=1  b=2\n"
		"options\t\tc=3\n"
		"options\n"
		"initrd /first.img\n"
		"initrd /second.img /third.img\n"
		"linux   /vmlinuz\t\n"
		"linux /ignored-second-linux"; /* no final newline */
	struct bls_entry e;

	assert_int_equal(parse("x", text, &e), 0);
	assert_string_equal(e.title, "First title");        /* the first one wins */
	assert_string_equal(e.machine_id, "0123456789abcdef");
	assert_string_equal(e.options, "a=1  b=2 c=3");
	assert_string_equal(e.kernel, "/vmlinuz");
	assert_int_equal(e.n_initrd, 3);
	assert_string_equal(e.initrd[0], "/first.img");
	assert_string_equal(e.initrd[1], "/second.img");
	assert_string_equal(e.initrd[2], "/third.img");
	assert_null(e.version);
	bls__entry_free(&e);
}

static void test_entry_invalid(void **state)
{
	struct bls_entry e;
	char nul[] = "linux /vmlinuz\n\0options x\n";
	char many[4096] = "linux /v\n";

	assert_int_equal(parse("nolinux", "title T\noptions ro\nlinux\n", &e), -1);
	assert_non_null(strstr(err, "no linux line"));
	assert_non_null(strstr(err, "nolinux"));
	assert_int_equal(parse("empty", "", &e), -1);
	assert_int_equal(bls__parse_entry("nul", nul, sizeof(nul) - 1, &e, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "NUL"));
	for (int i = 0; i <= BLS_MAX_INITRDS; i++)
		strcat(many, "initrd /i\n");
	assert_int_equal(parse("many", many, &e), -1);
	assert_non_null(strstr(err, "initrds"));
	/* A file cut in the middle of a line is still parsed up to there. */
	assert_int_equal(bls__parse_entry("cut", "linux /vmlinuz-1\noptions ro", 26, &e, err,
					  sizeof(err)), 0);
	assert_string_equal(e.options, "r");
	bls__entry_free(&e);
}

static char *grubenv_block(const char *body)
{
	static char block[1024];
	size_t n = strlen(body);

	assert_true(n < sizeof(block));
	memset(block, '#', sizeof(block));
	memcpy(block, body, n);
	return block;
}

static void test_grubenv(void **state)
{
	const char *body =
		"# GRUB Environment Block\n"
		"# GRUB2_PASSWORD=...\n"
		"saved_entry=2d5e4b1c-5.0.9-301.fc30.x86_64\n"
		"kernelopts=root=UUID=abcd ro resume=/dev/sda2 rhgb quiet\n"
		"boot_success=0\n"
		"noequals\n"
		"=novalue\n"
		"esc=a\\\\b\\\nc\n"
		"boot_success=1\n";
	char *block = grubenv_block(body);
	struct grubenv env;

	assert_int_equal(bls__parse_grubenv(block, 1024, &env, err, sizeof(err)), 0);
	assert_int_equal(env.n, 4);
	assert_string_equal(bls__grubenv_get(&env, "saved_entry"), "2d5e4b1c-5.0.9-301.fc30.x86_64");
	assert_string_equal(bls__grubenv_get(&env, "kernelopts"),
			    "root=UUID=abcd ro resume=/dev/sda2 rhgb quiet");
	assert_string_equal(bls__grubenv_get(&env, "boot_success"), "1");  /* last wins */
	assert_string_equal(bls__grubenv_get(&env, "esc"), "a\\b\nc");
	assert_null(bls__grubenv_get(&env, "noequals"));
	assert_null(bls__grubenv_get(&env, "GRUB2_PASSWORD"));
	bls__grubenv_free(&env);

	/* Without the signature line it is refused; a block with nothing
	 * but padding is an empty environment. */
	assert_int_equal(bls__parse_grubenv("kernelopts=x\n", 13, &env, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "GRUB Environment Block"));
	block = grubenv_block("# GRUB Environment Block\n");
	assert_int_equal(bls__parse_grubenv(block, 1024, &env, err, sizeof(err)), 0);
	assert_int_equal(env.n, 0);
	bls__grubenv_free(&env);
	/* Truncated in the middle of a key: the partial line has no '='. */
	assert_int_equal(bls__parse_grubenv("# GRUB Environment Block\nkey", 28, &env, err,
					    sizeof(err)), 0);
	assert_int_equal(env.n, 0);
	bls__grubenv_free(&env);
}

static void test_expand(void **state)
{
	char *block = grubenv_block("# GRUB Environment Block\n"
				    "kernelopts=root=UUID=abcd ro\n"
				    "tuned_params=skew_tick=1\n"
				    "empty=\n");
	struct grubenv env;
	struct {
		const char *in, *out;
	} cases[] = {
		{ "$kernelopts", "root=UUID=abcd ro" },
		{ "$kernelopts $tuned_params", "root=UUID=abcd ro skew_tick=1" },
		{ "${kernelopts} x=${tuned_params}y", "root=UUID=abcd ro x=skew_tick=1y" },
		{ "a $unknown b", "a b" },                      /* unknown names vanish */
		{ "$unknown", "" },
		{ "  a\t\tb  $empty ", "a b" },
		{ "cost=$ 5 ${ x ${unterminated", "cost=$ 5 ${ x ${unterminated" },
		{ "q=\"a  b\"   c", "q=\"a  b\" c" },           /* blanks in quotes kept */
		{ "$kernelopts$tuned_params", "root=UUID=abcd roskew_tick=1" },
		{ "", "" },
	};

	assert_int_equal(bls__parse_grubenv(block, 1024, &env, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = bls__expand(cases[i].in, &env);

		assert_non_null(s);
		assert_string_equal(s, cases[i].out);
		free(s);
	}
	bls__grubenv_free(&env);
	{
		char *s = bls__expand("$kernelopts rw", NULL);

		assert_string_equal(s, "rw");
		free(s);
	}
}

static void test_resolve(void **state)
{
	char *block = grubenv_block("# GRUB Environment Block\n"
				    "kernelopts=root=/dev/vda1 ro\n"
				    "tuned_initrd=/early.img /late.img\n"
				    "k=/vmlinuz-5\n");
	const char *text = "linux $k\ninitrd /initramfs.img $tuned_initrd\n"
			   "options $kernelopts $tuned_params\n";
	struct grubenv env;
	struct bls_entry e;
	struct bls_boot b;

	assert_int_equal(bls__parse_grubenv(block, 1024, &env, err, sizeof(err)), 0);
	assert_int_equal(parse("f30", text, &e), 0);
	assert_int_equal(bls__resolve(&e, &env, &b, err, sizeof(err)), 0);
	assert_string_equal(b.kernel, "/vmlinuz-5");
	assert_string_equal(b.cmdline, "root=/dev/vda1 ro");
	assert_int_equal(b.n_initrd, 3);
	assert_string_equal(b.initrd[0], "/initramfs.img");
	assert_string_equal(b.initrd[1], "/early.img");
	assert_string_equal(b.initrd[2], "/late.img");
	bls__boot_free(&b);
	bls__entry_free(&e);

	/* No options at all: an empty command line; a linux line that
	 * expands to nothing is refused. */
	assert_int_equal(parse("noopts", "linux /v\ninitrd $nothing\n", &e), 0);
	assert_int_equal(bls__resolve(&e, &env, &b, err, sizeof(err)), 0);
	assert_string_equal(b.cmdline, "");
	assert_int_equal(b.n_initrd, 0);
	bls__boot_free(&b);
	bls__entry_free(&e);
	assert_int_equal(parse("novar", "linux $nothing\n", &e), 0);
	assert_int_equal(bls__resolve(&e, &env, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "expands to nothing"));
	bls__entry_free(&e);
	bls__grubenv_free(&env);
}

static void test_vercmp(void **state)
{
	static const struct {
		const char *a, *b;
		int r;
	} cases[] = {
		{ "6.5.6-300.fc39", "6.2.9-300.fc39", 1 },
		{ "6.5.6-300.fc39.x86_64", "6.5.12-300.fc39.x86_64", -1 },
		{ "1.0", "1.0", 0 },
		{ "1.0", "1.0.1", -1 },
		{ "1.0a", "1.0", 1 },
		{ "1.0", "1_0", 0 },               /* separators do not matter */
		{ "010", "10", 0 },                /* leading zeroes do not matter */
		{ "1.a", "1.1", -1 },              /* numbers beat letters */
		{ "a", "b", -1 },
		{ "abc", "ab", 1 },
		{ "1.0~rc1", "1.0", -1 },          /* tilde: before the release */
		{ "1.0~rc1", "1.0~rc2", -1 },
		{ "1.0^git1", "1.0", 1 },          /* caret: after the release */
		{ "1.0^git1", "1.0.1", -1 },
		{ "5.0.9-301.fc30", "5.0.17-300.fc30", -1 },
		{ "", "1", -1 },
		{ "2.0", "10", -1 },
		{ "fc39", "fc40", -1 },
		{ "1.2.3", "1.2.3.", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(bls__vercmp(cases[i].a, cases[i].b), cases[i].r);
		assert_int_equal(bls__vercmp(cases[i].b, cases[i].a), -cases[i].r);
	}
	assert_int_equal(bls__vercmp(NULL, "1"), -1);
}

static void make_entries(struct bls_entry *e, const char *const *ids, const char *const *versions,
			 size_t n)
{
	char text[256];

	for (size_t i = 0; i < n; i++) {
		if (versions[i])
			snprintf(text, sizeof(text), "title T %s\nversion %s\nlinux /v\n", ids[i], versions[i]);
		else
			snprintf(text, sizeof(text), "title T %s\nlinux /v\n", ids[i]);
		assert_int_equal(parse(ids[i], text, &e[i]), 0);
	}
}

static void test_sort_and_default(void **state)
{
	const char *const ids[] = { "m-6.2.9-300.fc39", "m-6.5.6-300.fc39", "m-0-rescue",
				    "m-6.5.6-300.fc39b", "other" };
	const char *const vers[] = { "6.2.9-300.fc39", "6.5.6-300.fc39", "0-rescue",
				     "6.5.6-300.fc39", NULL };
	struct bls_entry e[5];
	struct grubenv env = { 0 };
	const char *why;
	char *block;

	make_entries(e, ids, vers, 5);
	bls__sort(e, 5);
	/* Newest first; equal versions by file name (descending); an entry
	 * without a version last. */
	assert_string_equal(e[0].id, "m-6.5.6-300.fc39b");
	assert_string_equal(e[1].id, "m-6.5.6-300.fc39");
	assert_string_equal(e[2].id, "m-6.2.9-300.fc39");
	assert_string_equal(e[3].id, "m-0-rescue");
	assert_string_equal(e[4].id, "other");

	assert_int_equal(bls__choose_default(e, 5, NULL, &why), 0);
	assert_string_equal(why, "the newest entry");

	block = grubenv_block("# GRUB Environment Block\nsaved_entry=m-6.2.9-300.fc39\n");
	assert_int_equal(bls__parse_grubenv(block, 1024, &env, err, sizeof(err)), 0);
	assert_int_equal(bls__choose_default(e, 5, &env, &why), 2);
	assert_string_equal(why, "saved_entry");
	bls__grubenv_free(&env);

	block = grubenv_block("# GRUB Environment Block\nsaved_entry=m-5.0-gone\n");
	assert_int_equal(bls__parse_grubenv(block, 1024, &env, err, sizeof(err)), 0);
	assert_int_equal(bls__choose_default(e, 5, &env, &why), 0);
	assert_non_null(strstr(why, "names no entry"));
	bls__grubenv_free(&env);

	block = grubenv_block("# GRUB Environment Block\nsaved_entry=T other\n");
	assert_int_equal(bls__parse_grubenv(block, 1024, &env, err, sizeof(err)), 0);
	assert_int_equal(bls__choose_default(e, 5, &env, NULL), 4);
	bls__grubenv_free(&env);

	block = grubenv_block("# GRUB Environment Block\nsaved_entry=3\n");
	assert_int_equal(bls__parse_grubenv(block, 1024, &env, err, sizeof(err)), 0);
	assert_int_equal(bls__choose_default(e, 5, &env, NULL), 3);
	bls__grubenv_free(&env);

	block = grubenv_block("# GRUB Environment Block\nsaved_entry=99\n");
	assert_int_equal(bls__parse_grubenv(block, 1024, &env, err, sizeof(err)), 0);
	assert_int_equal(bls__choose_default(e, 5, &env, NULL), 0);
	bls__grubenv_free(&env);

	for (int i = 0; i < 5; i++)
		bls__entry_free(&e[i]);
}

/* The attack a review found: "options $a$a..." with a 64 KiB variable
 * once expanded to ~2 GiB before any length check. Now the expansion
 * stops at BLS_EXPAND_MAX and the entry is refused with one line. */
static void test_expand_bomb(void **state)
{
	size_t vlen = 64 << 10;
	char *envtext = malloc(64 + vlen), *opts = malloc(8 + 2 * 2000 + 1);
	struct grubenv env = { 0 };
	struct bls_entry e = { .id = (char *)"bomb", .kernel = (char *)"/k" };
	struct bls_boot b;
	size_t o = 0;

	assert_non_null(envtext);
	assert_non_null(opts);
	memcpy(envtext, "# GRUB Environment Block\na=", 27);
	memset(envtext + 27, 'x', vlen);
	envtext[27 + vlen] = '\n';
	assert_int_equal(bls__parse_grubenv(envtext, 28 + vlen, &env, err, sizeof(err)), 0);
	for (int i = 0; i < 2000; i++) {
		opts[o++] = '$';
		opts[o++] = 'a';
	}
	opts[o] = '\0';
	e.options = opts;
	assert_null(bls__expand(opts, &env));
	assert_int_equal(bls__resolve(&e, &env, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 64 KiB"));
	/* one copy still fits */
	opts[2] = '\0';
	assert_int_equal(bls__resolve(&e, &env, &b, err, sizeof(err)), 0);
	assert_int_equal(strlen(b.cmdline), vlen);
	bls__boot_free(&b);
	bls__grubenv_free(&env);
	free(envtext);
	free(opts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_fedora39),
		cmocka_unit_test(test_entry_syntax),
		cmocka_unit_test(test_entry_invalid),
		cmocka_unit_test(test_grubenv),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_vercmp),
		cmocka_unit_test(test_sort_and_default),
		cmocka_unit_test(test_expand_bomb),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
